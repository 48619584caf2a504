//! One set-associative cache level: 64-byte lines, LRU, FIFO or seeded random
//! replacement, a MESI state per line.
//!
//! Storage is flat (`sets * ways` slots in two parallel vectors) so a lookup is one
//! index computation and a scan of `ways` tags; no allocation after construction.
//! The cache stores states only, never data: the host model needs who holds what, and
//! the device model owns the data.

use std::fmt;

/// MESI state of a line in one cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Mesi {
    I = 0,
    S = 1,
    E = 2,
    M = 3,
}

impl Mesi {
    pub const fn valid(self) -> bool {
        !matches!(self, Mesi::I)
    }
    /// E or M: the holder may write without asking anyone.
    pub const fn owned(self) -> bool {
        matches!(self, Mesi::E | Mesi::M)
    }
}

impl fmt::Display for Mesi {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Mesi::I => "I",
            Mesi::S => "S",
            Mesi::E => "E",
            Mesi::M => "M",
        })
    }
}

/// Which valid way a fill evicts when its set is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Least recently used (hits and fills count as uses).
    Lru,
    /// Oldest fill (hits do not count).
    Fifo,
    /// A way drawn from a generator seeded by `seed`: deterministic per run.
    Random { seed: u64 },
}

impl Replacement {
    /// `"lru"`, `"fifo"` or `"random"` (with `seed`).
    pub fn parse(s: &str, seed: u64) -> Option<Replacement> {
        match s {
            "lru" => Some(Replacement::Lru),
            "fifo" => Some(Replacement::Fifo),
            "random" => Some(Replacement::Random { seed }),
            _ => None,
        }
    }
}

/// Geometry, hit latency and replacement of one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Capacity in bytes: `sets * ways * 64`.
    pub size: usize,
    pub ways: usize,
    /// Cycles to hit in this level (added on top of the levels above it).
    pub latency: u32,
    pub replacement: Replacement,
}

impl CacheConfig {
    /// An LRU cache.
    pub const fn new(size: usize, ways: usize, latency: u32) -> CacheConfig {
        CacheConfig {
            size,
            ways,
            latency,
            replacement: Replacement::Lru,
        }
    }

    pub fn sets(&self) -> usize {
        self.size / LINE_BYTES / self.ways.max(1)
    }

    /// Checks the geometry; the message names what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.ways == 0 {
            return Err("ways must be above 0".into());
        }
        if self.size == 0 || !self.size.is_multiple_of(LINE_BYTES * self.ways) {
            return Err(format!(
                "size {} must be a positive multiple of 64 * ways ({})",
                self.size,
                LINE_BYTES * self.ways
            ));
        }
        if !self.sets().is_power_of_two() {
            return Err(format!("sets ({}) must be a power of two", self.sets()));
        }
        Ok(())
    }
}

const STATES: [Mesi; 4] = [Mesi::I, Mesi::S, Mesi::E, Mesi::M];

const LINE_BYTES: usize = crate::protocol::LINE_BYTES as usize;

/// Index of a slot (`set * ways + way`); stable while the line stays cached.
pub type Slot = usize;

#[derive(Clone, Debug)]
pub struct Cache {
    cfg: CacheConfig,
    set_mask: u64,
    /// Per slot, `line << 2 | state`: a lookup compares tag and validity in one
    /// load, and a set's keys share as few host cache lines as possible.
    keys: Vec<u64>,
    /// Last-use (LRU) or fill (FIFO) stamp per slot: the smallest valid stamp in a
    /// set is the victim.
    used: Vec<u64>,
    clock: u64,
    /// Hits update stamps (LRU only).
    stamp_hits: bool,
    /// Random replacement: generator state.
    rng: u64,
}

impl Cache {
    /// Panics on a bad geometry (see [`CacheConfig::check`]).
    pub fn new(cfg: CacheConfig) -> Cache {
        if let Err(e) = cfg.check() {
            panic!("bad cache config {cfg:?}: {e}");
        }
        let n = cfg.sets() * cfg.ways;
        Cache {
            cfg,
            set_mask: cfg.sets() as u64 - 1,
            keys: vec![0; n],
            used: vec![0; n],
            clock: 0,
            stamp_hits: cfg.replacement == Replacement::Lru,
            rng: match cfg.replacement {
                // splitmix64 of the seed: never zero for xorshift.
                Replacement::Random { seed } => {
                    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    (z ^ (z >> 31)) | 1
                }
                _ => 0,
            },
        }
    }

    pub fn config(&self) -> &CacheConfig {
        &self.cfg
    }
    pub fn latency(&self) -> u32 {
        self.cfg.latency
    }
    pub fn ways(&self) -> usize {
        self.cfg.ways
    }
    pub fn slots(&self) -> usize {
        self.keys.len()
    }

    #[inline]
    fn set_base(&self, line: u64) -> usize {
        (line & self.set_mask) as usize * self.cfg.ways
    }

    /// The slot holding `line`, if valid here. Does not count as a use.
    #[inline]
    pub fn find(&self, line: u64) -> Option<Slot> {
        let b = self.set_base(line);
        let want = line << 2;
        // key ^ want < 4 : same line; & 3 != 0 : valid.
        (b..b + self.cfg.ways).find(|&s| {
            let k = self.keys[s];
            k ^ want < 4 && k & 3 != 0
        })
    }

    /// State of `line` here (I when absent).
    #[inline]
    pub fn probe(&self, line: u64) -> Mesi {
        self.find(line).map_or(Mesi::I, |s| self.state(s))
    }

    /// Marks the slot most recently used (a no-op unless LRU).
    #[inline]
    pub fn touch(&mut self, slot: Slot) {
        if self.stamp_hits {
            self.stamp(slot);
        }
    }

    #[inline]
    fn stamp(&mut self, slot: Slot) {
        self.clock += 1;
        self.used[slot] = self.clock;
    }

    #[inline]
    pub fn state(&self, slot: Slot) -> Mesi {
        STATES[(self.keys[slot] & 3) as usize]
    }
    #[inline]
    pub fn set_state(&mut self, slot: Slot, st: Mesi) {
        self.keys[slot] = self.keys[slot] & !3 | st as u64;
    }
    /// Line held in the slot (meaningful when its state is valid).
    #[inline]
    pub fn line(&self, slot: Slot) -> u64 {
        self.keys[slot] >> 2
    }

    /// The slot a fill of `line` would take: an invalid way if the set has one,
    /// otherwise the least recently used. The caller evicts its occupant first.
    #[inline]
    pub fn victim(&self, line: u64) -> Slot {
        let b = self.set_base(line);
        let mut best = b;
        for s in b..b + self.cfg.ways {
            if self.keys[s] & 3 == 0 {
                return s;
            }
            if self.used[s] < self.used[best] {
                best = s;
            }
        }
        if self.rng != 0 {
            // The draw depends on the fills so far, so `victim` stays `&self`.
            let mut x = self.rng ^ self.clock.wrapping_mul(0x2545_f491_4f6c_dd1d);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return b + (x % self.cfg.ways as u64) as usize;
        }
        best
    }

    /// Installs `line` in `slot` (from [`Cache::victim`], already emptied) as most
    /// recently used.
    #[inline]
    pub fn fill(&mut self, slot: Slot, line: u64, st: Mesi) {
        debug_assert!(!self.state(slot).valid(), "fill over a valid line");
        debug_assert!(line < 1 << 62, "line address too wide");
        debug_assert_eq!(self.set_base(line), slot - slot % self.cfg.ways);
        self.keys[slot] = line << 2 | st as u64;
        self.stamp(slot);
    }

    /// Drops `line`; returns the state it had (I when absent).
    #[inline]
    pub fn invalidate(&mut self, line: u64) -> Mesi {
        match self.find(line) {
            Some(s) => {
                let st = self.state(s);
                self.set_state(s, Mesi::I);
                st
            }
            None => Mesi::I,
        }
    }

    /// Every valid `(line, state)`, in slot order.
    pub fn lines(&self) -> impl Iterator<Item = (u64, Mesi)> + '_ {
        self.keys
            .iter()
            .filter(|&&k| k & 3 != 0)
            .map(|&k| (k >> 2, STATES[(k & 3) as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_is_checked() {
        assert!(CacheConfig::new(4096, 4, 1).check().is_ok());
        assert_eq!(CacheConfig::new(4096, 4, 1).sets(), 16);
        assert!(CacheConfig::new(4096, 0, 1).check().is_err());
        assert!(CacheConfig::new(100, 1, 1).check().is_err());
        assert!(CacheConfig::new(64 * 3, 1, 1).check().is_err()); // 3 sets
        assert!(CacheConfig::new(64 * 3, 3, 1).check().is_ok()); // 1 set, 3 ways
    }

    #[test]
    fn hit_miss_and_lru_order() {
        // One set of 4 ways: every line maps to it.
        let mut c = Cache::new(CacheConfig::new(4 * 64, 4, 3));
        for line in 0..4 {
            assert_eq!(c.find(line), None);
            let v = c.victim(line);
            c.fill(v, line, Mesi::E);
        }
        for line in 0..4 {
            assert_eq!(c.probe(line), Mesi::E);
        }
        // LRU is line 0; using it makes line 1 the LRU.
        assert_eq!(c.line(c.victim(9)), 0);
        c.touch(c.find(0).unwrap());
        assert_eq!(c.line(c.victim(9)), 1);
        c.touch(c.find(1).unwrap());
        c.touch(c.find(2).unwrap());
        assert_eq!(c.line(c.victim(9)), 3);
        // An invalid way is preferred over any LRU victim.
        assert_eq!(c.invalidate(2), Mesi::E);
        assert_eq!(c.invalidate(2), Mesi::I);
        let v = c.victim(9);
        assert_eq!(c.state(v), Mesi::I);
        c.fill(v, 9, Mesi::M);
        assert_eq!(c.probe(9), Mesi::M);
        assert_eq!(c.lines().count(), 4);
    }

    #[test]
    fn fifo_ignores_hits_and_random_is_seeded() {
        let mut c = Cache::new(CacheConfig {
            replacement: Replacement::Fifo,
            ..CacheConfig::new(4 * 64, 4, 3)
        });
        for line in 0..4 {
            let v = c.victim(line);
            c.fill(v, line, Mesi::E);
        }
        c.touch(c.find(0).unwrap());
        assert_eq!(c.line(c.victim(9)), 0, "the oldest fill, used or not");
        let victims = |seed| {
            let mut c = Cache::new(CacheConfig {
                replacement: Replacement::Random { seed },
                ..CacheConfig::new(8 * 64, 8, 3)
            });
            (0..200u64)
                .map(|line| {
                    let v = c.victim(line);
                    if c.state(v).valid() {
                        c.set_state(v, Mesi::I);
                    }
                    c.fill(v, line, Mesi::S);
                    v
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(victims(1), victims(1));
        assert_ne!(victims(1), victims(2));
        let v = victims(3);
        assert!((0..8).all(|w| v.contains(&w)), "every way gets evicted");
    }

    #[test]
    fn sets_are_independent() {
        // 2 sets x 1 way: even lines in set 0, odd in set 1.
        let mut c = Cache::new(CacheConfig::new(2 * 64, 1, 1));
        let v = c.victim(4);
        c.fill(v, 4, Mesi::S);
        let v = c.victim(7);
        assert_eq!(c.state(v), Mesi::I);
        c.fill(v, 7, Mesi::S);
        assert_eq!(c.line(c.victim(6)), 4);
        assert_eq!(c.line(c.victim(5)), 7);
    }
}
