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

/// The simulated host of `c` over the device model.
fn model_system(c: &Config) -> System<ModelSide> {
    let g = c.geometry();
    System::new(ModelSide(Device::new(&g)), &g, &c.host).unwrap()
}

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
    let mut sys = model_system(&c);
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
    let mut sys = model_system(&c);
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
    let mut sys = model_system(&c);
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

fn link_messages<S: linewatch_testbench::lockstep::Side>(sys: &System<S>) -> u64 {
    sys.link().stats.messages.iter().sum()
}

#[test]
fn the_driver_finds_the_device_and_runs_commands_both_ways() {
    use linewatch_sw::driver::*;
    let c = config("default.toml");
    let g = c.geometry();
    let mut sys = model_system(&c);
    let w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let mut d = Driver::open(w).unwrap();
    assert_eq!(d.params.version, 1 << 16);
    assert_eq!(
        (d.params.levels, d.params.fanout),
        (g.levels, g.fanout),
        "parameters read back"
    );
    for delivery in [Delivery::Flush, Delivery::Doorbell] {
        d.delivery = delivery;
        d.command(CMD_SET_CONTROL, 0x55 + delivery as u64, 0)
            .unwrap();
        assert_eq!(
            d.read(LINE_CONTROL, 0).unwrap(),
            0x55 + delivery as u64,
            "{delivery:?}"
        );
        d.command(CMD_NOP, 0, 0).unwrap();
        let e = d.command(9, 0, 0).unwrap_err().to_string();
        assert!(e.contains("unknown command"), "{e}");
        let e = d.command(CMD_RECALL, 7, 0).unwrap_err().to_string();
        assert!(e.contains("bad argument"), "{e}");
        let e = d.command(CMD_HARVEST_READ, 3, 0).unwrap_err().to_string();
        assert!(e.contains("bad argument"), "{e}");
    }
    // A store to a read-only line is reported in the completion line.
    let a = d.reg(LINE_IDENT, 0);
    d.w.store_u64(a, 1).unwrap();
    d.w.flush(a).unwrap();
    d.command(CMD_NOP, 0, 0).unwrap();
    assert_eq!(d.read(LINE_COMPLETION, 4).unwrap(), 3, "read-only");
    assert_eq!(d.read(LINE_STATUS, 0).unwrap(), d.stats.commands);
}

#[test]
fn harvest_through_the_driver_returns_exactly_the_lines_written_back() {
    let c = config("default.toml");
    let mut sys = model_system(&c);
    let addrs = lines(&c, 200);
    let w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let mut d = linewatch_sw::Driver::open(w).unwrap();
    assert!(d.harvest().unwrap().is_empty());
    for &a in &addrs {
        d.w.store_u64(a, 1).unwrap();
        d.w.flush(a).unwrap();
    }
    let base = d.w.base() / 64;
    let mut want: Vec<u64> = addrs.iter().map(|a| a / 64 - base).collect();
    want.sort_unstable();
    let mut got = d.harvest().unwrap();
    got.sort_unstable();
    assert_eq!(got, want);
    assert!(d.harvest().unwrap().is_empty(), "read and cleared");
    // A recall through the driver: a line the host holds dirty comes back.
    d.w.store_u64(addrs[0], 2).unwrap();
    d.command(linewatch_sw::driver::CMD_RECALL, 2, addrs[0] / 64)
        .unwrap();
    assert_eq!(d.harvest().unwrap(), vec![addrs[0] / 64 - base]);
}

/// Round trip of a command and coherence messages per command, cacheable registers
/// (flush and doorbell) against an uncached baseline whose every poll goes to the
/// device; and the link traffic of polling an idle device. Run with
/// `--nocapture` to see the figures docs/registers.md quotes.
#[test]
fn command_round_trip_and_idle_polling() {
    use linewatch_sw::driver::*;
    let c = config("default.toml");
    let mut sys = model_system(&c);
    let w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let mut d = Driver::open(w).unwrap();
    const N: u64 = 100;
    let mut rows = Vec::new();
    for (name, delivery, uncached) in [
        ("flush", Delivery::Flush, false),
        ("doorbell", Delivery::Doorbell, false),
        ("uncached polls", Delivery::Flush, true),
    ] {
        d.delivery = delivery;
        let m0 = link_messages(d.w.sys);
        let c0 = d.w.sys.link().stats.device_cycles;
        let p0 = d.stats.polls;
        for _ in 0..N {
            if uncached {
                // MMIO-style: every poll is a device read (flush before each load).
                d.seq_command_uncached().unwrap();
            } else {
                d.command(CMD_NOP, 0, 0).unwrap();
            }
        }
        let msgs = (link_messages(d.w.sys) - m0) as f64 / N as f64;
        let cycles = (d.w.sys.link().stats.device_cycles - c0) as f64 / N as f64;
        let polls = (d.stats.polls - p0) as f64 / N as f64;
        rows.push((name, cycles, msgs, polls));
    }
    for (name, cycles, msgs, polls) in &rows {
        println!("{name:>16}: {cycles:6.1} device cycles, {msgs:5.1} link messages, {polls:5.1} polls per command");
    }
    // Idle polling: the first read fetches the line, then nothing moves.
    let a = d.reg(LINE_STATUS, 0);
    d.w.load_u64(a).unwrap();
    let m0 = link_messages(d.w.sys);
    for _ in 0..10_000 {
        d.w.load_u64(a).unwrap();
    }
    let idle = link_messages(d.w.sys) - m0;
    println!("idle polling: {idle} link messages for 10000 polls after the first read");
    assert_eq!(idle, 0);
    // The uncached baseline: every poll goes to the device.
    let m0 = link_messages(d.w.sys);
    for _ in 0..1000 {
        d.w.flush(a).unwrap();
        d.w.load_u64(a).unwrap();
    }
    let per_poll = (link_messages(d.w.sys) - m0) as f64 / 1000.0;
    println!("uncached idle polling: {per_poll:.1} link messages per poll");
    assert!(per_poll >= 2.0);
}

#[test]
fn the_driver_consumes_events_and_sees_the_drops() {
    use linewatch_sw::driver::*;
    let c = config("default.toml");
    let mut sys = model_system(&c);
    let addrs = lines(&c, 50);
    let w = SimWindow {
        sys: &mut sys,
        core: 0,
    };
    let mut d = Driver::open(w).unwrap();
    let base = d.w.base() / 64;
    for &a in &addrs[..10] {
        d.w.store_u64(a, 1).unwrap();
        d.w.flush(a).unwrap();
    }
    let ev = d.consume_events().unwrap();
    let dirty: Vec<u64> = ev
        .iter()
        .filter(|r| *r >> 60 == 1)
        .map(|r| r & ((1 << 46) - 1))
        .collect();
    let want: Vec<u64> = addrs[..10].iter().map(|a| a / 64 - base).collect();
    assert_eq!(dirty, want, "a DIRTY record per writeback, in order");
    assert!(d.consume_events().unwrap().is_empty());
    // Forty more writebacks without consuming: the ring holds 32, the rest are counted.
    for &a in &addrs[10..] {
        d.w.store_u64(a, 1).unwrap();
        d.w.flush(a).unwrap();
    }
    let (prod, cons, dropped) = d.event_counts().unwrap();
    assert_eq!(prod - cons, RING_RECORDS);
    assert!(dropped >= 8, "{dropped}");
    assert_eq!(d.consume_events().unwrap().len() as u64, RING_RECORDS);
    assert_eq!(d.stats.events_consumed, prod);
}

#[test]
fn the_driver_sets_up_the_page_table_trigger() {
    use linewatch_sw::driver::*;
    // Without the trigger: no parameters, and its commands are unknown.
    let mut sys = model_system(&config("default.toml"));
    let mut d = Driver::open(SimWindow {
        sys: &mut sys,
        core: 0,
    })
    .unwrap();
    assert_eq!(d.params.pt, None);
    let e = d.pt_register(5, true).unwrap_err().to_string();
    assert!(e.contains("unknown command"), "{e}");
    // With it (registry 4): the parameters read back, four pages register, the fifth
    // finds no space, dropping one makes room, and bad arguments are refused.
    let c = config("pt-small.toml");
    let g = c.geometry();
    let p = g.pt.unwrap();
    let mut sys = model_system(&c);
    {
        let mut d = Driver::open(SimWindow {
            sys: &mut sys,
            core: 0,
        })
        .unwrap();
        let info = d.params.pt.expect("the device reports its trigger");
        assert_eq!(
            (
                info.registry,
                info.inflight,
                info.timer,
                info.frames,
                info.first_frame
            ),
            (4, 4, 64, 2048, p.window_base)
        );
        for f in 0..4 {
            d.pt_register(0x1000 + f, true).unwrap();
        }
        let e = d.pt_register(0x2000, true).unwrap_err().to_string();
        assert!(e.contains("no space"), "{e}");
        d.pt_register(0x1000, true).unwrap(); // already held: nothing changes
        d.pt_register(0x1001, false).unwrap();
        d.pt_register(0x2000, true).unwrap();
        d.pt_resident(p.window_base + 3, true).unwrap();
        d.pt_resident(p.window_base + 3, false).unwrap();
        d.pt_resident(p.window_base + 5, true).unwrap();
        let e = d.command(CMD_PT_RESIDENT, 1, 2).unwrap_err().to_string();
        assert!(e.contains("bad argument"), "{e}");
        let e = d
            .command(CMD_PT_REGISTER, 1 << 40, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad argument"), "{e}");
    }
    // The device's registry is what the commands left.
    let pt = sys.link().side().0.pt().unwrap();
    let held: Vec<u64> = [0x1000, 0x1001, 0x1002, 0x1003, 0x2000]
        .into_iter()
        .filter(|&f| pt.is_registered(f))
        .collect();
    assert_eq!(held, vec![0x1000, 0x1002, 0x1003, 0x2000]);
    assert!(!pt.is_resident(p.window_base + 3) && pt.is_resident(p.window_base + 5));
}
