//! Dirty bitmap: hierarchical dirty-line bits in two banks (epochs), one RAM per
//! level and bank, with epoch-swap plus read-and-clear harvest.
//!
//! Per cycle: stage A takes a line index and reads its word at every level of the
//! active bank; stage B (next cycle) ORs in the line's bit (level 0) and the summary
//! bits above it and writes them back. The harvest port either swaps the active bank
//! or reads-and-clears one word of the inactive bank; its data comes out the next
//! cycle. A harvest read waits while stage B still writes the bank it reads, so a
//! line dirtied before a swap is always in the bank that swap retires.

use crate::config::{Geometry, MAX_LEVELS};
use crate::protocol::{ErrCode, HV_SWAP};

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
    /// Stage B: the set being written this cycle (valid, bank, line index).
    b_valid: bool,
    b_bank: usize,
    b_idx: u64,
    rsp_valid: bool,
    rsp_data: u64,
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
            b_valid: false,
            b_bank: 0,
            b_idx: 0,
            rsp_valid: false,
            rsp_data: 0,
        }
    }

    /// Harvest-port ready: a swap always goes; a read waits out a stage-B write to its bank.
    #[inline]
    pub fn ready(&self, hv_op: u64) -> bool {
        hv_op == HV_SWAP as u64 || !(self.b_valid && self.b_bank != self.epoch)
    }

    /// Registered harvest response: (valid, data); data is 0 when not valid.
    #[inline]
    pub fn response(&self) -> (bool, u64) {
        (self.rsp_valid, self.rsp_data)
    }

    /// Clock edge. `set`: line index entering stage A. `hv`: fired harvest op (op, level, index).
    #[inline]
    pub fn tick(&mut self, set: Option<u64>, hv: Option<(u64, u64, u64)>) -> ErrCode {
        if self.b_valid {
            let bank = &mut self.bank[self.b_bank];
            let mut cur = self.b_idx;
            for &base in &self.base[..self.levels] {
                let w = cur >> self.shift;
                bank[base + w as usize] |= 1 << (cur & self.fmask);
                cur = w;
            }
        }
        let mut err = ErrCode::None;
        self.rsp_valid = false;
        self.rsp_data = 0;
        let old_epoch = self.epoch;
        match hv {
            Some((op, _, _)) if op == HV_SWAP as u64 => self.epoch ^= 1,
            Some((_, level, index)) => {
                self.rsp_valid = true;
                let k = level as usize;
                if k < self.levels {
                    let w = &mut self.bank[old_epoch ^ 1]
                        [self.base[k] + (index & self.words_mask[k]) as usize];
                    self.rsp_data = *w;
                    *w = 0;
                } else {
                    err = ErrCode::BadHarvest;
                }
            }
            None => {}
        }
        self.b_valid = set.is_some();
        self.b_bank = old_epoch;
        self.b_idx = set.unwrap_or(self.b_idx);
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
