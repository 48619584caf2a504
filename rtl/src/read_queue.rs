//! Read queue: the host tag and grant of each device-memory read in flight, in order.
//!
//! Per cycle: at most one push (an accepted read) and one pop (a memory response
//! taken); a ring of `read_queue` entries with wrap-around pointers. `full` and
//! `empty` are registers, decided at the edge from the pointers one step ahead, so
//! the accept decision reads a flip-flop; the tail entry loads the offered tag and
//! grant whenever the ring is not full (it is unused until a push), so its load
//! enable does not wait for the accept decision either.

use linewatch_model::config::{Geometry, MAX_READ_QUEUE};
use linewatch_model::protocol::{META_BITS, TAG_BITS};
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
    pub pop: Signal<In, bool>,
    pub full: Signal<Out, bool>,
    pub empty: Signal<Out, bool>,
    pub head_tag: Signal<Out, Bits<TAG_BITS>>,
    pub head_meta: Signal<Out, Bits<META_BITS>>,
    head: DFF<Bits<PTR_BITS>>,
    tail: DFF<Bits<PTR_BITS>>,
    full_r: DFF<bool>,
    /// Reset value 0 would say "not empty"; the register holds `!empty` instead.
    nonempty_r: DFF<bool>,
    tag: [DFF<Bits<TAG_BITS>>; N],
    meta: [DFF<Bits<META_BITS>>; N],
    last: Constant<Bits<PTR_BITS>>,
    ptr_zero: Constant<Bits<PTR_BITS>>,
    ptr_one: Constant<Bits<PTR_BITS>>,
    tail_inc: Signal<Local, Bits<PTR_BITS>>,
    head_inc: Signal<Local, Bits<PTR_BITS>>,
    slot_id: [Constant<Bits<PTR_BITS>>; N],
    /// Entries past `read_queue` are never written; saying so lets synthesis drop them.
    slot_on: [Constant<bool>; N],
    tag_zero: Constant<Bits<TAG_BITS>>,
    meta_zero: Constant<Bits<META_BITS>>,
}

impl ReadQueue {
    pub fn new(g: &Geometry) -> Self {
        let cp = |v: u64| Constant::new(Bits::<PTR_BITS>::from(v));
        Self {
            clock: Default::default(),
            push: Default::default(),
            push_tag: Default::default(),
            push_meta: Default::default(),
            pop: Default::default(),
            full: Default::default(),
            empty: Default::default(),
            head_tag: Default::default(),
            head_meta: Default::default(),
            head: Default::default(),
            tail: Default::default(),
            full_r: Default::default(),
            nonempty_r: Default::default(),
            tag: Default::default(),
            meta: Default::default(),
            last: cp(g.read_queue - 1),
            ptr_zero: cp(0),
            ptr_one: cp(1),
            tail_inc: Default::default(),
            head_inc: Default::default(),
            slot_id: std::array::from_fn(|s| cp(s as u64)),
            slot_on: std::array::from_fn(|s| Constant::new((s as u64) < g.read_queue)),
            tag_zero: Constant::new(0.into()),
            meta_zero: Constant::new(0.into()),
        }
    }
}

impl Logic for ReadQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, head, tail, full_r, nonempty_r);
        for s in 0..16 {
            self.tag[s].clock.next = self.clock.val();
            self.meta[s].clock.next = self.clock.val();
            self.tag[s].d.next = self.tag[s].q.val();
            self.meta[s].d.next = self.meta[s].q.val();
        }
        self.full.next = self.full_r.q.val();
        self.empty.next = !self.nonempty_r.q.val();
        self.head_tag.next = self.tag_zero.val();
        self.head_meta.next = self.meta_zero.val();
        for s in 0..16 {
            if self.head.q.val() == self.slot_id[s].val() {
                self.head_tag.next = self.tag[s].q.val();
                self.head_meta.next = self.meta[s].q.val();
            }
        }

        if !self.full_r.q.val() {
            for s in 0..16 {
                if self.slot_on[s].val() && self.tail.q.val() == self.slot_id[s].val() {
                    self.tag[s].d.next = self.push_tag.val();
                    self.meta[s].d.next = self.push_meta.val();
                }
            }
        }
        if self.tail.q.val() == self.last.val() {
            self.tail_inc.next = self.ptr_zero.val();
        } else {
            self.tail_inc.next = self.tail.q.val() + self.ptr_one.val();
        }
        if self.head.q.val() == self.last.val() {
            self.head_inc.next = self.ptr_zero.val();
        } else {
            self.head_inc.next = self.head.q.val() + self.ptr_one.val();
        }
        if self.push.val() {
            self.tail.d.next = self.tail_inc.val();
        }
        if self.pop.val() {
            self.head.d.next = self.head_inc.val();
        }
        if self.push.val() && !self.pop.val() {
            self.full_r.d.next = self.tail_inc.val() == self.head.q.val();
            self.nonempty_r.d.next = true;
        }
        if self.pop.val() && !self.push.val() {
            self.full_r.d.next = false;
            self.nonempty_r.d.next = self.head_inc.val() != self.tail.q.val();
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
