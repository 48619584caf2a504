//! Streaming trace statistics: counts by kind and the unique 64-byte lines and
//! 4 KiB pages touched and written. Memory grows with the footprint, not the length.

use super::{Access, Kind, TraceResult, TraceSource, LINE_SHIFT, PAGE_SHIFT};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-shift hasher for u64 keys: SipHash would dominate the cost here.
#[derive(Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, x: u64) {
        // Fibonacci hashing; hashbrown takes the top 7 bits as its tag, the low
        // bits as the bucket, so fold the high half down too.
        let h = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }
}

pub type U64Set = HashSet<u64, BuildHasherDefault<U64Hasher>>;

#[derive(Default)]
pub struct Stats {
    pub accesses: u64,
    pub loads: u64,
    pub stores: u64,
    pub modifies: u64,
    pub instrs: u64,
    /// Line-pieces: an access crossing a line boundary counts once per line.
    pub line_accesses: u64,
    lines: U64Set,
    pages: U64Set,
    lines_written: U64Set,
    pages_written: U64Set,
    /// Last line inserted in each set: consecutive accesses to one line are common
    /// and skip the hash.
    last: [u64; 2],
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            last: [u64::MAX; 2],
            ..Default::default()
        }
    }

    #[inline]
    pub fn add(&mut self, a: &Access) {
        self.accesses += 1;
        match a.kind {
            Kind::Load => self.loads += 1,
            Kind::Store => self.stores += 1,
            Kind::Modify => self.modifies += 1,
            Kind::Instr => self.instrs += 1,
        }
        let w = a.kind.writes();
        for line in a.lines() {
            self.line_accesses += 1;
            if self.last[0] != line {
                self.last[0] = line;
                if self.lines.insert(line) {
                    self.pages.insert(line >> (PAGE_SHIFT - LINE_SHIFT));
                }
            }
            if w && self.last[1] != line {
                self.last[1] = line;
                if self.lines_written.insert(line) {
                    self.pages_written.insert(line >> (PAGE_SHIFT - LINE_SHIFT));
                }
            }
        }
    }

    /// Adds every access of `src`.
    pub fn add_all<S: TraceSource + ?Sized>(&mut self, src: &mut S) -> TraceResult<()> {
        let mut buf = Vec::with_capacity(4096);
        loop {
            buf.clear();
            if src.fill(&mut buf, 4096)? == 0 {
                return Ok(());
            }
            for a in &buf {
                self.add(a);
            }
        }
    }

    pub fn unique_lines(&self) -> u64 {
        self.lines.len() as u64
    }
    pub fn unique_pages(&self) -> u64 {
        self.pages.len() as u64
    }
    pub fn lines_written(&self) -> u64 {
        self.lines_written.len() as u64
    }
    pub fn pages_written(&self) -> u64 {
        self.pages_written.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_pages() {
        let mut s = Stats::new();
        for a in [
            Access::new(Kind::Instr, 0x400000, 4),
            Access::new(Kind::Instr, 0x400004, 4),
            Access::new(Kind::Load, 0x1000, 8),
            Access::new(Kind::Store, 0x103c, 8), // lines 0x40 and 0x41
            Access::new(Kind::Modify, 0x2000, 4),
            Access::new(Kind::Load, 0x1000, 8),
            Access::new(Kind::Store, 0x0fff, 2), // crosses into page 1
        ] {
            s.add(&a);
        }
        assert_eq!(
            (s.accesses, s.loads, s.stores, s.modifies, s.instrs),
            (7, 2, 2, 1, 2)
        );
        assert_eq!(s.line_accesses, 9);
        // Lines: 0x10000, 0x40, 0x41, 0x80, 0x3f.
        assert_eq!(s.unique_lines(), 5);
        // Pages: 0x400, 1, 2, 0.
        assert_eq!(s.unique_pages(), 4);
        // Written: 0x40, 0x41, 0x80, 0x3f, 0x40 again; pages 1, 2, 0.
        assert_eq!(s.lines_written(), 4);
        assert_eq!(s.pages_written(), 3);
    }
}
