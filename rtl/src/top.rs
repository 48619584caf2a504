//! Top: the core and the register agent side by side behind one set of ports.
//!
//! Per cycle: routes a request or request-with-data message to the register agent
//! when its line is in the register page (the window's last 4 KiB) and to the core
//! otherwise, and a BIRsp to the agent when it names the agent's BITag; the agent's
//! registered requests take the core's command and harvest ports ahead of the
//! external ones; the core's events reach the agent through a register (a cycle
//! late). The NDR, DRS and BISnp channels show the core's register when it is full
//! and the agent's otherwise; the agent's register is taken only when the core's is
//! empty.

use crate::core::Core;
use crate::dirty_bitmap::LINE_BITS;
use crate::regs::Regs;
use linewatch_model::config::Geometry;
use linewatch_model::device::regs::{page_base, AGENT_BITAG, PAGE_LINES};
use linewatch_model::protocol::{
    ADDR_BITS, ADDR_MASK, BITAG_BITS, DATA_BITS, ERR_CODE_BITS, ERR_COUNT_BITS, HV_INDEX_BITS,
    HV_LEVEL_BITS, MASK_BITS, META_BITS, OPCODE_BITS, RSP_OPCODE_BITS, TAG_BITS,
};
use rust_hdl::prelude::*;

type Addr = Bits<ADDR_BITS>;
type Op = Bits<OPCODE_BITS>;
type RspOp = Bits<RSP_OPCODE_BITS>;
type MetaV = Bits<META_BITS>;
type Tag = Bits<TAG_BITS>;
type Line = Bits<DATA_BITS>;
type Mask = Bits<MASK_BITS>;
type Err = Bits<ERR_CODE_BITS>;

/// The whole device: `top` in the generated Verilog. Its ports are exactly the
/// model's port table plus `clock`.
#[derive(LogicBlock)]
pub struct Device {
    pub clock: Signal<In, Clock>,
    pub req_valid: Signal<In, bool>,
    pub req_opcode: Signal<In, Op>,
    pub req_meta: Signal<In, MetaV>,
    pub req_tag: Signal<In, Tag>,
    pub req_addr: Signal<In, Addr>,
    pub rwd_valid: Signal<In, bool>,
    pub rwd_opcode: Signal<In, Op>,
    pub rwd_meta: Signal<In, MetaV>,
    pub rwd_tag: Signal<In, Tag>,
    pub rwd_addr: Signal<In, Addr>,
    pub rwd_mask: Signal<In, Mask>,
    pub rwd_data: Signal<In, Line>,
    pub ndr_ready: Signal<In, bool>,
    pub drs_ready: Signal<In, bool>,
    pub bisnp_ready: Signal<In, bool>,
    pub birsp_valid: Signal<In, bool>,
    pub birsp_opcode: Signal<In, Op>,
    pub birsp_bitag: Signal<In, Bits<BITAG_BITS>>,
    pub mem_req_ready: Signal<In, bool>,
    pub mem_rsp_valid: Signal<In, bool>,
    pub mem_rsp_data: Signal<In, Line>,
    pub cmd_valid: Signal<In, bool>,
    pub cmd_opcode: Signal<In, Op>,
    pub cmd_addr: Signal<In, Addr>,
    pub hv_valid: Signal<In, bool>,
    pub hv_op: Signal<In, bool>,
    pub hv_level: Signal<In, Bits<HV_LEVEL_BITS>>,
    pub hv_index: Signal<In, Bits<HV_INDEX_BITS>>,
    pub req_ready: Signal<Out, bool>,
    pub rwd_ready: Signal<Out, bool>,
    pub ndr_valid: Signal<Out, bool>,
    pub ndr_opcode: Signal<Out, RspOp>,
    pub ndr_tag: Signal<Out, Tag>,
    pub drs_valid: Signal<Out, bool>,
    pub drs_opcode: Signal<Out, RspOp>,
    pub drs_meta: Signal<Out, MetaV>,
    pub drs_tag: Signal<Out, Tag>,
    pub drs_data: Signal<Out, Line>,
    pub bisnp_valid: Signal<Out, bool>,
    pub bisnp_opcode: Signal<Out, Op>,
    pub bisnp_bitag: Signal<Out, Bits<BITAG_BITS>>,
    pub bisnp_addr: Signal<Out, Addr>,
    pub birsp_ready: Signal<Out, bool>,
    pub mem_req_valid: Signal<Out, bool>,
    pub mem_req_write: Signal<Out, bool>,
    pub mem_req_addr: Signal<Out, Addr>,
    pub mem_req_mask: Signal<Out, Mask>,
    pub mem_req_data: Signal<Out, Line>,
    pub mem_rsp_ready: Signal<Out, bool>,
    pub cmd_ready: Signal<Out, bool>,
    pub hv_ready: Signal<Out, bool>,
    pub hv_rsp_valid: Signal<Out, bool>,
    pub hv_rsp_data: Signal<Out, Bits<64>>,
    pub err_count: Signal<Out, Bits<ERR_COUNT_BITS>>,
    pub err_code: Signal<Out, Err>,

    core: Core,
    regs: Regs,
    page_high: Constant<Addr>,
    page_base: Constant<Addr>,
    agent_bitag: Constant<Bits<BITAG_BITS>>,
    /// `[device] registers`: when false every use of the agent is gated off, so
    /// synthesis removes it and the top is the core alone.
    regs_on: Constant<bool>,
    regs_cmd: Signal<Local, bool>,
    regs_hv: Signal<Local, bool>,
    regs_ndr: Signal<Local, bool>,
    regs_drs: Signal<Local, bool>,
    regs_snp: Signal<Local, bool>,
    /// The core's events, a cycle late into the agent.
    ev_dirty_valid: DFF<bool>,
    ev_dirty_line: DFF<Bits<LINE_BITS>>,
    ev_recall_valid: DFF<bool>,
    ev_recall_line: DFF<Bits<LINE_BITS>>,
    /// The core's error counter and code, a cycle late into the agent.
    err_count_r: DFF<Bits<ERR_COUNT_BITS>>,
    err_code_r: DFF<Err>,
    req_page: Signal<Local, bool>,
    rwd_page: Signal<Local, bool>,
    req_reg: Signal<Local, bool>,
    rwd_reg: Signal<Local, bool>,
    birsp_reg: Signal<Local, bool>,
}

impl Device {
    pub fn new(g: &Geometry) -> Self {
        Self {
            clock: Default::default(),
            req_valid: Default::default(),
            req_opcode: Default::default(),
            req_meta: Default::default(),
            req_tag: Default::default(),
            req_addr: Default::default(),
            rwd_valid: Default::default(),
            rwd_opcode: Default::default(),
            rwd_meta: Default::default(),
            rwd_tag: Default::default(),
            rwd_addr: Default::default(),
            rwd_mask: Default::default(),
            rwd_data: Default::default(),
            ndr_ready: Default::default(),
            drs_ready: Default::default(),
            bisnp_ready: Default::default(),
            birsp_valid: Default::default(),
            birsp_opcode: Default::default(),
            birsp_bitag: Default::default(),
            mem_req_ready: Default::default(),
            mem_rsp_valid: Default::default(),
            mem_rsp_data: Default::default(),
            cmd_valid: Default::default(),
            cmd_opcode: Default::default(),
            cmd_addr: Default::default(),
            hv_valid: Default::default(),
            hv_op: Default::default(),
            hv_level: Default::default(),
            hv_index: Default::default(),
            req_ready: Default::default(),
            rwd_ready: Default::default(),
            ndr_valid: Default::default(),
            ndr_opcode: Default::default(),
            ndr_tag: Default::default(),
            drs_valid: Default::default(),
            drs_opcode: Default::default(),
            drs_meta: Default::default(),
            drs_tag: Default::default(),
            drs_data: Default::default(),
            bisnp_valid: Default::default(),
            bisnp_opcode: Default::default(),
            bisnp_bitag: Default::default(),
            bisnp_addr: Default::default(),
            birsp_ready: Default::default(),
            mem_req_valid: Default::default(),
            mem_req_write: Default::default(),
            mem_req_addr: Default::default(),
            mem_req_mask: Default::default(),
            mem_req_data: Default::default(),
            mem_rsp_ready: Default::default(),
            cmd_ready: Default::default(),
            hv_ready: Default::default(),
            hv_rsp_valid: Default::default(),
            hv_rsp_data: Default::default(),
            err_count: Default::default(),
            err_code: Default::default(),
            core: Core::new(g),
            regs: Regs::new(g),
            page_high: Constant::new((!(PAGE_LINES - 1) & ADDR_MASK).into()),
            page_base: Constant::new(page_base(g).into()),
            agent_bitag: Constant::new(AGENT_BITAG.into()),
            regs_on: Constant::new(g.registers),
            regs_cmd: Default::default(),
            regs_hv: Default::default(),
            regs_ndr: Default::default(),
            regs_drs: Default::default(),
            regs_snp: Default::default(),
            ev_dirty_valid: Default::default(),
            ev_dirty_line: Default::default(),
            ev_recall_valid: Default::default(),
            ev_recall_line: Default::default(),
            err_count_r: Default::default(),
            err_code_r: Default::default(),
            req_page: Default::default(),
            rwd_page: Default::default(),
            req_reg: Default::default(),
            rwd_reg: Default::default(),
            birsp_reg: Default::default(),
        }
    }
}

impl Logic for Device {
    #[hdl_gen]
    fn update(&mut self) {
        self.core.clock.next = self.clock.val();
        self.regs.clock.next = self.clock.val();
        dff_setup!(
            self,
            clock,
            ev_dirty_valid,
            ev_dirty_line,
            ev_recall_valid,
            ev_recall_line,
            err_count_r,
            err_code_r
        );

        // Demux by address (requests) and BITag (snoop responses).
        self.req_page.next = self.regs_on.val()
            && (self.req_addr.val() & self.page_high.val()) == self.page_base.val();
        self.rwd_page.next = self.regs_on.val()
            && (self.rwd_addr.val() & self.page_high.val()) == self.page_base.val();
        self.req_reg.next = self.req_valid.val() && self.req_page.val();
        self.rwd_reg.next = self.rwd_valid.val() && self.rwd_page.val();
        self.birsp_reg.next = self.regs_on.val()
            && self.birsp_valid.val()
            && self.birsp_bitag.val() == self.agent_bitag.val();
        self.regs_cmd.next = self.regs_on.val() && self.regs.cmd_valid.val();
        self.regs_hv.next = self.regs_on.val() && self.regs.hv_valid.val();
        self.regs_ndr.next = self.regs_on.val() && self.regs.ndr_valid.val();
        self.regs_drs.next = self.regs_on.val() && self.regs.drs_valid.val();
        self.regs_snp.next = self.regs_on.val() && self.regs.snp_valid.val();

        self.core.req_opcode.next = self.req_opcode.val();
        self.core.req_meta.next = self.req_meta.val();
        self.core.req_tag.next = self.req_tag.val();
        self.core.req_addr.next = self.req_addr.val();
        self.core.rwd_opcode.next = self.rwd_opcode.val();
        self.core.rwd_meta.next = self.rwd_meta.val();
        self.core.rwd_tag.next = self.rwd_tag.val();
        self.core.rwd_addr.next = self.rwd_addr.val();
        self.core.rwd_mask.next = self.rwd_mask.val();
        self.core.rwd_data.next = self.rwd_data.val();
        self.core.ndr_ready.next = self.ndr_ready.val();
        self.core.drs_ready.next = self.drs_ready.val();
        self.core.bisnp_ready.next = self.bisnp_ready.val();
        self.core.birsp_opcode.next = self.birsp_opcode.val();
        self.core.birsp_bitag.next = self.birsp_bitag.val();
        self.core.mem_req_ready.next = self.mem_req_ready.val();
        self.core.mem_rsp_valid.next = self.mem_rsp_valid.val();
        self.core.mem_rsp_data.next = self.mem_rsp_data.val();
        // Raw valids and a foreign flag: the core's channel pick (and its filter's
        // read address) does not wait for the page decode, only its accept does.
        self.core.req_valid.next = self.req_valid.val();
        self.core.rwd_valid.next = self.rwd_valid.val();
        self.core.req_foreign.next = self.req_page.val();
        self.core.rwd_foreign.next = self.rwd_page.val();
        self.core.birsp_valid.next = self.birsp_valid.val() && !self.birsp_reg.val();
        // The agent's command and harvest requests go first.
        if self.regs_cmd.val() {
            self.core.cmd_valid.next = true;
            self.core.cmd_opcode.next = self.regs.cmd_opcode.val();
            self.core.cmd_addr.next = self.regs.cmd_addr.val();
        } else {
            self.core.cmd_valid.next = self.cmd_valid.val();
            self.core.cmd_opcode.next = self.cmd_opcode.val();
            self.core.cmd_addr.next = self.cmd_addr.val();
        }
        if self.regs_hv.val() {
            self.core.hv_valid.next = true;
            self.core.hv_op.next = self.regs.hv_op.val();
            self.core.hv_level.next = self.regs.hv_level.val();
            self.core.hv_index.next = self.regs.hv_index.val();
        } else {
            self.core.hv_valid.next = self.hv_valid.val();
            self.core.hv_op.next = self.hv_op.val();
            self.core.hv_level.next = self.hv_level.val();
            self.core.hv_index.next = self.hv_index.val();
        }

        self.regs.req_valid.next = self.req_reg.val();
        self.regs.req_opcode.next = self.req_opcode.val();
        self.regs.req_meta.next = self.req_meta.val();
        self.regs.req_tag.next = self.req_tag.val();
        self.regs.req_line.next = self.req_addr.val().get_bits::<6>(0);
        self.regs.rwd_valid.next = self.rwd_reg.val();
        self.regs.rwd_opcode.next = self.rwd_opcode.val();
        self.regs.rwd_meta.next = self.rwd_meta.val();
        self.regs.rwd_tag.next = self.rwd_tag.val();
        self.regs.rwd_line.next = self.rwd_addr.val().get_bits::<6>(0);
        self.regs.rwd_mask.next = self.rwd_mask.val().get_bits::<32>(0);
        self.regs.rwd_data.next = self.rwd_data.val().get_bits::<256>(0);
        self.regs.birsp_valid.next = self.birsp_reg.val();
        self.regs.ndr_take.next = self.ndr_ready.val() && !self.core.ndr_valid.val();
        self.regs.drs_take.next = self.drs_ready.val() && !self.core.drs_valid.val();
        self.regs.snp_take.next = self.bisnp_ready.val() && !self.core.bisnp_valid.val();
        self.regs.core_cmd_ready.next = self.core.cmd_ready.val();
        self.regs.core_hv_ready.next = self.core.hv_ready.val();
        self.regs.core_hv_rsp_data.next = self.core.hv_rsp_data.val();
        self.err_count_r.d.next = self.core.err_count.val();
        self.err_code_r.d.next = self.core.err_code.val();
        self.regs.core_err_count.next = self.err_count_r.q.val();
        self.regs.core_err_code.next = self.err_code_r.q.val();
        self.ev_dirty_valid.d.next = self.core.ev_dirty_valid.val();
        self.ev_dirty_line.d.next = self.core.ev_dirty_line.val();
        self.ev_recall_valid.d.next = self.core.ev_recall_valid.val();
        self.ev_recall_line.d.next = self.core.ev_recall_line.val();
        self.regs.ev_dirty_valid.next = self.ev_dirty_valid.q.val();
        self.regs.ev_dirty_line.next = self.ev_dirty_line.q.val();
        self.regs.ev_recall_valid.next = self.ev_recall_valid.q.val();
        self.regs.ev_recall_line.next = self.ev_recall_line.q.val();

        // Outputs: the core's, with the agent's where its registers are empty.
        self.drs_opcode.next = self.core.drs_opcode.val();
        self.birsp_ready.next = self.core.birsp_ready.val();
        self.mem_req_valid.next = self.core.mem_req_valid.val();
        self.mem_req_write.next = self.core.mem_req_write.val();
        self.mem_req_addr.next = self.core.mem_req_addr.val();
        self.mem_req_mask.next = self.core.mem_req_mask.val();
        self.mem_req_data.next = self.core.mem_req_data.val();
        self.mem_rsp_ready.next = self.core.mem_rsp_ready.val();
        self.hv_rsp_valid.next = self.core.hv_rsp_valid.val();
        self.hv_rsp_data.next = self.core.hv_rsp_data.val();
        self.err_count.next = self.core.err_count.val();
        self.err_code.next = self.core.err_code.val();
        if self.req_reg.val() {
            self.req_ready.next = self.regs.req_ready.val();
        } else {
            self.req_ready.next = self.core.req_ready.val();
        }
        if self.rwd_reg.val() {
            self.rwd_ready.next = self.regs.rwd_ready.val();
        } else {
            self.rwd_ready.next = self.core.rwd_ready.val();
        }
        self.cmd_ready.next = self.core.cmd_ready.val() && !self.regs_cmd.val();
        self.hv_ready.next = self.core.hv_ready.val() && !self.regs_hv.val();
        if !self.core.ndr_valid.val() && self.regs_ndr.val() {
            self.ndr_valid.next = true;
            self.ndr_opcode.next = self.regs.ndr_opcode.val();
            self.ndr_tag.next = self.regs.ndr_tag.val();
        } else {
            self.ndr_valid.next = self.core.ndr_valid.val();
            self.ndr_opcode.next = self.core.ndr_opcode.val();
            self.ndr_tag.next = self.core.ndr_tag.val();
        }
        if !self.core.drs_valid.val() && self.regs_drs.val() {
            self.drs_valid.next = true;
            self.drs_meta.next = self.regs.drs_meta.val();
            self.drs_tag.next = self.regs.drs_tag.val();
            self.drs_data.next = self.regs.drs_data.val();
        } else {
            self.drs_valid.next = self.core.drs_valid.val();
            self.drs_meta.next = self.core.drs_meta.val();
            self.drs_tag.next = self.core.drs_tag.val();
            self.drs_data.next = self.core.drs_data.val();
        }
        if !self.core.bisnp_valid.val() && self.regs_snp.val() {
            self.bisnp_valid.next = true;
            self.bisnp_opcode.next = self.regs.snp_op.val();
            self.bisnp_bitag.next = self.agent_bitag.val();
            self.bisnp_addr.next =
                bit_cast::<ADDR_BITS, 6>(self.regs.snp_line.val()) | self.page_base.val();
        } else {
            self.bisnp_valid.next = self.core.bisnp_valid.val();
            self.bisnp_opcode.next = self.core.bisnp_opcode.val();
            self.bisnp_bitag.next = self.core.bisnp_bitag.val();
            self.bisnp_addr.next = self.core.bisnp_addr.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn top_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/default.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = Device::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_top", &v).unwrap();
    }
}
