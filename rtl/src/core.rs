//! Device core: the home agent of the coherent window.
//!
//! Per cycle: picks one message (request-with-data, then command, then request)
//! and accepts it only if every resource it needs is free this cycle (memory-request
//! register, NDR register, a read-queue entry, and a snoop-queue entry if the message
//! may make a snoop), judged from opcodes and registered state. An accepted message
//! loads the output registers and marks its line dirty in the bitmap at once; its
//! filter work follows in a pipeline that never stalls: the address, pick and
//! read stages (the RTL reads the set from a register over two edges, then
//! compares its tags) and, four cycles after acceptance, the filter stage
//! (lookup, update; a victim or command snoop joins the snoop queue, whose head
//! takes a free tracker slot).
//! Independently it moves one memory response to the DRS register, one snoop to
//! the host and takes one snoop response. Errors are counted one cycle after they
//! are seen.

use crate::dirty_bitmap::{DirtyBitmap, LINE_BITS};
use crate::read_queue::ReadQueue;
use crate::snoop_filter::{SnoopFilter, SET_BITS, SF_DOWNGRADE, SF_NONE, SF_REMOVE, SF_SET};
use crate::snoop_tracker::SnoopTracker;
use linewatch_model::config::Geometry;
use linewatch_model::device::core::SNOOP_QUEUE;
use linewatch_model::protocol::{
    ErrCode, Meta, NdrOp, ReqOp, RwdOp, SnpOp, ADDR_BITS, ADDR_MASK, BITAG_BITS, DATA_BITS,
    DRS_MEMDATA, ERR_CODE_BITS, ERR_COUNT_BITS, HV_INDEX_BITS, HV_LEVEL_BITS, MASK_BITS, META_BITS,
    OPCODE_BITS, RSP_OPCODE_BITS, TAG_BITS,
};
use rust_hdl::prelude::*;

// The model's depth; the queue's entries and its room check are written out for it.
const _: () = assert!(
    SNOOP_QUEUE == 5,
    "the snoop queue's room check is written for five entries"
);

type Addr = Bits<ADDR_BITS>;
type Op = Bits<OPCODE_BITS>;
type RspOp = Bits<RSP_OPCODE_BITS>;
type MetaV = Bits<META_BITS>;
type Tag = Bits<TAG_BITS>;
type Line = Bits<DATA_BITS>;
type Mask = Bits<MASK_BITS>;
type Err = Bits<ERR_CODE_BITS>;
type SfOpV = Bits<2>;

/// The core: `top$core` in the generated Verilog. Its ports are exactly the
/// model's port table plus `clock`.
#[derive(LogicBlock)]
pub struct Core {
    pub clock: Signal<In, Clock>,
    // request channel
    pub req_valid: Signal<In, bool>,
    pub req_opcode: Signal<In, Op>,
    pub req_meta: Signal<In, MetaV>,
    pub req_tag: Signal<In, Tag>,
    pub req_addr: Signal<In, Addr>,
    // request-with-data channel
    pub rwd_valid: Signal<In, bool>,
    /// The request-with-data / request on the channel is the register agent's: the
    /// channel pick ignores this (no address decode before it), acceptance does not.
    pub rwd_foreign: Signal<In, bool>,
    pub req_foreign: Signal<In, bool>,
    pub rwd_opcode: Signal<In, Op>,
    pub rwd_meta: Signal<In, MetaV>,
    pub rwd_tag: Signal<In, Tag>,
    pub rwd_addr: Signal<In, Addr>,
    pub rwd_mask: Signal<In, Mask>,
    pub rwd_data: Signal<In, Line>,
    pub ndr_ready: Signal<In, bool>,
    pub drs_ready: Signal<In, bool>,
    pub bisnp_ready: Signal<In, bool>,
    // snoop-response channel
    pub birsp_valid: Signal<In, bool>,
    pub birsp_opcode: Signal<In, Op>,
    pub birsp_bitag: Signal<In, Bits<BITAG_BITS>>,
    // device memory
    pub mem_req_ready: Signal<In, bool>,
    pub mem_rsp_valid: Signal<In, bool>,
    pub mem_rsp_data: Signal<In, Line>,
    // command port
    pub cmd_valid: Signal<In, bool>,
    pub cmd_opcode: Signal<In, Op>,
    pub cmd_addr: Signal<In, Addr>,
    // harvest port
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
    /// Events for the register agent's ring (not top ports): the line the accepted
    /// message marks dirty, and the victim the filter stage recalls (window-relative).
    pub ev_dirty_valid: Signal<Out, bool>,
    pub ev_dirty_line: Signal<Out, Bits<LINE_BITS>>,
    pub ev_recall_valid: Signal<Out, bool>,
    pub ev_recall_line: Signal<Out, Bits<LINE_BITS>>,
    /// The line address of the DRS register's response (not a top port: the top's
    /// page-table trigger reads it; without the trigger synthesis removes it).
    pub drs_addr: Signal<Out, Addr>,

    sf: SnoopFilter,
    tracker: SnoopTracker,
    rq: ReadQueue,
    bitmap: DirtyBitmap,

    // NDR register
    ndr_valid_r: DFF<bool>,
    ndr_opcode_r: DFF<RspOp>,
    /// The NDR register's message was out of the window: its opcode is Cmp.
    ndr_out_r: DFF<bool>,
    ndr_tag_r: DFF<Tag>,
    // DRS register
    drs_valid_r: DFF<bool>,
    /// The head entry's grant before the window check, and the check (`drs_ok_r`),
    /// applied at the output: a line out of the window is granted I. Both load at
    /// the pop, so the register's inputs are the queue's head alone (with the
    /// check before it, Yosys made the check a reset term behind the pop).
    drs_meta_r: DFF<MetaV>,
    drs_ok_r: DFF<bool>,
    drs_tag_r: DFF<Tag>,
    drs_data_r: DFF<Line>,
    drs_addr_r: DFF<Addr>,
    // memory-request register
    mem_valid_r: DFF<bool>,
    mem_write_r: DFF<bool>,
    mem_addr_r: DFF<Addr>,
    mem_mask_r: DFF<Mask>,
    mem_data_r: DFF<Line>,
    // address stage: the filter work of the message accepted in the previous cycle;
    // the filter reads its set at the end of the cycle, from `s2_line`
    s2_valid: DFF<bool>,
    /// The message's filter operation, snoop and error code as if it were in the
    /// window, and the window check beside them: the check (an address compare)
    /// is applied in this stage, so it reaches no register through more logic.
    s2_op: DFF<SfOpV>,
    s2_owned: DFF<bool>,
    s2_snoop: DFF<bool>,
    /// With the register agent (`inw_apart`), the window check of each channel's
    /// message and which channel was picked, so no compare waits for the channel
    /// select (the agent's commands reach the command channel through the top's
    /// multiplexer, so its compare comes late); without it, the picked message's
    /// check in one flop (`s2_inw_one`), which keeps the iCE40 accept paths at five
    /// LUT levels (step 34).
    inw_apart: Constant<bool>,
    s2_inw_one: DFF<bool>,
    s2_inw_w: DFF<bool>,
    s2_inw_c: DFF<bool>,
    s2_inw_r: DFF<bool>,
    s2_is_w: DFF<bool>,
    s2_is_c: DFF<bool>,
    s2_inw: Signal<Local, bool>,
    a_inw: Signal<Local, bool>,
    s2_snoop_op: DFF<Op>,
    /// Window-relative line: only in-window messages ever do filter work.
    s2_line: DFF<Bits<LINE_BITS>>,
    // pick stage: the message accepted two cycles ago, whose set the filter's RAM
    // picks from its banks (the filter's own registers; these carry the work along)
    s3_valid: DFF<bool>,
    s3_op: DFF<SfOpV>,
    s3_owned: DFF<bool>,
    s3_snoop: DFF<bool>,
    s3_snoop_op: DFF<Op>,
    s3_line: DFF<Bits<LINE_BITS>>,
    // read stage: the message accepted three cycles ago, whose set leaves the
    // filter's RAM and meets its line's tag compares
    s4_valid: DFF<bool>,
    /// The filter operation, NONE when the stage is empty.
    s4_op: DFF<SfOpV>,
    s4_owned: DFF<bool>,
    s4_snoop: DFF<bool>,
    s4_snoop_op: DFF<Op>,
    s4_line: DFF<Bits<LINE_BITS>>,
    /// `s4_line` again, for the filter's tag compares alone: a `keep_*` copy, like
    /// the filter's `keep_set` (the plain register is shared with the agent's event
    /// path).
    keep_sf_line: DFF<Bits<LINE_BITS>>,
    /// `drs_valid_r`'s copy for the read queue's pop: the register itself enables
    /// the DRS register's 512 data flip-flops and sits among them; the copy can sit
    /// by the queue (a `keep_*` module, so Yosys does not merge the two).
    keep_drs_valid: DFF<bool>,
    /// The DRS register is free for the pop (from `keep_drs_valid`).
    drs_free_pop: Signal<Local, bool>,
    // filter stage: the message accepted four cycles ago, looked up and applied
    s5_valid: DFF<bool>,
    /// The filter operation, NONE when the stage is empty.
    s5_op: DFF<SfOpV>,
    s5_owned: DFF<bool>,
    s5_snoop: DFF<bool>,
    s5_snoop_op: DFF<Op>,
    s5_line: DFF<Bits<LINE_BITS>>,
    // snoop queue (entry 0 is the head): snoops made by the filter stage, each
    // waiting for a tracker slot; lines are window-relative
    snq_count: DFF<Bits<3>>,
    snq_op: [DFF<Op>; SNOOP_QUEUE],
    snq_line: [DFF<Bits<LINE_BITS>>; SNOOP_QUEUE],
    // error reporting: this cycle's errors, counted at the next edge
    e_msg_r: DFF<Err>,
    e_rsp_r: DFF<Err>,
    e_hv_r: DFF<Err>,
    err_count_r: DFF<Bits<ERR_COUNT_BITS>>,
    err_code_r: DFF<Err>,

    // configuration
    window_base_line: Constant<Addr>,
    window_high: Constant<Addr>,
    window_mask: Constant<Bits<LINE_BITS>>,
    dirty_on_ownership: Constant<bool>,
    // encodings
    req_mem_inv: Constant<Op>,
    req_mem_rd: Constant<Op>,
    req_mem_rd_data: Constant<Op>,
    req_mem_cln_evct: Constant<Op>,
    rwd_mem_wr: Constant<Op>,
    rwd_mem_wr_ptl: Constant<Op>,
    snp_cur: Constant<Op>,
    snp_data: Constant<Op>,
    snp_inv: Constant<Op>,
    meta_i: Constant<MetaV>,
    meta_a: Constant<MetaV>,
    meta_s: Constant<MetaV>,
    ndr_cmp: Constant<RspOp>,
    ndr_cmp_s: Constant<RspOp>,
    ndr_cmp_e: Constant<RspOp>,
    drs_memdata: Constant<RspOp>,
    err_none: Constant<Err>,
    err_bad_opcode: Constant<Err>,
    err_bad_meta: Constant<Err>,
    err_out_of_window: Constant<Err>,
    err_bad_harvest: Constant<Err>,
    sf_none: Constant<SfOpV>,
    sf_remove: Constant<SfOpV>,
    sf_set: Constant<SfOpV>,
    sf_downgrade: Constant<SfOpV>,
    tag_zero: Constant<Tag>,
    op_zero: Constant<Op>,
    mask_zero: Constant<Mask>,
    mask_full: Constant<Mask>,

    // request decode
    rq_inv: Signal<Local, bool>,
    rq_rd: Signal<Local, bool>,
    rq_rd_data: Signal<Local, bool>,
    rq_read: Signal<Local, bool>,
    rq_evct: Signal<Local, bool>,
    rq_op_ok: Signal<Local, bool>,
    rq_meta_ok: Signal<Local, bool>,
    rq_inw: Signal<Local, bool>,
    rq_ok: Signal<Local, bool>,
    rq_err: Signal<Local, Err>,
    rq_meta: Signal<Local, MetaV>,
    rq_grant: Signal<Local, MetaV>,
    rq_pre_grant: Signal<Local, MetaV>,
    rq_sf: Signal<Local, SfOpV>,
    rq_owned: Signal<Local, bool>,
    rq_ndr_op: Signal<Local, RspOp>,
    rq_dirty: Signal<Local, bool>,
    // request-with-data decode
    wd_wr: Signal<Local, bool>,
    wd_op_ok: Signal<Local, bool>,
    wd_meta_ok: Signal<Local, bool>,
    wd_inw: Signal<Local, bool>,
    wd_err: Signal<Local, Err>,
    wd_sf: Signal<Local, SfOpV>,
    wd_mask: Signal<Local, Mask>,
    // command decode
    cm_op_ok: Signal<Local, bool>,
    cm_inw: Signal<Local, bool>,
    cm_err: Signal<Local, Err>,
    cm_sf: Signal<Local, SfOpV>,
    // the selected message's action
    a_addr: Signal<Local, Addr>,
    a_err: Signal<Local, Err>,
    a_sf: Signal<Local, SfOpV>,
    a_owned: Signal<Local, bool>,
    a_write: Signal<Local, bool>,
    a_mask: Signal<Local, Mask>,
    a_ndr_op: Signal<Local, RspOp>,
    a_snoop: Signal<Local, bool>,
    a_snoop_op: Signal<Local, Op>,
    a_tag: Signal<Local, Tag>,
    // acceptance
    ndr_free: Signal<Local, bool>,
    mem_free: Signal<Local, bool>,
    drs_free: Signal<Local, bool>,
    needs_victim: Signal<Local, bool>,
    accept: Signal<Local, bool>,
    /// Acceptance per channel and, for requests, per kind (a read, or one answered
    /// with an NDR): each register that takes an accepted message ORs only the terms
    /// that can load it, so a read's resources (the read queue's `full`) are not in
    /// the NDR's cone, nor the NDR's in the read's.
    acc_wd: Signal<Local, bool>,
    acc_cm: Signal<Local, bool>,
    acc_rd: Signal<Local, bool>,
    acc_nd: Signal<Local, bool>,
    set_dirty: Signal<Local, bool>,
    /// The messages in the address, pick, read and filter stages may take a
    /// snoop-queue entry (registers, so the accept decision reads them directly).
    s2_may_slot: DFF<bool>,
    s3_may_slot: DFF<bool>,
    s4_may_slot: DFF<bool>,
    s5_may_slot: DFF<bool>,
    /// `snq_held[j]`: the queue's entries counted plus the pick, read and filter
    /// stages' reservations are more than `j` (a thermometer code of that sum,
    /// kept beside the count), so the room check is one LUT of flip-flops.
    snq_held: [DFF<bool>; SNOOP_QUEUE],
    /// That sum at the next edge if the filter stage pushes (its reservation then
    /// counts as an entry): one more, one less; the code then.
    held_up: Signal<Local, bool>,
    held_down_one: Signal<Local, bool>,
    held_push: [Signal<Local, bool>; SNOOP_QUEUE],
    /// The same if it does not (its reservation, if any, goes): one more, one less,
    /// two less; the code then.
    held_gone_up: Signal<Local, bool>,
    held_gone_one: Signal<Local, bool>,
    held_gone_two: Signal<Local, bool>,
    held_gone: [Signal<Local, bool>; SNOOP_QUEUE],
    snq_pop: Signal<Local, bool>,
    snq_push: Signal<Local, bool>,
    snq_land: Signal<Local, Bits<3>>,
    push_op: Signal<Local, Op>,
    push_line: Signal<Local, Bits<LINE_BITS>>,
    /// `snq_at[q]` = q: the count at which a push lands in entry q.
    snq_at: [Constant<Bits<3>>; SNOOP_QUEUE],
    snq_one: Constant<Bits<3>>,
    slot_ok: Signal<Local, bool>,
    /// The filter stage's line.
    s5_addr: Signal<Local, Addr>,
    take_rsp: Signal<Local, bool>,
    pop: Signal<Local, bool>,
    // this cycle's errors, in the order err_code is overwritten
    e_msg: Signal<Local, Err>,
    e_rsp: Signal<Local, Err>,
    e_hv: Signal<Local, Err>,
    e_msg_any: Signal<Local, bool>,
    e_msg_code: Signal<Local, Err>,
    e_rsp_any: Signal<Local, bool>,
    e_hv_any: Signal<Local, bool>,
    /// The error count plus one, two and three, from its flip-flops: the errors of
    /// the cycle pick one (carry select), so no carry chain follows them (step 34).
    err_plus: [Signal<Local, Bits<ERR_COUNT_BITS>>; 3],
    err_step: [Constant<Bits<ERR_COUNT_BITS>>; 3],
}

fn k<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(v.into())
}

impl Core {
    pub fn new(g: &Geometry) -> Self {
        Self {
            clock: Default::default(),
            req_valid: Default::default(),
            req_opcode: Default::default(),
            req_meta: Default::default(),
            req_tag: Default::default(),
            req_addr: Default::default(),
            rwd_valid: Default::default(),
            rwd_foreign: Default::default(),
            req_foreign: Default::default(),
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
            ev_dirty_valid: Default::default(),
            ev_dirty_line: Default::default(),
            ev_recall_valid: Default::default(),
            ev_recall_line: Default::default(),
            drs_addr: Default::default(),
            sf: SnoopFilter::new(g),
            tracker: SnoopTracker::new(g),
            rq: ReadQueue::new(g),
            bitmap: DirtyBitmap::new(g),
            ndr_valid_r: Default::default(),
            ndr_opcode_r: Default::default(),
            ndr_out_r: Default::default(),
            ndr_tag_r: Default::default(),
            drs_valid_r: Default::default(),
            drs_meta_r: Default::default(),
            drs_ok_r: Default::default(),
            drs_tag_r: Default::default(),
            drs_data_r: Default::default(),
            drs_addr_r: Default::default(),
            mem_valid_r: Default::default(),
            mem_write_r: Default::default(),
            mem_addr_r: Default::default(),
            mem_mask_r: Default::default(),
            mem_data_r: Default::default(),
            s2_valid: Default::default(),
            s2_op: Default::default(),
            s2_owned: Default::default(),
            s2_snoop: Default::default(),
            inw_apart: Constant::new(g.registers),
            s2_inw_one: Default::default(),
            s2_inw_w: Default::default(),
            s2_inw_c: Default::default(),
            s2_inw_r: Default::default(),
            s2_is_w: Default::default(),
            s2_is_c: Default::default(),
            s2_inw: Default::default(),
            a_inw: Default::default(),
            s2_snoop_op: Default::default(),
            s2_line: Default::default(),
            s3_valid: Default::default(),
            s3_op: Default::default(),
            s3_owned: Default::default(),
            s3_snoop: Default::default(),
            s3_snoop_op: Default::default(),
            s3_line: Default::default(),
            s4_valid: Default::default(),
            s4_op: Default::default(),
            s4_owned: Default::default(),
            s4_snoop: Default::default(),
            s4_snoop_op: Default::default(),
            s4_line: Default::default(),
            keep_sf_line: Default::default(),
            keep_drs_valid: Default::default(),
            drs_free_pop: Default::default(),
            s5_valid: Default::default(),
            s5_op: Default::default(),
            s5_owned: Default::default(),
            s5_snoop: Default::default(),
            s5_snoop_op: Default::default(),
            s5_line: Default::default(),
            snq_count: Default::default(),
            snq_op: Default::default(),
            snq_line: Default::default(),
            e_msg_r: Default::default(),
            e_rsp_r: Default::default(),
            e_hv_r: Default::default(),
            err_count_r: Default::default(),
            err_code_r: Default::default(),
            window_base_line: k(g.window_base_line),
            window_high: k(!g.window_mask & ADDR_MASK),
            window_mask: k(g.window_mask),
            dirty_on_ownership: Constant::new(g.dirty_on_ownership),
            req_mem_inv: k(ReqOp::MemInv as u64),
            req_mem_rd: k(ReqOp::MemRd as u64),
            req_mem_rd_data: k(ReqOp::MemRdData as u64),
            req_mem_cln_evct: k(ReqOp::MemClnEvct as u64),
            rwd_mem_wr: k(RwdOp::MemWr as u64),
            rwd_mem_wr_ptl: k(RwdOp::MemWrPtl as u64),
            snp_cur: k(SnpOp::BISnpCur as u64),
            snp_data: k(SnpOp::BISnpData as u64),
            snp_inv: k(SnpOp::BISnpInv as u64),
            meta_i: k(Meta::Invalid as u64),
            meta_a: k(Meta::Any as u64),
            meta_s: k(Meta::Shared as u64),
            ndr_cmp: k(NdrOp::Cmp as u64),
            ndr_cmp_s: k(NdrOp::CmpS as u64),
            ndr_cmp_e: k(NdrOp::CmpE as u64),
            drs_memdata: k(DRS_MEMDATA as u64),
            err_none: k(ErrCode::None as u64),
            err_bad_opcode: k(ErrCode::BadOpcode as u64),
            err_bad_meta: k(ErrCode::BadMeta as u64),
            err_out_of_window: k(ErrCode::OutOfWindow as u64),
            err_bad_harvest: k(ErrCode::BadHarvest as u64),
            sf_none: k(SF_NONE),
            sf_remove: k(SF_REMOVE),
            sf_set: k(SF_SET),
            sf_downgrade: k(SF_DOWNGRADE),
            tag_zero: k(0),
            op_zero: k(0),
            mask_zero: k(0),
            mask_full: k(u64::MAX),
            rq_inv: Default::default(),
            rq_rd: Default::default(),
            rq_rd_data: Default::default(),
            rq_read: Default::default(),
            rq_evct: Default::default(),
            rq_op_ok: Default::default(),
            rq_meta_ok: Default::default(),
            rq_inw: Default::default(),
            rq_ok: Default::default(),
            rq_err: Default::default(),
            rq_meta: Default::default(),
            rq_grant: Default::default(),
            rq_pre_grant: Default::default(),
            rq_sf: Default::default(),
            rq_owned: Default::default(),
            rq_ndr_op: Default::default(),
            rq_dirty: Default::default(),
            wd_wr: Default::default(),
            wd_op_ok: Default::default(),
            wd_meta_ok: Default::default(),
            wd_inw: Default::default(),
            wd_err: Default::default(),
            wd_sf: Default::default(),
            wd_mask: Default::default(),
            cm_op_ok: Default::default(),
            cm_inw: Default::default(),
            cm_err: Default::default(),
            cm_sf: Default::default(),
            a_addr: Default::default(),
            a_err: Default::default(),
            a_sf: Default::default(),
            a_owned: Default::default(),
            a_write: Default::default(),
            a_mask: Default::default(),
            a_ndr_op: Default::default(),
            a_snoop: Default::default(),
            a_snoop_op: Default::default(),
            a_tag: Default::default(),
            ndr_free: Default::default(),
            mem_free: Default::default(),
            drs_free: Default::default(),
            needs_victim: Default::default(),
            accept: Default::default(),
            acc_wd: Default::default(),
            acc_cm: Default::default(),
            acc_rd: Default::default(),
            acc_nd: Default::default(),
            set_dirty: Default::default(),
            s2_may_slot: Default::default(),
            s3_may_slot: Default::default(),
            s4_may_slot: Default::default(),
            s5_may_slot: Default::default(),
            snq_held: Default::default(),
            held_up: Default::default(),
            held_down_one: Default::default(),
            held_push: Default::default(),
            held_gone_up: Default::default(),
            held_gone_one: Default::default(),
            held_gone_two: Default::default(),
            held_gone: Default::default(),
            snq_pop: Default::default(),
            snq_push: Default::default(),
            snq_land: Default::default(),
            push_op: Default::default(),
            push_line: Default::default(),
            snq_at: std::array::from_fn(|q| k(q as u64)),
            snq_one: k(1),
            slot_ok: Default::default(),
            s5_addr: Default::default(),
            take_rsp: Default::default(),
            pop: Default::default(),
            e_msg: Default::default(),
            e_rsp: Default::default(),
            e_hv: Default::default(),
            e_msg_any: Default::default(),
            e_msg_code: Default::default(),
            e_rsp_any: Default::default(),
            e_hv_any: Default::default(),
            err_plus: Default::default(),
            err_step: std::array::from_fn(|i| k(i as u64 + 1)),
        }
    }
}

impl Logic for Core {
    // The snoop-queue thermometer is written out per bit and per case, some of which
    // coincide at the top bit.
    #[allow(clippy::if_same_then_else)]
    #[hdl_gen]
    fn update(&mut self) {
        // Registers hold unless loaded.
        dff_setup!(
            self,
            clock,
            ndr_valid_r,
            ndr_opcode_r,
            ndr_out_r,
            ndr_tag_r,
            drs_valid_r,
            drs_meta_r,
            drs_ok_r,
            drs_tag_r,
            drs_data_r,
            drs_addr_r,
            mem_valid_r,
            mem_write_r,
            mem_addr_r,
            mem_mask_r,
            mem_data_r,
            s2_valid,
            s2_may_slot,
            s3_may_slot,
            s4_may_slot,
            s5_may_slot,
            s2_op,
            s2_owned,
            s2_snoop,
            s2_inw_one,
            s2_inw_w,
            s2_inw_c,
            s2_inw_r,
            s2_is_w,
            s2_is_c,
            s2_snoop_op,
            s2_line,
            s3_valid,
            s3_op,
            s3_owned,
            s3_snoop,
            s3_snoop_op,
            s3_line,
            s4_valid,
            s4_op,
            s4_owned,
            s4_snoop,
            s4_snoop_op,
            s4_line,
            s5_valid,
            s5_op,
            s5_owned,
            s5_snoop,
            s5_snoop_op,
            s5_line,
            snq_count,
            e_msg_r,
            e_rsp_r,
            e_hv_r,
            err_count_r,
            err_code_r
        );
        self.sf.clock.next = self.clock.val();
        for q in 0..5 {
            self.snq_held[q].clock.next = self.clock.val();
            self.snq_held[q].d.next = self.snq_held[q].q.val();
            self.snq_op[q].clock.next = self.clock.val();
            self.snq_line[q].clock.next = self.clock.val();
            self.snq_op[q].d.next = self.snq_op[q].q.val();
            self.snq_line[q].d.next = self.snq_line[q].q.val();
        }
        self.tracker.clock.next = self.clock.val();
        self.rq.clock.next = self.clock.val();
        self.bitmap.clock.next = self.clock.val();

        // Request decode. Error precedence: opcode, meta, window (the window check is
        // applied in the read stage, `s2_inw`).
        self.rq_inv.next = self.req_opcode.val() == self.req_mem_inv.val();
        self.rq_rd.next = self.req_opcode.val() == self.req_mem_rd.val();
        self.rq_rd_data.next = self.req_opcode.val() == self.req_mem_rd_data.val();
        self.rq_evct.next = self.req_opcode.val() == self.req_mem_cln_evct.val();
        self.rq_read.next = self.rq_rd.val() || self.rq_rd_data.val();
        self.rq_op_ok.next = self.rq_inv.val() || self.rq_read.val() || self.rq_evct.val();
        self.rq_meta_ok.next = self.req_meta.val() == self.meta_i.val()
            || self.req_meta.val() == self.meta_a.val()
            || self.req_meta.val() == self.meta_s.val();
        self.rq_inw.next =
            (self.req_addr.val() & self.window_high.val()) == self.window_base_line.val();
        self.rq_ok.next = self.rq_op_ok.val() && self.rq_meta_ok.val() && self.rq_inw.val();
        if !self.rq_op_ok.val() {
            self.rq_err.next = self.err_bad_opcode.val();
        } else if !self.rq_meta_ok.val() {
            self.rq_err.next = self.err_bad_meta.val();
        } else {
            self.rq_err.next = self.err_none.val();
        }
        // A rejected message proceeds with meta I.
        if self.rq_ok.val() {
            self.rq_meta.next = self.req_meta.val();
        } else {
            self.rq_meta.next = self.meta_i.val();
        }
        self.rq_grant.next = self.meta_i.val();
        if self.rq_read.val() || self.rq_inv.val() {
            self.rq_grant.next = self.rq_meta.val();
        }
        if self.rq_rd_data.val() && self.rq_ok.val() {
            self.rq_grant.next = self.meta_a.val();
        }
        // A read's grant before the window check (the read queue applies that).
        self.rq_pre_grant.next = self.meta_i.val();
        if self.rq_meta_ok.val() {
            if self.rq_rd_data.val() {
                self.rq_pre_grant.next = self.meta_a.val();
            } else {
                self.rq_pre_grant.next = self.req_meta.val();
            }
        }
        self.rq_sf.next = self.sf_none.val();
        if self.rq_op_ok.val() && self.rq_meta_ok.val() {
            if self.rq_read.val() {
                if self.rq_pre_grant.val() != self.meta_i.val() {
                    self.rq_sf.next = self.sf_set.val();
                }
            } else if self.rq_inv.val() {
                if self.req_meta.val() == self.meta_i.val() {
                    self.rq_sf.next = self.sf_remove.val();
                } else {
                    self.rq_sf.next = self.sf_set.val();
                }
            } else {
                self.rq_sf.next = self.sf_remove.val();
            }
        }
        // Owned matters only with a SET, which needs opcode, meta and window right.
        self.rq_owned.next = self.rq_rd_data.val() || self.req_meta.val() == self.meta_a.val();
        // The NDR opcode before the window check: an out-of-window MemInv proceeds
        // with meta I and gets Cmp, which `ndr_out_r` applies at the output.
        self.rq_ndr_op.next = self.ndr_cmp.val();
        if self.rq_inv.val() && self.rq_meta_ok.val() {
            if self.req_meta.val() == self.meta_s.val() {
                self.rq_ndr_op.next = self.ndr_cmp_s.val();
            }
            if self.req_meta.val() == self.meta_a.val() {
                self.rq_ndr_op.next = self.ndr_cmp_e.val();
            }
        }
        self.rq_dirty.next = self.rq_ok.val()
            && self.dirty_on_ownership.val()
            && self.rq_grant.val() == self.meta_a.val();

        // Request-with-data decode: a write that keeps the line in A is a bad meta.
        self.wd_wr.next = self.rwd_opcode.val() == self.rwd_mem_wr.val();
        self.wd_op_ok.next = self.wd_wr.val() || self.rwd_opcode.val() == self.rwd_mem_wr_ptl.val();
        self.wd_meta_ok.next =
            self.rwd_meta.val() == self.meta_i.val() || self.rwd_meta.val() == self.meta_s.val();
        self.wd_inw.next =
            (self.rwd_addr.val() & self.window_high.val()) == self.window_base_line.val();
        if !self.wd_op_ok.val() {
            self.wd_err.next = self.err_bad_opcode.val();
        } else if !self.wd_meta_ok.val() {
            self.wd_err.next = self.err_bad_meta.val();
        } else {
            self.wd_err.next = self.err_none.val();
        }
        self.wd_sf.next = self.sf_none.val();
        if self.wd_op_ok.val() && self.wd_meta_ok.val() {
            if self.rwd_meta.val() == self.meta_s.val() {
                self.wd_sf.next = self.sf_downgrade.val();
            } else {
                self.wd_sf.next = self.sf_remove.val();
            }
        }
        if self.wd_wr.val() {
            self.wd_mask.next = self.mask_full.val();
        } else {
            self.wd_mask.next = self.rwd_mask.val();
        }

        // Command decode.
        self.cm_op_ok.next = self.cmd_opcode.val() == self.snp_cur.val()
            || self.cmd_opcode.val() == self.snp_data.val()
            || self.cmd_opcode.val() == self.snp_inv.val();
        self.cm_inw.next =
            (self.cmd_addr.val() & self.window_high.val()) == self.window_base_line.val();
        if !self.cm_op_ok.val() {
            self.cm_err.next = self.err_bad_opcode.val();
        } else {
            self.cm_err.next = self.err_none.val();
        }
        self.cm_sf.next = self.sf_none.val();
        if self.cmd_opcode.val() == self.snp_inv.val() {
            self.cm_sf.next = self.sf_remove.val();
        }
        if self.cmd_opcode.val() == self.snp_data.val() {
            self.cm_sf.next = self.sf_downgrade.val();
        }

        // Select: request-with-data, then command, then request.
        if self.rwd_valid.val() {
            self.a_addr.next = self.rwd_addr.val();
            self.a_err.next = self.wd_err.val();
            self.a_inw.next = self.wd_inw.val();
            self.a_sf.next = self.wd_sf.val();
            self.a_owned.next = false;
            self.a_write.next = self.wd_op_ok.val();
            self.a_mask.next = self.wd_mask.val();
            self.a_ndr_op.next = self.ndr_cmp.val();
            self.a_snoop.next = false;
            self.a_snoop_op.next = self.op_zero.val();
            self.a_tag.next = self.rwd_tag.val();
        } else if self.cmd_valid.val() {
            self.a_addr.next = self.cmd_addr.val();
            self.a_err.next = self.cm_err.val();
            self.a_inw.next = self.cm_inw.val();
            self.a_sf.next = self.cm_sf.val();
            self.a_owned.next = false;
            self.a_write.next = false;
            self.a_mask.next = self.mask_zero.val();
            self.a_ndr_op.next = self.ndr_cmp.val();
            self.a_snoop.next = self.cm_op_ok.val();
            self.a_snoop_op.next = self.cmd_opcode.val();
            self.a_tag.next = self.tag_zero.val();
        } else {
            self.a_addr.next = self.req_addr.val();
            self.a_err.next = self.rq_err.val();
            self.a_inw.next = self.rq_inw.val();
            self.a_sf.next = self.rq_sf.val();
            self.a_owned.next = self.rq_owned.val();
            self.a_write.next = false;
            self.a_mask.next = self.mask_zero.val();
            self.a_ndr_op.next = self.rq_ndr_op.val();
            self.a_snoop.next = false;
            self.a_snoop_op.next = self.op_zero.val();
            self.a_tag.next = self.req_tag.val();
        }

        // Accept only if every resource the message needs is free this cycle, judged
        // by opcodes and registered state. The filter work happens four cycles later
        // in the filter stage and never waits there: a message that may take a snoop
        // slot needs a snoop-queue entry beyond those the messages in the address,
        // pick, read and filter stages may take (the queue's head leaves this cycle if
        // a tracker slot is free).
        self.ndr_free.next = !self.ndr_valid_r.q.val() || self.ndr_ready.val();
        self.mem_free.next = !self.mem_valid_r.q.val() || self.mem_req_ready.val();
        self.drs_free.next = !self.drs_valid_r.q.val() || self.drs_ready.val();
        self.drs_free_pop.next = !self.keep_drs_valid.q.val() || self.drs_ready.val();
        self.snq_pop.next =
            self.snq_count.q.val() != self.snq_at[0].val() && self.tracker.free_valid.val();
        // Room when the entries counted plus those reserved are fewer than five, or the
        // head leaves (entries + reservations never exceed five; a free tracker slot
        // stands for the pop, since an empty queue is never full). The sum less the
        // address stage's reservation is a thermometer code in flip-flops, so the check
        // is one LUT rather than a sum and a compare in front of acceptance.
        self.slot_ok.next = !(self.snq_held[4].q.val()
            || (self.snq_held[3].q.val() && self.s2_may_slot.q.val()))
            || self.tracker.free_valid.val();
        // Per channel, with the channel select folded into each term: the same
        // decision as "the selected message's needs are all free".
        self.acc_wd.next = self.rwd_valid.val()
            && !self.rwd_foreign.val()
            && self.ndr_free.val()
            && (!self.wd_op_ok.val() || self.mem_free.val());
        self.acc_cm.next = !self.rwd_valid.val() && self.cmd_valid.val() && self.slot_ok.val();
        self.acc_rd.next = !self.rwd_valid.val()
            && !self.cmd_valid.val()
            && self.req_valid.val()
            && !self.req_foreign.val()
            && self.rq_read.val()
            && self.mem_free.val()
            && !self.rq.full.val()
            && self.slot_ok.val();
        self.acc_nd.next = !self.rwd_valid.val()
            && !self.cmd_valid.val()
            && self.req_valid.val()
            && !self.req_foreign.val()
            && !self.rq_read.val()
            && self.ndr_free.val()
            && (!self.rq_inv.val() || self.slot_ok.val());
        self.accept.next =
            self.acc_wd.val() || self.acc_cm.val() || self.acc_rd.val() || self.acc_nd.val();
        self.rwd_ready.next = self.acc_wd.val();
        self.cmd_ready.next = self.acc_cm.val();
        self.req_ready.next = self.acc_rd.val() || self.acc_nd.val();
        // The data reached memory: the line is dirty even if the meta was bad.
        self.set_dirty.next = (self.acc_wd.val() && self.wd_op_ok.val() && self.wd_inw.val())
            || ((self.acc_rd.val() || self.acc_nd.val()) && self.rq_dirty.val());

        // Filter stage: look the line up and apply; a victim or a command snoop joins
        // the snoop queue (acceptance reserved the entry). The filter reads the set of
        // the address stage's line at this edge, from a register, so the read is
        // behind no acceptance logic; the read stage compares its tags.
        self.s5_addr.next =
            bit_cast::<ADDR_BITS, LINE_BITS>(self.s5_line.q.val()) | self.window_base_line.val();
        self.sf.addr.next = self.s5_addr.val();
        // Masked again after the copy: constants do not cross its module's boundary,
        // and unmasked its high bits would join every tag compare.
        self.sf.mid_line.next = self.keep_sf_line.q.val() & self.window_mask.val();
        self.needs_victim.next = self.s5_op.q.val() == self.sf_set.val() && self.sf.miss_full.val();
        self.sf.op.next = self.s5_op.q.val();
        self.sf.owned.next = self.s5_owned.q.val();
        self.snq_push.next =
            self.s5_valid.q.val() && (self.needs_victim.val() || self.s5_snoop.q.val());
        // A SET never carries a command snoop, so what a push holds follows the
        // stage's opcode (a flop), not the lookup; only the push itself waits for it.
        if self.s5_op.q.val() == self.sf_set.val() {
            self.push_op.next = self.snp_inv.val();
            self.push_line.next = self.sf.victim_line.val();
        } else {
            self.push_op.next = self.s5_snoop_op.q.val();
            self.push_line.next = self.s5_line.q.val();
        }

        // Snoop queue: the head takes the lowest free tracker slot; a new snoop joins
        // behind what is left.
        self.tracker.alloc.next = self.snq_pop.val();
        self.tracker.alloc_op.next = self.snq_op[0].q.val();
        self.tracker.alloc_addr.next = bit_cast::<ADDR_BITS, LINE_BITS>(self.snq_line[0].q.val())
            | self.window_base_line.val();
        self.snq_land.next = self.snq_count.q.val();
        if self.snq_pop.val() {
            self.snq_land.next = self.snq_count.q.val() - self.snq_one.val();
        }
        if self.snq_pop.val() {
            for q in 0..4 {
                self.snq_op[q].d.next = self.snq_op[q + 1].q.val();
                self.snq_line[q].d.next = self.snq_line[q + 1].q.val();
            }
        }
        // The entry where a push would land takes the push's payload whether or not
        // it pushes (an entry past the count is unused), so the entries' enables do
        // not wait for the lookup; only the count does.
        for q in 0..5 {
            if self.snq_land.val() == self.snq_at[q].val() {
                self.snq_op[q].d.next = self.push_op.val();
                self.snq_line[q].d.next = self.push_line.val();
            }
        }
        self.snq_count.d.next = self.snq_land.val() + self.snq_push.val();
        // The sum at the next edge: the address stage's reservation moves into the
        // pick stage, the filter stage's leaves as a push (which then counts) or goes,
        // and the head may leave (a push always held a reservation). Decided for a
        // push and for none, from flip-flops, and picked by the push last, so the
        // lookup is not in front of the arithmetic.
        self.held_up.next = self.s2_may_slot.q.val() && !self.snq_pop.val();
        self.held_down_one.next = !self.s2_may_slot.q.val() && self.snq_pop.val();
        self.held_gone_up.next =
            self.s2_may_slot.q.val() && !self.s5_may_slot.q.val() && !self.snq_pop.val();
        self.held_gone_two.next =
            !self.s2_may_slot.q.val() && self.s5_may_slot.q.val() && self.snq_pop.val();
        self.held_gone_one.next =
            (self.s2_may_slot.q.val() && self.s5_may_slot.q.val() && self.snq_pop.val())
                || (!self.s2_may_slot.q.val() && (self.s5_may_slot.q.val() != self.snq_pop.val()));
        if self.held_up.val() {
            self.held_push[0].next = true;
        } else if self.held_down_one.val() {
            self.held_push[0].next = self.snq_held[1].q.val();
        } else {
            self.held_push[0].next = self.snq_held[0].q.val();
        }
        if self.held_gone_up.val() {
            self.held_gone[0].next = true;
        } else if self.held_gone_one.val() {
            self.held_gone[0].next = self.snq_held[1].q.val();
        } else if self.held_gone_two.val() {
            self.held_gone[0].next = self.snq_held[2].q.val();
        } else {
            self.held_gone[0].next = self.snq_held[0].q.val();
        }
        if self.snq_push.val() {
            self.snq_held[0].d.next = self.held_push[0].val();
        } else {
            self.snq_held[0].d.next = self.held_gone[0].val();
        }
        if self.held_up.val() {
            self.held_push[1].next = self.snq_held[0].q.val();
        } else if self.held_down_one.val() {
            self.held_push[1].next = self.snq_held[2].q.val();
        } else {
            self.held_push[1].next = self.snq_held[1].q.val();
        }
        if self.held_gone_up.val() {
            self.held_gone[1].next = self.snq_held[0].q.val();
        } else if self.held_gone_one.val() {
            self.held_gone[1].next = self.snq_held[2].q.val();
        } else if self.held_gone_two.val() {
            self.held_gone[1].next = self.snq_held[3].q.val();
        } else {
            self.held_gone[1].next = self.snq_held[1].q.val();
        }
        if self.snq_push.val() {
            self.snq_held[1].d.next = self.held_push[1].val();
        } else {
            self.snq_held[1].d.next = self.held_gone[1].val();
        }
        if self.held_up.val() {
            self.held_push[2].next = self.snq_held[1].q.val();
        } else if self.held_down_one.val() {
            self.held_push[2].next = self.snq_held[3].q.val();
        } else {
            self.held_push[2].next = self.snq_held[2].q.val();
        }
        if self.held_gone_up.val() {
            self.held_gone[2].next = self.snq_held[1].q.val();
        } else if self.held_gone_one.val() {
            self.held_gone[2].next = self.snq_held[3].q.val();
        } else if self.held_gone_two.val() {
            self.held_gone[2].next = self.snq_held[4].q.val();
        } else {
            self.held_gone[2].next = self.snq_held[2].q.val();
        }
        if self.snq_push.val() {
            self.snq_held[2].d.next = self.held_push[2].val();
        } else {
            self.snq_held[2].d.next = self.held_gone[2].val();
        }
        if self.held_up.val() {
            self.held_push[3].next = self.snq_held[2].q.val();
        } else if self.held_down_one.val() {
            self.held_push[3].next = self.snq_held[4].q.val();
        } else {
            self.held_push[3].next = self.snq_held[3].q.val();
        }
        if self.held_gone_up.val() {
            self.held_gone[3].next = self.snq_held[2].q.val();
        } else if self.held_gone_one.val() {
            self.held_gone[3].next = self.snq_held[4].q.val();
        } else if self.held_gone_two.val() {
            self.held_gone[3].next = false;
        } else {
            self.held_gone[3].next = self.snq_held[3].q.val();
        }
        if self.snq_push.val() {
            self.snq_held[3].d.next = self.held_push[3].val();
        } else {
            self.snq_held[3].d.next = self.held_gone[3].val();
        }
        if self.held_up.val() {
            self.held_push[4].next = self.snq_held[3].q.val();
        } else if self.held_down_one.val() {
            self.held_push[4].next = false;
        } else {
            self.held_push[4].next = self.snq_held[4].q.val();
        }
        if self.held_gone_up.val() {
            self.held_gone[4].next = self.snq_held[3].q.val();
        } else if self.held_gone_one.val() {
            self.held_gone[4].next = false;
        } else if self.held_gone_two.val() {
            self.held_gone[4].next = false;
        } else {
            self.held_gone[4].next = self.snq_held[4].q.val();
        }
        if self.snq_push.val() {
            self.snq_held[4].d.next = self.held_push[4].val();
        } else {
            self.snq_held[4].d.next = self.held_gone[4].val();
        }
        self.s2_valid.d.next = self.accept.val();
        // The reservation leaves the window check out (an out-of-window message
        // reserves an entry it will not use), so it does not wait for it.
        self.s2_may_slot.d.next = (self.acc_cm.val() && self.cm_op_ok.val())
            || ((self.acc_rd.val() || self.acc_nd.val()) && self.rq_sf.val() == self.sf_set.val());
        self.s3_may_slot.d.next = self.s2_may_slot.q.val();
        self.s4_may_slot.d.next = self.s3_may_slot.q.val();
        self.s5_may_slot.d.next = self.s4_may_slot.q.val();
        self.s2_op.d.next = self.a_sf.val();
        self.s2_owned.d.next = self.a_owned.val();
        self.s2_snoop.d.next = self.a_snoop.val();
        self.s2_inw_w.d.next = self.wd_inw.val();
        self.s2_inw_c.d.next = self.cm_inw.val();
        self.s2_inw_r.d.next = self.rq_inw.val();
        self.s2_is_w.d.next = self.rwd_valid.val();
        self.s2_is_c.d.next = self.cmd_valid.val();
        self.s2_inw_one.d.next = self.a_inw.val();
        self.s2_inw.next = self.s2_inw_one.q.val();
        if self.inw_apart.val() {
            if self.s2_is_w.q.val() {
                self.s2_inw.next = self.s2_inw_w.q.val();
            } else if self.s2_is_c.q.val() {
                self.s2_inw.next = self.s2_inw_c.q.val();
            } else {
                self.s2_inw.next = self.s2_inw_r.q.val();
            }
        }
        self.s2_snoop_op.d.next = self.a_snoop_op.val();
        self.s2_line.d.next = self.a_addr.val().get_bits::<LINE_BITS>(0) & self.window_mask.val();
        self.keep_sf_line.clock.next = self.clock.val();
        self.keep_sf_line.d.next = self.s3_line.q.val();
        // The set whose read starts at the next edge, into the filter's `keep_set` copies (the
        // plain register is one flip-flop with the agent's dirty-record register, far
        // from the filter's LUT RAMs). After `s2_line.d`: a Verilog block reads a
        // signal it assigns only after the assignment.
        self.sf.next_addr.next = self.s2_line.d.val().get_bits::<SET_BITS>(0);
        self.s3_valid.d.next = self.s2_valid.q.val();
        // NONE unless the stage holds a message, so the filter's update takes the
        // opcode straight from a flip-flop.
        if self.s2_valid.q.val() && self.s2_inw.val() {
            self.s3_op.d.next = self.s2_op.q.val();
        } else {
            self.s3_op.d.next = self.sf_none.val();
        }
        self.s3_owned.d.next = self.s2_owned.q.val();
        self.s3_snoop.d.next = self.s2_snoop.q.val() && self.s2_inw.val();
        self.s3_snoop_op.d.next = self.s2_snoop_op.q.val();
        self.s3_line.d.next = self.s2_line.q.val();
        self.s4_valid.d.next = self.s3_valid.q.val();
        self.s4_op.d.next = self.s3_op.q.val();
        self.s4_owned.d.next = self.s3_owned.q.val();
        self.s4_snoop.d.next = self.s3_snoop.q.val();
        self.s4_snoop_op.d.next = self.s3_snoop_op.q.val();
        self.s4_line.d.next = self.s3_line.q.val();
        self.s5_valid.d.next = self.s4_valid.q.val();
        self.s5_op.d.next = self.s4_op.q.val();
        self.s5_owned.d.next = self.s4_owned.q.val();
        self.s5_snoop.d.next = self.s4_snoop.q.val();
        self.s5_snoop_op.d.next = self.s4_snoop_op.q.val();
        self.s5_line.d.next = self.s4_line.q.val();
        self.tracker.head_taken.next = self.bisnp_ready.val();
        self.tracker.rsp_valid.next = self.birsp_valid.val();
        self.tracker.rsp_bitag.next = self.birsp_bitag.val();
        self.tracker.rsp_opcode.next = self.birsp_opcode.val();

        // Memory-request register; reads carry mask 0 (their data is undefined). The payload loads
        // from the selected channel whenever the register is free, whatever the
        // message and whether or not it is accepted (valid says whether it holds
        // one): its 600-odd enables are one gate, not the decode.
        if self.mem_free.val() {
            self.mem_write_r.d.next = self.a_write.val();
            self.mem_addr_r.d.next = self.a_addr.val();
            self.mem_mask_r.d.next = self.a_mask.val();
            // A read's data is undefined (mask 0), so no opcode-decoded reset term
            // (Yosys made one of "not a write" on all 512 flip-flops).
            self.mem_data_r.d.next = self.rwd_data.val();
        }
        self.mem_valid_r.d.next = (self.acc_wd.val() && self.wd_op_ok.val())
            || self.acc_rd.val()
            || (self.mem_valid_r.q.val() && !self.mem_req_ready.val());

        // NDR register: the payload loads like the memory request's, whenever the
        // register is free.
        if self.ndr_free.val() {
            self.ndr_opcode_r.d.next = self.a_ndr_op.val();
            // Only a request's NDR opcode depends on the window (any other is Cmp).
            self.ndr_out_r.d.next = !self.rq_inw.val();
            self.ndr_tag_r.d.next = self.a_tag.val();
        }
        if self.acc_wd.val() || self.acc_nd.val() {
            self.ndr_valid_r.d.next = true;
        } else if self.ndr_ready.val() {
            self.ndr_valid_r.d.next = false;
        }

        // Read queue and DRS register: one memory response per cycle.
        self.take_rsp.next = self.drs_free_pop.val() && !self.rq.empty.val();
        self.pop.next = self.mem_rsp_valid.val() && self.take_rsp.val();
        self.rq.push.next = self.acc_rd.val();
        // Only the request channel pushes (reads), so the tail entry takes its tag and
        // grant straight from the request decode, not through the channel select; the
        // window check is queued beside the grant and applied at the DRS output (a
        // read out of the window is granted I), keeping it off the tail entry's
        // inputs and the DRS register's.
        self.rq.push_tag.next = self.req_tag.val();
        self.rq.push_meta.next = self.rq_pre_grant.val();
        self.rq.push_ok.next = self.rq_inw.val();
        self.rq.push_addr.next = self.req_addr.val();
        self.rq.pop.next = self.pop.val();
        // The data loads whenever the register is free (the model's rule): the enable
        // of its 512 flip-flops is not the memory response's valid.
        if self.drs_free.val() {
            self.drs_data_r.d.next = self.mem_rsp_data.val();
        }
        self.keep_drs_valid.clock.next = self.clock.val();
        self.keep_drs_valid.d.next = self.keep_drs_valid.q.val();
        if self.pop.val() {
            self.keep_drs_valid.d.next = true;
        } else if self.drs_ready.val() {
            self.keep_drs_valid.d.next = false;
        }
        if self.pop.val() {
            self.drs_valid_r.d.next = true;
            self.drs_meta_r.d.next = self.rq.head_meta.val();
            self.drs_ok_r.d.next = self.rq.head_ok.val();
            self.drs_tag_r.d.next = self.rq.head_tag.val();
            self.drs_addr_r.d.next = self.rq.head_addr.val();
        } else if self.drs_ready.val() {
            self.drs_valid_r.d.next = false;
        }

        // Dirty bitmap and harvest port.
        self.bitmap.set_valid.next = self.set_dirty.val();
        self.bitmap.set_idx.next =
            self.a_addr.val().get_bits::<LINE_BITS>(0) & self.window_mask.val();
        self.bitmap.hv_valid.next = self.hv_valid.val();
        self.bitmap.hv_op.next = self.hv_op.val();
        self.bitmap.hv_level.next = self.hv_level.val();
        self.bitmap.hv_index.next = self.hv_index.val();

        // Errors: count each, and err_code keeps the last of message, BIRsp, harvest.
        // The selected message's error is registered whether or not it is accepted
        // and counted only if it was (`s2_valid`), so the accept decision does not
        // reach this register.
        self.e_msg.next = self.a_err.val();
        self.e_rsp.next = self.tracker.rsp_err.val();
        if self.bitmap.hv_err.val() {
            self.e_hv.next = self.err_bad_harvest.val();
        } else {
            self.e_hv.next = self.err_none.val();
        }
        self.e_msg_r.d.next = self.e_msg.val();
        self.e_rsp_r.d.next = self.e_rsp.val();
        self.e_hv_r.d.next = self.e_hv.val();
        // The message's code, with the window check applied last (its precedence).
        if self.e_msg_r.q.val() == self.err_none.val() && !self.s2_inw.val() {
            self.e_msg_code.next = self.err_out_of_window.val();
        } else {
            self.e_msg_code.next = self.e_msg_r.q.val();
        }
        self.e_msg_any.next = self.s2_valid.q.val()
            && (self.e_msg_r.q.val() != self.err_none.val() || !self.s2_inw.val());
        self.e_rsp_any.next = self.e_rsp_r.q.val() != self.err_none.val();
        self.e_hv_any.next = self.e_hv_r.q.val() != self.err_none.val();
        for k in 0..3 {
            self.err_plus[k].next = self.err_count_r.q.val() + self.err_step[k].val();
        }
        self.err_count_r.d.next = self.err_count_r.q.val();
        if self.e_msg_any.val() && self.e_rsp_any.val() && self.e_hv_any.val() {
            self.err_count_r.d.next = self.err_plus[2].val();
        } else if (self.e_msg_any.val() && self.e_rsp_any.val())
            || (self.e_msg_any.val() && self.e_hv_any.val())
            || (self.e_rsp_any.val() && self.e_hv_any.val())
        {
            self.err_count_r.d.next = self.err_plus[1].val();
        } else if self.e_msg_any.val() || self.e_rsp_any.val() || self.e_hv_any.val() {
            self.err_count_r.d.next = self.err_plus[0].val();
        }
        if self.e_msg_any.val() {
            self.err_code_r.d.next = self.e_msg_code.val();
        }
        if self.e_rsp_any.val() {
            self.err_code_r.d.next = self.e_rsp_r.q.val();
        }
        if self.e_hv_any.val() {
            self.err_code_r.d.next = self.e_hv_r.q.val();
        }

        // Outputs.
        self.ndr_valid.next = self.ndr_valid_r.q.val();
        if self.ndr_out_r.q.val() {
            self.ndr_opcode.next = self.ndr_cmp.val();
        } else {
            self.ndr_opcode.next = self.ndr_opcode_r.q.val();
        }
        self.ndr_tag.next = self.ndr_tag_r.q.val();
        self.drs_valid.next = self.drs_valid_r.q.val();
        self.drs_opcode.next = self.drs_memdata.val();
        if self.drs_ok_r.q.val() {
            self.drs_meta.next = self.drs_meta_r.q.val();
        } else {
            self.drs_meta.next = self.meta_i.val();
        }
        self.drs_tag.next = self.drs_tag_r.q.val();
        self.drs_data.next = self.drs_data_r.q.val();
        self.drs_addr.next = self.drs_addr_r.q.val();
        self.mem_req_valid.next = self.mem_valid_r.q.val();
        self.mem_req_write.next = self.mem_write_r.q.val();
        self.mem_req_addr.next = self.mem_addr_r.q.val();
        self.mem_req_mask.next = self.mem_mask_r.q.val();
        self.mem_req_data.next = self.mem_data_r.q.val();
        self.bisnp_valid.next = self.tracker.head_valid.val();
        self.bisnp_opcode.next = self.tracker.head_op.val();
        self.bisnp_bitag.next = self.tracker.head_tag.val();
        self.bisnp_addr.next = self.tracker.head_addr.val();
        self.birsp_ready.next = true;
        self.mem_rsp_ready.next = self.take_rsp.val();
        self.hv_ready.next = self.bitmap.hv_ready.val();
        self.hv_rsp_valid.next = self.bitmap.rsp_valid.val();
        self.hv_rsp_data.next = self.bitmap.rsp_data.val();
        self.err_count.next = self.err_count_r.q.val();
        self.err_code.next = self.err_code_r.q.val();
        self.ev_dirty_valid.next = self.set_dirty.val();
        self.ev_dirty_line.next =
            self.a_addr.val().get_bits::<LINE_BITS>(0) & self.window_mask.val();
        self.ev_recall_valid.next = self.s5_valid.q.val() && self.needs_victim.val();
        self.ev_recall_line.next = self.sf.victim_line.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn core_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/default.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = Core::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_core", &v).unwrap();
    }
}
