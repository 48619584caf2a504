//! Dirty bitmap: hierarchical dirty-line bits in two banks (epochs), one RAM per
//! level and bank, with epoch-swap plus read-and-clear harvest.
//!
//! Per cycle: stage A takes a line index; stage B (next cycle) decides the RAM
//! writes, and stage C (the cycle after) sets the line's bit (level 0) and the
//! summary bits above it in the bank that was active in stage A's cycle. The
//! harvest port either swaps the active bank or reads-and-clears one word of the
//! inactive bank; its data comes out `HV_LATENCY` (5) cycles later (an address
//! register beside the RAMs, a RAM's read register, its output register, a register
//! on the way back from the RAMs, then a register per level that picks the bank). A harvest read waits while stage B or C still
//! has a set for the bank it reads, so a line dirtied before a swap is always in
//! the bank that swap retires.
//!
//! The model ORs bits into its vectors and reads and clears a word at its read's
//! edge; the RTL reads the RAM an edge later and clears it an edge after that, and
//! its masked RAM writes and 0 answer to a read of the word being cleared give the
//! same words (no set reaches the read bank in between: a read waits out sets in
//! its bank, and a swap after it sends new sets through stages B and C first).

use crate::config::{Geometry, MAX_LEVELS};
use crate::protocol::{ErrCode, HV_LATENCY, HV_SWAP};

const L: usize = MAX_LEVELS as usize;

pub struct DirtyBitmap {
    levels: usize,
    shift: u32,
    fmask: u64,
    words_mask: [u64; L],
    /// Offset of each level in a bank: one flat vector per bank keeps stage B to a
    /// single indirection.
    base: [usize; L],
    epoch: usize,
    bank: [Vec<u64>; 2],
    /// Stages B and C: (bank, line index) of a set; C's is written this cycle.
    b: Option<(usize, u64)>,
    c: Option<(usize, u64)>,
    /// The reads taken at the last `HV_LATENCY` edges (valid, data), newest first;
    /// the oldest's word is on the port.
    reads: [(bool, u64); HV_LATENCY],
}

impl DirtyBitmap {
    pub fn new(g: &Geometry) -> Self {
        let words: [u64; L] = std::array::from_fn(|k| {
            if (k as u64) < g.levels {
                g.level_words(k as u64)
            } else {
                1
            }
        });
        let mut base = [0; L];
        for k in 1..L {
            base[k] = base[k - 1] + words[k - 1] as usize;
        }
        let total = base[L - 1] + words[L - 1] as usize;
        Self {
            levels: g.levels as usize,
            shift: g.fanout_log2,
            fmask: g.fanout - 1,
            words_mask: words.map(|w| w - 1),
            base,
            epoch: 0,
            bank: [vec![0; total], vec![0; total]],
            b: None,
            c: None,
            reads: [(false, 0); HV_LATENCY],
        }
    }

    /// Harvest-port ready: a swap always goes; a read waits out a stage-B or C set
    /// in its bank.
    #[inline]
    pub fn ready(&self, hv_op: u64) -> bool {
        let retired = |s: Option<(usize, u64)>| s.is_some_and(|(b, _)| b != self.epoch);
        hv_op == HV_SWAP as u64 || !(retired(self.b) || retired(self.c))
    }

    /// Harvest response, `HV_LATENCY` cycles after the read: (valid, data); data is
    /// 0 when not valid.
    #[inline]
    pub fn response(&self) -> (bool, u64) {
        self.reads[HV_LATENCY - 1]
    }

    /// Clock edge. `set`: line index entering stage A. `hv`: fired harvest op (op, level, index).
    #[inline]
    pub fn tick(&mut self, set: Option<u64>, hv: Option<(u64, u64, u64)>) -> ErrCode {
        if let Some((b, idx)) = self.c {
            let bank = &mut self.bank[b];
            let mut cur = idx;
            for &base in &self.base[..self.levels] {
                let w = cur >> self.shift;
                bank[base + w as usize] |= 1 << (cur & self.fmask);
                cur = w;
            }
        }
        let mut err = ErrCode::None;
        self.reads.rotate_right(1);
        self.reads[0] = (false, 0);
        let old_epoch = self.epoch;
        match hv {
            Some((op, _, _)) if op == HV_SWAP as u64 => self.epoch ^= 1,
            Some((_, level, index)) => {
                self.reads[0].0 = true;
                let k = level as usize;
                if k < self.levels {
                    let w = &mut self.bank[old_epoch ^ 1]
                        [self.base[k] + (index & self.words_mask[k]) as usize];
                    self.reads[0].1 = *w;
                    *w = 0;
                } else {
                    err = ErrCode::BadHarvest;
                }
            }
            None => {}
        }
        self.c = self.b;
        self.b = set.map(|idx| (old_epoch, idx));
        err
    }

    /// Bits set in level 0 of both banks (for tests and reports; not a harvest).
    pub fn peek_dirty_lines(&self) -> Vec<u64> {
        let mut v = Vec::new();
        for b in 0..2 {
            let level0 = &self.bank[b][..=self.words_mask[0] as usize];
            for (w, &word) in level0.iter().enumerate() {
                for bit in 0..=self.fmask {
                    if word >> bit & 1 != 0 {
                        v.push(((w as u64) << self.shift) | bit);
                    }
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::HV_READ_CLEAR;

    fn bitmap(levels: u64, fanout: u64) -> DirtyBitmap {
        let t = format!("[device]\nwindow_base = 0\nwindow_size = 0x100000\nsf_sets = 4\nsf_ways = 1\nsnoop_slots = 1\nread_queue = 1\nbitmap_levels = {levels}\nbitmap_fanout = {fanout}\n");
        DirtyBitmap::new(&Config::parse(&t, "t").unwrap().geometry())
    }

    const RD: u64 = HV_READ_CLEAR as u64;
    const SW: u64 = HV_SWAP as u64;

    /// Read-and-clear one word; returns the data the port shows `HV_LATENCY` cycles
    /// later.
    fn read(b: &mut DirtyBitmap, level: u64, index: u64) -> u64 {
        assert!(b.ready(RD));
        b.tick(None, Some((RD, level, index)));
        for _ in 1..HV_LATENCY {
            assert_eq!(b.response(), (false, 0), "too early");
            b.tick(None, None);
        }
        let (v, d) = b.response();
        assert!(v);
        d
    }

    #[test]
    fn set_marks_every_level_and_harvest_reads_and_clears() {
        let mut b = bitmap(3, 16);
        // line 0x1234: level 0 word 0x123 bit 4; level 1 word 0x12 bit 3; level 2 word 1 bit 2
        b.tick(Some(0x1234), None);
        b.tick(None, None);
        assert!(
            b.peek_dirty_lines().is_empty(),
            "stage B only decides the write"
        );
        b.tick(None, None);
        assert_eq!(b.peek_dirty_lines(), vec![0x1234]);
        b.tick(None, Some((SW, 0, 0)));
        assert_eq!(read(&mut b, 2, 1), 1 << 2);
        assert_eq!(read(&mut b, 1, 0x12), 1 << 3);
        assert_eq!(read(&mut b, 0, 0x123), 1 << 4);
        assert_eq!(read(&mut b, 0, 0x123), 0, "read-and-clear");
        assert!(b.peek_dirty_lines().is_empty());
    }

    #[test]
    fn a_set_in_flight_at_a_swap_lands_in_the_retired_bank_and_blocks_its_read() {
        let mut b = bitmap(2, 32);
        b.tick(Some(5), Some((SW, 0, 0))); // set enters stage A in the swap cycle: old bank
        assert!(!b.ready(RD), "stage B still has a set for the retired bank");
        assert!(b.ready(SW));
        b.tick(Some(40), None); // new bank
        assert!(!b.ready(RD), "stage C still writes the retired bank");
        b.tick(None, None);
        assert!(b.ready(RD), "line 40's set is for the active bank");
        assert_eq!(read(&mut b, 0, 0), 1 << 5);
        assert_eq!(read(&mut b, 0, 1), 0, "line 40 went to the active bank");
        b.tick(None, Some((SW, 0, 0)));
        assert_eq!(read(&mut b, 0, 1), 1 << 8);
    }

    #[test]
    fn missing_level_answers_zero_with_an_error_and_indices_wrap_to_depth() {
        let mut b = bitmap(2, 64);
        assert_eq!(b.tick(None, Some((RD, 3, 0))), ErrCode::BadHarvest);
        for _ in 1..HV_LATENCY {
            b.tick(None, None);
        }
        assert_eq!(b.response(), (true, 0));
        b.tick(Some(64 * 3 + 1), None);
        b.tick(None, Some((SW, 0, 0)));
        b.tick(None, None);
        // level 0 has 256 words: index 256 + 3 wraps to 3
        assert_eq!(read(&mut b, 0, 256 + 3), 1 << 1);
        b.tick(None, None);
        assert_eq!(b.response(), (false, 0), "data is 0 when not valid");
    }

    #[test]
    fn back_to_back_reads_answer_in_order_hv_latency_cycles_each() {
        let mut b = bitmap(2, 32);
        for line in [1, 33, 65] {
            b.tick(Some(line), None);
        }
        b.tick(None, None);
        b.tick(None, Some((SW, 0, 0)));
        let mut got = Vec::new();
        for w in 0..5 {
            b.tick(None, Some((RD, 0, w)));
            got.push(b.response());
        }
        for _ in 1..HV_LATENCY {
            b.tick(None, None);
            got.push(b.response());
        }
        // Word w's answer shows HV_LATENCY ticks after its read: at got[w + HV_LATENCY - 1].
        let mut want = vec![(false, 0); HV_LATENCY - 1];
        want.extend([(true, 2), (true, 2), (true, 2), (true, 0), (true, 0)]);
        assert_eq!(got, want);
    }
}
