//! Snoop tracker: the back-invalidate snoops in flight, one slot per BITag.
//!
//! Per cycle: presents the lowest allocated, unsent slot on the BISnp channel (from
//! registers); at the edge marks it sent if the host took it, frees the slot the
//! BIRsp of the last cycle names (checked now, from registers; a slot the host took
//! at the last edge counts as unsent for it), and allocates the lowest slot that was
//! free at the start of the cycle.
//!
//! For timing the check reads only flip-flops: the response's BITag registered as
//! one bit per slot and its opcode as one bit per response, and per slot the
//! responses it allows, decided at the edge before. The BISnp valid is a flip-flop
//! too: the count of unsent slots kept as a thermometer (step 34).

use linewatch_model::config::{Geometry, MAX_SNOOP_SLOTS};
use linewatch_model::protocol::{
    ErrCode, RspOp, SnpOp, ADDR_BITS, BITAG_BITS, ERR_CODE_BITS, OPCODE_BITS,
};
use rust_hdl::prelude::*;

const N: usize = MAX_SNOOP_SLOTS as usize;
const _: () = assert!(
    N == 8,
    "the priority chains below are written for eight slots"
);

#[derive(LogicBlock)]
pub struct SnoopTracker {
    pub clock: Signal<In, Clock>,
    /// Allocate the lowest free slot (asked only when `free_valid`).
    pub alloc: Signal<In, bool>,
    pub alloc_op: Signal<In, Bits<OPCODE_BITS>>,
    pub alloc_addr: Signal<In, Bits<ADDR_BITS>>,
    pub free_valid: Signal<Out, bool>,
    /// The BISnp channel, straight from slot registers.
    pub head_valid: Signal<Out, bool>,
    pub head_op: Signal<Out, Bits<OPCODE_BITS>>,
    pub head_tag: Signal<Out, Bits<BITAG_BITS>>,
    pub head_addr: Signal<Out, Bits<ADDR_BITS>>,
    /// The host takes the head snoop this cycle (BISnp ready).
    pub head_taken: Signal<In, bool>,
    /// The BIRsp channel, registered here and checked the next cycle; `rsp_err` is
    /// the error code of the last cycle's response (none when idle).
    pub rsp_valid: Signal<In, bool>,
    pub rsp_bitag: Signal<In, Bits<BITAG_BITS>>,
    pub rsp_opcode: Signal<In, Bits<OPCODE_BITS>>,
    pub rsp_err: Signal<Out, Bits<ERR_CODE_BITS>>,
    valid: [DFF<bool>; N],
    sent: [DFF<bool>; N],
    /// The response each slot allows now (sent before the last edge, so a
    /// response checked now can name it): any, BIRspS, BIRspE.
    allow_i: [DFF<bool>; N],
    allow_s: [DFF<bool>; N],
    allow_e: [DFF<bool>; N],
    /// The last cycle's BIRsp: valid, the slot it names (none out of range), its
    /// opcode as I / S / E (none for an illegal one).
    rsp_v: DFF<bool>,
    rsp_named: [DFF<bool>; N],
    rsp_is_i: DFF<bool>,
    rsp_is_s: DFF<bool>,
    rsp_is_e: DFF<bool>,
    sel_s: Signal<Local, bool>,
    sel_e: Signal<Local, bool>,
    op: [DFF<Bits<OPCODE_BITS>>; N],
    addr: [DFF<Bits<ADDR_BITS>>; N],
    slot_on: [Constant<bool>; N],
    slot_id: [Constant<Bits<BITAG_BITS>>; N],
    snp_cur: Constant<Bits<OPCODE_BITS>>,
    snp_inv: Constant<Bits<OPCODE_BITS>>,
    rsp_i: Constant<Bits<OPCODE_BITS>>,
    rsp_s: Constant<Bits<OPCODE_BITS>>,
    rsp_e: Constant<Bits<OPCODE_BITS>>,
    err_none: Constant<Bits<ERR_CODE_BITS>>,
    err_bad_bitag: Constant<Bits<ERR_CODE_BITS>>,
    err_bad_birsp: Constant<Bits<ERR_CODE_BITS>>,
    op_zero: Constant<Bits<OPCODE_BITS>>,
    tag_zero: Constant<Bits<BITAG_BITS>>,
    addr_zero: Constant<Bits<ADDR_BITS>>,
    free_below: [Signal<Local, bool>; N],
    head_below: [Signal<Local, bool>; N],
    first_free: [Signal<Local, bool>; N],
    first_head: [Signal<Local, bool>; N],
    named: [Signal<Local, bool>; N],
    tag_ok: Signal<Local, bool>,
    allow_next: [Signal<Local, bool>; N],
    rsp_ok: Signal<Local, bool>,
    /// Every slot is taken at the start of the cycle, so `free_valid` is a
    /// flip-flop (held inverted, since the power-up value 0 must mean "a slot is
    /// free"). Decided at the edge as "no response frees a slot, and every slot was
    /// taken or the allocation takes the one free slot": the allocation is one
    /// term, not the head of a chain through every slot's next valid bit.
    all_busy: DFF<bool>,
    next_valid: [Signal<Local, bool>; N],
    /// At least one / two slots below `s` are free (from flip-flops), and a
    /// response frees a slot at this edge.
    free_one: [Signal<Local, bool>; 9],
    free_two: [Signal<Local, bool>; 9],
    freed: Signal<Local, bool>,
    /// The count of allocated, unsent slots as a thermometer (`unsent[k]`: more
    /// than k), stepped by the allocation and the host's take, so `head_valid` is a
    /// flip-flop one LUT behind them (the agent's snoop waits on it, step 34).
    unsent: [DFF<bool>; N],
    /// The host takes the head snoop at this edge.
    taken_now: Signal<Local, bool>,
    next_sent: [Signal<Local, bool>; N],
}

impl SnoopTracker {
    pub fn new(g: &Geometry) -> Self {
        let co = |v: u64| Constant::new(Bits::<OPCODE_BITS>::from(v));
        let ce = |e: ErrCode| Constant::new(Bits::<ERR_CODE_BITS>::from(e as u64));
        Self {
            clock: Default::default(),
            alloc: Default::default(),
            alloc_op: Default::default(),
            alloc_addr: Default::default(),
            free_valid: Default::default(),
            head_valid: Default::default(),
            head_op: Default::default(),
            head_tag: Default::default(),
            head_addr: Default::default(),
            head_taken: Default::default(),
            rsp_valid: Default::default(),
            rsp_bitag: Default::default(),
            rsp_opcode: Default::default(),
            rsp_err: Default::default(),
            valid: Default::default(),
            sent: Default::default(),
            allow_i: Default::default(),
            allow_s: Default::default(),
            allow_e: Default::default(),
            rsp_v: Default::default(),
            rsp_named: Default::default(),
            rsp_is_i: Default::default(),
            rsp_is_s: Default::default(),
            rsp_is_e: Default::default(),
            sel_s: Default::default(),
            sel_e: Default::default(),
            op: Default::default(),
            addr: Default::default(),
            slot_on: std::array::from_fn(|s| Constant::new((s as u64) < g.snoop_slots)),
            slot_id: std::array::from_fn(|s| Constant::new((s as u64).into())),
            snp_cur: co(SnpOp::BISnpCur as u64),
            snp_inv: co(SnpOp::BISnpInv as u64),
            rsp_i: co(RspOp::BIRspI as u64),
            rsp_s: co(RspOp::BIRspS as u64),
            rsp_e: co(RspOp::BIRspE as u64),
            err_none: ce(ErrCode::None),
            err_bad_bitag: ce(ErrCode::BadBiTag),
            err_bad_birsp: ce(ErrCode::BadBiRsp),
            op_zero: co(0),
            tag_zero: Constant::new(0.into()),
            addr_zero: Constant::new(0.into()),
            free_below: Default::default(),
            head_below: Default::default(),
            first_free: Default::default(),
            first_head: Default::default(),
            named: Default::default(),
            tag_ok: Default::default(),
            allow_next: Default::default(),
            rsp_ok: Default::default(),
            all_busy: Default::default(),
            next_valid: Default::default(),
            free_one: Default::default(),
            free_two: Default::default(),
            freed: Default::default(),
            unsent: Default::default(),
            taken_now: Default::default(),
            next_sent: Default::default(),
        }
    }
}

impl Logic for SnoopTracker {
    #[hdl_gen]
    fn update(&mut self) {
        for s in 0..8 {
            self.valid[s].clock.next = self.clock.val();
            self.sent[s].clock.next = self.clock.val();
            self.allow_i[s].clock.next = self.clock.val();
            self.allow_s[s].clock.next = self.clock.val();
            self.allow_e[s].clock.next = self.clock.val();
            self.rsp_named[s].clock.next = self.clock.val();
            self.rsp_named[s].d.next =
                self.slot_on[s].val() && self.rsp_bitag.val() == self.slot_id[s].val();
            self.op[s].clock.next = self.clock.val();
            self.addr[s].clock.next = self.clock.val();
            self.op[s].d.next = self.op[s].q.val();
            self.addr[s].d.next = self.addr[s].q.val();
        }

        // Lowest free slot and lowest allocated, unsent slot.
        self.free_below[0].next = false;
        for s in 0..7 {
            self.free_below[s + 1].next =
                self.free_below[s].val() || (self.slot_on[s].val() && !self.valid[s].q.val());
        }
        self.head_below[0].next = false;
        for s in 0..8 {
            self.first_free[s].next =
                self.slot_on[s].val() && !self.valid[s].q.val() && !self.free_below[s].val();
            self.first_head[s].next =
                self.valid[s].q.val() && !self.sent[s].q.val() && !self.head_below[s].val();
        }
        for s in 0..7 {
            self.head_below[s + 1].next =
                self.head_below[s].val() || (self.valid[s].q.val() && !self.sent[s].q.val());
        }
        self.all_busy.clock.next = self.clock.val();
        self.free_valid.next = !self.all_busy.q.val();
        self.head_valid.next = self.unsent[0].q.val();
        self.head_op.next = self.op_zero.val();
        self.head_tag.next = self.tag_zero.val();
        self.head_addr.next = self.addr_zero.val();
        for s in 0..8 {
            if self.first_head[s].val() {
                self.head_op.next = self.op[s].q.val();
                self.head_tag.next = self.slot_id[s].val();
                self.head_addr.next = self.addr[s].q.val();
            }
        }

        // Snoop response, registered: the slot it names must be in range, allocated
        // and sent before the response arrived; BISnpInv allows only I, BISnpData I
        // or S, BISnpCur any legal response.
        self.rsp_v.clock.next = self.clock.val();
        self.rsp_is_i.clock.next = self.clock.val();
        self.rsp_is_s.clock.next = self.clock.val();
        self.rsp_is_e.clock.next = self.clock.val();
        self.rsp_v.d.next = self.rsp_valid.val();
        self.rsp_is_i.d.next = self.rsp_opcode.val() == self.rsp_i.val();
        self.rsp_is_s.d.next = self.rsp_opcode.val() == self.rsp_s.val();
        self.rsp_is_e.d.next = self.rsp_opcode.val() == self.rsp_e.val();
        self.tag_ok.next = false;
        self.sel_s.next = false;
        self.sel_e.next = false;
        for s in 0..8 {
            self.named[s].next = self.rsp_named[s].q.val() && self.allow_i[s].q.val();
            if self.rsp_named[s].q.val() {
                self.tag_ok.next = self.allow_i[s].q.val();
                self.sel_s.next = self.allow_s[s].q.val();
                self.sel_e.next = self.allow_e[s].q.val();
            }
        }
        self.rsp_ok.next = self.rsp_is_i.q.val()
            || (self.rsp_is_s.q.val() && self.sel_s.val())
            || (self.rsp_is_e.q.val() && self.sel_e.val());
        self.rsp_err.next = self.err_none.val();
        if self.rsp_v.q.val() {
            if !self.tag_ok.val() {
                self.rsp_err.next = self.err_bad_bitag.val();
            } else if !self.rsp_ok.val() {
                self.rsp_err.next = self.err_bad_birsp.val();
            }
        }

        // Edge: the allocated slot was free and the freed one was sent, so these
        // touch different slots; the head slot is neither.
        self.free_one[0].next = false;
        self.free_two[0].next = false;
        self.freed.next = false;
        for s in 0..8 {
            self.next_valid[s].next = self.valid[s].q.val();
            self.next_sent[s].next = self.sent[s].q.val();
            if self.alloc.val() && self.first_free[s].val() {
                self.next_valid[s].next = true;
                self.next_sent[s].next = false;
                self.op[s].d.next = self.alloc_op.val();
                self.addr[s].d.next = self.alloc_addr.val();
            }
            if self.rsp_v.q.val() && self.named[s].val() {
                self.next_valid[s].next = false;
            }
            if self.head_taken.val() && self.first_head[s].val() {
                self.next_sent[s].next = true;
            }
            self.valid[s].d.next = self.next_valid[s].val();
            self.sent[s].d.next = self.next_sent[s].val();
            // Allowed next cycle: allocated and sent before this edge (a slot taken
            // now is sent, not allowed; one allocated now is unsent).
            self.allow_next[s].next = self.next_valid[s].val()
                && self.sent[s].q.val()
                && !(self.alloc.val() && self.first_free[s].val());
            self.allow_i[s].d.next = self.allow_next[s].val();
            self.allow_s[s].d.next =
                self.allow_next[s].val() && self.op[s].q.val() != self.snp_inv.val();
            self.allow_e[s].d.next =
                self.allow_next[s].val() && self.op[s].q.val() == self.snp_cur.val();
            self.free_one[s + 1].next =
                self.free_one[s].val() || (self.slot_on[s].val() && !self.valid[s].q.val());
            self.free_two[s + 1].next = self.free_two[s].val()
                || (self.free_one[s].val() && self.slot_on[s].val() && !self.valid[s].q.val());
            if self.rsp_v.q.val() && self.named[s].val() {
                self.freed.next = true;
            }
        }
        // Equal to "every enabled slot's next valid bit is set": `alloc` comes only
        // with a free slot, and fills exactly one.
        self.all_busy.d.next = !self.freed.val()
            && (self.all_busy.q.val()
                || (self.alloc.val() && self.free_one[8].val() && !self.free_two[8].val()));
        // Unsent count: up one with an allocation, down one when the host takes the
        // head (there is a head exactly when the count is not zero).
        self.taken_now.next = self.head_taken.val() && self.unsent[0].q.val();
        for k in 0..8 {
            self.unsent[k].clock.next = self.clock.val();
            self.unsent[k].d.next = self.unsent[k].q.val();
        }
        if self.alloc.val() && !self.taken_now.val() {
            self.unsent[0].d.next = true;
            for k in 1..8 {
                self.unsent[k].d.next = self.unsent[k - 1].q.val();
            }
        }
        if self.taken_now.val() && !self.alloc.val() {
            for k in 0..7 {
                self.unsent[k].d.next = self.unsent[k + 1].q.val();
            }
            self.unsent[7].d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn snoop_tracker_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/default.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = SnoopTracker::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_snoop_tracker", &v).unwrap();
    }
}
