//! Snoop tracker: the back-invalidate snoops in flight, one slot per BITag.
//!
//! Per cycle: presents the lowest allocated, unsent slot on the BISnp channel (from
//! registers); at the edge marks it sent if the host took it, frees the slot a valid
//! BIRsp names, and allocates the lowest slot that was free at the start of the cycle.

use crate::config::{Geometry, MAX_SNOOP_SLOTS};
use crate::protocol::{ErrCode, RspOp, SnpOp};

const N: usize = MAX_SNOOP_SLOTS as usize;

pub struct SnoopTracker {
    slots: usize,
    valid: u32,
    sent: u32,
    op: [u8; N],
    addr: [u64; N],
}

impl SnoopTracker {
    pub fn new(g: &Geometry) -> Self {
        Self {
            slots: g.snoop_slots as usize,
            valid: 0,
            sent: 0,
            op: [0; N],
            addr: [0; N],
        }
    }

    /// Lowest free slot, if any.
    #[inline]
    pub fn free_slot(&self) -> Option<usize> {
        let f = !self.valid & ((1u32 << self.slots) - 1);
        (f != 0).then(|| f.trailing_zeros() as usize)
    }

    /// The snoop on the BISnp channel this cycle: (opcode, bitag, addr).
    #[inline]
    pub fn head(&self) -> Option<(u8, usize, u64)> {
        let p = self.valid & !self.sent;
        (p != 0).then(|| {
            let s = p.trailing_zeros() as usize;
            (self.op[s], s, self.addr[s])
        })
    }

    #[inline]
    pub fn mark_sent(&mut self, slot: usize) {
        self.sent |= 1 << slot;
    }

    #[inline]
    pub fn alloc(&mut self, slot: usize, op: SnpOp, addr: u64) {
        self.valid |= 1 << slot;
        self.sent &= !(1 << slot);
        self.op[slot] = op as u8;
        self.addr[slot] = addr;
    }

    /// Take a snoop response; frees its slot unless the BITag names no sent snoop.
    #[inline]
    pub fn respond(&mut self, bitag: u64, opcode: u64) -> ErrCode {
        let s = bitag as usize;
        if bitag >= self.slots as u64 || (self.valid & self.sent) >> s & 1 == 0 {
            return ErrCode::BadBiTag;
        }
        self.valid &= !(1 << s);
        let snp = SnpOp::from_bits(self.op[s]).expect("tracker holds legal opcodes");
        match RspOp::from_bits((opcode & 15) as u8) {
            Some(r) if snp.allows(r) => ErrCode::None,
            _ => ErrCode::BadBiRsp,
        }
    }

    pub fn outstanding(&self) -> u32 {
        self.valid.count_ones()
    }
}
