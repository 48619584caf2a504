//! The dirty bitmap's RTL (`linewatch_rtl::dirty_bitmap`, in rust-hdl's own
//! simulator) and its model twin in lockstep under seeded random stimulus: sets of a
//! few hot lines, swaps, and reads-and-clears of a few words at every level (and
//! of a level the configuration lacks), so a word is read again one and two reads
//! after its clear, with and without a swap between. Every output is compared
//! every cycle: the harvest port's ready and error, and its answer.

use linewatch_model::config::{Config, Geometry};
use linewatch_model::device::dirty_bitmap::DirtyBitmap as Model;
use linewatch_model::protocol::{ErrCode, HV_READ_CLEAR, HV_SWAP};
use linewatch_model::trace::rng::Rng;
use linewatch_rtl::dirty_bitmap::DirtyBitmap as Rtl;
use rust_hdl::prelude::*;

/// 16384 lines, three levels of fanout 16: 1024, 64 and 4 words.
fn geometry() -> Geometry {
    let t = "[device]\nwindow_base = 0\nwindow_size = 0x100000\nsf_sets = 4\nsf_ways = 1\nsnoop_slots = 1\nread_queue = 1\nbitmap_levels = 3\nbitmap_fanout = 16\n";
    Config::parse(t, "t").unwrap().geometry()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct In {
    set: Option<u64>,
    /// (op, level, index) offered on the harvest port.
    hv: Option<(u64, u64, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Out {
    hv_ready: bool,
    hv_err: bool,
    rsp: (bool, u64),
}

fn settle(uut: &mut Rtl) {
    assert!(simulate(uut, 200), "RTL did not settle");
}

/// The RTL's outputs under `i` (before the edge), then the clock edge.
fn rtl_step(uut: &mut Rtl, i: &In) -> Out {
    uut.set_valid.next = i.set.is_some();
    uut.set_idx.next = i.set.unwrap_or(0).into();
    let (op, level, index) = i.hv.unwrap_or((0, 0, 0));
    uut.hv_valid.next = i.hv.is_some();
    uut.hv_op.next = op != 0;
    uut.hv_level.next = level.into();
    uut.hv_index.next = index.into();
    settle(uut);
    let o = Out {
        hv_ready: uut.hv_ready.val(),
        hv_err: uut.hv_err.val(),
        rsp: (uut.rsp_valid.val(), uut.rsp_data.val().to_u64()),
    };
    uut.clock.next = Clock { clk: true };
    settle(uut);
    uut.clock.next = Clock { clk: false };
    settle(uut);
    o
}

/// The model's outputs under `i`, then its edge; `flip` plants a wrong answer bit.
fn model_step(m: &mut Model, i: &In, flip: bool) -> Out {
    let op = i.hv.map_or(HV_SWAP as u64, |h| h.0);
    let ready = m.ready(op);
    let mut rsp = m.response();
    if flip {
        rsp.1 ^= 1;
    }
    let fired = i.hv.filter(|_| ready);
    let err = m.tick(i.set, fired);
    Out {
        hv_ready: ready,
        hv_err: err == ErrCode::BadHarvest,
        rsp,
    }
}

/// Reads of a word (level, index) after a clear of the same word, by distance in
/// fired reads: the next read, the one after with no swap between, and the one
/// after with a swap between (the other bank).
#[derive(Debug, Default)]
struct Cover {
    next: u64,
    second: u64,
    second_swapped: u64,
    answered_nonzero: u64,
    held_off: u64,
}

fn lockstep(seed: u64, cycles: u64, flip: Option<u64>) -> Result<Cover, (u64, String)> {
    let g = geometry();
    let mut uut = Rtl::new(&g);
    uut.connect_all();
    uut.clock.next = Clock { clk: false };
    settle(&mut uut);
    let mut model = Model::new(&g);
    let mut rng = Rng::new(seed);
    let mut cover = Cover::default();
    // The last two fired harvest ops, newest first: Some((op, level, index)).
    let mut fired: [Option<(u64, u64, u64)>; 2] = [None; 2];
    for cycle in 0..cycles {
        // Sets in bursts: a swap blocks reads while sets for the retired bank are in
        // flight, so the quiet phases let a read, a swap and a read go back to back.
        let set_1_in = if cycle / 500 % 2 == 0 { 2 } else { 16 };
        let set = (rng.below(set_1_in) == 0).then(|| rng.below(96));
        let hv = (rng.below(4) != 0).then(|| {
            if rng.below(6) == 0 {
                (HV_SWAP as u64, 0, 0)
            } else {
                let level = if rng.below(40) == 0 { 3 } else { rng.below(3) };
                (HV_READ_CLEAR as u64, level, rng.below(3))
            }
        });
        let i = In { set, hv };
        let want = model_step(&mut model, &i, flip == Some(cycle));
        let got = rtl_step(&mut uut, &i);
        if got != want {
            return Err((
                cycle,
                format!("inputs {i:x?}\nmodel {want:x?}\nrtl   {got:x?}"),
            ));
        }
        cover.answered_nonzero += (want.rsp.0 && want.rsp.1 != 0) as u64;
        cover.held_off += (hv.is_some() && !want.hv_ready) as u64;
        let now = hv.filter(|_| want.hv_ready);
        if let Some((op, level, index)) = now.filter(|h| h.0 == HV_READ_CLEAR as u64) {
            let same = |h: Option<(u64, u64, u64)>| h == Some((op, level, index));
            let swap = |h: Option<(u64, u64, u64)>| h.is_some_and(|h| h.0 == HV_SWAP as u64);
            if same(fired[0]) {
                cover.next += 1;
            } else if same(fired[1]) && fired[0].is_none() {
                cover.second += 1;
            } else if same(fired[1]) && swap(fired[0]) {
                cover.second_swapped += 1;
            }
        }
        fired = [now, fired[0]];
    }
    Ok(cover)
}

#[test]
fn rtl_matches_model_with_rereads_after_clears() {
    for seed in 1..=3 {
        let cover = lockstep(seed, 20_000, None).unwrap_or_else(|(c, m)| panic!("cycle {c}: {m}"));
        eprintln!("seed {seed}: {cover:?}");
        assert!(
            cover.next >= 50
                && cover.second >= 50
                && cover.second_swapped >= 20
                && cover.answered_nonzero >= 200
                && cover.held_off >= 200,
            "seed {seed}: {cover:?}"
        );
    }
}

#[test]
fn a_planted_divergence_is_caught_at_its_cycle() {
    let (cycle, msg) = lockstep(4, 3_000, Some(1234)).map(|_| ()).unwrap_err();
    assert_eq!(cycle, 1234, "{msg}");
}
