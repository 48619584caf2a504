//! Page-table trigger: watches host reads of registered page-table pages, fetches
//! the non-resident pages their PTEs point to, and holds the line until each fetch
//! it started completed (P kept) or timed out (P cleared).
//!
//! Per cycle: the same as its twin `linewatch_model::device::pt_trigger` (see there
//! for the whole rule set): a registry update (lowest free entry, refused when full),
//! a fetch response (resident, entry freed: done / late / stray), a residency update,
//! the one timer that can fire, one PTE of the held line scanned (a fetch allocated
//! from the lowest free in-flight entry, or the line waits on an existing entry, or
//! its P is cleared when the entry expired or the table or fetch queue is full; the
//! fetch queue is a ring of eight frames whose head drives the port), and an observation
//! captured into the hold register or passed to the output register, with the held
//! line's release taking the output register first. Outputs and events come from
//! registers plus this cycle's inputs; everything updates at the edge. The residency
//! bitmap is one register of `MAX_PT_WINDOW_FRAMES` bits.

use linewatch_model::device::pt_trigger::{
    PtParams, MAX_PT_INFLIGHT, MAX_PT_REGISTRY, MAX_PT_WINDOW_FRAMES, PFN_BITS, PT_COUNT_BITS,
    PT_FETCH_QUEUE, PT_TIMER_BITS,
};
use linewatch_model::protocol::{ADDR_BITS, DATA_BITS};
use rust_hdl::prelude::*;

type F = Bits<PFN_BITS>;
type Line = Bits<DATA_BITS>;
type Cnt = Bits<PT_COUNT_BITS>;
type Tm = Bits<PT_TIMER_BITS>;
type Id = Bits<3>;
const WIN: usize = MAX_PT_WINDOW_FRAMES as usize;
const WIN_BITS: usize = 8;
const _: () = assert!(
    MAX_PT_REGISTRY == 8 && MAX_PT_INFLIGHT == 8 && PT_FETCH_QUEUE == 8 && WIN == 1 << WIN_BITS
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
    pub obs_ready: Signal<Out, bool>,
    /// The line output (valid/ready), from a register.
    pub out_valid: Signal<Out, bool>,
    pub out_addr: Signal<Out, Bits<ADDR_BITS>>,
    pub out_data: Signal<Out, Line>,
    pub out_ready: Signal<In, bool>,
    /// The fetch port (valid/ready), from a register.
    pub fetch_valid: Signal<Out, bool>,
    pub fetch_frame: Signal<Out, F>,
    pub fetch_ready: Signal<In, bool>,
    /// Fetch responses, any latency.
    pub rsp_valid: Signal<In, bool>,
    pub rsp_frame: Signal<In, F>,
    /// Residency update (OS eviction / preload).
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

    rg_v: [DFF<bool>; 8],
    rg_f: [DFF<F>; 8],
    resident: DFF<Bits<WIN>>,
    busy: [DFF<bool>; 8],
    expired: [DFF<bool>; 8],
    slot_f: [DFF<F>; 8],
    timer: [DFF<Tm>; 8],
    hold: DFF<bool>,
    hold_addr: DFF<Bits<ADDR_BITS>>,
    hold_data: DFF<Line>,
    scan_idx: DFF<Id>,
    scan_done: DFF<bool>,
    pte_wait: [DFF<bool>; 8],
    wait_slot: [DFF<Id>; 8],
    clr: [DFF<bool>; 8],
    out_v: DFF<bool>,
    out_a: DFF<Bits<ADDR_BITS>>,
    out_d: DFF<Line>,
    /// The fetch queue: a ring of frames, oldest at `fq_head`.
    fq: [DFF<F>; 8],
    fq_head: DFF<Id>,
    fq_tail: DFF<Id>,
    fq_count: DFF<Bits<4>>,
    cnt: [DFF<Cnt>; 7],

    rg_on: [Constant<bool>; 8],
    sl_on: [Constant<bool>; 8],
    id: [Constant<Id>; 8],
    last_idx: Constant<Id>,
    timer_init: Constant<Tm>,
    win_base: Constant<F>,
    win_frames: Constant<F>,
    f_zero: Constant<F>,
    t_zero: Constant<Tm>,
    t_one: Constant<Tm>,
    id_one: Constant<Id>,
    id_zero: Constant<Id>,
    c_one: Constant<Cnt>,
    c_max: Constant<Cnt>,
    l_zero: Constant<Line>,

    out_free: Signal<Local, bool>,
    fq_pop: Signal<Local, bool>,
    fq_room: Signal<Local, bool>,
    can_alloc: Signal<Local, bool>,
    q_zero: Constant<Bits<4>>,
    q_one: Constant<Bits<4>>,
    q_full: Constant<Bits<4>>,
    any_wait: Signal<Local, bool>,
    release_now: Signal<Local, bool>,
    rg_hit: [Signal<Local, bool>; 8],
    rg_any_hit: Signal<Local, bool>,
    rg_free_below: [Signal<Local, bool>; 9],
    obs_hit: Signal<Local, bool>,
    page: Signal<Local, F>,
    rsp_hit: [Signal<Local, bool>; 8],
    rsp_any: Signal<Local, bool>,
    rsp_exp: Signal<Local, bool>,
    rsp_off: Signal<Local, F>,
    res_off: Signal<Local, F>,
    fires: [Signal<Local, bool>; 8],
    fire_below: [Signal<Local, bool>; 9],
    fire1: [Signal<Local, bool>; 8],
    free_below: [Signal<Local, bool>; 9],
    free1: [Signal<Local, bool>; 8],
    free_id: Signal<Local, Id>,
    pte_p: Signal<Local, bool>,
    pte_ps: Signal<Local, bool>,
    pte_f: Signal<Local, F>,
    pte_off: Signal<Local, F>,
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
    res1: Signal<Local, Bits<WIN>>,
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
            obs_ready: Default::default(),
            out_valid: Default::default(),
            out_addr: Default::default(),
            out_data: Default::default(),
            out_ready: Default::default(),
            fetch_valid: Default::default(),
            fetch_frame: Default::default(),
            fetch_ready: Default::default(),
            rsp_valid: Default::default(),
            rsp_frame: Default::default(),
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
            resident: Default::default(),
            busy: Default::default(),
            expired: Default::default(),
            slot_f: Default::default(),
            timer: Default::default(),
            hold: Default::default(),
            hold_addr: Default::default(),
            hold_data: Default::default(),
            scan_idx: Default::default(),
            scan_done: Default::default(),
            pte_wait: Default::default(),
            wait_slot: Default::default(),
            clr: Default::default(),
            out_v: Default::default(),
            out_a: Default::default(),
            out_d: Default::default(),
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
            win_frames: Constant::new(p.window_frames.into()),
            f_zero: Constant::new(0.into()),
            t_zero: Constant::new(0.into()),
            t_one: Constant::new(1.into()),
            id_one: Constant::new(1.into()),
            id_zero: Constant::new(0.into()),
            c_one: Constant::new(1.into()),
            c_max: Constant::new(Cnt::mask()),
            l_zero: Constant::new(0.into()),
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
            rsp_hit: Default::default(),
            rsp_any: Default::default(),
            rsp_exp: Default::default(),
            rsp_off: Default::default(),
            res_off: Default::default(),
            fires: Default::default(),
            fire_below: Default::default(),
            fire1: Default::default(),
            free_below: Default::default(),
            free1: Default::default(),
            free_id: Default::default(),
            pte_p: Default::default(),
            pte_ps: Default::default(),
            pte_f: Default::default(),
            pte_off: Default::default(),
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
            res1: Default::default(),
            cm: Default::default(),
            inc: Default::default(),
        }
    }
}

impl Logic for PtTrigger {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, resident, hold, hold_addr, hold_data, scan_idx, scan_done, out_v, out_a,
            out_d, fq_head, fq_tail, fq_count
        );
        for s in 0..8 {
            self.fq[s].clock.next = self.clock.val();
            self.fq[s].d.next = self.fq[s].q.val();
        }
        for s in 0..8 {
            self.rg_v[s].clock.next = self.clock.val();
            self.rg_f[s].clock.next = self.clock.val();
            self.busy[s].clock.next = self.clock.val();
            self.expired[s].clock.next = self.clock.val();
            self.slot_f[s].clock.next = self.clock.val();
            self.timer[s].clock.next = self.clock.val();
            self.pte_wait[s].clock.next = self.clock.val();
            self.wait_slot[s].clock.next = self.clock.val();
            self.clr[s].clock.next = self.clock.val();
            self.rg_v[s].d.next = self.rg_v[s].q.val();
            self.rg_f[s].d.next = self.rg_f[s].q.val();
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

        // Registry: lookups of the update's frame and of the observed line's page.
        self.page.next = self.obs_addr.val().get_bits::<PFN_BITS>(6);
        self.rg_any_hit.next = false;
        self.obs_hit.next = false;
        self.rg_free_below[0].next = false;
        for r in 0..8 {
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
            && !self.rg_free_below[8].val();
        for r in 0..8 {
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

        // Responses, timers, free entries.
        self.rsp_any.next = false;
        self.rsp_exp.next = false;
        self.fire_below[0].next = false;
        self.free_below[0].next = false;
        self.free_id.next = self.id_zero.val();
        self.ev_timeout_frame.next = self.f_zero.val();
        for s in 0..8 {
            self.rsp_hit[s].next = self.rsp_valid.val()
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

        // The PTE under scan.
        // Only the fields used are sliced out (no unused PTE bits for the lint).
        self.pte_p.next = self.hold_data.q.val().get_bit(0);
        self.pte_ps.next = self.hold_data.q.val().get_bit(7);
        self.pte_f.next = self.hold_data.q.val().get_bits::<PFN_BITS>(12);
        for k in 0..8 {
            if self.scan_idx.q.val() == self.id[k].val() {
                self.pte_p.next = self.hold_data.q.val().get_bit(k * 64);
                self.pte_ps.next = self.hold_data.q.val().get_bit(k * 64 + 7);
                self.pte_f.next = self.hold_data.q.val().get_bits::<PFN_BITS>(k * 64 + 12);
            }
        }
        self.pte_off.next = self.pte_f.val() - self.win_base.val();
        self.cand.next = self.pte_p.val()
            && !self.pte_ps.val()
            && self.pte_off.val() < self.win_frames.val()
            && !self
                .resident
                .q
                .val()
                .get_bit(self.pte_off.val().get_bits::<WIN_BITS>(0).index())
            && !(self.rsp_valid.val() && self.rsp_frame.val() == self.pte_f.val());
        self.matched.next = false;
        self.m_dead.next = false;
        self.m_id.next = self.id_zero.val();
        for s in 0..8 {
            self.m[s].next = self.sl_on[s].val()
                && self.busy[s].q.val()
                && self.slot_f[s].q.val() == self.pte_f.val();
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
            self.ev_full_frame.next = self.pte_f.val();
        }

        // In-flight entries at the edge.
        for s in 0..8 {
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
                self.slot_f[s].d.next = self.pte_f.val();
                self.timer[s].d.next = self.timer_init.val();
            }
        }
        // The fetch queue: pop the head the port took, push the allocated frame.
        for s in 0..8 {
            if self.alloc.val() && self.fq_tail.q.val() == self.id[s].val() {
                self.fq[s].d.next = self.pte_f.val();
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
        self.out_v.d.next = self.out_v.q.val() && !self.out_ready.val();
        self.out_a.d.next = self.out_a.q.val();
        self.out_d.d.next = self.out_d.q.val();
        if self.release_now.val() {
            self.hold.d.next = false;
            self.out_v.d.next = true;
            self.out_a.d.next = self.hold_addr.q.val();
            self.out_d.d.next = self.hold_data.q.val() & !self.cm[8].val();
        }
        if self.capture.val() {
            self.hold.d.next = true;
            self.hold_addr.d.next = self.obs_addr.val();
            self.hold_data.d.next = self.obs_data.val();
            self.scan_idx.d.next = self.id_zero.val();
            self.scan_done.d.next = false;
        }
        if self.pass.val() {
            self.out_v.d.next = true;
            self.out_a.d.next = self.obs_addr.val();
            self.out_d.d.next = self.obs_data.val();
        }

        // Residency: the response, then the update port.
        self.rsp_off.next = self.rsp_frame.val() - self.win_base.val();
        self.res_off.next = self.res_frame.val() - self.win_base.val();
        self.res1.next = self.resident.q.val();
        if self.rsp_valid.val() && self.rsp_off.val() < self.win_frames.val() {
            self.res1.next = self
                .resident
                .q
                .val()
                .replace_bit(self.rsp_off.val().get_bits::<WIN_BITS>(0).index(), true);
        }
        self.resident.d.next = self.res1.val();
        if self.res_valid.val() && self.res_off.val() < self.win_frames.val() {
            self.resident.d.next = self.res1.val().replace_bit(
                self.res_off.val().get_bits::<WIN_BITS>(0).index(),
                self.res_set.val(),
            );
        }

        // Counters.
        self.inc[0].next = self.ev_done.val();
        self.inc[1].next = self.ev_late.val();
        self.inc[2].next = self.ev_timeout.val();
        self.inc[3].next = self.full.val();
        self.inc[4].next = self.reg_refused.val();
        self.inc[5].next = self.pass.val() && self.obs_hit.val();
        self.inc[6].next = self.rsp_valid.val() && !self.rsp_any.val();
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
            registry: 4,
            inflight: 4,
            timer: 40,
            window_base: 0x1000,
            window_frames: 64,
        }
    }

    #[test]
    fn pt_trigger_synthesizes() {
        let mut uut = PtTrigger::new(&params());
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_pt_trigger", &v).unwrap();
    }
}
