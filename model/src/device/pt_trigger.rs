//! Page-table trigger: watches host reads of registered page-table pages, fetches
//! the non-resident pages their PTEs point to, and holds the line until each fetch
//! it started completed (P kept) or timed out (P cleared).
//!
//! Per cycle (every decision from the registers at the start of the cycle, plus
//! this cycle's inputs; all updates at the edge):
//! - Registry update (valid, set/clear, frame): a set of a frame not yet held takes
//!   the lowest free entry; with every entry taken it is refused (`reg_refused`,
//!   counted). A clear drops the frame. Lookups this cycle see the old registry.
//! - Residency update (valid, set/clear, frame): always taken; a frame in the window
//!   becomes resident (set) or not (clear). It has the residency RAM's one write port
//!   this cycle, so `rsp_ready` is low exactly when `res_valid` is high.
//! - Fetch response (valid, frame), taken when `rsp_ready` (a response not taken
//!   stays offered: valid/ready). A taken response: a frame in the window becomes
//!   resident; the in-flight entry of that frame frees. Waiting entry: `done` event;
//!   entry whose timer already fired: `late` event; no entry: counted as `stray`.
//!   A response not taken does nothing this cycle.
//! - Timers: a waiting entry with no response taken this cycle and its timer at 0
//!   fires (`timeout` event) and stays allocated (expired) until its response
//!   arrives, so the frame is never fetched twice; else its timer counts down. An
//!   entry gets T - 1 at allocation: its fetch has T cycles, the allocation's edge
//!   excluded. One allocation per cycle and one T, so at most one timer fires per
//!   cycle.
//! - Observation (valid, line address as on the link, data, side; the page frame is
//!   the line address >> 6), taken when `obs_ready`: the output register is free or
//!   taken this cycle, and the held line is not being released this cycle (release
//!   has priority). A line of a registered page is captured in the hold register if
//!   it is empty; if it is not, the line passes through untouched and is counted as
//!   `bypass`. Every other line passes through to the output register (out the next
//!   cycle). Lines passed through while a line is held overtake it: the host must
//!   match lines by address, not by order. The side value (`PT_SIDE_BITS` opaque
//!   bits, e.g. the data response's opcode, meta and tag) travels with its line,
//!   held or passed through, and leaves on `out_side` with it.
//! - Scan: the held line's PTEs, one per cycle in order 0..7, never stalled (PTE 0 in
//!   the cycle after the capture). A present (bit 0) leaf (bit 7 clear) PTE whose
//!   frame (bits 51:12) is in the window, not resident at the start of the cycle
//!   and not answered by a response taken this cycle: with an in-flight entry for
//!   that frame, the line waits on it (or, if its timer fired or fires this cycle,
//!   clears the PTE's P); without one, the lowest free entry is allocated, its frame
//!   joins the fetch queue and the line waits on it. **Table full:** no entry is
//!   free, or the fetch queue is full, at the start of the cycle: no fetch, the PTE's
//!   P is cleared at once as if its timer had fired, and a `table_full` event (with
//!   the frame) is counted. (Residency lives in a synchronous-read RAM: the RTL reads
//!   a PTE's frame the cycle before its decision, the next PTE's while deciding one
//!   and PTE 0's in the capture cycle, and forwards the write of that cycle, so the
//!   decision sees the residency at the start of its cycle exactly as stated.)
//! - Fetch queue: `PT_FETCH_QUEUE` frames in allocation order; the port shows the
//!   oldest (frame 0 when empty) and pops it when ready. An entry's timer runs from
//!   its allocation, queueing included, and a fetch still queued when its timer
//!   fires is sent anyway (its answer is then `late`). So the scan never waits on
//!   the fetch port, and a line captured in cycle c is on the output port by cycle
//!   c + T + 10 plus any output-port backpressure: this is what keeps T below the
//!   link's completion timeout meaningful.
//! - A waiting PTE stops waiting when its entry's response is taken (P kept) or its
//!   timer fires (P cleared). When all eight are scanned and none waits, the line is
//!   released into the output register (same address and side, data with those P
//!   bits cleared).
//!
//! Events are outputs valid in the cycle they happen: `done` / `late` (frame = the
//! response's), `timeout` (frame), `table_full` (frame), `reg_refused`. Counters
//! (saturating, `PT_COUNT_BITS`) count done, late, timeout, table_full, refused,
//! bypass and stray.

use crate::protocol::{ADDR_BITS, DATA_WORDS, META_BITS, RSP_OPCODE_BITS, TAG_BITS};
use std::collections::VecDeque;

/// Frame-number width: x86-64 PTE bits 51:12.
pub const PFN_BITS: usize = 40;
/// Most registry entries the RTL is built for.
pub const MAX_PT_REGISTRY: usize = 16;
/// Most in-flight entries the RTL is built for.
pub const MAX_PT_INFLIGHT: usize = 8;
/// Most window frames (residency bits) the RTL is built for; its residency RAM has
/// `window_frames` rounded up to a power of two words of one bit.
pub const MAX_PT_WINDOW_FRAMES: u64 = 1 << 16;
/// Timer width: T is at most `2^PT_TIMER_BITS`.
pub const PT_TIMER_BITS: usize = 16;
/// Fetch queue depth (frames waiting for the fetch port).
pub const PT_FETCH_QUEUE: usize = 8;
/// Event counter width.
pub const PT_COUNT_BITS: usize = 16;
/// Lines per 4 KiB page (line address >> 6 is the page frame).
pub const PAGE_LINE_SHIFT: u32 = 6;
/// Opaque sideband bits that travel with an observed line (a data response's
/// opcode, meta and tag); `obs_side` above these bits is ignored.
pub const PT_SIDE_BITS: usize = RSP_OPCODE_BITS + META_BITS + TAG_BITS;
const PFN_MASK: u64 = (1 << PFN_BITS) - 1;
const SIDE_MASK: u64 = (1 << PT_SIDE_BITS) - 1;
const _: () = assert!(PT_COUNT_BITS == 16 && ADDR_BITS - PAGE_LINE_SHIFT as usize <= PFN_BITS);

/// The trigger's parameters (from the device configuration at integration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtParams {
    /// Registry entries (page-table pages), 1..=`MAX_PT_REGISTRY`.
    pub registry: usize,
    /// In-flight table entries, 1..=`MAX_PT_INFLIGHT`.
    pub inflight: usize,
    /// Fetch timer in cycles, 1..=`2^PT_TIMER_BITS`, below the completion timeout.
    pub timer: u64,
    /// First frame of the window whose residency is tracked.
    pub window_base: u64,
    /// Frames in the window, 1..=`MAX_PT_WINDOW_FRAMES`.
    pub window_frames: u64,
}

impl PtParams {
    /// Checks the parameters; `completion_timeout` is the link's, in cycles.
    pub fn check(&self, completion_timeout: u64) -> Result<(), String> {
        if self.timer >= completion_timeout {
            return Err(format!(
                "pt trigger: timer {} must be below the completion timeout {completion_timeout}",
                self.timer
            ));
        }
        if self.timer == 0 || self.timer > 1 << PT_TIMER_BITS {
            return Err(format!(
                "pt trigger: timer {} must be in 1..={}",
                self.timer,
                1u64 << PT_TIMER_BITS
            ));
        }
        if !(1..=MAX_PT_REGISTRY).contains(&self.registry) {
            return Err(format!(
                "pt trigger: registry {} must be in 1..={MAX_PT_REGISTRY}",
                self.registry
            ));
        }
        if !(1..=MAX_PT_INFLIGHT).contains(&self.inflight) {
            return Err(format!(
                "pt trigger: inflight {} must be in 1..={MAX_PT_INFLIGHT}",
                self.inflight
            ));
        }
        if !(1..=MAX_PT_WINDOW_FRAMES).contains(&self.window_frames) {
            return Err(format!(
                "pt trigger: window_frames {} must be in 1..={MAX_PT_WINDOW_FRAMES}",
                self.window_frames
            ));
        }
        if self.window_base.saturating_add(self.window_frames) > 1 << PFN_BITS {
            return Err(format!(
                "pt trigger: window {:#x} + {} frames passes the {PFN_BITS}-bit frame space",
                self.window_base, self.window_frames
            ));
        }
        Ok(())
    }
}

/// One cycle's inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PtIn {
    pub reg_valid: bool,
    pub reg_set: bool,
    pub reg_frame: u64,
    pub obs_valid: bool,
    pub obs_addr: u64,
    pub obs_data: [u64; DATA_WORDS],
    /// Travels with the line (low `PT_SIDE_BITS` bits).
    pub obs_side: u64,
    pub out_ready: bool,
    pub fetch_ready: bool,
    /// A fetch response, taken when `PtOut::rsp_ready` (valid/ready).
    pub rsp_valid: bool,
    pub rsp_frame: u64,
    /// A residency update, always taken (it holds `rsp_ready` low).
    pub res_valid: bool,
    pub res_set: bool,
    pub res_frame: u64,
}

/// One cycle's outputs (what the RTL drives before the edge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PtOut {
    pub obs_ready: bool,
    pub out_valid: bool,
    pub out_addr: u64,
    pub out_data: [u64; DATA_WORDS],
    /// The line's side value (as observed, low `PT_SIDE_BITS` bits).
    pub out_side: u64,
    pub fetch_valid: bool,
    pub fetch_frame: u64,
    /// A fetch response is taken this cycle: `!res_valid` (combinational).
    pub rsp_ready: bool,
    pub reg_refused: bool,
    pub ev_done: bool,
    pub ev_late: bool,
    pub ev_timeout: bool,
    pub ev_timeout_frame: u64,
    pub ev_full: bool,
    pub ev_full_frame: u64,
    /// done, late, timeout, table_full, refused, bypass, stray.
    pub counts: [u16; 7],
}

pub const CNT_DONE: usize = 0;
pub const CNT_LATE: usize = 1;
pub const CNT_TIMEOUT: usize = 2;
pub const CNT_FULL: usize = 3;
pub const CNT_REFUSED: usize = 4;
pub const CNT_BYPASS: usize = 5;
pub const CNT_STRAY: usize = 6;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Slot {
    #[default]
    Free,
    Waiting,
    Expired,
}

#[derive(Clone, Debug)]
pub struct PtTrigger {
    p: PtParams,
    reg_valid: [bool; MAX_PT_REGISTRY],
    reg_frame: [u64; MAX_PT_REGISTRY],
    resident: Vec<bool>,
    slot: [Slot; MAX_PT_INFLIGHT],
    slot_frame: [u64; MAX_PT_INFLIGHT],
    timer: [u64; MAX_PT_INFLIGHT],
    hold: bool,
    hold_addr: u64,
    hold_data: [u64; DATA_WORDS],
    hold_side: u64,
    scan_idx: usize,
    scan_done: bool,
    wait: [bool; DATA_WORDS],
    wait_slot: [usize; DATA_WORDS],
    clear: [bool; DATA_WORDS],
    out_valid: bool,
    out_addr: u64,
    out_data: [u64; DATA_WORDS],
    out_side: u64,
    fetch_q: VecDeque<u64>,
    counts: [u16; 7],
}

/// Frame (bits 51:12) of a PTE.
#[inline]
pub fn pte_frame(pte: u64) -> u64 {
    (pte >> 12) & PFN_MASK
}

/// Present and a leaf (page-size bit clear).
#[inline]
pub fn pte_present_leaf(pte: u64) -> bool {
    pte & 1 != 0 && pte >> 7 & 1 == 0
}

impl PtTrigger {
    /// `completion_timeout`: the link's, in cycles; the timer must be below it.
    pub fn new(p: PtParams, completion_timeout: u64) -> Result<Self, String> {
        p.check(completion_timeout)?;
        Ok(Self {
            p,
            reg_valid: [false; MAX_PT_REGISTRY],
            reg_frame: [0; MAX_PT_REGISTRY],
            resident: vec![false; p.window_frames as usize],
            slot: [Slot::Free; MAX_PT_INFLIGHT],
            slot_frame: [0; MAX_PT_INFLIGHT],
            timer: [0; MAX_PT_INFLIGHT],
            hold: false,
            hold_addr: 0,
            hold_data: [0; DATA_WORDS],
            hold_side: 0,
            scan_idx: 0,
            scan_done: false,
            wait: [false; DATA_WORDS],
            wait_slot: [0; DATA_WORDS],
            clear: [false; DATA_WORDS],
            out_valid: false,
            out_addr: 0,
            out_data: [0; DATA_WORDS],
            out_side: 0,
            fetch_q: VecDeque::with_capacity(PT_FETCH_QUEUE),
            counts: [0; 7],
        })
    }

    pub fn params(&self) -> &PtParams {
        &self.p
    }

    /// Window offset of a frame, if inside the window.
    #[inline]
    fn window(&self, frame: u64) -> Option<usize> {
        let off = frame.wrapping_sub(self.p.window_base) & PFN_MASK;
        (off < self.p.window_frames).then_some(off as usize)
    }

    pub fn is_resident(&self, frame: u64) -> bool {
        self.window(frame).is_some_and(|o| self.resident[o])
    }

    pub fn is_registered(&self, frame: u64) -> bool {
        (0..self.p.registry).any(|r| self.reg_valid[r] && self.reg_frame[r] == frame)
    }

    /// Frames with an allocated in-flight entry (waiting or expired).
    pub fn in_flight(&self) -> usize {
        self.slot.iter().filter(|s| **s != Slot::Free).count()
    }

    /// The fetch port this cycle (it comes from a register): the frame, if valid.
    pub fn fetch(&self) -> Option<u64> {
        self.fetch_q.front().copied()
    }

    /// The PTE the scan decides this cycle (from registers), if a scan step is due.
    pub fn scan_pte(&self) -> Option<u64> {
        (self.hold && !self.scan_done).then(|| self.hold_data[self.scan_idx])
    }

    /// The PTE of the held line the scan decides next cycle, if any (the one whose
    /// residency the RTL reads this cycle).
    pub fn scan_next(&self) -> Option<u64> {
        (self.hold && !self.scan_done && self.scan_idx + 1 < DATA_WORDS)
            .then(|| self.hold_data[self.scan_idx + 1])
    }

    pub fn counts(&self) -> [u16; 7] {
        self.counts
    }

    fn count(&mut self, c: usize) {
        self.counts[c] = self.counts[c].saturating_add(1);
    }

    fn find_slot(&self, frame: u64) -> Option<usize> {
        (0..self.p.inflight).find(|&s| self.slot[s] != Slot::Free && self.slot_frame[s] == frame)
    }

    /// One cycle: the outputs the block drives under `i`, then the clock edge.
    pub fn step(&mut self, i: &PtIn) -> PtOut {
        let mut o = PtOut {
            out_valid: self.out_valid,
            out_addr: self.out_addr,
            out_data: self.out_data,
            out_side: self.out_side,
            fetch_valid: !self.fetch_q.is_empty(),
            fetch_frame: self.fetch_q.front().copied().unwrap_or(0),
            counts: self.counts,
            ..Default::default()
        };
        // One residency write per cycle: an update holds the response off.
        o.rsp_ready = !i.res_valid;
        let rsp_take = i.rsp_valid && o.rsp_ready;
        let rsp_frame = i.rsp_frame & PFN_MASK;
        let rsp_slot = if rsp_take {
            self.find_slot(rsp_frame)
        } else {
            None
        };
        // The one timer that fires this cycle (a waiting entry at 0, not answered now).
        let fires =
            |s: usize| self.slot[s] == Slot::Waiting && self.timer[s] == 0 && rsp_slot != Some(s);
        let fire = (0..self.p.inflight).find(|&s| fires(s));
        let free_slot = (0..self.p.inflight).find(|&s| self.slot[s] == Slot::Free);

        // Output side.
        let out_free = !self.out_valid || i.out_ready;
        let queue_room = self.fetch_q.len() < PT_FETCH_QUEUE;
        let release = self.hold && self.scan_done && !self.wait.iter().any(|&w| w) && out_free;
        o.obs_ready = out_free && !release;

        // Registry update.
        let mut new_reg_valid = self.reg_valid;
        let mut new_reg_frame = self.reg_frame;
        if i.reg_valid {
            let f = i.reg_frame & PFN_MASK;
            if i.reg_set {
                if !self.is_registered(f) {
                    match (0..self.p.registry).find(|&r| !self.reg_valid[r]) {
                        Some(r) => {
                            new_reg_valid[r] = true;
                            new_reg_frame[r] = f;
                        }
                        None => o.reg_refused = true,
                    }
                }
            } else {
                for (v, &rf) in new_reg_valid
                    .iter_mut()
                    .zip(&self.reg_frame)
                    .take(self.p.registry)
                {
                    if rf == f {
                        *v = false;
                    }
                }
            }
        }

        // Responses and timers.
        match rsp_slot {
            Some(s) if self.slot[s] == Slot::Waiting => o.ev_done = true,
            Some(_) => o.ev_late = true,
            None => {}
        }
        if let Some(s) = fire {
            o.ev_timeout = true;
            o.ev_timeout_frame = self.slot_frame[s];
        }
        let mut new_slot = self.slot;
        let mut new_timer = self.timer;
        for (t, &st) in new_timer.iter_mut().zip(&self.slot).take(self.p.inflight) {
            if st == Slot::Waiting && *t != 0 {
                *t -= 1;
            }
        }
        if let Some(s) = fire {
            new_slot[s] = Slot::Expired;
        }
        if let Some(s) = rsp_slot {
            new_slot[s] = Slot::Free;
        }
        let mut new_wait = self.wait;
        let mut new_clear = self.clear;
        for k in 0..DATA_WORDS {
            if self.wait[k] && rsp_slot == Some(self.wait_slot[k]) {
                new_wait[k] = false;
            } else if self.wait[k] && fire == Some(self.wait_slot[k]) {
                new_wait[k] = false;
                new_clear[k] = true;
            }
        }

        // Scan one PTE of the held line.
        if i.fetch_ready {
            self.fetch_q.pop_front();
        }
        let mut new_wait_slot = self.wait_slot;
        let mut new_scan_idx = self.scan_idx;
        let mut new_scan_done = self.scan_done;
        if self.hold && !self.scan_done {
            let k = self.scan_idx;
            let pte = self.hold_data[k];
            let f = pte_frame(pte);
            let cand = pte_present_leaf(pte)
                && self.window(f).is_some_and(|o| !self.resident[o])
                && !(rsp_take && rsp_frame == f);
            if cand {
                match self.find_slot(f) {
                    Some(s) if self.slot[s] == Slot::Expired || fire == Some(s) => {
                        new_clear[k] = true
                    }
                    Some(s) => {
                        new_wait[k] = true;
                        new_wait_slot[k] = s;
                    }
                    None => match free_slot.filter(|_| queue_room) {
                        Some(s) => {
                            new_slot[s] = Slot::Waiting;
                            self.slot_frame[s] = f;
                            new_timer[s] = self.p.timer - 1;
                            self.fetch_q.push_back(f);
                            new_wait[k] = true;
                            new_wait_slot[k] = s;
                        }
                        None => {
                            new_clear[k] = true;
                            o.ev_full = true;
                            o.ev_full_frame = f;
                        }
                    },
                }
            }
            new_scan_idx = (k + 1) % DATA_WORDS;
            new_scan_done = k == DATA_WORDS - 1;
        }

        // Observation, release and the output register.
        let mut new_out_valid = self.out_valid && !i.out_ready;
        let mut bypass = false;
        if release {
            new_out_valid = true;
            self.out_addr = self.hold_addr;
            for k in 0..DATA_WORDS {
                self.out_data[k] = self.hold_data[k] & !(self.clear[k] as u64);
            }
            self.out_side = self.hold_side;
            self.hold = false;
        } else if i.obs_valid && o.obs_ready {
            let page = (i.obs_addr >> PAGE_LINE_SHIFT) & PFN_MASK;
            if self.is_registered(page) && !self.hold {
                self.hold = true;
                self.hold_addr = i.obs_addr;
                self.hold_data = i.obs_data;
                self.hold_side = i.obs_side & SIDE_MASK;
                new_scan_idx = 0;
                new_scan_done = false;
                new_wait = [false; DATA_WORDS];
                new_clear = [false; DATA_WORDS];
            } else {
                bypass = self.is_registered(page);
                new_out_valid = true;
                self.out_addr = i.obs_addr;
                self.out_data = i.obs_data;
                self.out_side = i.obs_side & SIDE_MASK;
            }
        }

        // Residency: the update port, else a taken response (one write).
        if i.res_valid {
            if let Some(off) = self.window(i.res_frame & PFN_MASK) {
                self.resident[off] = i.res_set;
            }
        } else if rsp_take {
            if let Some(off) = self.window(rsp_frame) {
                self.resident[off] = true;
            }
        }

        // Counters.
        if o.ev_done {
            self.count(CNT_DONE);
        }
        if o.ev_late {
            self.count(CNT_LATE);
        }
        if rsp_take && rsp_slot.is_none() {
            self.count(CNT_STRAY);
        }
        if o.ev_timeout {
            self.count(CNT_TIMEOUT);
        }
        if o.ev_full {
            self.count(CNT_FULL);
        }
        if o.reg_refused {
            self.count(CNT_REFUSED);
        }
        if bypass {
            self.count(CNT_BYPASS);
        }

        self.reg_valid = new_reg_valid;
        self.reg_frame = new_reg_frame;
        self.slot = new_slot;
        self.timer = new_timer;
        self.wait = new_wait;
        self.wait_slot = new_wait_slot;
        self.clear = new_clear;
        self.scan_idx = new_scan_idx;
        self.scan_done = new_scan_done;
        self.out_valid = new_out_valid;
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x100;
    const PT_PAGE: u64 = 0x40; // a registered page-table page
    const CT: u64 = 1000;

    fn params(inflight: usize, timer: u64) -> PtParams {
        PtParams {
            registry: 2,
            inflight,
            timer,
            window_base: BASE,
            window_frames: 64,
        }
    }

    fn trig(inflight: usize, timer: u64) -> PtTrigger {
        let mut t = PtTrigger::new(params(inflight, timer), CT).unwrap();
        t.step(&PtIn {
            reg_valid: true,
            reg_set: true,
            reg_frame: PT_PAGE,
            ..idle()
        });
        t
    }

    fn idle() -> PtIn {
        PtIn {
            out_ready: true,
            fetch_ready: true,
            ..Default::default()
        }
    }

    fn pte(frame: u64) -> u64 {
        frame << 12 | 0x63 // present, rw, accessed, dirty
    }

    fn obs(line: u64, data: [u64; 8]) -> PtIn {
        PtIn {
            obs_valid: true,
            obs_addr: line,
            obs_data: data,
            ..idle()
        }
    }

    fn rsp(frame: u64) -> PtIn {
        PtIn {
            rsp_valid: true,
            rsp_frame: frame,
            ..idle()
        }
    }

    /// Steps `i` then idles until a line comes out; returns (cycles, outputs seen, line).
    fn run_until_out(
        t: &mut PtTrigger,
        mut i: PtIn,
        limit: usize,
    ) -> (usize, Vec<PtOut>, [u64; 8]) {
        let mut seen = Vec::new();
        for c in 0..limit {
            let o = t.step(&i);
            seen.push(o);
            if o.out_valid {
                return (c, seen, o.out_data);
            }
            i = idle();
        }
        panic!("no line out in {limit} cycles");
    }

    #[test]
    fn pte_fields_parse() {
        let p = 0x8000_0abc_def1_2867u64; // NX, frame 0xabcdef12, PS clear, present
        assert_eq!(pte_frame(p), 0xabcd_ef12);
        assert!(pte_present_leaf(p));
        assert!(!pte_present_leaf(p | 0x80), "page-size set: not a leaf");
        assert!(!pte_present_leaf(p & !1), "not present");
        assert_eq!(pte_frame(u64::MAX), (1 << 40) - 1);
    }

    #[test]
    fn timer_must_be_below_the_completion_timeout() {
        let e = PtTrigger::new(params(4, CT), CT).unwrap_err();
        assert!(e.contains("below the completion timeout"), "{e}");
        assert!(!e.contains('\n'));
        assert!(PtTrigger::new(params(4, CT - 1), CT).is_ok());
        assert!(PtTrigger::new(params(9, 10), CT).is_err());
        let top = PtParams {
            window_base: (1 << 40) - 64,
            ..params(4, 10)
        };
        assert!(PtTrigger::new(top, CT).is_ok(), "ends at the last frame");
        let past = PtParams {
            window_base: (1 << 40) - 63,
            ..top
        };
        assert!(PtTrigger::new(past, CT).is_err());
    }

    #[test]
    fn unregistered_lines_pass_through_the_next_cycle() {
        let mut t = trig(4, 50);
        let data = [pte(BASE + 1); 8];
        let o0 = t.step(&obs((PT_PAGE + 1) << 6, data));
        assert!(o0.obs_ready && !o0.out_valid);
        let o1 = t.step(&idle());
        assert!(o1.out_valid);
        assert_eq!((o1.out_addr, o1.out_data), ((PT_PAGE + 1) << 6, data));
        assert!(!t.step(&idle()).out_valid);
        assert_eq!(t.in_flight(), 0, "no fetch for unregistered pages");
    }

    #[test]
    fn fetch_first_keeps_present_and_makes_resident() {
        let mut t = trig(4, 50);
        let mut data = [0u64; 8];
        data[2] = pte(BASE + 5);
        data[3] = pte(BASE + 6) | 0x80; // large page: skipped
        data[4] = pte(BASE + 500); // outside the window: skipped
        data[5] = pte(BASE + 5); // same frame: one fetch
        t.step(&obs(PT_PAGE << 6 | 3, data));
        let mut fetches = vec![];
        for _ in 0..12 {
            let o = t.step(&idle());
            assert!(!o.out_valid, "held while the fetch is out");
            if o.fetch_valid {
                fetches.push(o.fetch_frame);
            }
        }
        assert_eq!(fetches, vec![BASE + 5]);
        let o = t.step(&rsp(BASE + 5));
        assert!(o.ev_done && !o.ev_late);
        let (_, _, out) = run_until_out(&mut t, idle(), 5);
        assert_eq!(out, data, "P kept everywhere");
        assert!(t.is_resident(BASE + 5));
        assert_eq!(t.counts()[CNT_DONE], 1);
        // Resident now: the same line fetches nothing.
        let (_, seen, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 20);
        assert!(seen.iter().all(|o| !o.fetch_valid));
        assert_eq!(out, data);
    }

    #[test]
    fn timer_first_clears_present_and_a_later_response_is_late() {
        let mut t = trig(4, 10);
        let mut data = [pte(BASE + 9) & !1; 8]; // not present
        data[1] = pte(BASE + 7);
        data[6] = pte(BASE + 8);
        let (c, seen, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 40);
        let timeouts: Vec<_> = seen
            .iter()
            .filter(|o| o.ev_timeout)
            .map(|o| o.ev_timeout_frame)
            .collect();
        assert_eq!(timeouts, vec![BASE + 7, BASE + 8]);
        assert!(c >= 10);
        let mut want = data;
        want[1] &= !1;
        want[6] &= !1;
        assert_eq!(out, want);
        assert_eq!(t.in_flight(), 2, "expired entries wait for their responses");
        // Not refetched while expired: the PTE is cleared at once.
        let (_, seen, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 40);
        assert!(seen.iter().all(|o| !o.fetch_valid && !o.ev_timeout));
        assert_eq!(out, want);
        let o = t.step(&rsp(BASE + 7));
        assert!(o.ev_late && !o.ev_done);
        assert!(t.is_resident(BASE + 7));
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.counts()[CNT_LATE], 1);
        assert_eq!(t.counts()[CNT_TIMEOUT], 2);
    }

    #[test]
    fn response_in_the_timers_last_cycle_wins() {
        let mut t = trig(4, 3);
        let mut data = [0u64; 8];
        data[0] = pte(BASE);
        t.step(&obs(PT_PAGE << 6, data)); // captured
        let o = t.step(&idle()); // PTE 0 scanned: allocated at this edge
        assert!(!o.fetch_valid);
        assert!(t.step(&idle()).fetch_valid); // timer 2 -> 1
        t.step(&idle()); // 1 -> 0
        let o = t.step(&rsp(BASE)); // at 0: would fire, the response wins
        assert!(o.ev_done && !o.ev_timeout);
        let (_, seen, out) = run_until_out(&mut t, idle(), 10);
        assert!(seen.iter().all(|o| !o.ev_timeout));
        assert_eq!(out, data);
    }

    #[test]
    fn in_flight_frames_are_not_fetched_twice_and_later_lines_wait_on_them() {
        let mut t = trig(4, 100);
        let data = [pte(BASE + 1), pte(BASE + 2), 0, 0, 0, 0, 0, 0];
        t.step(&obs(PT_PAGE << 6, data));
        for _ in 0..10 {
            t.step(&idle());
        }
        // The held line is still waiting; a second line of the page is bypassed.
        let o = t.step(&obs(PT_PAGE << 6 | 1, data));
        assert!(o.obs_ready);
        assert!(t.step(&idle()).out_addr == PT_PAGE << 6 | 1);
        assert_eq!(t.counts()[CNT_BYPASS], 1);
        assert_eq!(t.in_flight(), 2);
        t.step(&rsp(BASE + 1));
        t.step(&rsp(BASE + 2));
        let (_, _, out) = run_until_out(&mut t, idle(), 5);
        assert_eq!(out, data);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn table_full_clears_present_at_once_and_counts() {
        let mut t = trig(2, 20);
        let data: [u64; 8] = std::array::from_fn(|k| pte(BASE + k as u64));
        let (_, seen, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 40);
        let full: Vec<_> = seen
            .iter()
            .filter(|o| o.ev_full)
            .map(|o| o.ev_full_frame)
            .collect();
        assert_eq!(full, (2..8).map(|k| BASE + k).collect::<Vec<_>>());
        let fetched: Vec<_> = seen
            .iter()
            .filter(|o| o.fetch_valid)
            .map(|o| o.fetch_frame)
            .collect();
        assert_eq!(fetched, vec![BASE, BASE + 1]);
        assert!(out.iter().all(|w| w & 1 == 0), "two timed out, six refused");
        assert_eq!(t.counts()[CNT_FULL], 6);
        assert_eq!(t.counts()[CNT_TIMEOUT], 2);
    }

    #[test]
    fn a_stuck_fetch_port_delays_no_line_past_the_scan_plus_the_timer() {
        let t_cyc = 12;
        let mut t = trig(8, t_cyc);
        let data: [u64; 8] = std::array::from_fn(|k| pte(BASE + 10 + k as u64));
        let stuck = |i: PtIn| PtIn {
            fetch_ready: false,
            ..i
        };
        let mut seen = vec![t.step(&stuck(obs(PT_PAGE << 6, data)))];
        let out = loop {
            let o = t.step(&stuck(idle()));
            seen.push(o);
            if o.out_valid {
                break o.out_data;
            }
            assert!(seen.len() <= t_cyc as usize + 11, "held too long");
        };
        // Captured in cycle 0; PTE 7 allocated in cycle 8; its timer fires in cycle
        // 8 + T; released in 9 + T; on the output in cycle T + 10, the documented bound.
        assert_eq!(seen.len() - 1, t_cyc as usize + 10);
        assert!(
            out.iter().all(|w| w & 1 == 0),
            "nothing was fetched in time"
        );
        assert_eq!(t.counts()[CNT_TIMEOUT], 8);
        assert_eq!(t.counts()[CNT_FULL], 0);
        // The queue holds all eight fetches, oldest first; they go out once ready.
        let mut sent = vec![];
        while let Some(f) = t.fetch() {
            sent.push(f);
            t.step(&idle());
        }
        assert_eq!(sent, (10..18).map(|k| BASE + k).collect::<Vec<_>>());
    }

    #[test]
    fn registry_full_refuses_and_clear_frees() {
        let mut t = trig(2, 20); // registry 2, PT_PAGE held
        let set = |f| PtIn {
            reg_valid: true,
            reg_set: true,
            reg_frame: f,
            ..idle()
        };
        let clr = |f| PtIn {
            reg_valid: true,
            reg_set: false,
            reg_frame: f,
            ..idle()
        };
        assert!(!t.step(&set(PT_PAGE)).reg_refused, "already held");
        assert!(!t.step(&set(0x41)).reg_refused);
        assert!(t.step(&set(0x42)).reg_refused);
        assert_eq!(t.counts()[CNT_REFUSED], 1);
        assert!(!t.is_registered(0x42));
        t.step(&clr(PT_PAGE));
        assert!(!t.is_registered(PT_PAGE));
        assert!(!t.step(&set(0x42)).reg_refused);
        assert!(t.is_registered(0x42) && t.is_registered(0x41));
        // The cleared page's lines now pass through untouched.
        let data = [pte(BASE + 3); 8];
        let (c, _, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 5);
        assert_eq!((c, out), (1, data));
    }

    fn res(frame: u64, set: bool) -> PtIn {
        PtIn {
            res_valid: true,
            res_set: set,
            res_frame: frame,
            ..idle()
        }
    }

    /// Captures `data` (cycle 0), then runs `extra(c)` in cycle c (1..) until the line
    /// is out; returns the frames fetched and the line out.
    fn scan_with(
        t: &mut PtTrigger,
        data: [u64; 8],
        extra: impl Fn(u64) -> PtIn,
    ) -> (Vec<u64>, [u64; 8]) {
        let mut fetched = vec![];
        t.step(&obs(PT_PAGE << 6, data));
        for c in 1..200 {
            let o = t.step(&extra(c));
            if o.fetch_valid {
                fetched.push(o.fetch_frame);
            }
            if o.out_valid {
                return (fetched, o.out_data);
            }
        }
        panic!("no line out");
    }

    #[test]
    fn a_residency_write_just_before_the_decision_is_seen() {
        // PTE 3 is decided in cycle 4 (capture in 0). A set in cycle 3 (the cycle the
        // RTL reads the frame's residency, so the write is forwarded) means no fetch.
        let mut data = [0u64; 8];
        data[3] = pte(BASE + 5);
        let mut t = trig(4, 5);
        let (fetched, out) = scan_with(&mut t, data, |c| {
            if c == 3 {
                res(BASE + 5, true)
            } else {
                idle()
            }
        });
        assert!(fetched.is_empty());
        assert_eq!(out, data);
        // A response taken in cycle 3 is forwarded the same way (a stray here).
        let mut t = trig(4, 5);
        let (fetched, out) = scan_with(
            &mut t,
            data,
            |c| if c == 3 { rsp(BASE + 5) } else { idle() },
        );
        assert!(fetched.is_empty());
        assert_eq!(out, data);
        assert_eq!(t.counts()[CNT_STRAY], 1);
        // A clear in cycle 3 of a resident frame: fetched.
        let mut t = trig(4, 5);
        t.step(&res(BASE + 5, true));
        let (fetched, out) = scan_with(&mut t, data, |c| {
            if c == 3 {
                res(BASE + 5, false)
            } else {
                idle()
            }
        });
        assert_eq!(fetched, vec![BASE + 5]);
        assert_eq!(out[3], data[3] & !1, "timed out");
        // A set in the deciding cycle itself comes too late: fetched.
        let mut t = trig(4, 5);
        let (fetched, _) = scan_with(&mut t, data, |c| {
            if c == 4 {
                res(BASE + 5, true)
            } else {
                idle()
            }
        });
        assert_eq!(fetched, vec![BASE + 5]);
        // ... but a response taken in the deciding cycle counts: no fetch.
        let mut t = trig(4, 5);
        let (fetched, out) = scan_with(
            &mut t,
            data,
            |c| if c == 4 { rsp(BASE + 5) } else { idle() },
        );
        assert!(fetched.is_empty());
        assert_eq!(out, data);
        // PTE 0 is read in the capture cycle: a write there is forwarded too.
        let mut data0 = [0u64; 8];
        data0[0] = pte(BASE + 6);
        let mut t = trig(4, 5);
        let o = t.step(&PtIn {
            res_valid: true,
            res_set: true,
            res_frame: BASE + 6,
            ..obs(PT_PAGE << 6, data0)
        });
        assert!(o.obs_ready);
        let (_, seen, out) = run_until_out(&mut t, idle(), 20);
        assert!(seen.iter().all(|o| !o.fetch_valid));
        assert_eq!(out, data0);
    }

    #[test]
    fn a_residency_update_holds_the_response_off() {
        let mut t = trig(4, 20);
        let mut data = [0u64; 8];
        data[0] = pte(BASE + 1);
        t.step(&obs(PT_PAGE << 6, data));
        t.step(&idle()); // PTE 0: allocated
        assert_eq!(t.in_flight(), 1);
        // Response and update together: the update is taken, the response is not.
        let both = PtIn {
            rsp_valid: true,
            rsp_frame: BASE + 1,
            ..res(BASE + 9, true)
        };
        let o = t.step(&both);
        assert!(!o.rsp_ready && !o.ev_done && !o.ev_late);
        assert!(t.is_resident(BASE + 9) && !t.is_resident(BASE + 1));
        assert_eq!(t.in_flight(), 1, "still waiting");
        assert_eq!(t.counts()[CNT_STRAY], 0);
        // Offered again without an update: taken.
        let o = t.step(&rsp(BASE + 1));
        assert!(o.rsp_ready && o.ev_done);
        assert!(t.is_resident(BASE + 1));
        assert_eq!(t.in_flight(), 0);
        let (_, _, out) = run_until_out(&mut t, idle(), 10);
        assert_eq!(out, data);
        // An update out of the window still holds the response off (rsp_ready is
        // !res_valid, whatever the frame).
        let o = t.step(&PtIn {
            rsp_valid: true,
            rsp_frame: BASE + 2,
            ..res(BASE + 1000, true)
        });
        assert!(!o.rsp_ready);
        assert!(!t.is_resident(BASE + 2));
        assert_eq!(t.counts()[CNT_STRAY], 0);
    }

    #[test]
    fn side_values_travel_with_their_lines() {
        let mut t = trig(4, 30);
        let mut data = [0u64; 8];
        data[1] = pte(BASE + 3);
        let side = |v: u64| v | 0xdead << PT_SIDE_BITS; // the bits above are dropped
        let mut held = obs(PT_PAGE << 6 | 5, data);
        held.obs_side = side(0x1_2345);
        let o = t.step(&held);
        assert!(o.obs_ready);
        // While it is held, another line passes through with its own side value.
        let mut other = obs(0x77 << 6, [1; 8]);
        other.obs_side = side(0x0_0abc);
        t.step(&other);
        let o = t.step(&idle());
        assert!(o.out_valid);
        assert_eq!((o.out_addr, o.out_side), (0x77 << 6, 0x0_0abc));
        // The held line leaves with its side value.
        for _ in 0..5 {
            t.step(&idle());
        }
        t.step(&rsp(BASE + 3));
        let (_, seen, out) = run_until_out(&mut t, idle(), 10);
        let o = seen.last().unwrap();
        assert_eq!(
            (o.out_addr, o.out_side, out),
            (PT_PAGE << 6 | 5, 0x1_2345, data)
        );
        assert_eq!(PT_SIDE_BITS, 21);
    }

    #[test]
    fn sixteen_registry_entries_and_a_window_of_65536_frames() {
        let p = PtParams {
            registry: MAX_PT_REGISTRY,
            inflight: 4,
            timer: 10,
            window_base: BASE,
            window_frames: MAX_PT_WINDOW_FRAMES,
        };
        assert!(PtTrigger::new(PtParams { registry: 17, ..p }, CT).is_err());
        assert!(PtTrigger::new(
            PtParams {
                window_frames: MAX_PT_WINDOW_FRAMES + 1,
                ..p
            },
            CT
        )
        .is_err());
        let mut t = PtTrigger::new(p, CT).unwrap();
        let set = |f| PtIn {
            reg_valid: true,
            reg_set: true,
            reg_frame: f,
            ..idle()
        };
        for r in 0..16 {
            assert!(!t.step(&set(0x40 + r)).reg_refused);
        }
        assert!(t.step(&set(0x80)).reg_refused);
        assert!((0..16).all(|r| t.is_registered(0x40 + r)));
        // The window's last frame is tracked; one past it is not.
        let last = BASE + MAX_PT_WINDOW_FRAMES - 1;
        let mut data = [0u64; 8];
        data[0] = pte(last);
        data[1] = pte(last + 1);
        let (fetched, out) = scan_with(&mut t, data, |_| idle());
        assert_eq!(fetched, vec![last]);
        assert_eq!(out, [data[0] & !1, data[1], 0, 0, 0, 0, 0, 0]);
        t.step(&rsp(last));
        assert!(t.is_resident(last));
    }

    #[test]
    fn residency_port_and_stray_responses() {
        let mut t = trig(4, 20);
        t.step(&PtIn {
            res_valid: true,
            res_set: true,
            res_frame: BASE + 4,
            ..idle()
        });
        assert!(t.is_resident(BASE + 4));
        let o = t.step(&rsp(BASE + 9));
        assert!(!o.ev_done && !o.ev_late);
        assert!(t.is_resident(BASE + 9));
        assert_eq!(t.counts()[CNT_STRAY], 1);
        let data = [pte(BASE + 4); 8];
        let (_, seen, out) = run_until_out(&mut t, obs(PT_PAGE << 6, data), 20);
        assert!(seen.iter().all(|o| !o.fetch_valid));
        assert_eq!(out, data);
    }
}
