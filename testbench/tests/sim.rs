//! Trace-driven system: after the end-of-run flush the harvested dirty set equals
//! the set of lines the trace wrote, counted here independently of the simulator;
//! the model and the Verilated RTL give identical device statistics.

mod common;

use common::*;

use linewatch_model::trace::{Access, Kind, Synth, SynthKind, SynthSpec, TraceResult, TraceSource};
use linewatch_model::{Config, Device, Inputs, Outputs};
use linewatch_testbench::lockstep::{Checked, ModelSide, Side};
use linewatch_testbench::system::{replay, SimReport, System, Workload};
use std::collections::HashSet;

/// A trace held in memory.
struct VecSource(std::vec::IntoIter<Access>);

impl TraceSource for VecSource {
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        Ok(self.0.next())
    }
}

/// configs/default.toml with small host caches (`pressure`) or roomy ones.
fn host_config(pressure: bool, cores: u64) -> Config {
    let mut c = config("default.toml");
    c.host.cores = cores;
    if pressure {
        small_caches(&mut c);
    }
    c
}

fn synth(kind: SynthKind, count: u64, seed: u64, base: u64, footprint: u64) -> Vec<Access> {
    let mut s = SynthSpec::new(kind, count, seed);
    s.base = base;
    s.footprint = footprint;
    Synth::new(s).unwrap().collect()
}

/// Lines and 4 KiB pages the traces write, from the traces alone.
fn written(traces: &[Vec<Access>]) -> (u64, u64) {
    let mut lines = HashSet::new();
    for t in traces {
        for a in t.iter().filter(|a| a.kind.writes()) {
            let end = a.addr + (a.size as u64).max(1);
            for l in a.addr / 64..end.div_ceil(64) {
                lines.insert(l);
            }
        }
    }
    let pages: HashSet<u64> = lines.iter().map(|l| l / 64).collect();
    (lines.len() as u64, pages.len() as u64)
}

fn run_on<S: Side>(
    side: S,
    c: &Config,
    traces: &[Vec<Access>],
    epoch: Option<u64>,
) -> (SimReport, S) {
    run_with(side, c, traces, epoch, u64::MAX)
}

/// `run_on`, draining the event ring every `events_every` accesses too.
fn run_with<S: Side>(
    side: S,
    c: &Config,
    traces: &[Vec<Access>],
    epoch: Option<u64>,
    events_every: u64,
) -> (SimReport, S) {
    let g = c.geometry();
    let mut sys = System::new(side, &g, &c.host).unwrap();
    sys.events_every = events_every;
    let sources: Vec<(String, Box<dyn TraceSource>)> = traces
        .iter()
        .enumerate()
        .map(|(k, t)| {
            (
                format!("trace{k}"),
                Box::new(VecSource(t.clone().into_iter())) as Box<dyn TraceSource>,
            )
        })
        .collect();
    let mut w = Workload::new(sources, c.host.cores as usize).unwrap();
    replay(&mut sys, &mut w, epoch, &mut |_| {}).unwrap();
    // MESI's single-writer rule and inclusion, on every cached line (release builds
    // skip the per-access debug checks).
    sys.hierarchy().check_all().unwrap();
    sys.finish().unwrap()
}

fn run(c: &Config, traces: &[Vec<Access>]) -> SimReport {
    run_on(ModelSide(Device::new(&c.geometry())), c, traces, None).0
}

#[test]
fn dirty_set_is_exact_with_and_without_cache_pressure() {
    let t = vec![synth(
        SynthKind::Zipf,
        300_000,
        7,
        0x7f00_0000_0000,
        4 << 20,
    )];
    let (lines, pages) = written(&t);
    for pressure in [false, true] {
        let r = run(&host_config(pressure, 1), &t);
        assert_eq!(
            (r.dirty_lines, r.dirty_pages),
            (lines, pages),
            "pressure {pressure}"
        );
        assert_eq!(r.dirty_bytes_line(), lines * 64);
        assert!(r.dirty_pt_lines > 0, "the OS wrote page tables");
        assert!(r.link.messages[4] > 0, "MemWr expected");
        assert_eq!(r.link.err_count, 0);
        if pressure {
            assert!(
                r.host.writebacks > 1000,
                "pressure should evict dirty lines: {}",
                r.host.writebacks
            );
        }
    }
}

#[test]
fn lines_only_read_are_not_dirty_even_when_owned() {
    // Read 512 lines (the snoop filter holds 1024), then write every 16th: only
    // those are dirty.
    let base = 0x5555_0000_0000u64;
    let mut t: Vec<Access> = (0..512)
        .map(|l| Access::new(Kind::Load, base + l * 64, 8))
        .collect();
    t.extend(
        (0..512)
            .step_by(16)
            .map(|l| Access::new(Kind::Store, base + l * 64 + 8, 8)),
    );
    for grant in ["exclusive", "shared"] {
        let mut c = host_config(false, 1);
        c.host.read_grant = grant.into();
        let r = run(&c, &[t.clone()]);
        assert_eq!((r.dirty_lines, r.dirty_pages), (32, 8), "{grant}");
        let (rd, rdd, inv) = (r.link.messages[0], r.link.messages[1], r.link.messages[2]);
        if grant == "exclusive" {
            assert!(rdd >= 512, "loads ask for ownership: MemRdData {rdd}");
        } else {
            assert!(rd >= 512 && inv >= 32, "MemRd {rd}, MemInv {inv}");
        }
    }
}

#[test]
fn several_cores_sharing_pages_stay_exact() {
    let base = 0x6000_0000u64;
    let traces = vec![
        synth(SynthKind::Uniform, 60_000, 1, base, 1 << 20),
        synth(SynthKind::Zipf, 60_000, 2, base, 1 << 20),
        synth(
            SynthKind::Sequential,
            60_000,
            3,
            base + (512 << 10),
            1 << 20,
        ),
        synth(SynthKind::Strided, 60_000, 4, base, 2 << 20),
    ];
    let (lines, pages) = written(&traces);
    for pressure in [false, true] {
        let r = run(&host_config(pressure, 4), &traces);
        assert_eq!(
            (r.dirty_lines, r.dirty_pages),
            (lines, pages),
            "pressure {pressure}"
        );
        assert_eq!(r.accesses, 240_000);
    }
}

#[test]
fn local_dram_takes_the_first_touched_pages() {
    // 40 pages written front to back; the first 16 touched land in local DRAM.
    let base = 0x10_0000u64;
    let t: Vec<Access> = (0..40 * 64)
        .map(|l| Access::new(Kind::Store, base + l * 64, 8))
        .collect();
    let mut c = host_config(false, 1);
    c.host.local_dram = 16 * 4096;
    let r = run(&c, &[t]);
    assert_eq!((r.mmu.pages_local, r.mmu.pages_window), (16, 24));
    assert_eq!((r.dirty_lines, r.dirty_pages), (24 * 64, 24));
}

#[test]
fn epochs_partition_the_writebacks_and_the_total_stays_exact() {
    let t = vec![synth(SynthKind::Uniform, 200_000, 9, 0x4000_0000, 2 << 20)];
    let (lines, pages) = written(&t);
    let c = host_config(true, 1);
    let (r, _) = run_on(ModelSide(Device::new(&c.geometry())), &c, &t, Some(50_000));
    assert_eq!(r.epochs.len(), 5, "four epochs and the final harvest");
    assert_eq!(r.link.harvests, 5);
    assert_eq!(r.epochs[3].accesses, 200_000);
    let sum: u64 = r.epochs.iter().map(|e| e.dirty_lines).sum();
    assert!(
        sum >= lines,
        "each epoch reports what was written back in it"
    );
    assert_eq!((r.dirty_lines, r.dirty_pages), (lines, pages));
}

#[test]
fn a_run_is_a_function_of_its_inputs() {
    let t = vec![synth(SynthKind::Zipf, 100_000, 5, 0x1234_0000, 1 << 20)];
    let c = host_config(true, 1);
    let a = format!("{:?}", run(&c, &t));
    let b = format!("{:?}", run(&c, &t));
    assert_eq!(a, b);
}

#[test]
fn bad_workloads_are_one_line_errors() {
    let c = with_registers("ice40-small.toml");
    let g = c.geometry();
    // 256 KiB window: 64 frames cannot hold 100 pages.
    let t: Vec<Access> = (0..100)
        .map(|p| Access::new(Kind::Load, p * 4096, 8))
        .collect();
    let mut sys = System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap();
    let src: Box<dyn TraceSource> = Box::new(VecSource(t.into_iter()));
    let mut w = Workload::new(vec![("t".into(), src)], 1).unwrap();
    let e = replay(&mut sys, &mut w, None, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("window full"), "{e}");
    assert!(!e.contains('\n'));
    let two: Vec<(String, Box<dyn TraceSource>)> = (0..2)
        .map(|k| {
            (
                format!("t{k}"),
                Box::new(VecSource(vec![].into_iter())) as Box<dyn TraceSource>,
            )
        })
        .collect();
    let e = Workload::new(two, 3).err().unwrap().to_string();
    assert!(e.contains("2 traces for 3 cores"), "{e}");
}

/// A model that answers with a wrong NDR tag from cycle `at` on.
struct Planted {
    dev: Device,
    at: u64,
    now: u64,
}

impl Side for Planted {
    fn name(&self) -> &'static str {
        "planted"
    }
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs) {
        self.dev.cycle(i, o);
        if self.now >= self.at && o.ndr_valid {
            o.ndr_tag ^= 1;
        }
        self.now += 1;
    }
}

#[test]
fn checked_side_reports_the_first_diverging_cycle() {
    let c = with_registers("ice40-small.toml");
    let g = c.geometry();
    let t = vec![synth(SynthKind::Uniform, 5_000, 3, 0x8000, 64 << 10)];
    let pair = Checked::new(
        ModelSide(Device::new(&g)),
        Planted {
            dev: Device::new(&g),
            at: 300,
            now: 0,
        },
    );
    let (_, pair) = run_on(pair, &c, &t, None);
    let m = pair.mismatch().expect("planted divergence caught");
    // The first NDR at or after cycle 300 is where it shows.
    assert!(m.cycle >= 300, "{m}");
    assert!(m.diffs.iter().any(|d| d.port == "ndr_tag"), "{m}");
    let honest = Checked::new(ModelSide(Device::new(&g)), ModelSide(Device::new(&g)));
    let (_, honest) = run_on(honest, &c, &t, None);
    assert!(honest.mismatch().is_none());
}

#[test]
fn model_and_verilated_rtl_agree_on_a_trace() {
    let c = with_registers("ice40-small.toml");
    let g = c.geometry();
    let traces = vec![
        synth(SynthKind::Zipf, 20_000, 11, 0x9000_0000, 128 << 10),
        synth(SynthKind::Uniform, 20_000, 12, 0x9000_0000, 96 << 10),
    ];
    let mut c2 = c.clone();
    c2.host.cores = 2;
    let dev =
        linewatch_testbench::rtl::build(&g, &linewatch_testbench::rtl::default_cache()).unwrap();
    let (rtl, _) = run_on(
        linewatch_testbench::rtl::RtlSide::new(dev),
        &c2,
        &traces,
        Some(10_000),
    );
    let (model, _) = run_on(ModelSide(Device::new(&g)), &c2, &traces, Some(10_000));
    let (lines, pages) = written(&traces);
    assert_eq!((rtl.dirty_lines, rtl.dirty_pages), (lines, pages));
    assert!(
        rtl.link.messages.iter().filter(|&&n| n > 0).count() >= 8,
        "{:?}",
        rtl.link
    );
    // Everything the device did, cycle for cycle: same counts, same cycles, same epochs.
    assert_eq!(format!("{rtl:?}"), format!("{model:?}"));
}

#[test]
fn same_line_fast_path_changes_nothing() {
    // Lackey-like: runs of small accesses within a line, mixed kinds, some crossing
    // lines and pages, on two cores sharing data.
    let mut rng = 0x1234_5678u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut traces = [Vec::new(), Vec::new()];
    for t in traces.iter_mut() {
        let mut addr = 0x4000_0000u64;
        for _ in 0..60_000 {
            let r = next();
            if r % 8 == 0 {
                addr = 0x4000_0000 + (r >> 8) % (3 << 20);
            }
            let kind = Kind::ALL[(r >> 3) as usize % 4];
            let size = [1u32, 4, 8, 16][(r >> 5) as usize % 4];
            t.push(Access::new(kind, addr, size));
            addr += [0u64, 2, 4, 8][(r >> 7) as usize % 4];
        }
    }
    for (cores, pressure) in [(1, false), (2, true)] {
        let c = host_config(pressure, cores);
        let tr = &traces[..cores as usize];
        let g = c.geometry();
        let mut reports = Vec::new();
        for fast in [true, false] {
            let mut sys = System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap();
            sys.set_fast_path(fast);
            let sources: Vec<(String, Box<dyn TraceSource>)> = tr
                .iter()
                .map(|t| {
                    (
                        "t".into(),
                        Box::new(VecSource(t.clone().into_iter())) as Box<dyn TraceSource>,
                    )
                })
                .collect();
            let mut w = Workload::new(sources, cores as usize).unwrap();
            replay(&mut sys, &mut w, Some(20_000), &mut |_| {}).unwrap();
            reports.push(format!("{:?}", sys.finish().unwrap().0));
        }
        assert_eq!(reports[0], reports[1], "{cores} cores");
        let (lines, _) = written(tr);
        assert!(
            reports[0].contains(&format!("dirty_lines: {lines},")),
            "{}",
            reports[0]
        );
    }
}

#[test]
fn replacement_policies_keep_the_dirty_set_exact_and_random_follows_the_seed() {
    let t = vec![synth(SynthKind::Zipf, 100_000, 21, 0x2000_0000, 2 << 20)];
    let (lines, pages) = written(&t);
    let mut cycles = Vec::new();
    for (policy, seed) in [("fifo", 1), ("random", 1), ("random", 1), ("random", 2)] {
        let mut c = host_config(true, 1);
        c.host.seed = seed;
        for l in [&mut c.host.l1, &mut c.host.l2, &mut c.host.llc] {
            l.replacement = policy.into();
        }
        let r = run(&c, &t);
        assert_eq!((r.dirty_lines, r.dirty_pages), (lines, pages), "{policy}");
        cycles.push(r.sim_cycles);
    }
    assert_eq!(cycles[1], cycles[2], "same seed, same run");
    assert_ne!(cycles[2], cycles[3], "the seed drives the choices");
}

/// Random device geometries, host caches, core counts, read grants, replacement
/// policies and workloads: the dirty set stays exact, MESI holds, the device
/// reports no protocol error. The seed of each case is in its failure message.
#[test]
fn fuzz_random_systems_stay_exact() {
    use linewatch_model::trace::rng::Rng;
    let mut rng = Rng::new(2026);
    let mut deferred = 0;
    for case in 0..120 {
        let pick = |r: &mut Rng, v: &[u64]| v[r.below(v.len() as u64) as usize];
        let fanout = pick(&mut rng, &[8, 16, 32, 64]);
        let levels = pick(&mut rng, &[2, 3]);
        let text = format!(
            "[device]\nwindow_base = 0x40000000\nwindow_size = {}\nsf_sets = {}\nsf_ways = {}\nsnoop_slots = {}\nread_queue = {}\nbitmap_levels = {levels}\nbitmap_fanout = {fanout}\n\
             [host]\ncores = {}\nread_grant = \"{}\"\nclock_ratio = {}\ndevice_mem_latency = {}\nseed = {case}\n\
             [host.l1]\nsize = 2048\nways = 2\nlatency = 1\nreplacement = \"{}\"\n\
             [host.l2]\nsize = {}\nways = 4\nlatency = 5\nreplacement = \"{}\"\n\
             [host.llc]\nsize = {}\nways = 8\nlatency = 9\nreplacement = \"{}\"\n\
             [host.tlb]\nentries = {}\nways = 2\n",
            pick(&mut rng, &[1 << 20, 1 << 22, 1 << 24]).max(64 * fanout.pow(levels as u32)),
            pick(&mut rng, &[4, 16, 64, 256]),
            pick(&mut rng, &[1, 2, 4]),
            pick(&mut rng, &[1, 2, 8]),
            pick(&mut rng, &[1, 4, 16]),
            pick(&mut rng, &[1, 2, 3, 4]),
            ["exclusive", "shared"][rng.below(2) as usize],
            pick(&mut rng, &[1, 2, 3]),
            pick(&mut rng, &[1, 7, 40]),
            ["lru", "fifo", "random"][rng.below(3) as usize],
            pick(&mut rng, &[4096, 8192]),
            ["lru", "fifo", "random"][rng.below(3) as usize],
            pick(&mut rng, &[16384, 65536]),
            ["lru", "fifo", "random"][rng.below(3) as usize],
            pick(&mut rng, &[4, 16, 64]),
        );
        let c = Config::parse(&text, &format!("case{case}")).unwrap();
        let kinds = [
            SynthKind::Uniform,
            SynthKind::Zipf,
            SynthKind::Sequential,
            SynthKind::Strided,
        ];
        let traces: Vec<Vec<Access>> = (0..c.host.cores)
            .map(|k| {
                let mut s = SynthSpec::new(kinds[rng.below(4) as usize], 8_000, case * 10 + k);
                s.base = 0x7000_0000 + rng.below(4) * 0x10_0000;
                s.footprint = pick(&mut rng, &[64 << 10, 256 << 10]);
                s.size = pick(&mut rng, &[1, 8, 60, 200]) as u32;
                s.write_pct = rng.below(80) as f64;
                Synth::new(s).unwrap().collect()
            })
            .collect();
        let (lines, pages) = written(&traces);
        let epoch = (rng.below(2) == 0).then_some(3_000);
        let (r, _) = run_on(ModelSide(Device::new(&c.geometry())), &c, &traces, epoch);
        assert_eq!(
            (r.dirty_lines, r.dirty_pages),
            (lines, pages),
            "case {case}:\n{text}"
        );
        assert_eq!(r.link.err_count, 0, "case {case}:\n{text}");
        deferred += r.link.deferred_snoops;
    }
    // Rule 5's path (a snoop waiting for an accepted read of its line) was taken.
    assert!(deferred > 0);
}

#[test]
fn sim_without_the_register_agent_is_a_one_line_error() {
    let c = config("ice40-small.toml");
    assert!(!c.device.registers);
    let g = c.geometry();
    let e = System::new(ModelSide(Device::new(&g)), &g, &c.host)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.starts_with("device.registers = false") && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn draining_the_event_ring_more_often_loses_fewer_events_and_changes_no_result() {
    let t = vec![synth(SynthKind::Uniform, 100_000, 4, 0x4000_0000, 4 << 20)];
    let c = host_config(true, 1);
    let side = || ModelSide(Device::new(&c.geometry()));
    let (at_harvest, _) = run_with(side(), &c, &t, Some(50_000), u64::MAX);
    // About one event per access under this cache pressure: the 32-record ring
    // keeps up when drained every 16 accesses.
    let (often, _) = run_with(side(), &c, &t, Some(50_000), 16);
    let (a, b) = (&at_harvest.link, &often.link);
    // The driver's polls go through core 0's caches, so the two runs' evictions
    // (and events) differ a little; compare the share of events dropped.
    let dropped = |l: &linewatch_testbench::system::LinkStats| {
        l.events_dropped as f64 / (l.events_produced + l.events_dropped) as f64
    };
    assert!(
        dropped(a) > 0.5,
        "the ring overflows between harvests: {a:?}"
    );
    assert!(dropped(b) < dropped(a) / 2.0, "{a:?} {b:?}");
    assert_eq!(b.events_consumed, b.events_produced);
    assert_eq!(
        (often.dirty_lines, often.dirty_pages),
        (at_harvest.dirty_lines, at_harvest.dirty_pages)
    );
}
