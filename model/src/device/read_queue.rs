//! Read queue: the host tag and grant of each device-memory read in flight, in order.
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
    #[inline]
    fn next(&self, p: usize) -> usize {
        if p + 1 == self.depth {
            0
        } else {
            p + 1
        }
    }
    /// Edge update: `push` an entry and/or `pop` the head.
    #[inline]
    pub fn update(&mut self, push: Option<(u64, u64)>, pop: bool) {
        if let Some((tag, meta)) = push {
            self.tag[self.tail] = tag as u16;
            self.meta[self.tail] = meta as u8;
            self.tail = self.next(self.tail);
            self.count += 1;
        }
        if pop {
            self.head = self.next(self.head);
            self.count -= 1;
        }
    }
}
