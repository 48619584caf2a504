//! Lockstep runner: the host agent drives one or two devices with the same inputs
//! every cycle; with two, every output of every cycle is compared and the first
//! diverging cycle is reported with both sides' values and a VCD around it.

use crate::host::{HostAgent, MESSAGE_NAMES};
use crate::vcd::{self, Sample};
use linewatch_model::config::CosimConfig;
use linewatch_model::ports::{port_words, INPUT_WORDS, OUTPUT_PORTS, OUTPUT_WORDS};
use linewatch_model::{Device, Geometry, Inputs, Outputs};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

/// One implementation of the device: takes a cycle's inputs, gives that cycle's outputs.
pub trait Side {
    fn name(&self) -> &'static str;
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs);
}

/// The Rust model as a lockstep side.
pub struct ModelSide(pub Device);

impl Side for ModelSide {
    fn name(&self) -> &'static str {
        "model"
    }
    #[inline]
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs) {
        self.0.cycle(i, o);
    }
}

pub struct RunOptions {
    pub cycles: u64,
    pub seed: u64,
    /// After the traffic, stop new work, let everything complete and harvest both banks.
    pub drain: bool,
    /// Where to write the waveform of a mismatch.
    pub vcd: Option<PathBuf>,
    /// Cycles kept before a mismatch, and run after it, for the waveform.
    pub before: usize,
    pub after: usize,
}

impl RunOptions {
    pub fn new(cycles: u64, seed: u64) -> Self {
        RunOptions {
            cycles,
            seed,
            drain: true,
            vcd: None,
            before: 48,
            after: 8,
        }
    }
}

/// One output port that differs: name and both sides' packed words.
#[derive(Clone, Debug)]
pub struct PortDiff {
    pub port: &'static str,
    pub a: Vec<u64>,
    pub b: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Mismatch {
    pub cycle: u64,
    pub diffs: Vec<PortDiff>,
    pub vcd: Option<PathBuf>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "first mismatch at cycle {}:", self.cycle)?;
        for d in &self.diffs {
            let hex = |w: &[u64]| {
                w.iter()
                    .rev()
                    .map(|x| format!("{x:016x}"))
                    .collect::<Vec<_>>()
                    .join("_")
            };
            write!(f, " {} model={} rtl={};", d.port, hex(&d.a), hex(&d.b))?;
        }
        if let Some(p) = &self.vcd {
            write!(f, " waveform: {}", p.display())?;
        }
        Ok(())
    }
}

/// What the co-simulation host saw of the page-table trigger.
#[derive(Clone, Debug, Default)]
pub struct PtReport {
    /// Fetches the device sent and answers it took (of which stray frames).
    pub fetches: u64,
    pub answers: u64,
    pub strays: u64,
    /// PT_REGISTER / PT_RESIDENT commands written (some malformed).
    pub commands: u64,
    /// MemData lines of page-table pages, and PTEs among them returned with P cleared.
    pub lines: u64,
    pub cleared: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub cycles: u64,
    pub drain_cycles: u64,
    pub requests: u64,
    /// Cycles on which the two sides differed (the run stops shortly after the first).
    pub mismatches: u64,
    pub first_mismatch: Option<Mismatch>,
    pub messages: Vec<(&'static str, u64)>,
    pub host_errors: Vec<String>,
    pub device_errors: u64,
    pub violations_injected: u64,
    pub dirty_written: u64,
    pub dirty_harvested: u64,
    pub dirty_lost: u64,
    pub dirty_spurious: u64,
    pub swaps: u64,
    /// Harvest scans whose result was checked line for line against the writes of their epoch.
    pub scans_checked: u64,
    pub harvest_reads: u64,
    pub recalls: u64,
    /// Register-page reads answered, and command lines written back to the agent.
    pub reg_reads: u64,
    pub reg_commands: u64,
    pub reg_snoops: u64,
    pub reg_statuses: u64,
    pub reg_done: u64,
    pub events_produced: u64,
    pub events_consumed: u64,
    pub events_dropped: u64,
    pub event_kinds: u64,
    /// The page-table trigger's traffic, with `[device.pt]` (see `HostStats`).
    pub pt: Option<PtReport>,
    pub a_cycles_per_s: f64,
    pub b_cycles_per_s: Option<f64>,
    pub wall_s: f64,
}

impl Report {
    /// Every check the run makes: no mismatch, no host-visible protocol error,
    /// every violation counted, and (after a drain) harvested == written.
    pub fn failures(&self, drained: bool) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(m) = &self.first_mismatch {
            f.push(m.to_string());
        }
        f.extend(self.host_errors.iter().take(5).cloned());
        if self.device_errors != self.violations_injected {
            f.push(format!(
                "device counted {} protocol violations, host injected {}",
                self.device_errors, self.violations_injected
            ));
        }
        if drained && (self.dirty_lost != 0 || self.dirty_spurious != 0) {
            f.push(format!(
                "dirty tracking: {} written lines never harvested, {} harvested lines never written",
                self.dirty_lost, self.dirty_spurious
            ));
        }
        f
    }
}

#[inline]
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc has no preconditions on x86_64.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Run the host agent against `a` (and `b`, in lockstep). `progress` gets the cycle count now and then.
pub fn run(
    g: &Geometry,
    c: &CosimConfig,
    opts: &RunOptions,
    a: &mut dyn Side,
    mut b: Option<&mut dyn Side>,
    progress: &mut dyn FnMut(u64),
) -> Report {
    let mut host = HostAgent::new(g, c, opts.seed);
    let mut inp = Inputs::default();
    let mut oa = Outputs::default();
    let mut ob = Outputs::default();
    let mut ring: VecDeque<Sample> = VecDeque::with_capacity(opts.before + opts.after + 1);
    let mut rep = Report::default();
    let (mut ta, mut tb) = (0u64, 0u64);
    let wall = Instant::now();
    let t_start = ticks();
    let mut now = 0u64;
    let mut stop_at = None;
    let drain_limit = opts.cycles + 1_000_000;
    loop {
        if now == opts.cycles {
            if !opts.drain {
                break;
            }
            host.drain();
        }
        if now >= opts.cycles && (host.finished() || now >= drain_limit) {
            break;
        }
        if stop_at == Some(now) {
            break;
        }
        host.drive(now, &mut inp);
        let t0 = ticks();
        a.cycle(&inp, &mut oa);
        let t1 = ticks();
        ta += t1 - t0;
        if let Some(b) = b.as_deref_mut() {
            b.cycle(&inp, &mut ob);
            tb += ticks() - t1;
            if ring.len() == opts.before + opts.after + 1 {
                ring.pop_front();
            }
            let mut s = Sample {
                cycle: now,
                inputs: vec![0; INPUT_WORDS],
                a: vec![0; OUTPUT_WORDS],
                b: vec![0; OUTPUT_WORDS],
            };
            inp.pack(&mut s.inputs);
            oa.pack(&mut s.a);
            ob.pack(&mut s.b);
            if oa != ob {
                rep.mismatches += 1;
                if rep.first_mismatch.is_none() {
                    let diffs = (0..OUTPUT_PORTS.len())
                        .filter(|&k| {
                            port_words(OUTPUT_PORTS, &s.a, k) != port_words(OUTPUT_PORTS, &s.b, k)
                        })
                        .map(|k| PortDiff {
                            port: OUTPUT_PORTS[k].name,
                            a: port_words(OUTPUT_PORTS, &s.a, k).to_vec(),
                            b: port_words(OUTPUT_PORTS, &s.b, k).to_vec(),
                        })
                        .collect();
                    rep.first_mismatch = Some(Mismatch {
                        cycle: now,
                        diffs,
                        vcd: opts.vcd.clone(),
                    });
                    stop_at = Some(now + 1 + opts.after as u64);
                }
            }
            ring.push_back(s);
        }
        host.observe(now, &inp, &oa);
        now += 1;
        if now & 0xffff == 0 {
            progress(now);
        }
    }
    progress(now);
    let secs = wall.elapsed().as_secs_f64();
    let tick_rate = (ticks() - t_start) as f64 / secs.max(1e-9);
    if let (Some(m), Some(path)) = (&rep.first_mismatch, &opts.vcd) {
        let _ = m;
        let samples: Vec<Sample> = ring.into_iter().collect();
        if let Err(e) = vcd::write(
            path,
            &samples,
            a.name(),
            b.as_deref().map_or("b", |s| s.name()),
        ) {
            host.errors
                .push(format!("cannot write waveform {}: {e}", path.display()));
        }
    }
    rep.cycles = now.min(opts.cycles);
    rep.drain_cycles = now.saturating_sub(opts.cycles);
    rep.requests = host.stats.requests;
    rep.messages = MESSAGE_NAMES
        .iter()
        .copied()
        .zip(host.stats.messages)
        .collect();
    rep.host_errors = std::mem::take(&mut host.errors);
    rep.device_errors = oa.err_count;
    rep.violations_injected = host.stats.violations_injected & 0xffff;
    rep.dirty_written = host.written.len() as u64;
    rep.dirty_harvested = host.harvested.len() as u64;
    rep.dirty_lost = host.written.difference(&host.harvested).count() as u64;
    rep.dirty_spurious = host.harvested.difference(&host.written).count() as u64;
    rep.swaps = host.stats.swaps;
    rep.scans_checked = host.scans_checked;
    rep.harvest_reads = host.stats.harvest_reads;
    rep.recalls = host.stats.recalls;
    rep.reg_reads = host.stats.reg_reads;
    rep.reg_commands = host.stats.reg_commands;
    rep.reg_snoops = host.stats.reg_snoops;
    rep.reg_statuses = host.stats.reg_statuses;
    rep.reg_done = host.stats.reg_done;
    rep.events_produced = host.stats.events_produced;
    rep.events_consumed = host.stats.events_consumed;
    rep.events_dropped = host.stats.events_dropped;
    rep.event_kinds = host.stats.event_kinds;
    rep.pt = g.pt.map(|_| {
        let s = &host.stats;
        PtReport {
            fetches: s.pt_fetches,
            answers: s.pt_answers,
            strays: s.pt_strays,
            commands: s.pt_commands,
            lines: s.pt_lines,
            cleared: s.pt_cleared,
        }
    });
    rep.a_cycles_per_s = now as f64 / (ta as f64 / tick_rate).max(1e-12);
    rep.b_cycles_per_s = b.map(|_| now as f64 / (tb as f64 / tick_rate).max(1e-12));
    rep.wall_s = secs;
    if opts.drain && !host.finished() && rep.first_mismatch.is_none() {
        rep.host_errors.push(format!(
            "the host did not finish draining within {} cycles",
            drain_limit - opts.cycles
        ));
    }
    rep
}

/// Two sides behind one: both take every cycle, the first one's outputs drive the
/// host, and the first cycle on which they differ is kept (no waveform: for long
/// trace-driven runs, where `linewatch cosim` is the tool to debug with).
pub struct Checked<A: Side, B: Side> {
    pub a: A,
    pub b: B,
    ob: Outputs,
    cycle: u64,
    mismatch: Option<Mismatch>,
}

impl<A: Side, B: Side> Checked<A, B> {
    pub fn new(a: A, b: B) -> Self {
        Checked {
            a,
            b,
            ob: Outputs::default(),
            cycle: 0,
            mismatch: None,
        }
    }
    pub fn mismatch(&self) -> Option<&Mismatch> {
        self.mismatch.as_ref()
    }
}

impl<A: Side, B: Side> Side for Checked<A, B> {
    fn name(&self) -> &'static str {
        "checked"
    }
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs) {
        self.a.cycle(i, o);
        self.b.cycle(i, &mut self.ob);
        if *o != self.ob && self.mismatch.is_none() {
            let (mut pa, mut pb) = (vec![0; OUTPUT_WORDS], vec![0; OUTPUT_WORDS]);
            o.pack(&mut pa);
            self.ob.pack(&mut pb);
            let diffs = (0..OUTPUT_PORTS.len())
                .filter(|&k| port_words(OUTPUT_PORTS, &pa, k) != port_words(OUTPUT_PORTS, &pb, k))
                .map(|k| PortDiff {
                    port: OUTPUT_PORTS[k].name,
                    a: port_words(OUTPUT_PORTS, &pa, k).to_vec(),
                    b: port_words(OUTPUT_PORTS, &pb, k).to_vec(),
                })
                .collect();
            self.mismatch = Some(Mismatch {
                cycle: self.cycle,
                diffs,
                vcd: None,
            });
        }
        self.cycle += 1;
    }
}
