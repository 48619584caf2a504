//! Read queue: the host tag, grant and line address of each device-memory read in
//! flight, in order.
//!
//! Per cycle: at most one push (an accepted read) and one pop (a memory response
//! taken); a ring of `read_queue` entries with wrap-around pointers.

use crate::config::{Geometry, MAX_READ_QUEUE};

const N: usize = MAX_READ_QUEUE as usize;

pub struct ReadQueue {
    depth: usize,
    head: usize,
    tail: usize,
    count: usize,
    tag: [u16; N],
    meta: [u8; N],
    addr: [u64; N],
}

impl ReadQueue {
    pub fn new(g: &Geometry) -> Self {
        Self {
            depth: g.read_queue as usize,
            head: 0,
            tail: 0,
            count: 0,
            tag: [0; N],
            meta: [0; N],
            addr: [0; N],
        }
    }
    #[inline]
    pub fn full(&self) -> bool {
        self.count == self.depth
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Entry at the head: (tag, meta).
    #[inline]
    pub fn head(&self) -> (u64, u64) {
        (self.tag[self.head] as u64, self.meta[self.head] as u64)
    }
    /// Line address of the entry at the head.
    #[inline]
    pub fn head_addr(&self) -> u64 {
        self.addr[self.head]
    }
    #[inline]
    fn next(&self, p: usize) -> usize {
        if p + 1 == self.depth {
            0
        } else {
            p + 1
        }
    }
    /// Edge update: `push` an entry (tag, meta, line address) and/or `pop` the head.
    #[inline]
    pub fn update(&mut self, push: Option<(u64, u64, u64)>, pop: bool) {
        if let Some((tag, meta, addr)) = push {
            self.tag[self.tail] = tag as u16;
            self.meta[self.tail] = meta as u8;
            self.addr[self.tail] = addr;
            self.tail = self.next(self.tail);
            self.count += 1;
        }
        if pop {
            self.head = self.next(self.head);
            self.count -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn ring_of_any_depth_keeps_order_through_wraparound() {
        let t = "[device]\nwindow_base = 0\nwindow_size = 0x100000\nsf_sets = 4\nsf_ways = 1\nsnoop_slots = 1\nread_queue = 3\nbitmap_levels = 2\nbitmap_fanout = 32\n";
        let mut q = ReadQueue::new(&Config::parse(t, "t").unwrap().geometry());
        let mut expect = std::collections::VecDeque::new();
        let mut next = 0u64;
        for step in 0..50u64 {
            let push = !q.full() && step % 3 != 2;
            let pop = !q.is_empty() && step % 2 == 1;
            if pop {
                let (t, m, a) = expect.pop_front().unwrap();
                assert_eq!((q.head(), q.head_addr()), ((t, m), a));
            }
            let e = (next, next % 4, 0x1000 + next * 3);
            if push {
                expect.push_back(e);
                next += 1;
            }
            q.update(push.then_some(e), pop);
            assert_eq!(q.full(), expect.len() == 3);
            assert_eq!(q.is_empty(), expect.is_empty());
        }
        assert!(next > 20);
    }
}
