//! Remote memory and prefetch on the trace-driven system: readahead on a
//! sequential trace, trend detection on a strided one, no help on a random one;
//! every run checks that PTEs and residency agree, and is deterministic.

mod common;

use common::*;

use linewatch_model::config::RemoteConfig;
use linewatch_model::trace::{Access, Synth, SynthKind, SynthSpec, TraceResult, TraceSource};
use linewatch_testbench::lockstep::{Checked, ModelSide, Side};
use linewatch_testbench::system::{replay, RemoteReport, SimReport, System, Workload};

struct VecSource(Vec<Access>, usize);

impl TraceSource for VecSource {
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        self.1 += 1;
        Ok(self.0.get(self.1 - 1).copied())
    }
}

fn trace(kind: SynthKind, count: u64, footprint: u64, size: u32, stride: u64) -> Vec<Access> {
    let mut s = SynthSpec::new(kind, count, 7);
    s.base = 0x7f00_0000_0000;
    s.footprint = footprint;
    s.size = size;
    s.stride = stride;
    Synth::new(s).unwrap().collect()
}

/// Every page remote, 8-page prefetches.
fn remote() -> RemoteConfig {
    RemoteConfig {
        local_fraction: 0.0,
        ..RemoteConfig::default()
    }
}

fn run(t: &[Access], r: Option<&RemoteConfig>, policy: &str) -> SimReport {
    let g = config("sim.toml").geometry();
    run_on(ModelSide(linewatch_model::Device::new(&g)), t, r, policy).0
}

fn run_on<S: Side>(
    side: S,
    t: &[Access],
    r: Option<&RemoteConfig>,
    policy: &str,
) -> (SimReport, S) {
    let c = config("sim.toml");
    let g = c.geometry();
    let mut sys = System::new(side, &g, &c.host).unwrap();
    if let Some(r) = r {
        sys.set_remote(r, linewatch_sw::prefetch::by_name(policy, 8).unwrap())
            .unwrap();
    }
    let src: Box<dyn TraceSource> = Box::new(VecSource(t.to_vec(), 0));
    let mut w = Workload::new(vec![("t".into(), src)], 1).unwrap();
    replay(&mut sys, &mut w, None, &mut |_| {}).unwrap();
    sys.mmu().check_residency().unwrap();
    sys.finish().unwrap()
}

fn rem(r: &SimReport) -> &RemoteReport {
    r.remote.as_ref().unwrap()
}

#[test]
fn readahead_follows_a_sequential_trace() {
    let t = trace(SynthKind::Sequential, 100_000, 64 << 20, 64, 64);
    let pages = (100_000u64 * 64).div_ceil(4096);
    let none = run(&t, Some(&remote()), "none");
    let ra = run(&t, Some(&remote()), "readahead");
    assert_eq!(rem(&none).faults, pages);
    assert_eq!(rem(&none).prefetch_issued, 0);
    let r = rem(&ra);
    assert!(r.faults * 20 < pages, "{r:?}");
    assert!(r.accuracy() > 0.95, "{r:?}");
    assert!(r.coverage() > 0.95, "{r:?}");
    assert_eq!(r.prefetch_useful + r.faults, pages, "{r:?}");
    assert!(ra.amat_cycles() < none.amat_cycles());
    assert!(ra.sim_cycles < none.sim_cycles);
}

#[test]
fn trend_finds_a_stride_that_readahead_misses() {
    // Five pages apart, beyond eight-page readahead's useful reach most of the time.
    let t = trace(SynthKind::Strided, 4000, 1 << 30, 8, 5 * 4096);
    let none = run(&t, Some(&remote()), "none");
    let ra = run(&t, Some(&remote()), "readahead");
    let tr = run(&t, Some(&remote()), "trend");
    let n = rem(&none).faults;
    assert_eq!(n, 4000);
    let r = rem(&tr);
    assert!(r.faults * 20 < n, "{r:?}");
    assert!(r.accuracy() > 0.95, "{r:?}");
    assert!(tr.amat_cycles() < none.amat_cycles());
    let a = rem(&ra);
    assert!(a.accuracy() < 0.3, "{a:?}");
    assert!(a.wasted_bytes() > r.wasted_bytes() * 10, "{a:?} {r:?}");
}

#[test]
fn prefetch_does_not_help_a_random_trace() {
    // 16 GiB of address space, 10 000 touches: neighbours are rarely used.
    let t = trace(SynthKind::Uniform, 10_000, 16 << 30, 8, 64);
    let none = run(&t, Some(&remote()), "none");
    let n = rem(&none).faults;
    for p in ["readahead", "trend"] {
        let r = run(&t, Some(&remote()), p);
        let x = rem(&r);
        assert!(x.faults * 100 > n * 95, "{p}: {x:?} vs {n} faults");
        assert!(x.accuracy() < 0.05, "{p}: {x:?}");
    }
    let ra = run(&t, Some(&remote()), "readahead");
    assert!(rem(&ra).wasted_bytes() > 1 << 20);
}

#[test]
fn late_prefetches_wait_for_the_rest_of_their_fetch() {
    // A slow link: the stream catches up with its own prefetches.
    let slow = RemoteConfig {
        bandwidth: 0.1,
        ..remote()
    };
    let t = trace(SynthKind::Sequential, 50_000, 64 << 20, 64, 64);
    let r = run(&t, Some(&slow), "readahead");
    let x = rem(&r);
    assert!(x.late > 0 && x.late <= x.prefetch_useful, "{x:?}");
    assert!(
        x.wait_cycles >= (x.faults + x.late) * slow.fault_cycles,
        "{x:?}"
    );
    // 40 960 cycles a page on this link, and every fetch occupies it.
    assert_eq!(
        x.link_busy,
        (x.faults + x.prefetch_issued) * 40_960,
        "{x:?}"
    );
    // The run cannot be shorter than the link's work for the pages it used.
    assert!(
        r.sim_cycles >= (x.faults + x.prefetch_useful) * 40_960,
        "{x:?}"
    );
}

#[test]
fn runs_are_deterministic_under_the_seed() {
    let t = trace(SynthKind::Uniform, 5000, 256 << 20, 8, 64);
    let half = RemoteConfig {
        local_fraction: 0.5,
        ..RemoteConfig::default()
    };
    let a = run(&t, Some(&half), "trend");
    let b = run(&t, Some(&half), "trend");
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let other = RemoteConfig {
        seed: 2,
        ..half.clone()
    };
    let c = run(&t, Some(&other), "trend");
    assert_ne!(rem(&a).faults, rem(&c).faults);
    // About half the touched pages are remote.
    let pages = a.mmu.pages_window;
    let f = rem(&a).faults + rem(&a).prefetch_useful;
    assert!(f * 10 > pages * 4 && f * 10 < pages * 6, "{f} of {pages}");
}

#[test]
fn all_local_remote_memory_changes_nothing() {
    let t = trace(SynthKind::Zipf, 20_000, 8 << 20, 8, 64);
    let base = run(&t, None, "none");
    assert!(base.remote.is_none());
    let local = RemoteConfig {
        local_fraction: 1.0,
        ..RemoteConfig::default()
    };
    let mut r = run(&t, Some(&local), "readahead");
    assert_eq!(rem(&r).faults + rem(&r).prefetch_issued, 0);
    r.remote = None;
    assert_eq!(format!("{base:?}"), format!("{r:?}"));
}

#[test]
fn model_and_rtl_agree_under_remote_faults_and_the_dirty_set_stays_exact() {
    let t = trace(SynthKind::Strided, 3000, 1 << 30, 8, 5 * 4096);
    let g = config("sim.toml").geometry();
    let dev =
        linewatch_testbench::rtl::build(&g, &linewatch_testbench::rtl::default_cache()).unwrap();
    let pair = Checked::new(
        ModelSide(linewatch_model::Device::new(&g)),
        linewatch_testbench::rtl::RtlSide::new(dev),
    );
    let (r, pair) = run_on(pair, &t, Some(&remote()), "trend");
    assert!(pair.mismatch().is_none(), "{:?}", pair.mismatch());
    assert!(rem(&r).prefetch_useful > 2000, "{:?}", rem(&r));
    // Every written line of the trace, and only those, is dirty at the end.
    let written: std::collections::HashSet<u64> = t
        .iter()
        .filter(|a| a.kind.writes())
        .map(|a| a.addr / 64)
        .collect();
    assert_eq!(r.dirty_lines, written.len() as u64);
}

/// The device's page-table trigger (`configs/sim-remote.toml`'s `[device.pt]`)
/// with the timer set to `timer` device cycles; the trace's pages premapped
/// (`map_around` as given) and every page remote.
fn pt_config(timer: u64) -> linewatch_model::Config {
    let mut c = config("sim-remote.toml");
    c.device.pt.as_mut().unwrap().timer = timer;
    c
}

fn run_pt<S: Side>(side: S, t: &[Access], policy: &str, timer: u64, around: u64) -> (SimReport, S) {
    let c = pt_config(timer);
    let g = c.device.geometry().unwrap();
    let r = RemoteConfig {
        map_around: around,
        ..remote()
    };
    let mut sys = System::new(side, &g, &c.host).unwrap();
    sys.set_remote(&r, linewatch_sw::prefetch::by_name(policy, 8).unwrap())
        .unwrap();
    let mut src: Box<dyn TraceSource> = Box::new(VecSource(t.to_vec(), 0));
    let pages = linewatch_testbench::system::pages_of(src.as_mut()).unwrap();
    let p = sys.premap(&pages).unwrap();
    assert_eq!(p.remote_pages, p.pages, "{p:?}");
    let src: Box<dyn TraceSource> = Box::new(VecSource(t.to_vec(), 0));
    let mut w = Workload::new(vec![("t".into(), src)], 1).unwrap();
    replay(&mut sys, &mut w, None, &mut |_| {}).unwrap();
    sys.mmu().check_residency().unwrap();
    sys.finish().unwrap()
}

fn pt_model(t: &[Access], policy: &str, timer: u64, around: u64) -> SimReport {
    let g = pt_config(timer).device.geometry().unwrap();
    run_pt(
        ModelSide(linewatch_model::Device::new(&g)),
        t,
        policy,
        timer,
        around,
    )
    .0
}

#[test]
fn the_page_table_trigger_turns_faults_into_device_fetches() {
    // 1 MiB touched in order: 256 pages in 32 page-table lines of one leaf table.
    let t = trace(SynthKind::Sequential, 16_384, 1 << 20, 64, 64);
    let none = pt_model(&t, "none", 8192, 1);
    let pt = pt_model(&t, "pt", 8192, 1);
    assert_eq!(rem(&none).faults, 256);
    let r = rem(&pt);
    // Eight fetches a line finish within the timer: no fault at all, every page
    // fetched once by the device and used; the first page of each line waited.
    assert_eq!(
        (r.faults, r.prefetch_issued, r.prefetch_useful),
        (0, 256, 256),
        "{r:?}"
    );
    assert!(r.late >= 32 && r.late < 64, "{r:?}");
    assert!(
        pt.amat_cycles() < none.amat_cycles(),
        "{} vs {}",
        pt.amat_cycles(),
        none.amat_cycles()
    );
    // The registry command went through the driver.
    assert!(pt.link.commands >= 1 && none.link.commands < pt.link.commands);
}

#[test]
fn a_timer_shorter_than_the_fetch_sends_the_host_to_its_fault_handler() {
    // 3000 device cycles of link latency against a 500-cycle timer: every PTE of a
    // line comes back not present, so every first touch faults; the handler waits
    // for the device's fetch, already on its way (late), instead of fetching again.
    let t = trace(SynthKind::Sequential, 16_384, 1 << 20, 64, 64);
    let r = pt_model(&t, "pt", 500, 1);
    let x = rem(&r);
    assert_eq!(
        (x.faults, x.prefetch_issued, x.prefetch_useful),
        (0, 256, 256),
        "{x:?}"
    );
    assert_eq!(x.late, 256, "{x:?}");
    assert!(
        x.wait_cycles >= 256 * RemoteConfig::default().fault_cycles,
        "{x:?}"
    );
    let ok = pt_model(&t, "pt", 8192, 1);
    assert!(rem(&ok).wait_cycles < x.wait_cycles, "{:?}", rem(&ok));
    assert!(ok.amat_cycles() < r.amat_cycles());
}

#[test]
fn mapped_but_untouched_pages_cost_the_trigger_accuracy() {
    // Every other page touched; with aligned groups of 8 mapped, the trigger fetches
    // the untouched half too.
    let t = trace(SynthKind::Strided, 2048, 1 << 30, 8, 2 * 4096);
    let tight = pt_model(&t, "pt", 8192, 1);
    let around = pt_model(&t, "pt", 8192, 8);
    assert_eq!(rem(&tight).accuracy(), 1.0, "{:?}", rem(&tight));
    let a = rem(&around);
    assert!((a.accuracy() - 0.5).abs() < 0.05, "{a:?}");
    assert_eq!(a.faults, 0, "{a:?}");
    assert!(a.wasted_bytes() >= 1000 * 4096, "{a:?}");
}

#[test]
fn pt_needs_the_device_trigger() {
    let c = config("sim.toml");
    let g = c.geometry();
    let mut sys = System::new(ModelSide(linewatch_model::Device::new(&g)), &g, &c.host).unwrap();
    let e = sys
        .set_remote(&remote(), linewatch_sw::prefetch::by_name("pt", 8).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("[device.pt]") && !e.contains('\n'), "{e}");
}

#[test]
fn model_and_rtl_agree_with_the_page_table_trigger() {
    // Timer 4096: a line's first fetches answer in time, the later ones time out, so
    // the walk sees both kinds of PTE and the handler both waits and commands.
    let t = trace(SynthKind::Sequential, 8192, 1 << 20, 64, 64);
    let g = pt_config(4096).device.geometry().unwrap();
    let dev =
        linewatch_testbench::rtl::build(&g, &linewatch_testbench::rtl::default_cache()).unwrap();
    let pair = Checked::new(
        ModelSide(linewatch_model::Device::new(&g)),
        linewatch_testbench::rtl::RtlSide::new(dev),
    );
    let (r, pair) = run_pt(pair, &t, "pt", 4096, 1);
    assert!(pair.mismatch().is_none(), "{:?}", pair.mismatch());
    let x = rem(&r);
    assert_eq!(x.prefetch_useful + x.faults, 128, "{x:?}");
    assert!(x.prefetch_issued >= 100, "{x:?}");
    // Both outcomes happened: pages found present (not late) and pages whose PTE
    // came back cleared (late, the handler waited).
    assert!(x.late > 16 && x.late < x.prefetch_useful, "{x:?}");
    let model = pt_model(&t, "pt", 4096, 1);
    assert_eq!(format!("{:?}", model.remote), format!("{:?}", r.remote));
}
