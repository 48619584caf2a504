//! The page-table trigger's RTL (`linewatch_rtl::pt_trigger`, in rust-hdl's own
//! simulator) and its model twin in lockstep under seeded random stimulus: registry
//! updates, observations of page-table and other lines with random side values, fetch
//! responses with random latencies (before and after the timer, held off by
//! residency updates in the same cycle and offered again), residency updates (some
//! on the frame decided the next cycle, which the RTL forwards past its residency
//! RAM) and random ready on both output ports. Every output is compared every cycle.

use linewatch_model::device::pt_trigger::{
    pte_frame, pte_present_leaf, PtIn, PtOut, PtParams, PtTrigger as Model, MAX_PT_REGISTRY,
    PT_SIDE_BITS,
};
use linewatch_model::protocol::ADDR_MASK;
use linewatch_model::trace::rng::Rng;
use linewatch_rtl::pt_trigger::PtTrigger as Rtl;
use rust_hdl::prelude::*;

const COMPLETION_TIMEOUT: u64 = 1 << 20;
const SIDE_MASK: u64 = (1 << PT_SIDE_BITS) - 1;

fn to_line(d: &[u64; 8]) -> Bits<512> {
    d.iter()
        .enumerate()
        .fold(Bits::<512>::default(), |acc, (i, &w)| {
            acc | (Bits::<512>::from(w) << (64 * i) as u64)
        })
}

fn from_line(b: Bits<512>) -> [u64; 8] {
    std::array::from_fn(|i| b.get_bits::<64>(64 * i).to_u64())
}

fn settle(uut: &mut Rtl) {
    assert!(simulate(uut, 200), "RTL did not settle");
}

/// The RTL's outputs under `i` (before the edge), then the clock edge.
fn rtl_step(uut: &mut Rtl, i: &PtIn) -> PtOut {
    uut.reg_valid.next = i.reg_valid;
    uut.reg_set.next = i.reg_set;
    uut.reg_frame.next = i.reg_frame.into();
    uut.obs_valid.next = i.obs_valid;
    uut.obs_addr.next = i.obs_addr.into();
    uut.obs_data.next = to_line(&i.obs_data);
    uut.obs_side.next = (i.obs_side & SIDE_MASK).into();
    uut.out_ready.next = i.out_ready;
    uut.fetch_ready.next = i.fetch_ready;
    uut.rsp_valid.next = i.rsp_valid;
    uut.rsp_frame.next = i.rsp_frame.into();
    uut.res_valid.next = i.res_valid;
    uut.res_set.next = i.res_set;
    uut.res_frame.next = i.res_frame.into();
    settle(uut);
    let o = PtOut {
        obs_ready: uut.obs_ready.val(),
        out_valid: uut.out_valid.val(),
        out_addr: uut.out_addr.val().to_u64(),
        out_data: from_line(uut.out_data.val()),
        out_side: uut.out_side.val().to_u64(),
        fetch_valid: uut.fetch_valid.val(),
        fetch_frame: uut.fetch_frame.val().to_u64(),
        rsp_ready: uut.rsp_ready.val(),
        reg_refused: uut.reg_refused.val(),
        ev_done: uut.ev_done.val(),
        ev_late: uut.ev_late.val(),
        ev_timeout: uut.ev_timeout.val(),
        ev_timeout_frame: uut.ev_timeout_frame.val().to_u64(),
        ev_full: uut.ev_full.val(),
        ev_full_frame: uut.ev_full_frame.val().to_u64(),
        counts: [
            uut.cnt_done.val(),
            uut.cnt_late.val(),
            uut.cnt_timeout.val(),
            uut.cnt_full.val(),
            uut.cnt_refused.val(),
            uut.cnt_bypass.val(),
            uut.cnt_stray.val(),
        ]
        .map(|c| c.to_u64() as u16),
    };
    uut.clock.next = Clock { clk: true };
    settle(uut);
    uut.clock.next = Clock { clk: false };
    settle(uut);
    o
}

/// The model as the comparison sees it; `flip` plants a divergence: at that cycle,
/// bit 0 of word 0 of `out_data` is inverted.
struct Planted {
    model: Model,
    flip: Option<u64>,
}

impl Planted {
    fn step(&mut self, cycle: u64, i: &PtIn) -> PtOut {
        let mut o = self.model.step(i);
        if self.flip == Some(cycle) {
            o.out_data[0] ^= 1;
        }
        o
    }
}

/// Seeded stimulus. Responses come back for every fetch the block issued, with a
/// latency drawn around the timer so both orders occur; a few are strays. PTE and
/// residency frames come mostly from a small hot set spread over the window, so
/// residency hits and misses both happen in a large window.
struct Stim {
    rng: Rng,
    p: PtParams,
    pt_pages: Vec<u64>,
    /// Window frames most PTEs and residency updates name.
    hot: Vec<u64>,
    /// (due cycle, frame), at most one offered per cycle, earliest first; an offered
    /// response stays pending until the block takes it.
    pending: Vec<(u64, u64)>,
    /// The fetch port is ready one cycle in `fetch_ready_1_in`; with 0, one cycle in
    /// two except for 300-cycle stalls every 1000 (the fetch queue fills).
    fetch_ready_1_in: u64,
}

impl Stim {
    fn new(seed: u64, p: PtParams, fetch_ready_1_in: u64) -> Self {
        let mut rng = Rng::new(seed);
        let hot = (0..p.window_frames.min(40))
            .map(|_| p.window_base + rng.below(p.window_frames))
            .collect();
        Stim {
            rng,
            p,
            // Three more pages than entries: the registry fills and refuses.
            pt_pages: (0..p.registry as u64 + 3).map(|k| 0x40 + k).collect(),
            hot,
            pending: Vec::new(),
            fetch_ready_1_in,
        }
    }

    /// A frame: mostly hot, else anywhere in the window or just outside it.
    fn frame(&mut self) -> u64 {
        let p = self.p;
        match self.rng.below(8) {
            0 | 1 => p.window_base + self.rng.below(p.window_frames),
            2 => (p.window_base + p.window_frames + self.rng.below(4)) & ((1 << 40) - 1),
            3 if p.window_base > 0 => p.window_base - 1,
            _ => self.hot[self.rng.below(self.hot.len() as u64) as usize],
        }
    }

    fn pte(&mut self) -> u64 {
        let frame = self.frame();
        let r = &mut self.rng;
        let flags = 0x62 | (r.next_u64() & 0x8000_0000_0000_0f1c);
        match r.below(10) {
            0 => r.next_u64(),               // garbage
            1 => frame << 12 | flags,        // not present
            2 => frame << 12 | flags | 0x81, // large page
            _ => frame << 12 | flags | 1,    // present leaf
        }
    }

    /// `fetch`: the fetch port this cycle (a register output); `next_pte`: the PTE
    /// of the held line the block decides next cycle, if any (a residency update
    /// sometimes names it, or PTE 0 of the line observed this cycle).
    fn inputs(&mut self, cycle: u64, fetch: Option<u64>, next_pte: Option<u64>) -> PtIn {
        let mut i = PtIn {
            out_ready: self.rng.below(5) != 0,
            fetch_ready: match self.fetch_ready_1_in {
                0 => cycle % 1000 < 700 && self.rng.below(2) == 0,
                n => self.rng.below(n) == 0,
            },
            ..Default::default()
        };
        if let (Some(frame), true) = (fetch, i.fetch_ready) {
            // Taken this cycle: answered later.
            let lat = 1 + self.rng.below(2 * self.p.timer);
            self.pending.push((cycle + lat, frame));
        }
        self.pending.sort_unstable();
        if self.pending.first().is_some_and(|&(due, _)| due <= cycle) {
            i.rsp_valid = true;
            i.rsp_frame = self.pending[0].1;
        } else if self.rng.below(200) == 0 {
            // A stray, offered once (taken or not).
            i.rsp_valid = true;
            i.rsp_frame = self.p.window_base + self.rng.below(self.p.window_frames + 4);
        }
        if self.rng.below(16) == 0 {
            i.reg_valid = true;
            i.reg_set = self.rng.below(4) != 0;
            i.reg_frame = self.pt_pages[self.rng.below(self.pt_pages.len() as u64) as usize];
        }
        if self.rng.below(3) == 0 {
            i.obs_valid = true;
            let page = if self.rng.below(4) != 0 {
                self.pt_pages[self.rng.below(self.pt_pages.len() as u64) as usize]
            } else {
                self.rng.next_u64() & ((1 << 40) - 1)
            };
            i.obs_addr = (page << 6 | self.rng.below(64)) & ADDR_MASK;
            i.obs_side = self.rng.next_u64(); // the bits above PT_SIDE_BITS are dropped
            for k in 0..8 {
                i.obs_data[k] = self.pte();
            }
        }
        if self.rng.below(6) == 0 {
            // Mostly evictions, so fetches keep happening; some on the frame decided
            // next cycle (the RTL read it this cycle: the write is forwarded).
            i.res_valid = true;
            i.res_set = self.rng.below(4) == 0;
            i.res_frame = match (next_pte, self.rng.below(8)) {
                (Some(pte), 0..=2) => pte_frame(pte),
                (None, 0..=2) if i.obs_valid => pte_frame(i.obs_data[0]),
                _ => self.frame(),
            };
        }
        i
    }

    /// After the cycle: a due response the block took leaves the pending list.
    fn taken(&mut self, cycle: u64, i: &PtIn, o: &PtOut) {
        if i.rsp_valid
            && o.rsp_ready
            && self
                .pending
                .first()
                .is_some_and(|&(due, f)| due <= cycle && f == i.rsp_frame)
        {
            self.pending.remove(0);
        }
    }
}

/// What a run exercised beyond the counters.
#[derive(Debug, Default)]
struct Cover {
    /// Present leaf PTEs in the window decided resident / not resident.
    hits: u64,
    misses: u64,
    /// Decisions on a frame the previous cycle wrote (the RTL's forwarding path).
    forwarded: u64,
    /// Responses offered and held off by a residency update.
    held_off: u64,
}

/// Runs `cycles` cycles; the first diverging cycle and what differed, or the final
/// counts and coverage.
fn lockstep(
    p: PtParams,
    fetch_ready_1_in: u64,
    seed: u64,
    cycles: u64,
    flip: Option<u64>,
) -> Result<([u16; 7], Cover), (u64, String)> {
    let mut uut = Rtl::new(&p);
    uut.connect_all();
    uut.clock.next = Clock { clk: false };
    settle(&mut uut);
    let mut model = Planted {
        model: Model::new(p, COMPLETION_TIMEOUT).unwrap(),
        flip,
    };
    let mut stim = Stim::new(seed, p, fetch_ready_1_in);
    let mut cover = Cover::default();
    let mut last_write: Option<u64> = None;
    for cycle in 0..cycles {
        let pte = model.model.scan_pte();
        let i = stim.inputs(cycle, model.model.fetch(), model.model.scan_next());
        if let Some(pte) = pte.filter(|&e| pte_present_leaf(e)) {
            let f = pte_frame(pte);
            if f.wrapping_sub(p.window_base) & ((1 << 40) - 1) < p.window_frames {
                if model.model.is_resident(f) {
                    cover.hits += 1;
                } else {
                    cover.misses += 1;
                }
                if last_write == Some(f) {
                    cover.forwarded += 1;
                }
            }
        }
        let want = model.step(cycle, &i);
        let got = rtl_step(&mut uut, &i);
        if got != want {
            return Err((
                cycle,
                format!("inputs {i:x?}\nmodel {want:x?}\nrtl   {got:x?}"),
            ));
        }
        stim.taken(cycle, &i, &want);
        cover.held_off += (i.rsp_valid && !want.rsp_ready) as u64;
        last_write = if i.res_valid {
            Some(i.res_frame)
        } else if i.rsp_valid {
            Some(i.rsp_frame)
        } else {
            None
        };
    }
    Ok((model.model.counts(), cover))
}

fn roomy() -> PtParams {
    PtParams {
        registry: 4,
        inflight: 4,
        timer: 30,
        window_base: 0x1234,
        window_frames: 64,
    }
}

fn tight() -> PtParams {
    PtParams {
        registry: 3,
        inflight: 2,
        timer: 6,
        window_base: 0xff_ffff_ffe0, // the window ends at the top frame
        window_frames: 32,
    }
}

fn check(p: PtParams, fetch_ready_1_in: u64, seed: u64, cycles: u64) {
    let (counts, cover) = lockstep(p, fetch_ready_1_in, seed, cycles, None)
        .unwrap_or_else(|(c, m)| panic!("cycle {c}: {m}"));
    // Every path was exercised: done, late, timeout, table_full, refused, bypass, stray,
    // residency hits and misses, forwarded writes, responses held off.
    eprintln!("{p:?}: counts {counts:?}, {cover:?}");
    assert!(counts.iter().all(|&c| c >= 20), "{p:?}: counts {counts:?}");
    assert!(
        cover.hits >= 50 && cover.misses >= 50 && cover.forwarded >= 20 && cover.held_off >= 50,
        "{p:?}: {cover:?}"
    );
}

#[test]
fn rtl_matches_model_roomy_table() {
    check(roomy(), 1, 1, 20_000);
}

#[test]
fn rtl_matches_model_tight_table_and_window_at_the_top() {
    check(tight(), 2, 7, 20_000);
}

/// A table of eight and a fetch port with long stalls: the fetch queue fills.
#[test]
fn rtl_matches_model_with_a_slow_fetch_port() {
    let p = PtParams {
        registry: 5,
        inflight: 8,
        timer: 25,
        window_base: 0,
        window_frames: 32,
    };
    check(p, 0, 11, 20_000);
}

/// A window of 4096 frames (a 4096-word residency RAM) and all sixteen registry
/// entries.
#[test]
fn rtl_matches_model_large_window_full_registry() {
    let p = PtParams {
        registry: MAX_PT_REGISTRY,
        inflight: 4,
        timer: 60,
        window_base: 0x12_3000,
        window_frames: 4096,
    };
    check(p, 2, 5, 20_000);
}

/// A window that is not a power of two (the RAM is rounded up to 8192 words).
#[test]
fn rtl_matches_model_odd_window() {
    let p = PtParams {
        registry: 12,
        inflight: 3,
        timer: 12,
        window_base: 0x7_0001,
        window_frames: 5000,
    };
    check(p, 2, 13, 20_000);
}

#[test]
fn a_planted_divergence_is_caught_at_its_cycle() {
    // Flip the model's out_data at a cycle; caught exactly there.
    let (cycle, msg) = lockstep(roomy(), 1, 3, 2_000, Some(1234))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(cycle, 1234, "{msg}");
}
