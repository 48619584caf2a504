//! Snoop filter: the inclusive set of lines the host may hold, with S or A state.
//!
//! Per cycle: one lookup of the message's set (combinational), and at the clock
//! edge at most one update of that set. A miss in a full set replaces the way under
//! the global round-robin victim pointer; the evicted line goes to the snoop tracker
//! for a BISnpInv.

use crate::config::{Geometry, MAX_SF_WAYS};

/// Entry layout, shared with the RTL: `[45:0]` line address, `[46]` owned (A), `[47]` valid.
pub const ENTRY_BITS: usize = 48;
pub const ENTRY_OWNED: u64 = 1 << 46;
pub const ENTRY_VALID: u64 = 1 << 47;
pub const ENTRY_TAG: u64 = (1 << 46) - 1;

/// What an accepted message does to the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SfOp {
    None,
    /// Forget the line (host gave it up).
    Remove,
    /// Track the line in S (`owned = false`) or A (`owned = true`), allocating if needed.
    Set {
        owned: bool,
    },
    /// Downgrade to S if tracked; never allocates.
    DowngradeIfHit,
}

/// Result of looking up one line.
#[derive(Clone, Copy, Debug)]
pub struct Lookup {
    pub set: usize,
    pub hit: Option<usize>,
    pub free: Option<usize>,
}

impl Lookup {
    /// Whether applying `op` would evict a line (and so needs a snoop slot).
    pub fn needs_victim(&self, op: SfOp) -> bool {
        matches!(op, SfOp::Set { .. }) && self.hit.is_none() && self.free.is_none()
    }
}

pub struct SnoopFilter {
    set_mask: u64,
    ways: usize,
    way_mask: u32,
    sets: Vec<[u64; MAX_SF_WAYS as usize]>,
    victim: usize,
}

impl SnoopFilter {
    pub fn new(g: &Geometry) -> Self {
        Self {
            set_mask: g.sf_sets - 1,
            ways: g.sf_ways as usize,
            way_mask: (1 << g.sf_ways) - 1,
            sets: vec![[0; MAX_SF_WAYS as usize]; g.sf_sets as usize],
            victim: 0,
        }
    }

    #[inline]
    pub fn lookup(&self, addr: u64) -> Lookup {
        let set = (addr & self.set_mask) as usize;
        let ways = &self.sets[set];
        // Bit masks instead of a loop with early exits: the outcome is random per
        // message, and branches on it mispredict.
        let mut valid = 0u32;
        let mut eq = 0u32;
        for (w, &e) in ways.iter().enumerate() {
            valid |= ((e & ENTRY_VALID != 0) as u32) << w;
            eq |= ((e & ENTRY_TAG == addr) as u32) << w;
        }
        let hits = valid & eq & self.way_mask;
        let frees = !valid & self.way_mask;
        Lookup {
            set,
            hit: (hits != 0).then(|| hits.trailing_zeros() as usize),
            free: (frees != 0).then(|| frees.trailing_zeros() as usize),
        }
    }

    /// Apply `op` for `addr` at the clock edge; returns the evicted line, if any.
    #[inline]
    pub fn apply(&mut self, addr: u64, l: &Lookup, op: SfOp) -> Option<u64> {
        let ways = &mut self.sets[l.set];
        match op {
            SfOp::None => None,
            SfOp::Remove => {
                if let Some(h) = l.hit {
                    ways[h] = 0;
                }
                None
            }
            SfOp::DowngradeIfHit => {
                if let Some(h) = l.hit {
                    ways[h] &= !ENTRY_OWNED;
                }
                None
            }
            SfOp::Set { owned } => {
                let new = ENTRY_VALID | if owned { ENTRY_OWNED } else { 0 } | addr;
                if let Some(h) = l.hit {
                    ways[h] = new;
                    None
                } else if let Some(f) = l.free {
                    ways[f] = new;
                    None
                } else {
                    let v = self.victim;
                    let evicted = ways[v] & ENTRY_TAG;
                    ways[v] = new;
                    self.victim = if v + 1 == self.ways { 0 } else { v + 1 };
                    Some(evicted)
                }
            }
        }
    }

    /// Lines currently tracked, with their owned bit (for reports and tests).
    pub fn tracked(&self) -> impl Iterator<Item = (u64, bool)> + '_ {
        self.sets
            .iter()
            .flat_map(|s| s.iter().take(self.ways))
            .filter(|&&e| e & ENTRY_VALID != 0)
            .map(|&e| (e & ENTRY_TAG, e & ENTRY_OWNED != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn geom(sets: u64, ways: u64) -> Geometry {
        let t = format!("[device]\nwindow_base = 0\nwindow_size = 0x100000\nsf_sets = {sets}\nsf_ways = {ways}\nsnoop_slots = 2\nread_queue = 2\nbitmap_levels = 2\nbitmap_fanout = 32\n");
        Config::parse(&t, "t").unwrap().geometry()
    }

    #[test]
    fn allocates_hits_and_evicts_round_robin() {
        let mut sf = SnoopFilter::new(&geom(2, 2));
        // lines 0, 2, 4 all map to set 0
        for a in [0u64, 2] {
            let l = sf.lookup(a);
            assert!(l.hit.is_none());
            assert_eq!(sf.apply(a, &l, SfOp::Set { owned: false }), None);
        }
        let l = sf.lookup(2);
        assert_eq!(l.hit, Some(1));
        let l = sf.lookup(4);
        assert!(l.needs_victim(SfOp::Set { owned: true }));
        assert_eq!(sf.apply(4, &l, SfOp::Set { owned: true }), Some(0));
        let l = sf.lookup(6);
        assert_eq!(sf.apply(6, &l, SfOp::Set { owned: true }), Some(2));
        let mut t: Vec<_> = sf.tracked().collect();
        t.sort();
        assert_eq!(t, vec![(4, true), (6, true)]);
    }

    #[test]
    fn remove_and_downgrade_only_touch_hits() {
        let mut sf = SnoopFilter::new(&geom(4, 1));
        let l = sf.lookup(5);
        sf.apply(5, &l, SfOp::Set { owned: true });
        let l = sf.lookup(9); // same set, miss: downgrade must not allocate or evict
        assert_eq!(sf.apply(9, &l, SfOp::DowngradeIfHit), None);
        let l = sf.lookup(5);
        sf.apply(5, &l, SfOp::DowngradeIfHit);
        assert_eq!(sf.tracked().collect::<Vec<_>>(), vec![(5, false)]);
        let l = sf.lookup(5);
        sf.apply(5, &l, SfOp::Remove);
        assert_eq!(sf.tracked().count(), 0);
    }
}
