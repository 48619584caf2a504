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
//!
//! This RTL (the per-cycle rule above is its twin
//! `linewatch_model::device::pt_trigger`'s, word for word): the registry is a CAM of
//! `MAX_PT_REGISTRY` entries; the residency is a `BlockRam` of one-bit words, depth
//! `window_frames` rounded up to a power of two, indexed by the frame's low bits
//! (distinct within the window) (one synchronous read port, one write port: Yosys
//! maps it to SB_RAM40_4K / DP16KD, or on ECP5 to distributed RAM plus a register up
//! to `FAST_RAM_FRAMES` frames). Its read address is the next PTE's frame while a
//! line is held (`scan_idx + 1`, from the `ra` register set a cycle ahead), else the
//! observed line's PTE 0; the write of each cycle (the
//! update, else a taken response in the window) is kept in `wr_*` registers and
//! forwarded to the next cycle's decision when the offsets match. The same next PTE
//! is decoded in the same cycle into `pte_*` registers (frame, present leaf in the
//! window, RAM index), and its frame compared with each in-flight entry's
//! (`eq_slot`) and with the frame decided this cycle (`eq_prev`, standing in for the
//! entry this cycle allocates, `alloc_slot`): the held line does not change while
//! it is scanned, so a decision reads registers, the RAM's output and this cycle's
//! response only (timing: `docs/fpga.md`). The fetch queue is a ring of eight
//! frames whose head drives the port. Outputs and events come from
//! registers plus this cycle's inputs (`rsp_ready` is `!res_valid`); everything
//! updates at the edge.

use crate::mem::BlockRam;
use linewatch_model::device::pt_trigger::{
    PtParams, MAX_PT_INFLIGHT, MAX_PT_REGISTRY, MAX_PT_WINDOW_FRAMES, PFN_BITS, PT_COUNT_BITS,
    PT_FETCH_QUEUE, PT_SIDE_BITS, PT_TIMER_BITS,
};
use linewatch_model::protocol::{ADDR_BITS, DATA_BITS};
use rust_hdl::prelude::*;

type F = Bits<PFN_BITS>;
type Line = Bits<DATA_BITS>;
type Cnt = Bits<PT_COUNT_BITS>;
type Tm = Bits<PT_TIMER_BITS>;
type Id = Bits<3>;
type Side = Bits<PT_SIDE_BITS>;
/// Residency RAM index bits (the structural width; the depth follows the window).
const WIN_BITS: usize = 16;
type Off = Bits<WIN_BITS>;
/// Windows up to this many frames keep their residency in distributed RAM plus a
/// register on ECP5 (`BlockRam::fast_on_ecp5`: no DP16KD clock-to-out before the
/// allocation decision); larger ones in block RAM.
const FAST_RAM_FRAMES: u64 = 4096;
const _: () = assert!(
    MAX_PT_REGISTRY == 16
        && MAX_PT_INFLIGHT == 8
        && PT_FETCH_QUEUE == 8
        && MAX_PT_WINDOW_FRAMES == 1 << WIN_BITS
);
const _: () = assert!(DATA_BITS == 512, "the PTE loops are written for eight PTEs");

#[derive(LogicBlock)]
pub struct PtTrigger {
    pub clock: Signal<In, Clock>,
    /// Registry update: set (or clear) a page-table page frame.
    pub reg_valid: Signal<In, bool>,
    pub reg_set: Signal<In, bool>,
    pub reg_frame: Signal<In, F>,
    /// A host read's line leaving device memory.
    pub obs_valid: Signal<In, bool>,
    pub obs_addr: Signal<In, Bits<ADDR_BITS>>,
    pub obs_data: Signal<In, Line>,
    /// Opaque bits that travel with the line (held or passed through).
    pub obs_side: Signal<In, Side>,
    pub obs_ready: Signal<Out, bool>,
    /// The line output (valid/ready), from a register.
    pub out_valid: Signal<Out, bool>,
    pub out_addr: Signal<Out, Bits<ADDR_BITS>>,
    pub out_data: Signal<Out, Line>,
    pub out_side: Signal<Out, Side>,
    pub out_ready: Signal<In, bool>,
    /// The fetch port (valid/ready), from a register.
    pub fetch_valid: Signal<Out, bool>,
    pub fetch_frame: Signal<Out, F>,
    pub fetch_ready: Signal<In, bool>,
    /// Fetch responses, any latency (valid/ready).
    pub rsp_valid: Signal<In, bool>,
    pub rsp_frame: Signal<In, F>,
    /// `!res_valid`: the residency RAM's write port is free for a response.
    pub rsp_ready: Signal<Out, bool>,
    /// Residency update (OS eviction / preload), always taken.
    pub res_valid: Signal<In, bool>,
    pub res_set: Signal<In, bool>,
    pub res_frame: Signal<In, F>,
    /// Events this cycle.
    pub reg_refused: Signal<Out, bool>,
    pub ev_done: Signal<Out, bool>,
    pub ev_late: Signal<Out, bool>,
    pub ev_timeout: Signal<Out, bool>,
    pub ev_timeout_frame: Signal<Out, F>,
    pub ev_full: Signal<Out, bool>,
    pub ev_full_frame: Signal<Out, F>,
    /// Saturating counters: done, late, timeout, table_full, refused, bypass, stray.
    pub cnt_done: Signal<Out, Cnt>,
    pub cnt_late: Signal<Out, Cnt>,
    pub cnt_timeout: Signal<Out, Cnt>,
    pub cnt_full: Signal<Out, Cnt>,
    pub cnt_refused: Signal<Out, Cnt>,
    pub cnt_bypass: Signal<Out, Cnt>,
    pub cnt_stray: Signal<Out, Cnt>,

    rg_v: [DFF<bool>; 16],
    rg_f: [DFF<F>; 16],
    /// Residency: one bit per window frame, synchronous read.
    ram: BlockRam<1, WIN_BITS>,
    /// The residency write of the last cycle, forwarded to this cycle's decision.
    wr_v: DFF<bool>,
    wr_a: DFF<Off>,
    wr_d: DFF<bool>,
    busy: [DFF<bool>; 8],
    expired: [DFF<bool>; 8],
    slot_f: [DFF<F>; 8],
    timer: [DFF<Tm>; 8],
    hold: DFF<bool>,
    hold_addr: DFF<Bits<ADDR_BITS>>,
    hold_data: DFF<Line>,
    hold_side: DFF<Side>,
    /// The PTE decided this cycle, decoded last cycle (from `hold_data`, or from the
    /// observed line in the capture cycle): its frame, whether it is a present leaf
    /// in the window, and its window offset's low bits (the residency RAM index).
    pte_f: DFF<F>,
    pte_ok: DFF<bool>,
    pte_lo: DFF<Off>,
    /// The residency RAM's read index for next cycle while a line is held (the PTE
    /// after the next, or PTE 1 of the line captured this cycle).
    ra: DFF<Off>,
    /// Its frame compared last cycle with each entry's frame (`eq_slot`), and with
    /// the frame decided last cycle (`eq_prev`: the frame of the entry allocated
    /// then, `alloc_slot`).
    eq_slot: [DFF<bool>; 8],
    eq_prev: DFF<bool>,
    alloc_slot: [DFF<bool>; 8],
    scan_idx: DFF<Id>,
    scan_done: DFF<bool>,
    pte_wait: [DFF<bool>; 8],
    wait_slot: [DFF<Id>; 8],
    clr: [DFF<bool>; 8],
    out_v: DFF<bool>,
    out_a: DFF<Bits<ADDR_BITS>>,
    out_d: DFF<Line>,
    out_s: DFF<Side>,
    /// The fetch queue: a ring of frames, oldest at `fq_head`.
    fq: [DFF<F>; 8],
    fq_head: DFF<Id>,
    fq_tail: DFF<Id>,
    fq_count: DFF<Bits<4>>,
    cnt: [DFF<Cnt>; 7],

    rg_on: [Constant<bool>; 16],
    sl_on: [Constant<bool>; 8],
    id: [Constant<Id>; 8],
    last_idx: Constant<Id>,
    timer_init: Constant<Tm>,
    win_base: Constant<F>,
    /// The window's last frame (`window_base + window_frames - 1`, which `check`
    /// keeps in the frame space).
    win_last: Constant<F>,
    f_zero: Constant<F>,
    t_zero: Constant<Tm>,
    t_one: Constant<Tm>,
    id_one: Constant<Id>,
    id_two: Constant<Id>,
    id_zero: Constant<Id>,
    c_one: Constant<Cnt>,
    c_max: Constant<Cnt>,
    l_zero: Constant<Line>,
    b_zero: Constant<Bits<1>>,
    b_one: Constant<Bits<1>>,

    out_free: Signal<Local, bool>,
    fq_pop: Signal<Local, bool>,
    fq_room: Signal<Local, bool>,
    can_alloc: Signal<Local, bool>,
    q_zero: Constant<Bits<4>>,
    q_one: Constant<Bits<4>>,
    q_full: Constant<Bits<4>>,
    any_wait: Signal<Local, bool>,
    release_now: Signal<Local, bool>,
    rg_hit: [Signal<Local, bool>; 16],
    rg_any_hit: Signal<Local, bool>,
    rg_free_below: [Signal<Local, bool>; 17],
    obs_hit: Signal<Local, bool>,
    page: Signal<Local, F>,
    rsp_take: Signal<Local, bool>,
    rsp_hit: [Signal<Local, bool>; 8],
    rsp_any: Signal<Local, bool>,
    rsp_exp: Signal<Local, bool>,
    rsp_in: Signal<Local, bool>,
    /// `window_base` through a wire: a window at frame 0 makes `>= window_base` a
    /// compare with constant 0, which Verilator -Wall flags.
    lo: Signal<Local, F>,
    res_in: Signal<Local, bool>,
    fires: [Signal<Local, bool>; 8],
    fire_below: [Signal<Local, bool>; 9],
    fire1: [Signal<Local, bool>; 8],
    free_below: [Signal<Local, bool>; 9],
    free1: [Signal<Local, bool>; 8],
    free_id: Signal<Local, Id>,
    res_fwd: Signal<Local, bool>,
    res_now: Signal<Local, bool>,
    nxt_idx: Signal<Local, Id>,
    nxt2_idx: Signal<Local, Id>,
    nxt_p: Signal<Local, bool>,
    nxt_ps: Signal<Local, bool>,
    nxt_f: Signal<Local, F>,
    nxt_off: Signal<Local, Off>,
    we: Signal<Local, bool>,
    wa: Signal<Local, Off>,
    wd: Signal<Local, bool>,
    cand: Signal<Local, bool>,
    m: [Signal<Local, bool>; 8],
    matched: Signal<Local, bool>,
    m_dead: Signal<Local, bool>,
    m_id: Signal<Local, Id>,
    step: Signal<Local, bool>,
    alloc: Signal<Local, bool>,
    full: Signal<Local, bool>,
    capture: Signal<Local, bool>,
    pass: Signal<Local, bool>,
    cm: [Signal<Local, Line>; 9],
    inc: [Signal<Local, bool>; 7],
}

impl PtTrigger {
    /// Panics on parameters `PtParams::check` refuses (the model's constructor checks
    /// them, with the completion timeout, first).
    pub fn new(p: &PtParams) -> Self {
        if let Err(e) = p.check(u64::MAX) {
            panic!("{e}");
        }
        Self {
            clock: Default::default(),
            reg_valid: Default::default(),
            reg_set: Default::default(),
            reg_frame: Default::default(),
            obs_valid: Default::default(),
            obs_addr: Default::default(),
            obs_data: Default::default(),
            obs_side: Default::default(),
            obs_ready: Default::default(),
            out_valid: Default::default(),
            out_addr: Default::default(),
            out_data: Default::default(),
            out_side: Default::default(),
            out_ready: Default::default(),
            fetch_valid: Default::default(),
            fetch_frame: Default::default(),
            fetch_ready: Default::default(),
            rsp_valid: Default::default(),
            rsp_frame: Default::default(),
            rsp_ready: Default::default(),
            res_valid: Default::default(),
            res_set: Default::default(),
            res_frame: Default::default(),
            reg_refused: Default::default(),
            ev_done: Default::default(),
            ev_late: Default::default(),
            ev_timeout: Default::default(),
            ev_timeout_frame: Default::default(),
            ev_full: Default::default(),
            ev_full_frame: Default::default(),
            cnt_done: Default::default(),
            cnt_late: Default::default(),
            cnt_timeout: Default::default(),
            cnt_full: Default::default(),
            cnt_refused: Default::default(),
            cnt_bypass: Default::default(),
            cnt_stray: Default::default(),
            rg_v: Default::default(),
            rg_f: Default::default(),
            ram: if p.window_frames <= FAST_RAM_FRAMES {
                BlockRam::fast_on_ecp5(p.window_frames.next_power_of_two() as usize)
            } else {
                BlockRam::new(p.window_frames.next_power_of_two() as usize)
            },
            wr_v: Default::default(),
            wr_a: Default::default(),
            wr_d: Default::default(),
            busy: Default::default(),
            expired: Default::default(),
            slot_f: Default::default(),
            timer: Default::default(),
            hold: Default::default(),
            hold_addr: Default::default(),
            hold_data: Default::default(),
            hold_side: Default::default(),
            pte_f: Default::default(),
            pte_ok: Default::default(),
            pte_lo: Default::default(),
            ra: Default::default(),
            eq_slot: Default::default(),
            eq_prev: Default::default(),
            alloc_slot: Default::default(),
            scan_idx: Default::default(),
            scan_done: Default::default(),
            pte_wait: Default::default(),
            wait_slot: Default::default(),
            clr: Default::default(),
            out_v: Default::default(),
            out_a: Default::default(),
            out_d: Default::default(),
            out_s: Default::default(),
            fq: Default::default(),
            fq_head: Default::default(),
            fq_tail: Default::default(),
            fq_count: Default::default(),
            cnt: Default::default(),
            rg_on: std::array::from_fn(|r| Constant::new(r < p.registry)),
            sl_on: std::array::from_fn(|s| Constant::new(s < p.inflight)),
            id: std::array::from_fn(|s| Constant::new((s as u64).into())),
            last_idx: Constant::new(7.into()),
            timer_init: Constant::new((p.timer - 1).into()),
            win_base: Constant::new(p.window_base.into()),
            win_last: Constant::new((p.window_base + p.window_frames - 1).into()),
            f_zero: Constant::new(0.into()),
            t_zero: Constant::new(0.into()),
            t_one: Constant::new(1.into()),
            id_one: Constant::new(1.into()),
            id_two: Constant::new(2.into()),
            id_zero: Constant::new(0.into()),
            c_one: Constant::new(1.into()),
            c_max: Constant::new(Cnt::mask()),
            l_zero: Constant::new(0.into()),
            b_zero: Constant::new(0.into()),
            b_one: Constant::new(1.into()),
            out_free: Default::default(),
            fq_pop: Default::default(),
            fq_room: Default::default(),
            can_alloc: Default::default(),
            q_zero: Constant::new(0.into()),
            q_one: Constant::new(1.into()),
            q_full: Constant::new((PT_FETCH_QUEUE as u64).into()),
            any_wait: Default::default(),
            release_now: Default::default(),
            rg_hit: Default::default(),
            rg_any_hit: Default::default(),
            rg_free_below: Default::default(),
            obs_hit: Default::default(),
            page: Default::default(),
            rsp_take: Default::default(),
            rsp_hit: Default::default(),
            rsp_any: Default::default(),
            rsp_exp: Default::default(),
            rsp_in: Default::default(),
            lo: Default::default(),
            res_in: Default::default(),
            fires: Default::default(),
            fire_below: Default::default(),
            fire1: Default::default(),
            free_below: Default::default(),
            free1: Default::default(),
            free_id: Default::default(),
            res_fwd: Default::default(),
            res_now: Default::default(),
            nxt_idx: Default::default(),
            nxt2_idx: Default::default(),
            nxt_p: Default::default(),
            nxt_ps: Default::default(),
            nxt_f: Default::default(),
            nxt_off: Default::default(),
            we: Default::default(),
            wa: Default::default(),
            wd: Default::default(),
            cand: Default::default(),
            m: Default::default(),
            matched: Default::default(),
            m_dead: Default::default(),
            m_id: Default::default(),
            step: Default::default(),
            alloc: Default::default(),
            full: Default::default(),
            capture: Default::default(),
            pass: Default::default(),
            cm: Default::default(),
            inc: Default::default(),
        }
    }
}

impl Logic for PtTrigger {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, wr_v, wr_a, wr_d, hold, hold_addr, hold_data, hold_side, pte_f, pte_ok,
            pte_lo, ra, eq_prev, scan_idx, scan_done, out_v, out_a, out_d, out_s, fq_head, fq_tail,
            fq_count
        );
        self.ram.clock.next = self.clock.val();
        for s in 0..8 {
            self.fq[s].clock.next = self.clock.val();
            self.fq[s].d.next = self.fq[s].q.val();
        }
        for r in 0..16 {
            self.rg_v[r].clock.next = self.clock.val();
            self.rg_f[r].clock.next = self.clock.val();
            self.rg_v[r].d.next = self.rg_v[r].q.val();
            self.rg_f[r].d.next = self.rg_f[r].q.val();
        }
        for s in 0..8 {
            self.eq_slot[s].clock.next = self.clock.val();
            self.alloc_slot[s].clock.next = self.clock.val();
            self.busy[s].clock.next = self.clock.val();
            self.expired[s].clock.next = self.clock.val();
            self.slot_f[s].clock.next = self.clock.val();
            self.timer[s].clock.next = self.clock.val();
            self.pte_wait[s].clock.next = self.clock.val();
            self.wait_slot[s].clock.next = self.clock.val();
            self.clr[s].clock.next = self.clock.val();
            self.busy[s].d.next = self.busy[s].q.val();
            self.expired[s].d.next = self.expired[s].q.val();
            self.slot_f[s].d.next = self.slot_f[s].q.val();
            self.timer[s].d.next = self.timer[s].q.val();
            self.pte_wait[s].d.next = self.pte_wait[s].q.val();
            self.wait_slot[s].d.next = self.wait_slot[s].q.val();
            self.clr[s].d.next = self.clr[s].q.val();
        }
        for c in 0..7 {
            self.cnt[c].clock.next = self.clock.val();
            self.cnt[c].d.next = self.cnt[c].q.val();
        }

        // Output side and release.
        self.out_free.next = !self.out_v.q.val() || self.out_ready.val();
        self.fetch_valid.next = self.fq_count.q.val() != self.q_zero.val();
        self.fetch_frame.next = self.f_zero.val();
        for s in 0..8 {
            if self.fq_count.q.val() != self.q_zero.val()
                && self.fq_head.q.val() == self.id[s].val()
            {
                self.fetch_frame.next = self.fq[s].q.val();
            }
        }
        self.fq_pop.next = self.fq_count.q.val() != self.q_zero.val() && self.fetch_ready.val();
        self.fq_room.next = self.fq_count.q.val() != self.q_full.val();
        self.any_wait.next = false;
        for k in 0..8 {
            if self.pte_wait[k].q.val() {
                self.any_wait.next = true;
            }
        }
        self.release_now.next = self.hold.q.val()
            && self.scan_done.q.val()
            && !self.any_wait.val()
            && self.out_free.val();
        self.obs_ready.next = self.out_free.val() && !self.release_now.val();
        self.out_valid.next = self.out_v.q.val();
        self.out_addr.next = self.out_a.q.val();
        self.out_data.next = self.out_d.q.val();
        self.out_side.next = self.out_s.q.val();

        self.lo.next = self.win_base.val();

        // Registry: lookups of the update's frame and of the observed line's page.
        self.page.next = self.obs_addr.val().get_bits::<PFN_BITS>(6);
        self.rg_any_hit.next = false;
        self.obs_hit.next = false;
        self.rg_free_below[0].next = false;
        for r in 0..16 {
            self.rg_hit[r].next = self.rg_on[r].val()
                && self.rg_v[r].q.val()
                && self.rg_f[r].q.val() == self.reg_frame.val();
            if self.rg_hit[r].val() {
                self.rg_any_hit.next = true;
            }
            if self.rg_on[r].val()
                && self.rg_v[r].q.val()
                && self.rg_f[r].q.val() == self.page.val()
            {
                self.obs_hit.next = true;
            }
            self.rg_free_below[r + 1].next =
                self.rg_free_below[r].val() || (self.rg_on[r].val() && !self.rg_v[r].q.val());
        }
        self.reg_refused.next = self.reg_valid.val()
            && self.reg_set.val()
            && !self.rg_any_hit.val()
            && !self.rg_free_below[16].val();
        for r in 0..16 {
            if self.reg_valid.val()
                && self.reg_set.val()
                && !self.rg_any_hit.val()
                && self.rg_on[r].val()
                && !self.rg_v[r].q.val()
                && !self.rg_free_below[r].val()
            {
                self.rg_v[r].d.next = true;
                self.rg_f[r].d.next = self.reg_frame.val();
            }
            if self.reg_valid.val() && !self.reg_set.val() && self.rg_hit[r].val() {
                self.rg_v[r].d.next = false;
            }
        }

        // Responses (taken when the update leaves the RAM's write port free), timers,
        // free entries.
        self.rsp_ready.next = !self.res_valid.val();
        self.rsp_take.next = self.rsp_valid.val() && !self.res_valid.val();
        self.rsp_any.next = false;
        self.rsp_exp.next = false;
        self.fire_below[0].next = false;
        self.free_below[0].next = false;
        self.free_id.next = self.id_zero.val();
        self.ev_timeout_frame.next = self.f_zero.val();
        for s in 0..8 {
            self.rsp_hit[s].next = self.rsp_take.val()
                && self.sl_on[s].val()
                && self.busy[s].q.val()
                && self.slot_f[s].q.val() == self.rsp_frame.val();
            if self.rsp_hit[s].val() {
                self.rsp_any.next = true;
                if self.expired[s].q.val() {
                    self.rsp_exp.next = true;
                }
            }
            self.fires[s].next = self.sl_on[s].val()
                && self.busy[s].q.val()
                && !self.expired[s].q.val()
                && self.timer[s].q.val() == self.t_zero.val()
                && !self.rsp_hit[s].val();
            self.fire1[s].next = self.fires[s].val() && !self.fire_below[s].val();
            self.fire_below[s + 1].next = self.fire_below[s].val() || self.fires[s].val();
            if self.fire1[s].val() {
                self.ev_timeout_frame.next = self.slot_f[s].q.val();
            }
            self.free1[s].next =
                self.sl_on[s].val() && !self.busy[s].q.val() && !self.free_below[s].val();
            self.free_below[s + 1].next =
                self.free_below[s].val() || (self.sl_on[s].val() && !self.busy[s].q.val());
            if self.free1[s].val() {
                self.free_id.next = self.id[s].val();
            }
        }
        self.ev_done.next = self.rsp_any.val() && !self.rsp_exp.val();
        self.ev_late.next = self.rsp_any.val() && self.rsp_exp.val();
        self.ev_timeout.next = self.fire_below[8].val();

        // The PTE under scan (decoded into `pte_*` last cycle).
        // Its residency: read from the RAM last cycle, plus last cycle's write.
        self.res_fwd.next = self.wr_v.q.val() && self.wr_a.q.val() == self.pte_lo.q.val();
        self.res_now.next = self.ram.ram_data.val() == self.b_one.val();
        if self.ram.late_sel.val() {
            self.res_now.next = self.ram.late_word.val() == self.b_one.val();
        }
        if self.res_fwd.val() {
            self.res_now.next = self.wr_d.q.val();
        }
        self.cand.next = self.pte_ok.q.val()
            && !self.res_now.val()
            && !(self.rsp_take.val() && self.rsp_frame.val() == self.pte_f.q.val());
        self.matched.next = false;
        self.m_dead.next = false;
        self.m_id.next = self.id_zero.val();
        for s in 0..8 {
            // The entry's frame is the one compared last cycle, or, if it was
            // allocated last cycle, the frame decided then.
            self.m[s].next = self.sl_on[s].val() && self.busy[s].q.val() && self.eq_slot[s].q.val();
            if self.alloc_slot[s].q.val() {
                self.m[s].next =
                    self.sl_on[s].val() && self.busy[s].q.val() && self.eq_prev.q.val();
            }
            if self.m[s].val() {
                self.matched.next = true;
                self.m_id.next = self.id[s].val();
                if self.expired[s].q.val() || self.fire1[s].val() {
                    self.m_dead.next = true;
                }
            }
        }
        self.step.next = self.hold.q.val() && !self.scan_done.q.val();
        self.can_alloc.next = self.free_below[8].val() && self.fq_room.val();
        self.alloc.next =
            self.step.val() && self.cand.val() && !self.matched.val() && self.can_alloc.val();
        self.full.next =
            self.step.val() && self.cand.val() && !self.matched.val() && !self.can_alloc.val();
        self.ev_full.next = self.full.val();
        self.ev_full_frame.next = self.f_zero.val();
        if self.full.val() {
            self.ev_full_frame.next = self.pte_f.q.val();
        }

        // In-flight entries at the edge.
        for s in 0..8 {
            self.alloc_slot[s].d.next = self.alloc.val() && self.free1[s].val();
            if self.busy[s].q.val()
                && !self.expired[s].q.val()
                && self.timer[s].q.val() != self.t_zero.val()
            {
                self.timer[s].d.next = self.timer[s].q.val() - self.t_one.val();
            }
            if self.fire1[s].val() {
                self.expired[s].d.next = true;
            }
            if self.rsp_hit[s].val() {
                self.busy[s].d.next = false;
            }
            if self.alloc.val() && self.free1[s].val() {
                self.busy[s].d.next = true;
                self.expired[s].d.next = false;
                self.slot_f[s].d.next = self.pte_f.q.val();
                self.timer[s].d.next = self.timer_init.val();
            }
        }
        // The fetch queue: pop the head the port took, push the allocated frame.
        for s in 0..8 {
            if self.alloc.val() && self.fq_tail.q.val() == self.id[s].val() {
                self.fq[s].d.next = self.pte_f.q.val();
            }
        }
        if self.alloc.val() {
            self.fq_tail.d.next = self.fq_tail.q.val() + self.id_one.val();
        }
        if self.fq_pop.val() {
            self.fq_head.d.next = self.fq_head.q.val() + self.id_one.val();
        }
        if self.alloc.val() && !self.fq_pop.val() {
            self.fq_count.d.next = self.fq_count.q.val() + self.q_one.val();
        }
        if self.fq_pop.val() && !self.alloc.val() {
            self.fq_count.d.next = self.fq_count.q.val() - self.q_one.val();
        }

        // The held line's PTEs at the edge.
        self.capture.next = !self.release_now.val()
            && self.obs_valid.val()
            && self.obs_ready.val()
            && self.obs_hit.val()
            && !self.hold.q.val();
        self.pass.next = !self.release_now.val()
            && self.obs_valid.val()
            && self.obs_ready.val()
            && (!self.obs_hit.val() || self.hold.q.val());
        for k in 0..8 {
            for s in 0..8 {
                if self.pte_wait[k].q.val() && self.wait_slot[k].q.val() == self.id[s].val() {
                    if self.rsp_hit[s].val() {
                        self.pte_wait[k].d.next = false;
                    } else if self.fire1[s].val() {
                        self.pte_wait[k].d.next = false;
                        self.clr[k].d.next = true;
                    }
                }
            }
            if self.step.val() && self.cand.val() && self.scan_idx.q.val() == self.id[k].val() {
                if self.matched.val() && self.m_dead.val() {
                    self.clr[k].d.next = true;
                } else if self.matched.val() {
                    self.pte_wait[k].d.next = true;
                    self.wait_slot[k].d.next = self.m_id.val();
                } else if self.can_alloc.val() {
                    self.pte_wait[k].d.next = true;
                    self.wait_slot[k].d.next = self.free_id.val();
                } else {
                    self.clr[k].d.next = true;
                }
            }
            if self.capture.val() {
                self.pte_wait[k].d.next = false;
                self.clr[k].d.next = false;
            }
        }
        self.scan_idx.d.next = self.scan_idx.q.val();
        self.scan_done.d.next = self.scan_done.q.val();
        if self.step.val() {
            self.scan_idx.d.next = self.scan_idx.q.val() + self.id_one.val();
            self.scan_done.d.next = self.scan_idx.q.val() == self.last_idx.val();
        }

        // Hold and output registers.
        self.cm[0].next = self.l_zero.val();
        for k in 0..8 {
            self.cm[k + 1].next = self.cm[k].val().replace_bit(k * 64, self.clr[k].q.val());
        }
        self.hold.d.next = self.hold.q.val();
        self.hold_addr.d.next = self.hold_addr.q.val();
        self.hold_data.d.next = self.hold_data.q.val();
        self.hold_side.d.next = self.hold_side.q.val();
        self.out_v.d.next = self.out_v.q.val() && !self.out_ready.val();
        self.out_a.d.next = self.out_a.q.val();
        self.out_d.d.next = self.out_d.q.val();
        self.out_s.d.next = self.out_s.q.val();
        if self.release_now.val() {
            self.hold.d.next = false;
            self.out_v.d.next = true;
            self.out_a.d.next = self.hold_addr.q.val();
            self.out_d.d.next = self.hold_data.q.val() & !self.cm[8].val();
            self.out_s.d.next = self.hold_side.q.val();
        }
        if self.capture.val() {
            self.hold.d.next = true;
            self.hold_addr.d.next = self.obs_addr.val();
            self.hold_data.d.next = self.obs_data.val();
            self.hold_side.d.next = self.obs_side.val();
            self.scan_idx.d.next = self.id_zero.val();
            self.scan_done.d.next = false;
        }
        if self.pass.val() {
            self.out_v.d.next = true;
            self.out_a.d.next = self.obs_addr.val();
            self.out_d.d.next = self.obs_data.val();
            self.out_s.d.next = self.obs_side.val();
        }

        // The PTE decided next cycle (the next PTE of the held line, else PTE 0 of the
        // observed line, captured or not; the held line does not change while it is
        // scanned): decoded into `pte_*`, its residency read from the RAM.
        // Only the fields used are sliced out (no unused PTE bits for the lint).
        self.nxt_idx.next = self.scan_idx.q.val() + self.id_one.val();
        self.nxt_p.next = self.obs_data.val().get_bit(0);
        self.nxt_ps.next = self.obs_data.val().get_bit(7);
        self.nxt_f.next = self.obs_data.val().get_bits::<PFN_BITS>(12);
        for k in 0..8 {
            if self.hold.q.val() && self.nxt_idx.val() == self.id[k].val() {
                self.nxt_p.next = self.hold_data.q.val().get_bit(k * 64);
                self.nxt_ps.next = self.hold_data.q.val().get_bit(k * 64 + 7);
                self.nxt_f.next = self.hold_data.q.val().get_bits::<PFN_BITS>(k * 64 + 12);
            }
        }
        // (Only the offset's low bits index the RAM: they need only the frame's.)
        self.nxt_off.next = self.nxt_f.val().get_bits::<WIN_BITS>(0);
        self.pte_f.d.next = self.nxt_f.val();
        // In the window: two compares with constants side by side, not a subtraction
        // and then a compare (`window_base + window_frames` fits the frame space).
        self.pte_ok.d.next = self.nxt_p.val()
            && !self.nxt_ps.val()
            && self.nxt_f.val() >= self.lo.val()
            && self.nxt_f.val() <= self.win_last.val();
        self.pte_lo.d.next = self.nxt_off.val();
        // Its compares with the in-flight entries' frames, from this cycle's frames
        // plus the frame of the entry this cycle allocates (`alloc_slot`).
        for s in 0..8 {
            self.eq_slot[s].d.next = self.slot_f[s].q.val() == self.nxt_f.val();
        }
        self.eq_prev.d.next = self.pte_f.q.val() == self.nxt_f.val();
        // The RAM reads the same frame's index, from a register while a line is held
        // (decided a cycle ahead: the held line does not change while it is scanned).
        self.ram.read_address.next = self.obs_data.val().get_bits::<WIN_BITS>(12);
        if self.hold.q.val() {
            self.ram.read_address.next = self.ra.q.val();
        }
        self.nxt2_idx.next = self.scan_idx.q.val() + self.id_two.val();
        self.ra.d.next = self.obs_data.val().get_bits::<WIN_BITS>(64 + 12);
        for k in 0..8 {
            if self.hold.q.val() && self.nxt2_idx.val() == self.id[k].val() {
                self.ra.d.next = self.hold_data.q.val().get_bits::<WIN_BITS>(k * 64 + 12);
            }
        }
        // Write: the update, else a taken response (in the window).
        self.rsp_in.next =
            self.rsp_frame.val() >= self.lo.val() && self.rsp_frame.val() <= self.win_last.val();
        self.res_in.next =
            self.res_frame.val() >= self.lo.val() && self.res_frame.val() <= self.win_last.val();
        self.we.next = self.rsp_take.val() && self.rsp_in.val();
        self.wa.next = self.rsp_frame.val().get_bits::<WIN_BITS>(0);
        self.wd.next = true;
        if self.res_valid.val() {
            self.we.next = self.res_in.val();
            self.wa.next = self.res_frame.val().get_bits::<WIN_BITS>(0);
            self.wd.next = self.res_set.val();
        }
        self.ram.write_enable.next = self.we.val();
        self.ram.write_address.next = self.wa.val();
        self.ram.write_data.next = self.b_zero.val();
        if self.wd.val() {
            self.ram.write_data.next = self.b_one.val();
        }
        self.wr_v.d.next = self.we.val();
        self.wr_a.d.next = self.wa.val();
        self.wr_d.d.next = self.wd.val();

        // Counters.
        self.inc[0].next = self.ev_done.val();
        self.inc[1].next = self.ev_late.val();
        self.inc[2].next = self.ev_timeout.val();
        self.inc[3].next = self.full.val();
        self.inc[4].next = self.reg_refused.val();
        self.inc[5].next = self.pass.val() && self.obs_hit.val();
        self.inc[6].next = self.rsp_take.val() && !self.rsp_any.val();
        for c in 0..7 {
            if self.inc[c].val() && self.cnt[c].q.val() != self.c_max.val() {
                self.cnt[c].d.next = self.cnt[c].q.val() + self.c_one.val();
            }
        }
        self.cnt_done.next = self.cnt[0].q.val();
        self.cnt_late.next = self.cnt[1].q.val();
        self.cnt_timeout.next = self.cnt[2].q.val();
        self.cnt_full.next = self.cnt[3].q.val();
        self.cnt_refused.next = self.cnt[4].q.val();
        self.cnt_bypass.next = self.cnt[5].q.val();
        self.cnt_stray.next = self.cnt[6].q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn params() -> PtParams {
        PtParams {
            registry: 16,
            inflight: 4,
            timer: 40,
            window_base: 0x1000,
            window_frames: 3000,
        }
    }

    #[test]
    fn pt_trigger_synthesizes() {
        let mut uut = PtTrigger::new(&params());
        uut.connect_all();
        let v = generate_verilog(&uut);
        // The residency is a RAM of window_frames rounded up to a power of two.
        assert!(v.contains("reg [0:0] mem [0:4095];"), "{v}");
        yosys_validate("linewatch_rtl_pt_trigger_ram_block", &v).unwrap();
    }

    /// The per-cycle rule in this file's doc comment is the model's, word for word.
    #[test]
    fn pt_trigger_per_cycle_rule_is_the_models() {
        fn rule(src: &str) -> &str {
            let start = src.find("//! Per cycle").expect("a per-cycle rule");
            let end = src.find("bypass and stray.").expect("the counters' end");
            &src[start..end]
        }
        let model = include_str!("../../model/src/device/pt_trigger.rs");
        let rtl = include_str!("pt_trigger.rs");
        assert!(rule(model).contains("rsp_ready"));
        assert_eq!(rule(rtl), rule(model));
    }
}
