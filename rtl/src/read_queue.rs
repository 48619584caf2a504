//! Read queue: the host tag and grant of each device-memory read in flight, in order.
//!
//! Per cycle: at most one push (an accepted read) and one pop (a memory response
//! taken); a ring of `read_queue` entries with wrap-around pointers.

use linewatch_model::config::{Geometry, MAX_READ_QUEUE};
use linewatch_model::protocol::{META_BITS, TAG_BITS};
use rust_hdl::prelude::*;

const N: usize = MAX_READ_QUEUE as usize;
const PTR_BITS: usize = N.trailing_zeros() as usize;
const COUNT_BITS: usize = PTR_BITS + 1;
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
    count: DFF<Bits<COUNT_BITS>>,
    tag: [DFF<Bits<TAG_BITS>>; N],
    meta: [DFF<Bits<META_BITS>>; N],
    depth: Constant<Bits<COUNT_BITS>>,
    last: Constant<Bits<PTR_BITS>>,
    ptr_zero: Constant<Bits<PTR_BITS>>,
    ptr_one: Constant<Bits<PTR_BITS>>,
    count_zero: Constant<Bits<COUNT_BITS>>,
    count_one: Constant<Bits<COUNT_BITS>>,
    slot_id: [Constant<Bits<PTR_BITS>>; N],
    /// Entries past `read_queue` are never written; saying so lets synthesis drop them.
    slot_on: [Constant<bool>; N],
    tag_zero: Constant<Bits<TAG_BITS>>,
    meta_zero: Constant<Bits<META_BITS>>,
}

impl ReadQueue {
    pub fn new(g: &Geometry) -> Self {
        let cp = |v: u64| Constant::new(Bits::<PTR_BITS>::from(v));
        let cc = |v: u64| Constant::new(Bits::<COUNT_BITS>::from(v));
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
            count: Default::default(),
            tag: Default::default(),
            meta: Default::default(),
            depth: cc(g.read_queue),
            last: cp(g.read_queue - 1),
            ptr_zero: cp(0),
            ptr_one: cp(1),
            count_zero: cc(0),
            count_one: cc(1),
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
        dff_setup!(self, clock, head, tail, count);
        for s in 0..16 {
            self.tag[s].clock.next = self.clock.val();
            self.meta[s].clock.next = self.clock.val();
            self.tag[s].d.next = self.tag[s].q.val();
            self.meta[s].d.next = self.meta[s].q.val();
        }
        self.full.next = self.count.q.val() == self.depth.val();
        self.empty.next = self.count.q.val() == self.count_zero.val();
        self.head_tag.next = self.tag_zero.val();
        self.head_meta.next = self.meta_zero.val();
        for s in 0..16 {
            if self.head.q.val() == self.slot_id[s].val() {
                self.head_tag.next = self.tag[s].q.val();
                self.head_meta.next = self.meta[s].q.val();
            }
        }

        if self.push.val() {
            for s in 0..16 {
                if self.slot_on[s].val() && self.tail.q.val() == self.slot_id[s].val() {
                    self.tag[s].d.next = self.push_tag.val();
                    self.meta[s].d.next = self.push_meta.val();
                }
            }
            if self.tail.q.val() == self.last.val() {
                self.tail.d.next = self.ptr_zero.val();
            } else {
                self.tail.d.next = self.tail.q.val() + self.ptr_one.val();
            }
        }
        if self.pop.val() {
            if self.head.q.val() == self.last.val() {
                self.head.d.next = self.ptr_zero.val();
            } else {
                self.head.d.next = self.head.q.val() + self.ptr_one.val();
            }
        }
        if self.push.val() && !self.pop.val() {
            self.count.d.next = self.count.q.val() + self.count_one.val();
        }
        if self.pop.val() && !self.push.val() {
            self.count.d.next = self.count.q.val() - self.count_one.val();
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
