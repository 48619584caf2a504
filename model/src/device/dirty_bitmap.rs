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
    epoch: usize,
    bank: [[Vec<u64>; 2]; L],
    /// Stage B: (bank, line index) of the set being written this cycle.
    stage_b: Option<(usize, u64)>,
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
        Self {
            levels: g.levels as usize,
            shift: g.fanout_log2,
            fmask: g.fanout - 1,
            words_mask: words.map(|w| w - 1),
            epoch: 0,
            bank: std::array::from_fn(|k| [vec![0; words[k] as usize], vec![0; words[k] as usize]]),
            stage_b: None,
            rsp_valid: false,
            rsp_data: 0,
        }
    }

    /// Harvest-port ready: a swap always goes; a read waits out a stage-B write to its bank.
    #[inline]
    pub fn ready(&self, hv_op: u64) -> bool {
        hv_op == HV_SWAP as u64 || !matches!(self.stage_b, Some((b, _)) if b != self.epoch)
    }

    /// Registered harvest response: (valid, data); data is 0 when not valid.
    #[inline]
    pub fn response(&self) -> (bool, u64) {
        (self.rsp_valid, self.rsp_data)
    }

    /// Clock edge. `set`: line index entering stage A. `hv`: fired harvest op (op, level, index).
    #[inline]
    pub fn tick(&mut self, set: Option<u64>, hv: Option<(u64, u64, u64)>) -> ErrCode {
        if let Some((b, idx)) = self.stage_b {
            for k in 0..self.levels {
                let w = idx >> (self.shift * (k as u32 + 1));
                let bit = (idx >> (self.shift * k as u32)) & self.fmask;
                self.bank[k][b][w as usize] |= 1 << bit;
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
                    let w = &mut self.bank[k][old_epoch ^ 1][(index & self.words_mask[k]) as usize];
                    self.rsp_data = *w;
                    *w = 0;
                } else {
                    err = ErrCode::BadHarvest;
                }
            }
            None => {}
        }
        self.stage_b = set.map(|idx| (old_epoch, idx));
        err
    }

    /// Bits set in level 0 of both banks (for tests and reports; not a harvest).
    pub fn peek_dirty_lines(&self) -> Vec<u64> {
        let mut v = Vec::new();
        for b in 0..2 {
            for (w, &word) in self.bank[0][b].iter().enumerate() {
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
