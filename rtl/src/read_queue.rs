//! Read queue: the host tag, grant and line address of each device-memory read in
//! flight, in order.
//!
//! Per cycle: at most one push (an accepted read) and one pop (a memory response
//! taken); a ring of `read_queue` entries with wrap-around pointers, the tail's
//! one-hot. A push (the accept decision) only sets the `pushed` flip-flop; the tail
//! pointer and the count take it a cycle later, and `full` and `empty` are one LUT of
//! registers (the count at or one below the depth, or zero, and `pushed`). The count
//! is one-hot too, so its next value is a shift by the push and the pop, not an adder
//! and a compare. The tail entry loads the offered tag, grant and address whenever
//! the ring is not full (it is unused until a push), so its load enable does not wait
//! for the accept decision either. The addresses feed only the page-table trigger:
//! without it synthesis removes them.

use linewatch_model::config::{Geometry, MAX_READ_QUEUE};
use linewatch_model::protocol::{ADDR_BITS, META_BITS, TAG_BITS};
use rust_hdl::prelude::*;

const N: usize = MAX_READ_QUEUE as usize;
const PTR_BITS: usize = N.trailing_zeros() as usize;
const _: () = assert!(
    N == 16,
    "the entry loops below are written for sixteen entries"
);

#[derive(LogicBlock)]
pub struct ReadQueue {
    pub clock: Signal<In, Clock>,
    pub push: Signal<In, bool>,
    pub push_tag: Signal<In, Bits<TAG_BITS>>,
    pub push_meta: Signal<In, Bits<META_BITS>>,
    /// Kept beside the meta so the producer need not fold it in (the consumer does).
    pub push_ok: Signal<In, bool>,
    pub push_addr: Signal<In, Bits<ADDR_BITS>>,
    pub pop: Signal<In, bool>,
    pub full: Signal<Out, bool>,
    pub empty: Signal<Out, bool>,
    pub head_tag: Signal<Out, Bits<TAG_BITS>>,
    pub head_meta: Signal<Out, Bits<META_BITS>>,
    pub head_ok: Signal<Out, bool>,
    pub head_addr: Signal<Out, Bits<ADDR_BITS>>,
    head: DFF<Bits<PTR_BITS>>,
    /// The previous cycle's push: the accept decision only reaches this flip-flop,
    /// and the tail and the count take it a cycle later.
    pushed: DFF<bool>,
    /// The count as one flip-flop per value (held XOR `level_init`, so the power-up
    /// value says 0): the next count is a shift of its neighbours by the push and
    /// the pop, with no adder or compare between the pop and the flags.
    level: [DFF<bool>; N + 1],
    level_init: [Constant<bool>; N + 1],
    /// Values the count can take (up to `read_queue`).
    level_on: [Constant<bool>; N + 1],
    is_depth: [Constant<bool>; N + 1],
    is_last: [Constant<bool>; N + 1],
    lv: [Signal<Local, bool>; N + 1],
    next_lv: [Signal<Local, bool>; N + 1],
    inc: Signal<Local, bool>,
    dec: Signal<Local, bool>,
    /// The count is the depth, or one less, or not 0.
    at_depth: Signal<Local, bool>,
    at_last: Signal<Local, bool>,
    nonzero: Signal<Local, bool>,
    /// The tail pointer before `pushed`, one-hot (held XOR `at_tail_init`, so the
    /// power-up value 0 selects entry 0): a push rotates it by one entry, which is
    /// one LUT per entry where a binary pointer needs an increment and a decode.
    at_tail: [DFF<bool>; N],
    at_tail_init: [Constant<bool>; N],
    /// `at_tail` as held, the entry after it, and the tail with `pushed` applied
    /// (the entry the offered read would take).
    tail_cur: [Signal<Local, bool>; N],
    tail_after: [Signal<Local, bool>; N],
    tail_next: [Signal<Local, bool>; N],
    /// The last entry in use (`read_queue - 1`), whose successor is entry 0.
    slot_last: [Constant<bool>; N],
    tag: [DFF<Bits<TAG_BITS>>; N],
    meta: [DFF<Bits<META_BITS>>; N],
    ok: [DFF<bool>; N],
    addr: [DFF<Bits<ADDR_BITS>>; N],
    last: Constant<Bits<PTR_BITS>>,
    ptr_zero: Constant<Bits<PTR_BITS>>,
    ptr_one: Constant<Bits<PTR_BITS>>,
    head_inc: Signal<Local, Bits<PTR_BITS>>,
    slot_id: [Constant<Bits<PTR_BITS>>; N],
    /// Entries past `read_queue` are never written; saying so lets synthesis drop them.
    slot_on: [Constant<bool>; N],
    tag_zero: Constant<Bits<TAG_BITS>>,
    meta_zero: Constant<Bits<META_BITS>>,
    addr_zero: Constant<Bits<ADDR_BITS>>,
}

impl ReadQueue {
    pub fn new(g: &Geometry) -> Self {
        let cp = |v: u64| Constant::new(Bits::<PTR_BITS>::from(v));
        Self {
            clock: Default::default(),
            push: Default::default(),
            push_tag: Default::default(),
            push_meta: Default::default(),
            push_ok: Default::default(),
            push_addr: Default::default(),
            pop: Default::default(),
            full: Default::default(),
            empty: Default::default(),
            head_tag: Default::default(),
            head_meta: Default::default(),
            head_ok: Default::default(),
            head_addr: Default::default(),
            head: Default::default(),
            pushed: Default::default(),
            level: Default::default(),
            level_init: std::array::from_fn(|k| Constant::new(k == 0)),
            level_on: std::array::from_fn(|k| Constant::new(k as u64 <= g.read_queue)),
            is_depth: std::array::from_fn(|k| Constant::new(k as u64 == g.read_queue)),
            is_last: std::array::from_fn(|k| Constant::new(k as u64 + 1 == g.read_queue)),
            lv: Default::default(),
            next_lv: Default::default(),
            inc: Default::default(),
            dec: Default::default(),
            at_depth: Default::default(),
            at_last: Default::default(),
            nonzero: Default::default(),
            at_tail: Default::default(),
            at_tail_init: std::array::from_fn(|s| Constant::new(s == 0)),
            tail_cur: Default::default(),
            tail_after: Default::default(),
            tail_next: Default::default(),
            slot_last: std::array::from_fn(|s| Constant::new(s as u64 + 1 == g.read_queue)),
            tag: Default::default(),
            meta: Default::default(),
            ok: Default::default(),
            addr: Default::default(),
            last: cp(g.read_queue - 1),
            ptr_zero: cp(0),
            ptr_one: cp(1),
            head_inc: Default::default(),
            slot_id: std::array::from_fn(|s| cp(s as u64)),
            slot_on: std::array::from_fn(|s| Constant::new((s as u64) < g.read_queue)),
            tag_zero: Constant::new(0.into()),
            meta_zero: Constant::new(0.into()),
            addr_zero: Constant::new(0.into()),
        }
    }
}

impl Logic for ReadQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, head, pushed);
        self.at_depth.next = false;
        self.at_last.next = false;
        for k in 0..17 {
            self.level[k].clock.next = self.clock.val();
            self.lv[k].next = self.level[k].q.val() != self.level_init[k].val();
            if self.lv[k].val() && self.is_depth[k].val() {
                self.at_depth.next = true;
            }
            if self.lv[k].val() && self.is_last[k].val() {
                self.at_last.next = true;
            }
        }
        self.nonzero.next = !self.lv[0].val();
        for s in 0..16 {
            self.tag[s].clock.next = self.clock.val();
            self.meta[s].clock.next = self.clock.val();
            self.tag[s].d.next = self.tag[s].q.val();
            self.meta[s].d.next = self.meta[s].q.val();
            self.ok[s].clock.next = self.clock.val();
            self.ok[s].d.next = self.ok[s].q.val();
            self.addr[s].clock.next = self.clock.val();
            self.addr[s].d.next = self.addr[s].q.val();
        }
        self.full.next = self.at_depth.val() || (self.at_last.val() && self.pushed.q.val());
        self.empty.next = !self.nonzero.val() && !self.pushed.q.val();
        self.head_tag.next = self.tag_zero.val();
        self.head_meta.next = self.meta_zero.val();
        self.head_ok.next = false;
        self.head_addr.next = self.addr_zero.val();
        for s in 0..16 {
            if self.head.q.val() == self.slot_id[s].val() {
                self.head_tag.next = self.tag[s].q.val();
                self.head_meta.next = self.meta[s].q.val();
                self.head_ok.next = self.ok[s].q.val();
                self.head_addr.next = self.addr[s].q.val();
            }
        }

        for s in 0..16 {
            self.at_tail[s].clock.next = self.clock.val();
            self.tail_cur[s].next =
                self.slot_on[s].val() && self.at_tail[s].q.val() != self.at_tail_init[s].val();
        }
        self.tail_after[0].next = false;
        for s in 0..16 {
            if self.slot_last[s].val() && self.tail_cur[s].val() {
                self.tail_after[0].next = true;
            }
        }
        for s in 1..16 {
            self.tail_after[s].next = self.tail_cur[s - 1].val();
        }
        // Last cycle's push is applied here; this cycle's lands in `pushed`.
        for s in 0..16 {
            if self.pushed.q.val() {
                // Entries past the last in use are never selected (synthesis drops
                // them); the wrap to entry 0 is `tail_after[0]`.
                self.tail_next[s].next = self.slot_on[s].val() && self.tail_after[s].val();
            } else {
                self.tail_next[s].next = self.tail_cur[s].val();
            }
            self.at_tail[s].d.next = self.tail_next[s].val() != self.at_tail_init[s].val();
            if !self.full.val() && self.tail_next[s].val() {
                self.tag[s].d.next = self.push_tag.val();
                self.meta[s].d.next = self.push_meta.val();
                self.ok[s].d.next = self.push_ok.val();
                self.addr[s].d.next = self.push_addr.val();
            }
        }
        if self.head.q.val() == self.last.val() {
            self.head_inc.next = self.ptr_zero.val();
        } else {
            self.head_inc.next = self.head.q.val() + self.ptr_one.val();
        }
        if self.pop.val() {
            self.head.d.next = self.head_inc.val();
        }
        self.pushed.d.next = self.push.val();
        // The count takes last cycle's push and this cycle's pop: up, down or held.
        self.inc.next = self.pushed.q.val() && !self.pop.val();
        self.dec.next = self.pop.val() && !self.pushed.q.val();
        for k in 0..17 {
            self.next_lv[k].next = self.lv[k].val() && !self.inc.val() && !self.dec.val();
        }
        for k in 1..17 {
            if self.inc.val() && self.lv[k - 1].val() {
                self.next_lv[k].next = true;
            }
        }
        for k in 0..16 {
            if self.dec.val() && self.lv[k + 1].val() {
                self.next_lv[k].next = true;
            }
        }
        for k in 0..17 {
            self.level[k].d.next =
                (self.next_lv[k].val() && self.level_on[k].val()) != self.level_init[k].val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn read_queue_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/ice40-small.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = ReadQueue::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_read_queue", &v).unwrap();
    }
}
