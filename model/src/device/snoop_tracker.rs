//! Snoop tracker: the back-invalidate snoops in flight, one slot per BITag.
//!
//! Per cycle: presents the lowest allocated, unsent slot on the BISnp channel (from
//! registers); at the edge marks it sent if the host took it, frees the slot the
//! BIRsp of the last cycle names (checked now, from the core's register; a slot the
//! host took at the last edge counts as unsent for it), and allocates the lowest
//! slot that was free at the start of the cycle.

use crate::config::{Geometry, MAX_SNOOP_SLOTS};
use crate::protocol::{ErrCode, RspOp, SnpOp};

const N: usize = MAX_SNOOP_SLOTS as usize;

pub struct SnoopTracker {
    slots: usize,
    valid: u32,
    sent: u32,
    /// Marked sent at the last edge: a response checked now arrived before the host
    /// took that snoop.
    fresh: u32,
    op: [u8; N],
    addr: [u64; N],
}

impl SnoopTracker {
    pub fn new(g: &Geometry) -> Self {
        Self {
            slots: g.snoop_slots as usize,
            valid: 0,
            sent: 0,
            fresh: 0,
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

    /// The edge's BISnp handshake: the slot the host took this cycle, if any.
    #[inline]
    pub fn mark_sent(&mut self, slot: Option<usize>) {
        self.fresh = slot.map_or(0, |s| 1 << s);
        self.sent |= self.fresh;
    }

    #[inline]
    pub fn alloc(&mut self, slot: usize, op: SnpOp, addr: u64) {
        self.valid |= 1 << slot;
        self.sent &= !(1 << slot);
        self.op[slot] = op as u8;
        self.addr[slot] = addr;
    }

    /// Check a snoop response of the last cycle; frees its slot unless the BITag
    /// names no snoop sent before that cycle.
    #[inline]
    pub fn respond(&mut self, bitag: u64, opcode: u64) -> ErrCode {
        let s = bitag as usize;
        if bitag >= self.slots as u64 || (self.valid & self.sent & !self.fresh) >> s & 1 == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn tracker(slots: u64) -> SnoopTracker {
        let t = format!("[device]\nwindow_base = 0\nwindow_size = 0x100000\nsf_sets = 4\nsf_ways = 1\nsnoop_slots = {slots}\nread_queue = 2\nbitmap_levels = 2\nbitmap_fanout = 32\n");
        SnoopTracker::new(&Config::parse(&t, "t").unwrap().geometry())
    }

    #[test]
    fn lowest_slots_first_and_full_when_all_taken() {
        let mut t = tracker(2);
        assert_eq!(t.free_slot(), Some(0));
        assert_eq!(t.head(), None);
        t.alloc(0, SnpOp::BISnpInv, 7);
        t.alloc(1, SnpOp::BISnpData, 9);
        assert_eq!(t.free_slot(), None);
        assert_eq!(t.head(), Some((SnpOp::BISnpInv as u8, 0, 7)));
        t.mark_sent(Some(0));
        assert_eq!(t.head(), Some((SnpOp::BISnpData as u8, 1, 9)));
    }

    #[test]
    fn responses_are_checked_against_slot_and_snoop() {
        let mut t = tracker(4);
        t.alloc(0, SnpOp::BISnpInv, 1);
        // Not sent yet: the host cannot be answering it.
        assert_eq!(t.respond(0, RspOp::BIRspI as u64), ErrCode::BadBiTag);
        t.mark_sent(Some(0));
        // Taken at the last edge: a response checked now arrived before it.
        assert_eq!(t.respond(0, RspOp::BIRspI as u64), ErrCode::BadBiTag);
        t.mark_sent(None);
        // BISnpInv allows only BIRspI; the slot is freed anyway.
        assert_eq!(t.respond(0, RspOp::BIRspS as u64), ErrCode::BadBiRsp);
        assert_eq!(t.outstanding(), 0);
        assert_eq!(t.respond(0, RspOp::BIRspI as u64), ErrCode::BadBiTag);
        assert_eq!(t.respond(9, RspOp::BIRspI as u64), ErrCode::BadBiTag);
        t.alloc(2, SnpOp::BISnpCur, 3);
        t.mark_sent(Some(2));
        t.mark_sent(None);
        assert_eq!(t.respond(2, RspOp::BIRspE as u64), ErrCode::None);
        t.alloc(1, SnpOp::BISnpData, 3);
        t.mark_sent(Some(1));
        t.mark_sent(None);
        assert_eq!(t.respond(1, 0b0111), ErrCode::BadBiRsp);
    }
}
