//! Register agent: the home agent of the register page (the window's last 4 KiB),
//! a sibling of the core under the top.
//!
//! Per cycle: takes one message addressed to the register page (request with data
//! first, then request) into its inbox when the inbox is empty at the cycle's start,
//! and handles the inbox's message when its answer register (NDR for writes and MemInv
//! / MemClnEvct, DRS for reads) is free, answering reads with the line's current value
//! and keeping one "host holds it" bit per line. A line the device changes while the
//! host holds it is marked for back-invalidation; one snoop at a time (BITag
//! `AGENT_BITAG`) goes out from a register, the doorbell's BISnpData on the command
//! line before any back-invalidation, which takes the lowest line marked as the
//! cycle before began (a mark waits a cycle, so the pick is a register). A command
//! (a meta-I writeback of the command line, or the doorbell's pull) starts the
//! cycle after it is handled; harvest and recall commands drive the core's harvest
//! and command ports from registers and complete the cycle after the core takes
//! them (a harvest read `HV_LATENCY` + 1 cycles after, with the word). Completion
//! codes land in the completion line at the edge, error codes at the edge after
//! (from registers); a BIRsp for the agent is checked the cycle after it arrives.
//! The event ring takes up to four records a cycle, deciding on those that reached
//! the agent in the cycle before (registered beside it): a record is in its slot,
//! or counted as dropped, at the third edge after it arrives.
//!
//! With the page-table trigger (`[device.pt]`): PT_REGISTER / PT_RESIDENT drive the
//! trigger's registry and residency ports from registers and complete the next cycle
//! (NO_SPACE when the trigger refuses the registry set); the trigger's records are a
//! fourth ring source, and an event the top lost counts as dropped. Without it the PT
//! commands are unknown commands and synthesis removes their logic.
//!
//! For timing, decisions come from flops: the inbox keeps the page decode and the
//! channel pick off every path of the agent (its fields load per channel, so only its
//! few flags wait for the decode), the command line is decoded as it is written, the
//! ring's room and next slots are registered, the core's events arrive through the
//! top's register, a changed line's invalidation mark is completed a cycle later from
//! `held` (the same marks, see `inv_new`), the lowest marked line is picked into
//! registers a cycle before its snoop is decided, and a read's answer is an OR of
//! one-hot terms.

use crate::counter::Count64;
use crate::dirty_bitmap::LINE_BITS;
use linewatch_model::config::Geometry;
use linewatch_model::device::pt_trigger::PFN_BITS;
use linewatch_model::device::regs::*;
use linewatch_model::protocol::{
    Meta, NdrOp, ReqOp, RwdOp, SnpOp, ADDR_BITS, DATA_BITS, ERR_CODE_BITS, ERR_COUNT_BITS,
    HV_INDEX_BITS, HV_LEVEL_BITS, META_BITS, OPCODE_BITS, RSP_OPCODE_BITS, TAG_BITS,
};
use rust_hdl::prelude::*;

type Op = Bits<OPCODE_BITS>;
type MetaV = Bits<META_BITS>;
type Tag = Bits<TAG_BITS>;
type Line = Bits<DATA_BITS>;
type W = Bits<64>;

// The argument checks compare two low bits (see `levels`).
const _: () = assert!(
    linewatch_model::config::MAX_LEVELS <= 3
        && linewatch_model::protocol::SnpOp::BISnpInv as u64 <= 3
);
/// The command line's four kept words.
type H = Bits<256>;
/// Argument checks of the command decode (see `in_p`), and their bits (one a byte).
const CHECKS: usize = 7;
const CHECK_BITS: usize = CHECKS * 8;
/// Opcodes compared per byte: HARVEST_READ, RECALL, PT_REGISTER, PT_RESIDENT.
const OPS: usize = 4;
const _: () = assert!(
    CHECKS == 7 && CHECK_BITS == 56 && OPS == 4,
    "the decode's loops are written with these bounds (hdl_gen takes literals)"
);
/// A line index in the register page.
type K = Bits<6>;

#[derive(LogicBlock)]
pub struct Regs {
    pub clock: Signal<In, Clock>,
    /// A request / request with data for the register page (already demuxed).
    pub req_valid: Signal<In, bool>,
    pub req_opcode: Signal<In, Op>,
    pub req_meta: Signal<In, MetaV>,
    pub req_tag: Signal<In, Tag>,
    pub req_line: Signal<In, K>,
    pub rwd_valid: Signal<In, bool>,
    pub rwd_opcode: Signal<In, Op>,
    pub rwd_meta: Signal<In, MetaV>,
    pub rwd_tag: Signal<In, Tag>,
    pub rwd_line: Signal<In, K>,
    /// Bytes 0..31 of the data and mask: all the agent keeps (command words 0..3,
    /// the consumer index in word 1).
    pub rwd_mask: Signal<In, Bits<32>>,
    pub rwd_data: Signal<In, H>,
    /// A BIRsp naming the agent's BITag.
    pub birsp_valid: Signal<In, bool>,
    /// The host takes the agent's NDR / DRS / BISnp register this cycle.
    pub ndr_take: Signal<In, bool>,
    pub drs_take: Signal<In, bool>,
    pub snp_take: Signal<In, bool>,
    /// The core's side: command and harvest port readies, harvest word, errors.
    pub core_cmd_ready: Signal<In, bool>,
    pub core_hv_ready: Signal<In, bool>,
    /// The harvest word, `HV_LATENCY` cycles after the read fired.
    pub core_hv_rsp_data: Signal<In, W>,
    pub core_err_count: Signal<In, Bits<ERR_COUNT_BITS>>,
    pub core_err_code: Signal<In, Bits<ERR_CODE_BITS>>,
    /// `core_err_count` / `core_err_code` changed at the last edge.
    pub core_err_moved: Signal<In, bool>,
    /// The core's events this cycle (window-relative lines).
    pub ev_dirty_valid: Signal<In, bool>,
    pub ev_dirty_line: Signal<In, Bits<LINE_BITS>>,
    pub ev_recall_valid: Signal<In, bool>,
    pub ev_recall_line: Signal<In, Bits<LINE_BITS>>,
    /// The page-table trigger's record from the top's event registers (kind and
    /// frame), an event the top lost last cycle, and the trigger's refusal of this
    /// cycle's registry set.
    pub ev_pt_valid: Signal<In, bool>,
    pub ev_pt_rec: Signal<In, W>,
    pub ev_pt_lost: Signal<In, bool>,
    pub pt_refused: Signal<In, bool>,

    pub req_ready: Signal<Out, bool>,
    pub rwd_ready: Signal<Out, bool>,
    pub ndr_valid: Signal<Out, bool>,
    pub ndr_opcode: Signal<Out, Bits<RSP_OPCODE_BITS>>,
    pub ndr_tag: Signal<Out, Tag>,
    pub drs_valid: Signal<Out, bool>,
    pub drs_meta: Signal<Out, MetaV>,
    pub drs_tag: Signal<Out, Tag>,
    pub drs_data: Signal<Out, Line>,
    pub snp_valid: Signal<Out, bool>,
    pub snp_op: Signal<Out, Op>,
    pub snp_line: Signal<Out, K>,
    pub cmd_valid: Signal<Out, bool>,
    pub cmd_opcode: Signal<Out, Op>,
    pub cmd_addr: Signal<Out, Bits<ADDR_BITS>>,
    pub hv_valid: Signal<Out, bool>,
    pub hv_op: Signal<Out, bool>,
    pub hv_level: Signal<Out, Bits<HV_LEVEL_BITS>>,
    pub hv_index: Signal<Out, Bits<HV_INDEX_BITS>>,
    /// Toward the page-table trigger's registry and residency ports.
    pub pt_reg_valid: Signal<Out, bool>,
    pub pt_reg_set: Signal<Out, bool>,
    pub pt_reg_frame: Signal<Out, Bits<PFN_BITS>>,
    pub pt_res_valid: Signal<Out, bool>,
    pub pt_res_set: Signal<Out, bool>,
    pub pt_res_frame: Signal<Out, Bits<PFN_BITS>>,

    /// The inbox: the message taken last (bytes 0..31 of mask and data are all the
    /// agent keeps), handled when its answer register is free.
    in_valid: DFF<bool>,
    in_rwd: DFF<bool>,
    /// The offered request's and request-with-data's opcode, meta, tag and line
    /// (one-hot, decoded as it loads: no line compare follows it), each channel's
    /// in its own registers: they load whenever the inbox is empty, so their
    /// inputs do not wait for the register-page decode that picks the channel
    /// (`in_rwd`); reads use the request's, writes the request-with-data's.
    in_ropc: DFF<Op>,
    in_rmeta: DFF<MetaV>,
    in_rtag: DFF<Tag>,
    in_rhot: DFF<W>,
    in_wopc: DFF<Op>,
    in_wmeta: DFF<MetaV>,
    in_wtag: DFF<Tag>,
    in_whot: DFF<W>,
    /// Decoded as the inbox loads, so the enables that act on its message are one
    /// gate of flops: a read (answered on DRS); a legal write (MemWr / MemWrPtl) of
    /// the command line, of the doorbell line, of the events line.
    in_drs: DFF<bool>,
    in_cmd: DFF<bool>,
    in_db: DFF<bool>,
    in_ev: DFF<bool>,
    /// The inbox's write lands in the command line / the consumer index now.
    cmd_we: Signal<Local, bool>,
    rwd_op_ok: Signal<Local, bool>,
    /// Byte enables of bytes 0..31 (all ones for a full write).
    in_be: DFF<Bits<32>>,
    be_ones: Constant<Bits<32>>,
    in_data: DFF<H>,
    held: DFF<W>,
    /// Lines whose invalidation is pending are `inv_pend | (inv_new & held)`
    /// (`inv_now`): `inv_new` is the lines changed at the last edge, which count
    /// once `held` shows whether the host held them after it. So the mark of a
    /// changed, held line is not one logic cone with the cycle's ring appends,
    /// inbox decode and snoop issue; `inv_pend` keeps the rest until cleared.
    inv_pend: DFF<W>,
    /// The lowest line of `inv_now` at the last edge (found, index, one-hot): the
    /// snoop issue and the marks' clear take it from these flip-flops, not from
    /// the priority chain (a mark waits a cycle, see the model's `inv_pick`).
    pick_found: DFF<bool>,
    pick_k: DFF<K>,
    pick_hot: DFF<W>,
    inv_new: DFF<W>,
    ndr_valid_r: DFF<bool>,
    ndr_opcode_r: DFF<Bits<RSP_OPCODE_BITS>>,
    ndr_tag_r: DFF<Tag>,
    drs_valid_r: DFF<bool>,
    drs_meta_r: DFF<MetaV>,
    drs_tag_r: DFF<Tag>,
    drs_data_r: DFF<Line>,
    snp_valid_r: DFF<bool>,
    snp_out: DFF<bool>,
    /// The host took the snoop at the last edge.
    snp_fresh: DFF<bool>,
    /// A BIRsp for the agent arrived last cycle.
    birsp_r: DFF<bool>,
    snp_op_r: DFF<Op>,
    snp_line_r: DFF<K>,
    control: DFF<W>,
    command: DFF<H>,
    comp_seq: DFF<W>,
    comp_status: DFF<W>,
    comp_result: DFF<W>,
    err_count: Count64,
    err_code: DFF<W>,
    /// This cycle's message and BIRsp errors, counted at the next edge.
    e0_r: DFF<W>,
    e1_r: DFF<W>,
    commands: DFF<W>,
    doorbells: DFF<W>,
    core_err_count_r: DFF<Bits<ERR_COUNT_BITS>>,
    core_err_code_r: DFF<Bits<ERR_CODE_BITS>>,
    exec_pend: DFF<bool>,
    /// The command execution state (the model's `exec_state`), one flag per state:
    /// `xs_busy` is "not idle" (so all start false), the rest one-hot among
    /// themselves. `xs_busy` equals the OR of the others and is kept as a flag so
    /// the launch (`!xs_busy && exec_pend`) reads one flip-flop: a state compare in
    /// front of every command register's enable was a LUT level on the agent's
    /// late paths (docs/fpga-steps.md step 42).
    xs_busy: DFF<bool>,
    xs_port: DFF<bool>,
    xs_read: DFF<bool>,
    xs_ram: DFF<bool>,
    xs_word: DFF<bool>,
    xs_back: DFF<bool>,
    xs_late: DFF<bool>,
    xs_done: DFF<bool>,
    /// The core took a recall or a swap at the last edge: complete now.
    xs_ack: DFF<bool>,
    exec_seq: DFF<W>,
    db_state: DFF<Bits<2>>,
    cmd_valid_r: DFF<bool>,
    cmd_opcode_r: DFF<Op>,
    cmd_addr_r: DFF<Bits<ADDR_BITS>>,
    hv_valid_r: DFF<bool>,
    hv_op_r: DFF<bool>,
    hv_level_r: DFF<Bits<HV_LEVEL_BITS>>,
    hv_index_r: DFF<Bits<HV_INDEX_BITS>>,
    pt_reg_valid_r: DFF<bool>,
    pt_reg_set_r: DFF<bool>,
    pt_reg_frame_r: DFF<Bits<PFN_BITS>>,
    pt_res_valid_r: DFF<bool>,
    pt_res_set_r: DFF<bool>,
    pt_res_frame_r: DFF<Bits<PFN_BITS>>,
    records: [DFF<W>; RING],
    /// Each source's append as the one-hot slot it lands in (zero for none), so a
    /// record's enable is a flop, not a slot compare.
    wr_d_hot: DFF<Bits<RING>>,
    wr_r_hot: DFF<Bits<RING>>,
    wr_e_hot: DFF<Bits<RING>>,
    wr_p_hot: DFF<Bits<RING>>,
    wr_d_rec: DFF<W>,
    wr_r_rec: DFF<W>,
    wr_e_rec: DFF<W>,
    wr_p_rec: DFF<W>,
    /// The producer and drop counts add the appends and drops decided at the last
    /// edge (they land with the records), so no 64-bit carry follows a decision.
    prod: Count64,
    n_rec_r: DFF<Bits<3>>,
    n_drop_r: DFF<Bits<3>>,
    /// The ring's inputs, registered beside it: the ring decides on the events a
    /// cycle after they arrive, so its decisions start at registers of its own.
    /// (The error record's count and code are the status mirror's.)
    ring_dirty_valid: DFF<bool>,
    ring_dirty_line: DFF<Bits<LINE_BITS>>,
    ring_recall_valid: DFF<bool>,
    ring_recall_line: DFF<Bits<LINE_BITS>>,
    ring_err_valid: DFF<bool>,
    ring_pt_valid: DFF<bool>,
    ring_pt_rec: DFF<W>,
    ring_pt_lost: DFF<bool>,
    cons: DFF<W>,
    /// (producer - the room's consumer) mod 64, and the producer's next four slots,
    /// registered from the next state (decided appends included).
    fill: DFF<Bits<6>>,
    /// The last consumer write's move of the fill (old minus new index, modulo 64):
    /// the room goes by the consumer of the cycle before, so its subtraction is
    /// off the path into `full`.
    cons_move: DFF<Bits<6>>,
    fill_zero: Constant<Bits<6>>,
    /// No room for k + 1 more records at the fill level `fill` holds (set when full,
    /// so the flops' initial zero is the empty ring).
    full: [DFF<bool>; 4],
    ring_room: RingRoom,
    slot0: DFF<Bits<5>>,
    slot1: DFFWithInit<Bits<5>>,
    slot2: DFFWithInit<Bits<5>>,
    slot3: DFFWithInit<Bits<5>>,
    dropped: Count64,

    // constants
    slot_one: Constant<Bits<RING>>,
    slot_none: Constant<Bits<RING>>,
    bit_events: Constant<W>,
    bit_ring0: Constant<W>,
    events_line: Constant<Line>,
    kind_dirty: Constant<W>,
    kind_recall: Constant<W>,
    kind_error: Constant<W>,
    ident_line: Constant<Line>,
    params_line: Constant<Line>,
    line_id: [Constant<K>; USED_LINES],
    byte_off: [Constant<Bits<9>>; 32],
    byte_ff: Constant<H>,
    half_zero: Constant<H>,
    line_zero: Constant<Line>,
    w_zero: Constant<W>,
    w_one: Constant<W>,
    k_command: Constant<K>,
    k_doorbell: Constant<K>,
    k_events: Constant<K>,
    bit_doorbell: Constant<W>,
    bit_ident: Constant<W>,
    bit_params: Constant<W>,
    bit_ring: [Constant<W>; RING_LINES],
    bit_control: Constant<W>,
    bit_command: Constant<W>,
    bit_completion: Constant<W>,
    bit_status: Constant<W>,
    req_mem_inv: Constant<Op>,
    req_mem_rd: Constant<Op>,
    req_mem_rd_data: Constant<Op>,
    req_mem_cln_evct: Constant<Op>,
    rwd_mem_wr: Constant<Op>,
    rwd_mem_wr_ptl: Constant<Op>,
    snp_data: Constant<Op>,
    snp_inv: Constant<Op>,
    meta_i: Constant<MetaV>,
    meta_a: Constant<MetaV>,
    meta_s: Constant<MetaV>,
    meta_bad: Constant<MetaV>,
    ndr_cmp: Constant<Bits<RSP_OPCODE_BITS>>,
    ndr_cmp_s: Constant<Bits<RSP_OPCODE_BITS>>,
    ndr_cmp_e: Constant<Bits<RSP_OPCODE_BITS>>,
    st_ok: Constant<W>,
    st_unknown: Constant<W>,
    st_bad_arg: Constant<W>,
    st_read_only: Constant<W>,
    st_busy: Constant<W>,
    st_bad_birsp: Constant<W>,
    st_bad_message: Constant<W>,
    st_no_space: Constant<W>,
    c_nop: Constant<Bits<8>>,
    c_swap: Constant<Bits<8>>,
    c_set_control: Constant<Bits<8>>,
    /// `[device.pt]`: the trigger is built (else the PT commands are unknown).
    pt_on: Constant<bool>,
    s_zero: Constant<Bits<2>>,
    s_one: Constant<Bits<2>>,
    s_two: Constant<Bits<2>>,
    hv_word: DFF<W>,
    /// `bitmap_levels` and the highest snoop opcode fit the arguments' two low bits;
    /// the bits above them are checked for zero (a mask, not a 64-bit compare's
    /// carry chain).
    levels: Constant<Bits<2>>,
    snp_max: Constant<Bits<2>>,
    cnt_zero: Constant<Bits<2>>,

    // combinational
    ndr_free: Signal<Local, bool>,
    drs_free: Signal<Local, bool>,
    busy: Signal<Local, bool>,
    r_rd: Signal<Local, bool>,
    r_rdd: Signal<Local, bool>,
    r_inv: Signal<Local, bool>,
    r_evct: Signal<Local, bool>,
    r_read: Signal<Local, bool>,
    r_op_ok: Signal<Local, bool>,
    r_meta_ok: Signal<Local, bool>,
    r_meta: Signal<Local, MetaV>,
    r_grant: Signal<Local, MetaV>,
    r_bit: Signal<Local, W>,
    w_wr: Signal<Local, bool>,
    w_op_ok: Signal<Local, bool>,
    w_meta_ok: Signal<Local, bool>,
    w_keep_s: Signal<Local, bool>,
    w_cmd: Signal<Local, bool>,
    w_db: Signal<Local, bool>,
    w_bit: Signal<Local, W>,
    in_go: Signal<Local, bool>,
    room: Signal<Local, bool>,
    acc_rwd: Signal<Local, bool>,
    acc_req: Signal<Local, bool>,
    trigger: Signal<Local, bool>,
    ring: Signal<Local, bool>,
    e0: Signal<Local, W>,
    e1: Signal<Local, W>,
    set_held: Signal<Local, W>,
    clr_held: Signal<Local, W>,
    changed: Signal<Local, W>,
    inv_now: Signal<Local, W>,
    emask: Signal<Local, H>,
    content: Signal<Local, Line>,
    t_ident: Signal<Local, Line>,
    t_params: Signal<Local, Line>,
    t_control: Signal<Local, Line>,
    t_command: Signal<Local, Line>,
    t_completion: Signal<Local, Line>,
    t_status: Signal<Local, Line>,
    t_events: Signal<Local, Line>,
    t_ring: [Signal<Local, Line>; RING_LINES],
    db_done: Signal<Local, bool>,
    snp_free: Signal<Local, bool>,
    inv_found: Signal<Local, bool>,
    inv_k: Signal<Local, K>,
    inv_clear: Signal<Local, W>,
    inv_below: [Signal<Local, bool>; USED_LINES],
    inv_hot: Signal<Local, W>,
    line_bit: [Constant<W>; USED_LINES],
    exec_start: Signal<Local, bool>,
    cmd_next: Signal<Local, H>,
    n_op: Signal<Local, Bits<8>>,
    /// Argument 0's low two bits (a level or a snoop opcode), argument 1's low bit.
    n_a0: Signal<Local, Bits<2>>,
    n_a1: Signal<Local, bool>,
    /// The command line decoded when it is written, so execution decides from flops.
    d_nop: DFFWithInit<bool>,
    d_set: DFF<bool>,
    d_swap: DFF<bool>,
    d_read: DFF<bool>,
    d_recall: DFF<bool>,
    d_bad_arg: DFF<bool>,
    d_pt_reg: DFF<bool>,
    d_pt_res: DFF<bool>,
    /// The command drives a port (swap, read, recall, PT): every other completes
    /// as it starts (the decodes are exclusive, one opcode each).
    d_port: DFF<bool>,
    d_pt_set: DFF<bool>,
    x_pt_ok: Signal<Local, bool>,
    x_pt_op: Signal<Local, bool>,
    x_seq: Signal<Local, W>,
    x_a0: Signal<Local, W>,
    x_a1: Signal<Local, Bits<ADDR_BITS>>,
    x_read_ok: Signal<Local, bool>,
    x_recall_ok: Signal<Local, bool>,
    /// The argument checks, per byte: each is `(word & mask) == value` on argument
    /// 0 (checks 0-1) or 1 (checks 2-6); `in_p` of the inbox's data, taken with it
    /// from the link, `cmd_p` of the command register, taken with it. A write's
    /// check picks each byte's from the inbox or the register by its byte enable,
    /// so the decode is a few gates of flip-flops, not a 64-bit compare after the
    /// merge. Likewise the opcode compares (`op_code`).
    in_p: [DFF<bool>; CHECK_BITS],
    cmd_p: [DFFWithInit<bool>; CHECK_BITS],
    m_p: [Signal<Local, bool>; CHECK_BITS],
    all_p: [Signal<Local, bool>; CHECKS],
    p_mask: [Constant<W>; CHECKS],
    p_value: [Constant<W>; CHECKS],
    in_op: [DFF<bool>; OPS],
    cmd_op: [DFFWithInit<bool>; OPS],
    m_op: [Signal<Local, bool>; OPS],
    op_code: [Constant<Bits<8>>; OPS],
    complete: Signal<Local, bool>,
    c_status: Signal<Local, W>,
    c_result: Signal<Local, W>,
    n_err: Signal<Local, Bits<2>>,
    held_next: Signal<Local, W>,
    w_ev: Signal<Local, bool>,
    ev_err_valid: Signal<Local, bool>,
    rec_d: Signal<Local, W>,
    rec_r: Signal<Local, W>,
    rec_e: Signal<Local, W>,
    rec_p: Signal<Local, W>,
    /// Room for one, two, three or four more records (from `full`).
    has_room: [Signal<Local, bool>; 4],
    /// Valid events ahead of the error record and of the trigger's this cycle.
    n_de: Signal<Local, Bits<2>>,
    n_pre: Signal<Local, Bits<2>>,
    n_rec: Signal<Local, Bits<3>>,
    n_drop: Signal<Local, Bits<3>>,
    fill_base: Signal<Local, Bits<6>>,
    cnt3_zero: Constant<Bits<3>>,
    cons_next: Signal<Local, W>,
    cons_write: Signal<Local, bool>,
    ok_d: Signal<Local, bool>,
    ok_r: Signal<Local, bool>,
    ok_e: Signal<Local, bool>,
    ok_p: Signal<Local, bool>,
    drop_d: Signal<Local, bool>,
    drop_r: Signal<Local, bool>,
    drop_e: Signal<Local, bool>,
    drop_p: Signal<Local, bool>,
    slot_d: Signal<Local, Bits<5>>,
    slot_r: Signal<Local, Bits<5>>,
    slot_e: Signal<Local, Bits<5>>,
    slot_p: Signal<Local, Bits<5>>,
}

const RING: usize = RING_RECORDS as usize;
const RING_LINES: usize = RING / 8;
/// Register lines that can change (and be back-invalidated): up to the ring's end.
const USED_LINES: usize = RING_FIRST as usize + RING_LINES;
/// The lines with a line below them (`inv_below`'s chain).
const USED_BELOW: usize = USED_LINES - 1;
const _: () = assert!(RING == 32, "the slot indices below are five bits");

fn line_of(words: [u64; 8]) -> Bits<DATA_BITS> {
    let mut b = Bits::<DATA_BITS>::default();
    for (j, w) in words.iter().enumerate() {
        b.set_bits::<64>(64 * j, Bits::<64>::from(*w));
    }
    b
}

impl Regs {
    pub fn new(g: &Geometry) -> Self {
        let model = linewatch_model::device::regs::Regs::new(g);
        let w = |v: u64| Constant::new(Bits::<64>::from(v));
        let kk = |v: u64| Constant::new(Bits::<6>::from(v));
        let op = |v: u64| Constant::new(Bits::<OPCODE_BITS>::from(v));
        let me = |v: u64| Constant::new(Bits::<META_BITS>::from(v));
        let ro = |v: u64| Constant::new(Bits::<RSP_OPCODE_BITS>::from(v));
        let c8 = |v: u64| Constant::new(Bits::<8>::from(v));
        let c2 = |v: u64| Constant::new(Bits::<2>::from(v));
        let page = page_base(g);
        // (mask, value) of the argument checks, in `in_p`'s order.
        let checks: [(u64, u64); CHECKS] = [
            (!3, 0),                              // a0: a level or a snoop opcode
            (!((1u64 << PFN_BITS) - 1), 0),       // a0: a frame number
            (!((1u64 << HV_INDEX_BITS) - 1), 0),  // a1: a harvest word index
            (!((1u64 << ADDR_BITS) - 1), 0),      // a1: a line address
            (!g.window_mask, g.window_base_line), // a1: in the window
            (!(PAGE_LINES - 1), page),            // a1: in the register page
            (!1, 0),                              // a1: a flag
        ];
        let op_codes = [
            CMD_HARVEST_READ,
            CMD_RECALL,
            CMD_PT_REGISTER,
            CMD_PT_RESIDENT,
        ];
        Self {
            clock: Default::default(),
            req_valid: Default::default(),
            req_opcode: Default::default(),
            req_meta: Default::default(),
            req_tag: Default::default(),
            req_line: Default::default(),
            rwd_valid: Default::default(),
            rwd_opcode: Default::default(),
            rwd_meta: Default::default(),
            rwd_tag: Default::default(),
            rwd_line: Default::default(),
            rwd_mask: Default::default(),
            rwd_data: Default::default(),
            birsp_valid: Default::default(),
            ndr_take: Default::default(),
            drs_take: Default::default(),
            snp_take: Default::default(),
            core_cmd_ready: Default::default(),
            core_hv_ready: Default::default(),
            core_hv_rsp_data: Default::default(),
            core_err_count: Default::default(),
            core_err_code: Default::default(),
            core_err_moved: Default::default(),
            ev_dirty_valid: Default::default(),
            ev_dirty_line: Default::default(),
            ev_recall_valid: Default::default(),
            ev_recall_line: Default::default(),
            ev_pt_valid: Default::default(),
            ev_pt_rec: Default::default(),
            ev_pt_lost: Default::default(),
            pt_refused: Default::default(),
            req_ready: Default::default(),
            rwd_ready: Default::default(),
            ndr_valid: Default::default(),
            ndr_opcode: Default::default(),
            ndr_tag: Default::default(),
            drs_valid: Default::default(),
            drs_meta: Default::default(),
            drs_tag: Default::default(),
            drs_data: Default::default(),
            snp_valid: Default::default(),
            snp_op: Default::default(),
            snp_line: Default::default(),
            cmd_valid: Default::default(),
            cmd_opcode: Default::default(),
            cmd_addr: Default::default(),
            hv_valid: Default::default(),
            hv_op: Default::default(),
            hv_level: Default::default(),
            hv_index: Default::default(),
            pt_reg_valid: Default::default(),
            pt_reg_set: Default::default(),
            pt_reg_frame: Default::default(),
            pt_res_valid: Default::default(),
            pt_res_set: Default::default(),
            pt_res_frame: Default::default(),
            in_valid: Default::default(),
            in_rwd: Default::default(),
            in_ropc: Default::default(),
            in_rmeta: Default::default(),
            in_rtag: Default::default(),
            in_rhot: Default::default(),
            in_wopc: Default::default(),
            in_wmeta: Default::default(),
            in_wtag: Default::default(),
            in_whot: Default::default(),
            in_drs: Default::default(),
            in_cmd: Default::default(),
            in_db: Default::default(),
            in_ev: Default::default(),
            cmd_we: Default::default(),
            rwd_op_ok: Default::default(),
            in_be: Default::default(),
            be_ones: Constant::new(Bits::<32>::mask()),
            in_data: Default::default(),
            held: Default::default(),
            inv_pend: Default::default(),
            pick_found: Default::default(),
            pick_k: Default::default(),
            pick_hot: Default::default(),
            inv_new: Default::default(),
            ndr_valid_r: Default::default(),
            ndr_opcode_r: Default::default(),
            ndr_tag_r: Default::default(),
            drs_valid_r: Default::default(),
            drs_meta_r: Default::default(),
            drs_tag_r: Default::default(),
            drs_data_r: Default::default(),
            snp_valid_r: Default::default(),
            snp_out: Default::default(),
            snp_fresh: Default::default(),
            birsp_r: Default::default(),
            snp_op_r: Default::default(),
            snp_line_r: Default::default(),
            control: Default::default(),
            command: Default::default(),
            comp_seq: Default::default(),
            comp_status: Default::default(),
            comp_result: Default::default(),
            err_count: Default::default(),
            err_code: Default::default(),
            e0_r: Default::default(),
            e1_r: Default::default(),
            commands: Default::default(),
            doorbells: Default::default(),
            core_err_count_r: Default::default(),
            core_err_code_r: Default::default(),
            exec_pend: Default::default(),
            xs_busy: Default::default(),
            xs_port: Default::default(),
            xs_read: Default::default(),
            xs_ram: Default::default(),
            xs_word: Default::default(),
            xs_back: Default::default(),
            xs_late: Default::default(),
            xs_done: Default::default(),
            xs_ack: Default::default(),
            exec_seq: Default::default(),
            db_state: Default::default(),
            cmd_valid_r: Default::default(),
            cmd_opcode_r: Default::default(),
            cmd_addr_r: Default::default(),
            hv_valid_r: Default::default(),
            hv_op_r: Default::default(),
            hv_level_r: Default::default(),
            hv_index_r: Default::default(),
            pt_reg_valid_r: Default::default(),
            pt_reg_set_r: Default::default(),
            pt_reg_frame_r: Default::default(),
            pt_res_valid_r: Default::default(),
            pt_res_set_r: Default::default(),
            pt_res_frame_r: Default::default(),
            records: Default::default(),
            wr_d_hot: Default::default(),
            wr_r_hot: Default::default(),
            wr_e_hot: Default::default(),
            wr_p_hot: Default::default(),
            wr_d_rec: Default::default(),
            wr_r_rec: Default::default(),
            wr_e_rec: Default::default(),
            wr_p_rec: Default::default(),
            prod: Default::default(),
            n_rec_r: Default::default(),
            n_drop_r: Default::default(),
            ring_dirty_valid: Default::default(),
            ring_dirty_line: Default::default(),
            ring_recall_valid: Default::default(),
            ring_recall_line: Default::default(),
            ring_err_valid: Default::default(),
            ring_pt_valid: Default::default(),
            ring_pt_rec: Default::default(),
            ring_pt_lost: Default::default(),
            cons: Default::default(),
            fill: Default::default(),
            cons_move: Default::default(),
            fill_zero: Constant::new(0.into()),
            full: Default::default(),
            ring_room: RingRoom::default(),
            slot0: Default::default(),
            slot1: DFFWithInit::new(1u64.into()),
            slot2: DFFWithInit::new(2u64.into()),
            slot3: DFFWithInit::new(3u64.into()),
            dropped: Default::default(),
            slot_one: Constant::new(1.into()),
            slot_none: Constant::new(0.into()),
            bit_events: w(1 << LINE_EVENTS),
            bit_ring0: w(1 << RING_FIRST),
            events_line: Constant::new(line_of([0, 0, 0, RING_FIRST, RING_RECORDS, 0, 0, 0])),
            kind_dirty: w(EV_DIRTY << 60),
            kind_recall: w(EV_RECALL << 60),
            kind_error: w(EV_ERROR << 60),
            ident_line: Constant::new(line_of(model.line(LINE_IDENT))),
            params_line: Constant::new(line_of(model.line(LINE_PARAMS))),
            line_id: std::array::from_fn(|b| kk(b as u64)),
            byte_off: std::array::from_fn(|b| Constant::new(Bits::<9>::from(8 * b as u64))),
            byte_ff: Constant::new(0xffu64.into()),
            half_zero: Constant::new(0u64.into()),
            line_zero: Constant::new(line_of([0; 8])),
            w_zero: w(0),
            w_one: w(1),
            k_command: kk(LINE_COMMAND),
            k_doorbell: kk(LINE_DOORBELL),
            k_events: kk(LINE_EVENTS),
            bit_doorbell: w(1 << LINE_DOORBELL),
            bit_ident: w(1 << LINE_IDENT),
            bit_params: w(1 << LINE_PARAMS),
            bit_ring: std::array::from_fn(|j| w(1 << (RING_FIRST + j as u64))),
            bit_control: w(1 << LINE_CONTROL),
            bit_command: w(1 << LINE_COMMAND),
            bit_completion: w(1 << LINE_COMPLETION),
            bit_status: w(1 << LINE_STATUS),
            req_mem_inv: op(ReqOp::MemInv as u64),
            req_mem_rd: op(ReqOp::MemRd as u64),
            req_mem_rd_data: op(ReqOp::MemRdData as u64),
            req_mem_cln_evct: op(ReqOp::MemClnEvct as u64),
            rwd_mem_wr: op(RwdOp::MemWr as u64),
            rwd_mem_wr_ptl: op(RwdOp::MemWrPtl as u64),
            snp_data: op(SnpOp::BISnpData as u64),
            snp_inv: op(SnpOp::BISnpInv as u64),
            meta_i: me(Meta::Invalid as u64),
            meta_a: me(Meta::Any as u64),
            meta_s: me(Meta::Shared as u64),
            meta_bad: me(0b01),
            ndr_cmp: ro(NdrOp::Cmp as u64),
            ndr_cmp_s: ro(NdrOp::CmpS as u64),
            ndr_cmp_e: ro(NdrOp::CmpE as u64),
            st_ok: w(ST_OK),
            st_unknown: w(ST_UNKNOWN_COMMAND),
            st_bad_arg: w(ST_BAD_ARG),
            st_read_only: w(ST_READ_ONLY),
            st_busy: w(ST_BUSY),
            st_bad_birsp: w(ST_BAD_BIRSP),
            st_bad_message: w(ST_BAD_MESSAGE),
            st_no_space: w(ST_NO_SPACE),
            c_nop: c8(CMD_NOP),
            c_swap: c8(CMD_HARVEST_SWAP),
            c_set_control: c8(CMD_SET_CONTROL),
            pt_on: Constant::new(g.pt.is_some()),
            s_zero: c2(0),
            s_one: c2(1),
            s_two: c2(2),
            hv_word: Default::default(),
            levels: Constant::new(g.levels.into()),
            snp_max: Constant::new((SnpOp::BISnpInv as u64).into()),
            cnt_zero: c2(0),
            ndr_free: Default::default(),
            drs_free: Default::default(),
            busy: Default::default(),
            r_rd: Default::default(),
            r_rdd: Default::default(),
            r_inv: Default::default(),
            r_evct: Default::default(),
            r_read: Default::default(),
            r_op_ok: Default::default(),
            r_meta_ok: Default::default(),
            r_meta: Default::default(),
            r_grant: Default::default(),
            r_bit: Default::default(),
            w_wr: Default::default(),
            w_op_ok: Default::default(),
            w_meta_ok: Default::default(),
            w_keep_s: Default::default(),
            w_cmd: Default::default(),
            w_db: Default::default(),
            w_bit: Default::default(),
            in_go: Default::default(),
            room: Default::default(),
            acc_rwd: Default::default(),
            acc_req: Default::default(),
            trigger: Default::default(),
            ring: Default::default(),
            e0: Default::default(),
            e1: Default::default(),
            set_held: Default::default(),
            clr_held: Default::default(),
            changed: Default::default(),
            inv_now: Default::default(),
            emask: Default::default(),
            content: Default::default(),
            t_ident: Default::default(),
            t_params: Default::default(),
            t_control: Default::default(),
            t_command: Default::default(),
            t_completion: Default::default(),
            t_status: Default::default(),
            t_events: Default::default(),
            t_ring: Default::default(),
            db_done: Default::default(),
            snp_free: Default::default(),
            inv_found: Default::default(),
            inv_k: Default::default(),
            inv_clear: Default::default(),
            inv_below: Default::default(),
            inv_hot: Default::default(),
            line_bit: std::array::from_fn(|b| Constant::new((1u64 << b).into())),
            exec_start: Default::default(),
            cmd_next: Default::default(),
            n_op: Default::default(),
            n_a0: Default::default(),
            n_a1: Default::default(),
            d_nop: DFFWithInit::new(true),
            d_set: Default::default(),
            d_swap: Default::default(),
            d_read: Default::default(),
            d_recall: Default::default(),
            d_bad_arg: Default::default(),
            d_pt_reg: Default::default(),
            d_pt_res: Default::default(),
            d_port: Default::default(),
            d_pt_set: Default::default(),
            x_pt_ok: Default::default(),
            x_pt_op: Default::default(),
            x_seq: Default::default(),
            x_a0: Default::default(),
            x_a1: Default::default(),
            x_read_ok: Default::default(),
            x_recall_ok: Default::default(),
            in_p: std::array::from_fn(|_| Default::default()),
            cmd_p: std::array::from_fn(|i| {
                DFFWithInit::new((checks[i / 8].1 >> (8 * (i % 8))) & 0xff == 0)
            }),
            m_p: std::array::from_fn(|_| Default::default()),
            all_p: Default::default(),
            p_mask: checks.map(|(m, _)| w(m)),
            p_value: checks.map(|(_, v)| w(v)),
            in_op: Default::default(),
            cmd_op: std::array::from_fn(|c| DFFWithInit::new(op_codes[c] == 0)),
            m_op: Default::default(),
            op_code: op_codes.map(c8),
            complete: Default::default(),
            c_status: Default::default(),
            c_result: Default::default(),
            n_err: Default::default(),
            held_next: Default::default(),
            w_ev: Default::default(),
            ev_err_valid: Default::default(),
            rec_d: Default::default(),
            rec_r: Default::default(),
            rec_e: Default::default(),
            rec_p: Default::default(),
            has_room: Default::default(),
            n_de: Default::default(),
            n_pre: Default::default(),
            n_rec: Default::default(),
            n_drop: Default::default(),
            fill_base: Default::default(),
            cnt3_zero: Constant::new(0u64.into()),
            cons_next: Default::default(),
            cons_write: Default::default(),
            ok_d: Default::default(),
            ok_r: Default::default(),
            ok_e: Default::default(),
            ok_p: Default::default(),
            drop_d: Default::default(),
            drop_r: Default::default(),
            drop_e: Default::default(),
            drop_p: Default::default(),
            slot_d: Default::default(),
            slot_r: Default::default(),
            slot_e: Default::default(),
            slot_p: Default::default(),
        }
    }
}

impl Logic for Regs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            in_valid,
            in_rwd,
            in_ropc,
            in_rmeta,
            in_rtag,
            in_rhot,
            in_wopc,
            in_wmeta,
            in_wtag,
            in_whot,
            in_drs,
            in_cmd,
            in_db,
            in_ev,
            in_be,
            in_data,
            held,
            inv_pend,
            pick_found,
            pick_k,
            pick_hot,
            inv_new,
            ndr_valid_r,
            ndr_opcode_r,
            ndr_tag_r,
            drs_valid_r,
            drs_meta_r,
            drs_tag_r,
            drs_data_r,
            snp_valid_r,
            snp_out,
            snp_fresh,
            birsp_r,
            snp_op_r,
            snp_line_r,
            control,
            command,
            comp_seq,
            comp_status,
            comp_result,
            err_code,
            e0_r,
            commands,
            doorbells,
            e1_r,
            core_err_count_r,
            core_err_code_r,
            exec_pend,
            xs_busy,
            xs_port,
            xs_read,
            xs_ram,
            xs_word,
            xs_back,
            xs_late,
            xs_done,
            xs_ack,
            exec_seq,
            db_state,
            cmd_valid_r,
            cmd_opcode_r,
            cmd_addr_r,
            hv_valid_r,
            hv_op_r,
            hv_level_r,
            hv_index_r,
            pt_reg_valid_r,
            pt_reg_set_r,
            pt_reg_frame_r,
            pt_res_valid_r,
            pt_res_set_r,
            pt_res_frame_r,
            cons,
            hv_word,
            wr_d_hot,
            wr_r_hot,
            wr_e_hot,
            wr_p_hot,
            wr_d_rec,
            wr_r_rec,
            wr_e_rec,
            wr_p_rec,
            d_nop,
            d_set,
            d_swap,
            d_read,
            d_recall,
            d_bad_arg,
            d_pt_reg,
            d_pt_res,
            d_port,
            d_pt_set,
            fill,
            cons_move,
            n_rec_r,
            n_drop_r,
            slot0,
            slot1,
            slot2,
            slot3,
            ring_dirty_valid,
            ring_dirty_line,
            ring_recall_valid,
            ring_recall_line,
            ring_err_valid,
            ring_pt_valid,
            ring_pt_rec,
            ring_pt_lost
        );
        // 64-bit counters: clocked here, stepping by 0 unless a rule below says.
        self.err_count.clock.next = self.clock.val();
        self.err_count.step.next = self.cnt3_zero.val();
        self.prod.clock.next = self.clock.val();
        self.prod.step.next = self.cnt3_zero.val();
        self.dropped.clock.next = self.clock.val();
        self.dropped.step.next = self.cnt3_zero.val();

        for i in 0..56 {
            self.in_p[i].clock.next = self.clock.val();
            self.in_p[i].d.next = self.in_p[i].q.val();
            self.cmd_p[i].clock.next = self.clock.val();
            self.cmd_p[i].d.next = self.cmd_p[i].q.val();
        }
        for c in 0..4 {
            self.in_op[c].clock.next = self.clock.val();
            self.in_op[c].d.next = self.in_op[c].q.val();
            self.cmd_op[c].clock.next = self.clock.val();
            self.cmd_op[c].d.next = self.cmd_op[c].q.val();
        }
        for i in 0..32 {
            self.records[i].clock.next = self.clock.val();
            self.records[i].d.next = self.records[i].q.val();
        }
        for k in 0..4 {
            self.full[k].clock.next = self.clock.val();
        }
        // Empty at the start of the cycle: acceptance does not wait for the readies.
        self.ndr_free.next = !self.ndr_valid_r.q.val();
        self.drs_free.next = !self.drs_valid_r.q.val();
        self.busy.next = self.exec_pend.q.val()
            || self.xs_busy.q.val()
            || self.db_state.q.val() != self.s_zero.val();

        // Request decode.
        self.r_rd.next = self.in_ropc.q.val() == self.req_mem_rd.val();
        self.r_rdd.next = self.in_ropc.q.val() == self.req_mem_rd_data.val();
        self.r_inv.next = self.in_ropc.q.val() == self.req_mem_inv.val();
        self.r_evct.next = self.in_ropc.q.val() == self.req_mem_cln_evct.val();
        self.r_read.next = self.r_rd.val() || self.r_rdd.val();
        self.r_op_ok.next =
            self.r_rd.val() || self.r_rdd.val() || self.r_inv.val() || self.r_evct.val();
        self.r_meta_ok.next = self.in_rmeta.q.val() != self.meta_bad.val();
        if self.r_meta_ok.val() {
            self.r_meta.next = self.in_rmeta.q.val();
        } else {
            self.r_meta.next = self.meta_i.val();
        }
        if self.r_rdd.val() {
            self.r_grant.next = self.meta_a.val();
        } else {
            self.r_grant.next = self.r_meta.val();
        }
        self.r_bit.next = self.in_rhot.q.val();

        // Request-with-data decode.
        self.w_wr.next = self.in_wopc.q.val() == self.rwd_mem_wr.val();
        self.w_op_ok.next = self.w_wr.val() || self.in_wopc.q.val() == self.rwd_mem_wr_ptl.val();
        self.w_meta_ok.next = self.in_wmeta.q.val() == self.meta_i.val()
            || self.in_wmeta.q.val() == self.meta_s.val();
        self.w_keep_s.next = self.in_wmeta.q.val() == self.meta_s.val();
        self.w_cmd.next = (self.in_whot.q.val() & self.bit_command.val()) != self.w_zero.val();
        self.w_db.next = (self.in_whot.q.val() & self.bit_doorbell.val()) != self.w_zero.val();
        self.w_ev.next = (self.in_whot.q.val() & self.bit_events.val()) != self.w_zero.val();
        self.w_bit.next = self.in_whot.q.val();

        // The inbox's message goes when its answer register is free; a new one is
        // taken when the inbox is empty at the cycle's start (a write before a
        // request). Its payload loads whenever it is empty, only `in_valid` waits
        // for a message: the enable of its 600-odd flip-flops is a flip-flop.
        self.in_go.next = self.in_valid.q.val() && self.ndr_free.val();
        if self.in_drs.q.val() {
            self.in_go.next = self.in_valid.q.val() && self.drs_free.val();
        }
        self.room.next = !self.in_valid.q.val();
        self.rwd_op_ok.next = self.rwd_opcode.val() == self.rwd_mem_wr.val()
            || self.rwd_opcode.val() == self.rwd_mem_wr_ptl.val();
        self.acc_rwd.next = self.in_go.val() && self.in_rwd.q.val();
        self.acc_req.next = self.in_go.val() && !self.in_rwd.q.val();
        self.rwd_ready.next = self.room.val();
        self.req_ready.next = self.room.val() && !self.rwd_valid.val();
        self.in_valid.d.next = (self.in_valid.q.val() && !self.in_go.val())
            || (self.room.val() && (self.rwd_valid.val() || self.req_valid.val()));
        if self.room.val() {
            self.in_rwd.d.next = self.rwd_valid.val();
            // A full write's byte enables are all ones.
            self.in_be.d.next = self.rwd_mask.val();
            if self.rwd_opcode.val() == self.rwd_mem_wr.val() {
                self.in_be.d.next = self.be_ones.val();
            }
            self.in_data.d.next = self.rwd_data.val();
            self.in_drs.d.next = !self.rwd_valid.val()
                && (self.req_opcode.val() == self.req_mem_rd.val()
                    || self.req_opcode.val() == self.req_mem_rd_data.val());
            self.in_cmd.d.next = self.rwd_valid.val()
                && self.rwd_op_ok.val()
                && self.rwd_line.val() == self.k_command.val();
            self.in_db.d.next = self.rwd_valid.val()
                && self.rwd_op_ok.val()
                && self.rwd_line.val() == self.k_doorbell.val();
            self.in_ev.d.next = self.rwd_valid.val()
                && self.rwd_op_ok.val()
                && self.rwd_line.val() == self.k_events.val();
            for p in 0..2 {
                for j in 0..8 {
                    self.in_p[p * 8 + j].d.next = (self.rwd_data.val().get_bits::<8>(128 + j * 8)
                        & self.p_mask[p].val().get_bits::<8>(j * 8))
                        == self.p_value[p].val().get_bits::<8>(j * 8);
                }
            }
            for p in 2..7 {
                for j in 0..8 {
                    self.in_p[p * 8 + j].d.next = (self.rwd_data.val().get_bits::<8>(192 + j * 8)
                        & self.p_mask[p].val().get_bits::<8>(j * 8))
                        == self.p_value[p].val().get_bits::<8>(j * 8);
                }
            }
            for c in 0..4 {
                self.in_op[c].d.next =
                    self.rwd_data.val().get_bits::<8>(0) == self.op_code[c].val();
            }
            self.in_wopc.d.next = self.rwd_opcode.val();
            self.in_wmeta.d.next = self.rwd_meta.val();
            self.in_wtag.d.next = self.rwd_tag.val();
            self.in_whot.d.next = self.w_one.val() << self.rwd_line.val();
            self.in_ropc.d.next = self.req_opcode.val();
            self.in_rmeta.d.next = self.req_meta.val();
            self.in_rtag.d.next = self.req_tag.val();
            self.in_rhot.d.next = self.w_one.val() << self.req_line.val();
        }

        // A write is answered on NDR, so it goes when NDR is free.
        self.cmd_we.next = self.in_valid.q.val() && self.ndr_free.val() && self.in_cmd.q.val();
        self.trigger.next = self.cmd_we.val() && !self.w_keep_s.val() && !self.busy.val();
        self.ring.next =
            self.in_valid.q.val() && self.ndr_free.val() && self.in_db.q.val() && !self.busy.val();

        // The request-with-data's error, or the request's.
        self.e0.next = self.st_ok.val();
        self.set_held.next = self.w_zero.val();
        self.clr_held.next = self.w_zero.val();
        if self.acc_rwd.val() {
            if !(self.w_op_ok.val() && self.w_meta_ok.val()) {
                self.e0.next = self.st_bad_message.val();
            }
            if self.w_op_ok.val() && !self.w_cmd.val() && !self.w_db.val() && !self.w_ev.val() {
                self.e0.next = self.st_read_only.val();
            }
            if self.w_op_ok.val()
                && ((self.w_cmd.val() && !self.w_keep_s.val()) || self.w_db.val())
                && self.busy.val()
            {
                self.e0.next = self.st_busy.val();
            }
            if !self.w_keep_s.val() {
                self.clr_held.next = self.w_bit.val();
            }
        } else if self.acc_req.val() {
            if !(self.r_op_ok.val() && self.r_meta_ok.val()) {
                self.e0.next = self.st_bad_message.val();
            }
            if self.r_read.val() && self.r_grant.val() != self.meta_i.val() {
                self.set_held.next = self.r_bit.val();
            }
            if self.r_inv.val() {
                if self.r_meta.val() == self.meta_i.val() {
                    self.clr_held.next = self.r_bit.val();
                } else {
                    self.set_held.next = self.r_bit.val();
                }
            }
            if self.r_evct.val() {
                self.clr_held.next = self.r_bit.val();
            }
        }

        // Command line: merge the written bytes.
        self.emask.next = self.half_zero.val();
        for b in 0..32 {
            if self.in_be.q.val().get_bit(b) {
                self.emask.next = self.emask.val() | (self.byte_ff.val() << self.byte_off[b].val());
            }
        }
        // The merged line is decoded whether or not the write is accepted this cycle
        // (the decode does not wait for acceptance); it is kept only if it is.
        self.cmd_next.next =
            (self.command.q.val() & !self.emask.val()) | (self.in_data.q.val() & self.emask.val());
        self.n_op.next = self.cmd_next.val().get_bits::<8>(0);
        self.n_a0.next = self.cmd_next.val().get_bits::<2>(128);
        self.n_a1.next = self.cmd_next.val().get_bit(192);
        for p in 0..2 {
            self.all_p[p].next = true;
            for j in 0..8 {
                self.m_p[p * 8 + j].next = self.cmd_p[p * 8 + j].q.val();
                if self.in_be.q.val().get_bit(16 + j) {
                    self.m_p[p * 8 + j].next = self.in_p[p * 8 + j].q.val();
                }
                if !self.m_p[p * 8 + j].val() {
                    self.all_p[p].next = false;
                }
            }
        }
        for p in 2..7 {
            self.all_p[p].next = true;
            for j in 0..8 {
                self.m_p[p * 8 + j].next = self.cmd_p[p * 8 + j].q.val();
                if self.in_be.q.val().get_bit(24 + j) {
                    self.m_p[p * 8 + j].next = self.in_p[p * 8 + j].q.val();
                }
                if !self.m_p[p * 8 + j].val() {
                    self.all_p[p].next = false;
                }
            }
        }
        for c in 0..4 {
            self.m_op[c].next = self.cmd_op[c].q.val();
            if self.in_be.q.val().get_bit(0) {
                self.m_op[c].next = self.in_op[c].q.val();
            }
        }
        self.x_read_ok.next =
            self.all_p[0].val() && self.n_a0.val() < self.levels.val() && self.all_p[2].val();
        self.x_recall_ok.next = self.all_p[0].val()
            && self.n_a0.val() <= self.snp_max.val()
            && self.all_p[3].val()
            && self.all_p[4].val()
            && !self.all_p[5].val();
        self.x_pt_op.next = self.pt_on.val() && (self.m_op[2].val() || self.m_op[3].val());
        self.x_pt_ok.next = self.all_p[6].val() && self.all_p[1].val();
        if self.cmd_we.val() {
            self.command.d.next = self.cmd_next.val();
            self.d_nop.d.next = self.n_op.val() == self.c_nop.val();
            self.d_set.d.next = self.n_op.val() == self.c_set_control.val();
            self.d_swap.d.next = self.n_op.val() == self.c_swap.val();
            self.d_read.d.next = self.m_op[0].val() && self.x_read_ok.val();
            self.d_recall.d.next = self.m_op[1].val() && self.x_recall_ok.val();
            self.d_bad_arg.d.next = (self.m_op[0].val() && !self.x_read_ok.val())
                || (self.m_op[1].val() && !self.x_recall_ok.val())
                || (self.x_pt_op.val() && !self.x_pt_ok.val());
            self.d_pt_reg.d.next = self.pt_on.val() && self.m_op[2].val() && self.x_pt_ok.val();
            self.d_pt_res.d.next = self.pt_on.val() && self.m_op[3].val() && self.x_pt_ok.val();
            self.d_port.d.next = self.n_op.val() == self.c_swap.val()
                || (self.m_op[0].val() && self.x_read_ok.val())
                || (self.m_op[1].val() && self.x_recall_ok.val())
                || (self.x_pt_op.val() && self.x_pt_ok.val());
            for i in 0..56 {
                self.cmd_p[i].d.next = self.m_p[i].val();
            }
            for c in 0..4 {
                self.cmd_op[c].d.next = self.m_op[c].val();
            }
            self.d_pt_set.d.next = self.n_a1.val();
        }

        // The consumer index: word 1 of the events line.
        // The written index is merged whether or not the write is accepted this cycle.
        self.cons_next.next = (self.cons.q.val() & !self.emask.val().get_bits::<64>(64))
            | (self.in_data.q.val().get_bits::<64>(64) & self.emask.val().get_bits::<64>(64));
        self.cons_write.next = self.in_valid.q.val() && self.ndr_free.val() && self.in_ev.q.val();
        if self.cons_write.val() {
            self.cons.d.next = self.cons_next.val();
        }

        // The requested line's current value: one term per line, ORed (the lines are
        // exclusive, so no priority chain).
        self.t_ident.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_ident.val()) != self.w_zero.val() {
            self.t_ident.next = self.ident_line.val();
        }
        self.t_params.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_params.val()) != self.w_zero.val() {
            self.t_params.next = self.params_line.val();
        }
        self.t_control.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_control.val()) != self.w_zero.val() {
            self.t_control.next = bit_cast::<DATA_BITS, 64>(self.control.q.val());
        }
        self.t_command.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_command.val()) != self.w_zero.val() {
            self.t_command.next = bit_cast::<DATA_BITS, 256>(self.command.q.val());
        }
        self.t_completion.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_completion.val()) != self.w_zero.val() {
            self.t_completion.next = bit_cast::<DATA_BITS, 64>(self.comp_seq.q.val())
                | (bit_cast::<DATA_BITS, 64>(self.comp_status.q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.comp_result.q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, 64>(self.err_count.value.val()) << 192u64)
                | (bit_cast::<DATA_BITS, 64>(self.err_code.q.val()) << 256u64);
        }
        self.t_status.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_status.val()) != self.w_zero.val() {
            self.t_status.next = bit_cast::<DATA_BITS, 64>(self.commands.q.val())
                | (bit_cast::<DATA_BITS, 64>(self.doorbells.q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, ERR_COUNT_BITS>(self.core_err_count_r.q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, ERR_CODE_BITS>(self.core_err_code_r.q.val()) << 192u64);
        }
        self.t_events.next = self.line_zero.val();
        if (self.in_rhot.q.val() & self.bit_events.val()) != self.w_zero.val() {
            self.t_events.next = self.events_line.val()
                | bit_cast::<DATA_BITS, 64>(self.prod.value.val())
                | (bit_cast::<DATA_BITS, 64>(self.cons.q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.dropped.value.val()) << 128u64);
        }
        if (self.in_rhot.q.val() & self.bit_ring[0].val()) != self.w_zero.val() {
            self.t_ring[0].next = (bit_cast::<DATA_BITS, 64>(self.records[0].q.val()) << 0u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[1].q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[2].q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[3].q.val()) << 192u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[4].q.val()) << 256u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[5].q.val()) << 320u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[6].q.val()) << 384u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[7].q.val()) << 448u64);
        } else {
            self.t_ring[0].next = self.line_zero.val();
        }
        if (self.in_rhot.q.val() & self.bit_ring[1].val()) != self.w_zero.val() {
            self.t_ring[1].next = (bit_cast::<DATA_BITS, 64>(self.records[8].q.val()) << 0u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[9].q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[10].q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[11].q.val()) << 192u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[12].q.val()) << 256u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[13].q.val()) << 320u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[14].q.val()) << 384u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[15].q.val()) << 448u64);
        } else {
            self.t_ring[1].next = self.line_zero.val();
        }
        if (self.in_rhot.q.val() & self.bit_ring[2].val()) != self.w_zero.val() {
            self.t_ring[2].next = (bit_cast::<DATA_BITS, 64>(self.records[16].q.val()) << 0u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[17].q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[18].q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[19].q.val()) << 192u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[20].q.val()) << 256u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[21].q.val()) << 320u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[22].q.val()) << 384u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[23].q.val()) << 448u64);
        } else {
            self.t_ring[2].next = self.line_zero.val();
        }
        if (self.in_rhot.q.val() & self.bit_ring[3].val()) != self.w_zero.val() {
            self.t_ring[3].next = (bit_cast::<DATA_BITS, 64>(self.records[24].q.val()) << 0u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[25].q.val()) << 64u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[26].q.val()) << 128u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[27].q.val()) << 192u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[28].q.val()) << 256u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[29].q.val()) << 320u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[30].q.val()) << 384u64)
                | (bit_cast::<DATA_BITS, 64>(self.records[31].q.val()) << 448u64);
        } else {
            self.t_ring[3].next = self.line_zero.val();
        }
        self.content.next = self.t_ident.val()
            | self.t_params.val()
            | self.t_control.val()
            | self.t_command.val()
            | self.t_completion.val()
            | self.t_status.val()
            | self.t_events.val()
            | self.t_ring[0].val()
            | self.t_ring[1].val()
            | self.t_ring[2].val()
            | self.t_ring[3].val();

        // Answer registers. The DRS payload loads whenever its register is free,
        // whatever the inbox holds, so its 400-odd flip-flops' enable is a flip-flop;
        // the top shows it only while `drs_valid_r` is set.
        if self.drs_free.val() {
            self.drs_meta_r.d.next = self.r_grant.val();
            self.drs_tag_r.d.next = self.in_rtag.q.val();
            self.drs_data_r.d.next = self.content.val();
        }
        if self.acc_req.val() && self.r_read.val() {
            self.drs_valid_r.d.next = true;
        } else if self.drs_take.val() {
            self.drs_valid_r.d.next = false;
        }
        if self.acc_rwd.val() {
            self.ndr_valid_r.d.next = true;
            self.ndr_opcode_r.d.next = self.ndr_cmp.val();
            self.ndr_tag_r.d.next = self.in_wtag.q.val();
        } else if self.acc_req.val() && !self.r_read.val() {
            self.ndr_valid_r.d.next = true;
            self.ndr_opcode_r.d.next = self.ndr_cmp.val();
            if self.r_inv.val() && self.r_meta.val() == self.meta_s.val() {
                self.ndr_opcode_r.d.next = self.ndr_cmp_s.val();
            }
            if self.r_inv.val() && self.r_meta.val() == self.meta_a.val() {
                self.ndr_opcode_r.d.next = self.ndr_cmp_e.val();
            }
            self.ndr_tag_r.d.next = self.in_rtag.q.val();
        } else if self.ndr_take.val() {
            self.ndr_valid_r.d.next = false;
        }

        // Snoop response of the last cycle, from a register (a snoop the host took
        // at the last edge was not out when it arrived), then the snoop register.
        self.birsp_r.d.next = self.birsp_valid.val();
        self.snp_fresh.d.next = self.snp_valid_r.q.val() && self.snp_take.val();
        self.db_done.next = false;
        self.e1.next = self.st_ok.val();
        if self.birsp_r.q.val() {
            if self.snp_out.q.val() && !self.snp_fresh.q.val() {
                self.snp_out.d.next = false;
                self.db_done.next = self.snp_op_r.q.val() == self.snp_data.val();
            } else {
                self.e1.next = self.st_bad_birsp.val();
            }
        }
        self.snp_free.next = !self.snp_valid_r.q.val()
            && (!self.snp_out.q.val() || (self.birsp_r.q.val() && !self.snp_fresh.q.val()));
        self.inv_k.next = self.line_id[0].val();
        // Only the lines below the ring's end ever change. The lowest marked line
        // as one bit too, so its clear is not decoded from its index.
        self.inv_now.next = self.inv_pend.q.val() | (self.inv_new.q.val() & self.held.q.val());
        self.inv_below[0].next = false;
        for b in 0..USED_BELOW {
            self.inv_below[b + 1].next = self.inv_below[b].val() || self.inv_now.val().get_bit(b);
        }
        self.inv_found.next = false;
        self.inv_hot.next = self.w_zero.val();
        for b in 0..USED_LINES {
            if self.inv_now.val().get_bit(b) && !self.inv_below[b].val() {
                self.inv_found.next = true;
                self.inv_k.next = self.line_id[b].val();
                self.inv_hot.next = self.inv_hot.val() | self.line_bit[b].val();
            }
        }
        self.inv_clear.next = self.w_zero.val();
        if self.snp_valid_r.q.val() {
            if self.snp_take.val() {
                self.snp_valid_r.d.next = false;
                self.snp_out.d.next = true;
            }
        } else if self.snp_free.val() {
            if self.db_state.q.val() == self.s_one.val() {
                self.snp_valid_r.d.next = true;
                self.snp_op_r.d.next = self.snp_data.val();
                self.snp_line_r.d.next = self.k_command.val();
                self.db_state.d.next = self.s_two.val();
            } else if self.pick_found.q.val() {
                self.snp_valid_r.d.next = true;
                self.snp_op_r.d.next = self.snp_inv.val();
                self.snp_line_r.d.next = self.pick_k.q.val();
                self.inv_clear.next = self.pick_hot.q.val();
            }
        }

        // Command execution.
        self.x_seq.next = self.command.q.val().get_bits::<64>(64);
        self.x_a0.next = self.command.q.val().get_bits::<64>(128);
        self.x_a1.next = self.command.q.val().get_bits::<ADDR_BITS>(192);
        self.exec_start.next = !self.xs_busy.q.val() && self.exec_pend.q.val();
        self.changed.next = self.w_zero.val();
        self.c_status.next = self.st_ok.val();
        self.c_result.next = self.w_zero.val();
        if self.exec_start.val() {
            self.exec_seq.d.next = self.x_seq.val();
            if self.d_nop.q.val() {
                // Completes (`complete` below), as do SET_CONTROL, a refused
                // argument and an unknown opcode.
            } else if self.d_set.q.val() {
                self.control.d.next = self.x_a0.val();
                self.changed.next = self.bit_control.val();
            } else if self.d_swap.q.val() {
                self.hv_valid_r.d.next = true;
                self.hv_op_r.d.next = false;
                self.hv_level_r.d.next = 0.into();
                self.hv_index_r.d.next = 0.into();
                self.xs_busy.d.next = true;
                self.xs_port.d.next = true;
            } else if self.d_read.q.val() {
                self.hv_valid_r.d.next = true;
                self.hv_op_r.d.next = true;
                self.hv_level_r.d.next = self.x_a0.val().get_bits::<HV_LEVEL_BITS>(0);
                self.hv_index_r.d.next = self.x_a1.val().get_bits::<HV_INDEX_BITS>(0);
                self.xs_busy.d.next = true;
                self.xs_port.d.next = true;
            } else if self.d_recall.q.val() {
                self.cmd_valid_r.d.next = true;
                self.cmd_opcode_r.d.next = self.x_a0.val().get_bits::<OPCODE_BITS>(0);
                self.cmd_addr_r.d.next = self.x_a1.val();
                self.xs_busy.d.next = true;
                self.xs_port.d.next = true;
            } else if self.d_pt_reg.q.val() {
                self.pt_reg_valid_r.d.next = true;
                self.pt_reg_set_r.d.next = self.d_pt_set.q.val();
                self.pt_reg_frame_r.d.next = self.x_a0.val().get_bits::<PFN_BITS>(0);
                self.xs_busy.d.next = true;
                self.xs_port.d.next = true;
            } else if self.d_pt_res.q.val() {
                self.pt_res_valid_r.d.next = true;
                self.pt_res_set_r.d.next = self.d_pt_set.q.val();
                self.pt_res_frame_r.d.next = self.x_a0.val().get_bits::<PFN_BITS>(0);
                self.xs_busy.d.next = true;
                self.xs_port.d.next = true;
            } else if self.d_bad_arg.q.val() {
                self.c_status.next = self.st_bad_arg.val();
            } else {
                self.c_status.next = self.st_unknown.val();
            }
        } else if self.xs_port.q.val() {
            // The trigger takes its registry and residency requests at once.
            if self.pt_reg_valid_r.q.val() {
                self.pt_reg_valid_r.d.next = false;
                self.xs_port.d.next = false;
                self.xs_busy.d.next = false;
                if self.pt_refused.val() {
                    self.c_status.next = self.st_no_space.val();
                }
            }
            if self.pt_res_valid_r.q.val() {
                self.pt_res_valid_r.d.next = false;
                self.xs_port.d.next = false;
                self.xs_busy.d.next = false;
            }
            // A recall or a swap completes the cycle after the core takes it, so
            // the completion registers' enables (and `commands`) do not wait for
            // the core's acceptance, a combinational ready.
            if self.cmd_valid_r.q.val() && self.core_cmd_ready.val() {
                self.cmd_valid_r.d.next = false;
                self.xs_port.d.next = false;
                self.xs_ack.d.next = true;
            }
            if self.hv_valid_r.q.val() && self.core_hv_ready.val() {
                self.hv_valid_r.d.next = false;
                self.xs_port.d.next = false;
                if !self.hv_op_r.q.val() {
                    self.xs_ack.d.next = true;
                } else {
                    self.xs_read.d.next = true;
                }
            }
        }
        // The harvest read's wait, one state per cycle: the bitmap reads its RAMs
        // from its address registers, then the word goes through its read, output
        // and return registers and leaves its per-level registers, and is registered
        // again here.
        self.xs_ram.d.next = self.xs_read.q.val();
        self.xs_word.d.next = self.xs_ram.q.val();
        self.xs_back.d.next = self.xs_word.q.val();
        self.xs_late.d.next = self.xs_back.q.val();
        self.xs_done.d.next = self.xs_late.q.val();
        if self.xs_read.q.val() {
            self.xs_read.d.next = false;
        }
        if self.xs_late.q.val() {
            self.hv_word.d.next = self.core_hv_rsp_data.val();
        }
        if self.xs_done.q.val() {
            self.xs_busy.d.next = false;
            self.c_result.next = self.hv_word.q.val();
        }
        if self.xs_ack.q.val() {
            self.xs_ack.d.next = false;
            self.xs_busy.d.next = false;
        }
        // Completion from flops in two levels, not through the chain above.
        self.complete.next = (self.exec_start.val() && !self.d_port.q.val())
            || (self.xs_port.q.val()
                && (self.pt_reg_valid_r.q.val() || self.pt_res_valid_r.q.val()))
            || self.xs_done.q.val()
            || self.xs_ack.q.val();
        if self.complete.val() {
            if self.exec_start.val() {
                self.comp_seq.d.next = self.x_seq.val();
            } else {
                self.comp_seq.d.next = self.exec_seq.q.val();
            }
            self.comp_status.d.next = self.c_status.val();
            self.comp_result.d.next = self.c_result.val();
            self.commands.d.next = self.commands.q.val() + self.w_one.val();
            self.changed.next =
                self.changed.val() | self.bit_completion.val() | self.bit_status.val();
        }
        self.exec_pend.d.next = (self.exec_pend.q.val() && !self.exec_start.val())
            || self.trigger.val()
            || (self.ring.val() && !(self.held.q.val() & self.bit_command.val()).any())
            || self.db_done.val();
        if self.ring.val() {
            self.doorbells.d.next = self.doorbells.q.val() + self.w_one.val();
            self.changed.next = self.changed.val() | self.bit_status.val();
            if (self.held.q.val() & self.bit_command.val()).any() {
                self.db_state.d.next = self.s_one.val();
            }
        }
        if self.db_done.val() {
            self.db_state.d.next = self.s_zero.val();
        }

        // Errors: counted at the next edge, from registers; the code keeps the last
        // (message, then BIRsp).
        self.e0_r.d.next = self.e0.val();
        self.e1_r.d.next = self.e1.val();
        self.n_err.next = self.cnt_zero.val()
            + (self.e0_r.q.val() != self.st_ok.val())
            + (self.e1_r.q.val() != self.st_ok.val());
        self.err_count.step.next = bit_cast::<3, 2>(self.n_err.val());
        if self.e0_r.q.val() != self.st_ok.val() {
            self.err_code.d.next = self.e0_r.q.val();
        }
        if self.e1_r.q.val() != self.st_ok.val() {
            self.err_code.d.next = self.e1_r.q.val();
        }
        if self.n_err.val() != self.cnt_zero.val() {
            self.changed.next = self.changed.val() | self.bit_completion.val();
        }
        // The status line mirrors the core's error counter a cycle late; a change is
        // an error event (the mirror always holds the top's register of the last
        // cycle, so "differs from the mirror" is the top's "changed at the last edge").
        self.ev_err_valid.next = self.core_err_moved.val();
        if self.ev_err_valid.val() {
            self.core_err_count_r.d.next = self.core_err_count.val();
            self.core_err_code_r.d.next = self.core_err_code.val();
            self.changed.next = self.changed.val() | self.bit_status.val();
        }

        // Event ring: dirty, recall, error, page-table records in that order, a cycle
        // after they arrive; one that finds the ring full is dropped and counted.
        self.ring_dirty_valid.d.next = self.ev_dirty_valid.val();
        self.ring_dirty_line.d.next = self.ev_dirty_line.val();
        self.ring_recall_valid.d.next = self.ev_recall_valid.val();
        self.ring_recall_line.d.next = self.ev_recall_line.val();
        self.ring_err_valid.d.next = self.ev_err_valid.val();
        self.ring_pt_valid.d.next = self.ev_pt_valid.val();
        self.ring_pt_rec.d.next = self.ev_pt_rec.val();
        self.ring_pt_lost.d.next = self.ev_pt_lost.val();
        self.rec_d.next =
            self.kind_dirty.val() | bit_cast::<64, LINE_BITS>(self.ring_dirty_line.q.val());
        self.rec_r.next =
            self.kind_recall.val() | bit_cast::<64, LINE_BITS>(self.ring_recall_line.q.val());
        // The error record is the status mirror: it loads the same values under the
        // same flag at the same edge as `ring_err_valid`.
        self.rec_e.next = self.kind_error.val()
            | (bit_cast::<64, ERR_COUNT_BITS>(self.core_err_count_r.q.val()) << 16u64)
            | bit_cast::<64, ERR_CODE_BITS>(self.core_err_code_r.q.val());
        self.rec_p.next = self.ring_pt_rec.q.val();
        // Room for one to four more records from flops (decided at the last edge, for
        // the fill it left). Record k's room is by the count of valid events ahead of
        // it, not of accepted ones: room for fewer records is implied by room for
        // more, so the count differs only where both say "full".
        for k in 0..4 {
            self.has_room[k].next = !self.full[k].q.val();
        }
        self.n_de.next =
            self.cnt_zero.val() + self.ring_dirty_valid.q.val() + self.ring_recall_valid.q.val();
        self.n_pre.next = self.n_de.val() + self.ring_err_valid.q.val();
        self.ok_d.next = self.ring_dirty_valid.q.val() && self.has_room[0].val();
        self.drop_d.next = self.ring_dirty_valid.q.val() && !self.ok_d.val();
        if self.ring_dirty_valid.q.val() {
            self.ok_r.next = self.ring_recall_valid.q.val() && self.has_room[1].val();
        } else {
            self.ok_r.next = self.ring_recall_valid.q.val() && self.has_room[0].val();
        }
        self.drop_r.next = self.ring_recall_valid.q.val() && !self.ok_r.val();
        if self.n_de.val() == self.s_zero.val() {
            self.ok_e.next = self.ring_err_valid.q.val() && self.has_room[0].val();
        } else if self.n_de.val() == self.s_one.val() {
            self.ok_e.next = self.ring_err_valid.q.val() && self.has_room[1].val();
        } else {
            self.ok_e.next = self.ring_err_valid.q.val() && self.has_room[2].val();
        }
        self.drop_e.next = self.ring_err_valid.q.val() && !self.ok_e.val();
        if self.n_pre.val() == self.s_zero.val() {
            self.ok_p.next = self.ring_pt_valid.q.val() && self.has_room[0].val();
        } else if self.n_pre.val() == self.s_one.val() {
            self.ok_p.next = self.ring_pt_valid.q.val() && self.has_room[1].val();
        } else if self.n_pre.val() == self.s_two.val() {
            self.ok_p.next = self.ring_pt_valid.q.val() && self.has_room[2].val();
        } else {
            self.ok_p.next = self.ring_pt_valid.q.val() && self.has_room[3].val();
        }
        self.drop_p.next = self.ring_pt_valid.q.val() && !self.ok_p.val();
        self.n_rec.next = self.cnt3_zero.val()
            + self.ok_d.val()
            + self.ok_r.val()
            + self.ok_e.val()
            + self.ok_p.val();
        self.n_rec_r.d.next = self.n_rec.val();
        self.prod.step.next = self.n_rec_r.q.val();
        // The next fill, (producer + n_rec - the room's consumer) mod 64, as the
        // current fill plus n_rec plus the registered move of the last consumer
        // write; the next slots likewise from the registered ones (slot k is always
        // the producer + k), so no 64-bit sum is on these paths.
        self.cons_move.d.next = self.fill_zero.val();
        if self.cons_write.val() {
            self.cons_move.d.next =
                self.cons.q.val().get_bits::<6>(0) - self.cons_next.val().get_bits::<6>(0);
        }
        self.fill_base.next = self.fill.q.val() + self.cons_move.q.val();
        self.fill.d.next = self.fill_base.val() + bit_cast::<6, 3>(self.n_rec.val());
        self.ring_room.fill_base.next = self.fill_base.val();
        self.ring_room.n_rec.next = self.n_rec.val();
        for k in 0..4 {
            self.full[k].d.next = self.ring_room.full[k].val();
        }
        self.slot0.d.next = self.slot0.q.val() + bit_cast::<5, 3>(self.n_rec.val());
        self.slot1.d.next = self.slot1.q.val() + bit_cast::<5, 3>(self.n_rec.val());
        self.slot2.d.next = self.slot2.q.val() + bit_cast::<5, 3>(self.n_rec.val());
        self.slot3.d.next = self.slot3.q.val() + bit_cast::<5, 3>(self.n_rec.val());
        // One sum of the drops, then one 64-bit add.
        self.n_drop.next = self.cnt3_zero.val()
            + self.drop_d.val()
            + self.drop_r.val()
            + self.drop_e.val()
            + self.drop_p.val()
            + self.ring_pt_lost.q.val();
        self.n_drop_r.d.next = self.n_drop.val();
        self.dropped.step.next = self.n_drop_r.q.val();
        // Slots likewise by the count of valid events ahead (they matter only when
        // the record is appended, and then every record ahead was too).
        self.slot_d.next = self.slot0.q.val();
        if self.ring_dirty_valid.q.val() {
            self.slot_r.next = self.slot1.q.val();
        } else {
            self.slot_r.next = self.slot_d.val();
        }
        if self.n_de.val() == self.s_zero.val() {
            self.slot_e.next = self.slot_d.val();
        } else if self.n_de.val() == self.s_one.val() {
            self.slot_e.next = self.slot1.q.val();
        } else {
            self.slot_e.next = self.slot2.q.val();
        }
        if self.n_pre.val() == self.s_zero.val() {
            self.slot_p.next = self.slot_d.val();
        } else if self.n_pre.val() == self.s_one.val() {
            self.slot_p.next = self.slot1.q.val();
        } else if self.n_pre.val() == self.s_two.val() {
            self.slot_p.next = self.slot2.q.val();
        } else {
            self.slot_p.next = self.slot3.q.val();
        }
        // The appends land at the next edge, from registers (the ring's 2048 flops
        // are far from the decision).
        self.wr_d_hot.d.next = self.slot_none.val();
        if self.ok_d.val() {
            self.wr_d_hot.d.next = self.slot_one.val() << self.slot_d.val();
        }
        self.wr_r_hot.d.next = self.slot_none.val();
        if self.ok_r.val() {
            self.wr_r_hot.d.next = self.slot_one.val() << self.slot_r.val();
        }
        self.wr_e_hot.d.next = self.slot_none.val();
        if self.ok_e.val() {
            self.wr_e_hot.d.next = self.slot_one.val() << self.slot_e.val();
        }
        self.wr_p_hot.d.next = self.slot_none.val();
        if self.ok_p.val() {
            self.wr_p_hot.d.next = self.slot_one.val() << self.slot_p.val();
        }
        self.wr_d_rec.d.next = self.rec_d.val();
        self.wr_r_rec.d.next = self.rec_r.val();
        self.wr_e_rec.d.next = self.rec_e.val();
        self.wr_p_rec.d.next = self.rec_p.val();
        for i in 0..32 {
            if self.wr_d_hot.q.val().get_bit(i) {
                self.records[i].d.next = self.wr_d_rec.q.val();
            }
            if self.wr_r_hot.q.val().get_bit(i) {
                self.records[i].d.next = self.wr_r_rec.q.val();
            }
            if self.wr_e_hot.q.val().get_bit(i) {
                self.records[i].d.next = self.wr_e_rec.q.val();
            }
            if self.wr_p_hot.q.val().get_bit(i) {
                self.records[i].d.next = self.wr_p_rec.q.val();
            }
        }
        if self.ok_d.val() {
            self.changed.next =
                self.changed.val() | (self.bit_ring0.val() << self.slot_d.val().get_bits::<2>(3));
        }
        if self.ok_r.val() {
            self.changed.next =
                self.changed.val() | (self.bit_ring0.val() << self.slot_r.val().get_bits::<2>(3));
        }
        if self.ok_e.val() {
            self.changed.next =
                self.changed.val() | (self.bit_ring0.val() << self.slot_e.val().get_bits::<2>(3));
        }
        if self.ok_p.val() {
            self.changed.next =
                self.changed.val() | (self.bit_ring0.val() << self.slot_p.val().get_bits::<2>(3));
        }
        if self.ring_dirty_valid.q.val()
            || self.ring_recall_valid.q.val()
            || self.ring_err_valid.q.val()
            || self.ring_pt_valid.q.val()
            || self.ring_pt_lost.q.val()
        {
            self.changed.next = self.changed.val() | self.bit_events.val();
        }
        self.held_next.next = ((self.held.q.val() & !self.clr_held.val()) | self.set_held.val())
            & !self.inv_clear.val();
        self.held.d.next = self.held_next.val();
        self.inv_pend.d.next = self.inv_now.val() & !self.inv_clear.val();
        self.pick_found.d.next = self.inv_found.val();
        self.pick_k.d.next = self.inv_k.val();
        self.pick_hot.d.next = self.inv_hot.val();
        self.inv_new.d.next = self.changed.val();

        // Outputs.
        self.ndr_valid.next = self.ndr_valid_r.q.val();
        self.ndr_opcode.next = self.ndr_opcode_r.q.val();
        self.ndr_tag.next = self.ndr_tag_r.q.val();
        self.drs_valid.next = self.drs_valid_r.q.val();
        self.drs_meta.next = self.drs_meta_r.q.val();
        self.drs_tag.next = self.drs_tag_r.q.val();
        self.drs_data.next = self.drs_data_r.q.val();
        self.snp_valid.next = self.snp_valid_r.q.val();
        self.snp_op.next = self.snp_op_r.q.val();
        self.snp_line.next = self.snp_line_r.q.val();
        self.cmd_valid.next = self.cmd_valid_r.q.val();
        self.cmd_opcode.next = self.cmd_opcode_r.q.val();
        self.cmd_addr.next = self.cmd_addr_r.q.val();
        self.hv_valid.next = self.hv_valid_r.q.val();
        self.hv_op.next = self.hv_op_r.q.val();
        self.hv_level.next = self.hv_level_r.q.val();
        self.hv_index.next = self.hv_index_r.q.val();
        self.pt_reg_valid.next = self.pt_reg_valid_r.q.val();
        self.pt_reg_set.next = self.pt_reg_set_r.q.val();
        self.pt_reg_frame.next = self.pt_reg_frame_r.q.val();
        self.pt_res_valid.next = self.pt_res_valid_r.q.val();
        self.pt_res_set.next = self.pt_res_set_r.q.val();
        self.pt_res_frame.next = self.pt_res_frame_r.q.val();
    }
}

/// The event ring's room at the next edge: `full[k]` says the fill it leaves,
/// (`fill_base` + `n_rec`) modulo 64, has no room for k + 1 more records (is not
/// below 32 - k). Per count the answer is two compares of `fill_base` with
/// constants (below 32 - k - count, or wrapping past 64), so only the count's
/// select follows the cycle's append decisions. Each compare is a bit of a 64-entry
/// table picked by `fill_base`: Yosys maps a compare with a constant to a carry
/// chain, which after the sum making `fill_base` put two chains in a row.
#[derive(LogicBlock)]
pub struct RingRoom {
    pub fill_base: Signal<In, Bits<6>>,
    pub n_rec: Signal<In, Bits<3>>,
    pub full: [Signal<Out, bool>; 4],
    /// `below[m]`: `fill_base` < 32 - m.
    below: [Signal<Local, bool>; 8],
    /// `wraps[c]`: `fill_base` + c + 1 reaches 64 (the sum is then below 4).
    wraps: [Signal<Local, bool>; 4],
    /// Bit `x` of `t_below[m]`: `x` < 32 - m; of `t_wraps[c]`: `x` >= 63 - c.
    t_below: [Constant<Bits<64>>; 8],
    t_wraps: [Constant<Bits<64>>; 4],
    k_count: [Constant<Bits<3>>; 5],
}

/// The 64-entry table of `f` over 6-bit values.
fn table(f: impl Fn(u64) -> bool) -> Constant<Bits<64>> {
    Constant::new(
        (0..64u64)
            .filter(|&x| f(x))
            .fold(0u64, |t, x| t | 1 << x)
            .into(),
    )
}

impl Default for RingRoom {
    fn default() -> Self {
        Self {
            t_below: std::array::from_fn(|m| table(|x| x < RING_RECORDS - m as u64)),
            t_wraps: std::array::from_fn(|c| table(|x| x >= 63 - c as u64)),
            k_count: std::array::from_fn(|c| Constant::new((c as u64).into())),
            fill_base: Default::default(),
            n_rec: Default::default(),
            full: Default::default(),
            below: Default::default(),
            wraps: Default::default(),
        }
    }
}

impl Logic for RingRoom {
    #[hdl_gen]
    fn update(&mut self) {
        for m in 0..8 {
            self.below[m].next = self.t_below[m].val().get_bit(self.fill_base.val().index());
        }
        for c in 0..4 {
            self.wraps[c].next = self.t_wraps[c].val().get_bit(self.fill_base.val().index());
        }
        for k in 0..4 {
            // Counts above four do not occur.
            self.full[k].next = true;
            if self.n_rec.val() == self.k_count[0].val() {
                self.full[k].next = !self.below[k].val();
            }
            for c in 1..5 {
                if self.n_rec.val() == self.k_count[c].val() {
                    self.full[k].next = !(self.below[k + c].val() || self.wraps[c - 1].val());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    /// Every base and count against the fill's definition (the modulo-64 sum).
    #[test]
    fn ring_room_matches_the_fill_sum_everywhere() {
        let mut uut = RingRoom::default();
        uut.connect_all();
        for base in 0..64u64 {
            for n in 0..5u64 {
                uut.fill_base.next = base.into();
                uut.n_rec.next = n.into();
                assert!(simulate(&mut uut, 50), "RingRoom did not settle");
                let fill = (base + n) % 64;
                for k in 0..4 {
                    let full = fill >= RING_RECORDS - k as u64;
                    assert_eq!(uut.full[k].val(), full, "base {base} count {n} k {k}");
                }
            }
        }
    }

    #[test]
    fn regs_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/default.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = Regs::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_regs", &v).unwrap();
    }
}
