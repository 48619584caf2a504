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
//!
//! With the page-table trigger (`[device.pt]`): the core's DRS register is the
//! trigger's observation port (the core's DRS ready is the trigger's `obs_ready`)
//! and the DRS channel shows the trigger's output register, else the agent's; the
//! agent's registry and residency requests drive the trigger's ports from registers;
//! the fetch port is the top's. The trigger's events wait in three registers
//! (response, timeout, table full), of which the first full one goes into the ring
//! each cycle; an event that finds its register still full is counted as dropped,
//! through a register (a cycle late, like the core's events: no path from the
//! trigger's response match into the agent's counters).
//!
//! Without the trigger it is still instantiated (with placeholder parameters) but
//! every use of it is gated off by a constant, so synthesis removes it, the fetch
//! outputs are 0 and the DRS path is the core's and the agent's as before.

use crate::core::Core;
use crate::dirty_bitmap::LINE_BITS;
use crate::pt_trigger::PtTrigger;
use crate::regs::Regs;
use linewatch_model::config::Geometry;
use linewatch_model::device::pt_trigger::{PtParams, PFN_BITS, PT_SIDE_BITS};
use linewatch_model::device::regs::{
    page_base, AGENT_BITAG, EV_PT_DONE, EV_PT_FULL, EV_PT_LATE, EV_PT_TIMEOUT, PAGE_LINES,
};
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
type Frame = Bits<PFN_BITS>;
type W = Bits<64>;
// The side packing below is written with these widths' offsets (3 and 5).
const _: () = assert!(
    PT_SIDE_BITS == RSP_OPCODE_BITS + META_BITS + TAG_BITS
        && RSP_OPCODE_BITS == 3
        && META_BITS == 2
);

/// The trigger's parameters when `[device.pt]` is absent: the smallest the block
/// takes; the top gates every use of it off, so synthesis removes it.
const PT_PLACEHOLDER: PtParams = PtParams {
    registry: 1,
    inflight: 1,
    timer: 1,
    window_base: 0,
    window_frames: 1,
};

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
    pub fetch_ready: Signal<In, bool>,
    pub fetch_rsp_valid: Signal<In, bool>,
    pub fetch_rsp_frame: Signal<In, Frame>,
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
    pub fetch_valid: Signal<Out, bool>,
    pub fetch_frame: Signal<Out, Frame>,
    pub fetch_rsp_ready: Signal<Out, bool>,

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
    /// The core's events, a cycle late into the agent. The dirty event's registers
    /// load what the bitmap's set stage loads (`sb_valid`, `keep_sb_idx`), so they are
    /// `keep_*` copies: merged with those, the agent's ring decisions started at
    /// the bitmap's registers, across the die (step 43).
    keep_ev_dirty_valid: DFF<bool>,
    keep_ev_dirty_line: DFF<Bits<LINE_BITS>>,
    ev_recall_valid: DFF<bool>,
    ev_recall_line: DFF<Bits<LINE_BITS>>,
    /// The core's error counter and code, a cycle late into the agent.
    err_count_r: DFF<Bits<ERR_COUNT_BITS>>,
    err_code_r: DFF<Err>,
    /// They changed at the last edge (decided as they load, so the agent's error
    /// event is a flip-flop, not a compare).
    err_moved: DFF<bool>,
    req_page: Signal<Local, bool>,
    rwd_page: Signal<Local, bool>,
    req_reg: Signal<Local, bool>,
    rwd_reg: Signal<Local, bool>,
    birsp_reg: Signal<Local, bool>,
    /// The page-table trigger: built (and used) only with `[device.pt]`.
    pt: PtTrigger,
    pt_on: Constant<bool>,
    /// Trigger event records waiting for the ring (response, timeout, table full),
    /// and an event lost last cycle.
    pt_ev_v: [DFF<bool>; 3],
    pt_ev_rec: [DFF<W>; 3],
    pt_lost: DFF<bool>,
    pt_drain: [Signal<Local, bool>; 3],
    pt_new: [Signal<Local, bool>; 3],
    pt_new_rec: [Signal<Local, W>; 3],
    pt_lose: [Signal<Local, bool>; 3],
    kind_done: Constant<W>,
    kind_late: Constant<W>,
    kind_timeout: Constant<W>,
    kind_full: Constant<W>,
    frame_zero: Constant<Frame>,
    /// The trigger outputs the device does not use (its line address out, its
    /// counters), read here so the lint sees them used (Verilator's `*unused*`).
    pt_unused: Signal<Local, bool>,
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
            fetch_ready: Default::default(),
            fetch_rsp_valid: Default::default(),
            fetch_rsp_frame: Default::default(),
            fetch_valid: Default::default(),
            fetch_frame: Default::default(),
            fetch_rsp_ready: Default::default(),
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
            keep_ev_dirty_valid: Default::default(),
            keep_ev_dirty_line: Default::default(),
            ev_recall_valid: Default::default(),
            ev_recall_line: Default::default(),
            err_count_r: Default::default(),
            err_code_r: Default::default(),
            err_moved: Default::default(),
            req_page: Default::default(),
            rwd_page: Default::default(),
            req_reg: Default::default(),
            rwd_reg: Default::default(),
            birsp_reg: Default::default(),
            pt: PtTrigger::new(g.pt.as_ref().unwrap_or(&PT_PLACEHOLDER)),
            pt_on: Constant::new(g.pt.is_some()),
            pt_ev_v: Default::default(),
            pt_ev_rec: Default::default(),
            pt_lost: Default::default(),
            pt_drain: Default::default(),
            pt_new: Default::default(),
            pt_new_rec: Default::default(),
            pt_lose: Default::default(),
            kind_done: Constant::new((EV_PT_DONE << 60).into()),
            kind_late: Constant::new((EV_PT_LATE << 60).into()),
            kind_timeout: Constant::new((EV_PT_TIMEOUT << 60).into()),
            kind_full: Constant::new((EV_PT_FULL << 60).into()),
            frame_zero: Constant::new(0u64.into()),
            pt_unused: Default::default(),
        }
    }
}

impl Logic for Device {
    #[hdl_gen]
    fn update(&mut self) {
        self.core.clock.next = self.clock.val();
        self.regs.clock.next = self.clock.val();
        self.pt.clock.next = self.clock.val();
        dff_setup!(
            self,
            clock,
            keep_ev_dirty_valid,
            keep_ev_dirty_line,
            ev_recall_valid,
            ev_recall_line,
            err_count_r,
            err_code_r,
            err_moved,
            pt_lost
        );
        for k in 0..3 {
            self.pt_ev_v[k].clock.next = self.clock.val();
            self.pt_ev_rec[k].clock.next = self.clock.val();
            self.pt_ev_rec[k].d.next = self.pt_ev_rec[k].q.val();
        }

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
        // With the trigger, the core's DRS register is its observation port.
        if self.pt_on.val() {
            self.core.drs_ready.next = self.pt.obs_ready.val();
        } else {
            self.core.drs_ready.next = self.drs_ready.val();
        }
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
        if self.pt_on.val() {
            self.regs.drs_take.next = self.drs_ready.val() && !self.pt.out_valid.val();
        } else {
            self.regs.drs_take.next = self.drs_ready.val() && !self.core.drs_valid.val();
        }
        self.regs.snp_take.next = self.bisnp_ready.val() && !self.core.bisnp_valid.val();
        self.regs.core_cmd_ready.next = self.core.cmd_ready.val();
        self.regs.core_hv_ready.next = self.core.hv_ready.val();
        self.regs.core_hv_rsp_data.next = self.core.hv_rsp_data.val();
        self.err_count_r.d.next = self.core.err_count.val();
        self.err_code_r.d.next = self.core.err_code.val();
        self.err_moved.d.next = self.core.err_count.val() != self.err_count_r.q.val()
            || self.core.err_code.val() != self.err_code_r.q.val();
        self.regs.core_err_count.next = self.err_count_r.q.val();
        self.regs.core_err_code.next = self.err_code_r.q.val();
        self.regs.core_err_moved.next = self.err_moved.q.val();
        self.keep_ev_dirty_valid.d.next = self.core.ev_dirty_valid.val();
        self.keep_ev_dirty_line.d.next = self.core.ev_dirty_line.val();
        self.ev_recall_valid.d.next = self.core.ev_recall_valid.val();
        self.ev_recall_line.d.next = self.core.ev_recall_line.val();
        self.regs.ev_dirty_valid.next = self.keep_ev_dirty_valid.q.val();
        self.regs.ev_dirty_line.next = self.keep_ev_dirty_line.q.val();
        self.regs.ev_recall_valid.next = self.ev_recall_valid.q.val();
        self.regs.ev_recall_line.next = self.ev_recall_line.q.val();

        // The page-table trigger: the core's DRS register in, the DRS channel out;
        // the agent's registered requests on its registry and residency ports.
        self.pt.reg_valid.next = self.regs.pt_reg_valid.val();
        self.pt.reg_set.next = self.regs.pt_reg_set.val();
        self.pt.reg_frame.next = self.regs.pt_reg_frame.val();
        self.pt.res_valid.next = self.regs.pt_res_valid.val();
        self.pt.res_set.next = self.regs.pt_res_set.val();
        self.pt.res_frame.next = self.regs.pt_res_frame.val();
        self.pt.obs_valid.next = self.core.drs_valid.val();
        self.pt.obs_addr.next = self.core.drs_addr.val();
        self.pt.obs_data.next = self.core.drs_data.val();
        // The side value: opcode, meta, tag (the model's `side_pack`).
        self.pt.obs_side.next =
            bit_cast::<PT_SIDE_BITS, RSP_OPCODE_BITS>(self.core.drs_opcode.val())
                | (bit_cast::<PT_SIDE_BITS, META_BITS>(self.core.drs_meta.val()) << 3u64)
                | (bit_cast::<PT_SIDE_BITS, TAG_BITS>(self.core.drs_tag.val()) << 5u64);
        self.pt.out_ready.next = self.drs_ready.val();
        self.pt.fetch_ready.next = self.fetch_ready.val();
        self.pt.rsp_valid.next = self.fetch_rsp_valid.val();
        self.pt.rsp_frame.next = self.fetch_rsp_frame.val();
        self.regs.pt_refused.next = self.pt_on.val() && self.pt.reg_refused.val();
        // Event registers: the first full one goes to the ring now; this cycle's
        // events load at the edge into registers that are empty or draining; one
        // that finds its register still full is lost (counted a cycle later).
        self.pt_drain[0].next = self.pt_ev_v[0].q.val();
        self.pt_drain[1].next = self.pt_ev_v[1].q.val() && !self.pt_ev_v[0].q.val();
        self.pt_drain[2].next =
            self.pt_ev_v[2].q.val() && !self.pt_ev_v[1].q.val() && !self.pt_ev_v[0].q.val();
        self.regs.ev_pt_valid.next = self.pt_on.val()
            && (self.pt_ev_v[0].q.val() || self.pt_ev_v[1].q.val() || self.pt_ev_v[2].q.val());
        if self.pt_ev_v[0].q.val() {
            self.regs.ev_pt_rec.next = self.pt_ev_rec[0].q.val();
        } else if self.pt_ev_v[1].q.val() {
            self.regs.ev_pt_rec.next = self.pt_ev_rec[1].q.val();
        } else {
            self.regs.ev_pt_rec.next = self.pt_ev_rec[2].q.val();
        }
        self.pt_new[0].next = self.pt_on.val() && (self.pt.ev_done.val() || self.pt.ev_late.val());
        if self.pt.ev_done.val() {
            self.pt_new_rec[0].next =
                self.kind_done.val() | bit_cast::<64, PFN_BITS>(self.fetch_rsp_frame.val());
        } else {
            self.pt_new_rec[0].next =
                self.kind_late.val() | bit_cast::<64, PFN_BITS>(self.fetch_rsp_frame.val());
        }
        self.pt_new[1].next = self.pt_on.val() && self.pt.ev_timeout.val();
        self.pt_new_rec[1].next =
            self.kind_timeout.val() | bit_cast::<64, PFN_BITS>(self.pt.ev_timeout_frame.val());
        self.pt_new[2].next = self.pt_on.val() && self.pt.ev_full.val();
        self.pt_new_rec[2].next =
            self.kind_full.val() | bit_cast::<64, PFN_BITS>(self.pt.ev_full_frame.val());
        for k in 0..3 {
            self.pt_ev_v[k].d.next = self.pt_ev_v[k].q.val() && !self.pt_drain[k].val();
            self.pt_lose[k].next =
                self.pt_new[k].val() && self.pt_ev_v[k].q.val() && !self.pt_drain[k].val();
            if self.pt_new[k].val() && !self.pt_lose[k].val() {
                self.pt_ev_v[k].d.next = true;
                self.pt_ev_rec[k].d.next = self.pt_new_rec[k].val();
            }
        }
        self.pt_lost.d.next =
            self.pt_lose[0].val() || self.pt_lose[1].val() || self.pt_lose[2].val();
        self.regs.ev_pt_lost.next = self.pt_on.val() && self.pt_lost.q.val();
        self.pt_unused.next = self.pt.out_addr.val().any()
            || self.pt.cnt_done.val().any()
            || self.pt.cnt_late.val().any()
            || self.pt.cnt_timeout.val().any()
            || self.pt.cnt_full.val().any()
            || self.pt.cnt_refused.val().any()
            || self.pt.cnt_bypass.val().any()
            || self.pt.cnt_stray.val().any();

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
        if self.pt_on.val() {
            // The trigger's output register, else the agent's.
            if !self.pt.out_valid.val() && self.regs_drs.val() {
                self.drs_valid.next = true;
                self.drs_meta.next = self.regs.drs_meta.val();
                self.drs_tag.next = self.regs.drs_tag.val();
                self.drs_data.next = self.regs.drs_data.val();
            } else {
                self.drs_valid.next = self.pt.out_valid.val();
                self.drs_opcode.next = self.pt.out_side.val().get_bits::<RSP_OPCODE_BITS>(0);
                self.drs_meta.next = self.pt.out_side.val().get_bits::<META_BITS>(3);
                self.drs_tag.next = self.pt.out_side.val().get_bits::<TAG_BITS>(5);
                self.drs_data.next = self.pt.out_data.val();
            }
        } else if !self.core.drs_valid.val() && self.regs_drs.val() {
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
        self.fetch_valid.next = self.pt_on.val() && self.pt.fetch_valid.val();
        self.fetch_frame.next = self.frame_zero.val();
        if self.pt_on.val() {
            self.fetch_frame.next = self.pt.fetch_frame.val();
        }
        self.fetch_rsp_ready.next = self.pt_on.val() && self.pt.rsp_ready.val();
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

    #[test]
    fn top_with_the_pt_trigger_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/pt-small.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        assert!(g.pt.is_some());
        let mut uut = Device::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        // The residency RAM: 2048 frames.
        assert!(v.contains("reg [0:0] mem [0:2047];"));
        yosys_validate("linewatch_rtl_top_pt", &v).unwrap();
    }
}
