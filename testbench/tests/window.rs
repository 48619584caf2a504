//! Software's view of the device (`linewatch_sw::Window`) on the simulated host:
//! data written through the window survives writebacks, evictions under pressure and
//! snoop recalls, and reaches the device; polling a cached line costs no link traffic.

mod common;

use common::*;

use linewatch_model::trace::{Synth, SynthKind, SynthSpec, TraceSource};
use linewatch_model::{Config, Device};
use linewatch_sw::Window;
use linewatch_testbench::lockstep::ModelSide;
use linewatch_testbench::system::{replay, SimWindow, System, Workload};

fn pattern(line: u64, k: u64) -> u64 {
    (line * 0x9e37_79b9_7f4a_7c15) ^ (k << 56) ^ 0x5a5a
}

/// The top quarter of the window: the OS allocates frames from the bottom.
fn lines(c: &Config, n: u64) -> Vec<u64> {
    let top = c.device.window_base + c.device.window_size;
    (0..n)
        .map(|k| top - c.device.window_size / 4 + k * 4096 + (k % 64) * 64)
        .collect()
}

#[test]
fn data_through_the_window_survives_evictions_recalls_and_flushes() {
    let mut c = config("default.toml");
    c.host.cores = 2;
    small_caches(&mut c);
    let g = c.geometry();
    let mut sys = System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap();
    let addrs = lines(&c, 300);
    {
        let mut w = SimWindow {
            sys: &mut sys,
            core: 0,
        };
        for (k, &a) in addrs.iter().enumerate() {
            for word in 0..8 {
                w.store_u64(a + word * 8, pattern(a / 64, word)).unwrap();
            }
            if k % 3 == 0 {
                w.flush(a).unwrap();
            }
        }
    }
    // A trace on both cores that thrashes the small caches and the snoop filter.
    let mut spec = SynthSpec::new(SynthKind::Uniform, 100_000, 3);
    spec.footprint = 4 << 20;
    let src: Box<dyn TraceSource> = Box::new(Synth::new(spec.clone()).unwrap());
    spec.seed = 4;
    let src2: Box<dyn TraceSource> = Box::new(Synth::new(spec).unwrap());
    let mut wl = Workload::new(vec![("a".into(), src), ("b".into(), src2)], 2).unwrap();
    replay(&mut sys, &mut wl, None, &mut |_| {}).unwrap();
    // Every byte comes back, read by the other core.
    let before = sys.link().stats.messages;
    {
        let mut w = SimWindow {
            sys: &mut sys,
            core: 1,
        };
        for &a in &addrs {
            for word in 0..8 {
                assert_eq!(
                    w.load_u64(a + word * 8).unwrap(),
                    pattern(a / 64, word),
                    "{a:#x}+{word}"
                );
            }
        }
    }
    let after = sys.link().stats.messages;
    assert!(
        after[1] > before[1] + 250,
        "the lines were evicted: refetched with MemRdData"
    );
    let (r, _) = sys.finish().unwrap();
    assert!(
        r.link.messages[10..13].iter().sum::<u64>() > 0,
        "snoops happened"
    );
    // The window lines the software wrote are dirty too (not page-table lines).
    assert!(r.dirty_lines >= 300);
}

#[test]
fn polling_a_cached_line_costs_no_link_traffic() {
    let c = config("default.toml");
    let g = c.geometry();
    let mut sys = System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap();
    let a = lines(&c, 1)[0];
    let mut w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let t0 = w.now();
    assert_eq!(w.load_u64(a).unwrap(), 0);
    let t1 = w.now();
    for _ in 0..1000 {
        assert_eq!(w.load_u64(a).unwrap(), 0);
    }
    let t2 = w.now();
    let requests: u64 = w.sys.link().stats.messages[..6].iter().sum();
    assert_eq!(requests, 1, "one MemRdData, then hits");
    assert!(
        t1 - t0 > 10 * (t2 - t1) / 1000,
        "a miss costs more than a hit: {t0} {t1} {t2}"
    );
    // A flush sends the line back (clean: MemClnEvct) and the next poll misses.
    w.flush(a).unwrap();
    w.load_u64(a).unwrap();
    let m = w.sys.link().stats.messages;
    assert_eq!((m[1], m[3]), (2, 1));
}

#[test]
fn window_accesses_are_checked() {
    let c = config("default.toml");
    let g = c.geometry();
    let mut sys = System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap();
    let mut w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let base = w.base();
    for (addr, len) in [(base - 64, 8), (base + 60, 8), (base + w.size(), 1)] {
        let mut b = vec![0u8; len];
        let e = w.load(addr, &mut b).unwrap_err().to_string();
        assert!(e.contains(&format!("{addr:#x}")), "{e}");
    }
    assert!(w.store_u64(base + 4, 1).is_err());
    let mut w = SimWindow {
        sys: &mut sys,
        core: 5,
    };
    assert!(w.load_u64(base).unwrap_err().to_string().contains("core 5"));
}
