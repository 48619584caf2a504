//! `linewatch`: generate the device's Verilog, co-simulate it against the model,
//! and measure both.

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use linewatch_model::Config;
use linewatch_testbench::lockstep::{self, ModelSide, Report, RunOptions};
use linewatch_testbench::{bench, rtl};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage:
  linewatch rtl   --config FILE --out DIR
  linewatch cosim --config FILE [--cycles N] [--seed S] [--model-only] [--vcd FILE] [--json]
  linewatch bench --config FILE [--cycles N] [--seed S] [--json]
  linewatch sim   --config FILE --trace FILE[,FILE...] [--format lackey|bin] [--cores N]
                  [--epoch N] [--events N] [--rtl | --lockstep] [--skip-bad] [--json]
                  [--prefetch none|pt|readahead|trend] [--prefetch-depth N]
  linewatch memhost --listen unix:PATH|tcp:HOST:PORT --file FILE [--pages N]
  linewatch synth --config FILE --target T [--out DIR] [--pcf FILE] [--seed N | --seeds N]
                  [--jobs N] [--yosys-args OPTS] [--nextpnr-args OPTS] [--json]
  linewatch synth-sweep [--configs A,B] [--targets T,U] [--seeds N] [--jobs N] [--out FILE]
  linewatch trace record --out FILE [--keep-text] [--json] -- CMD ARGS...
  linewatch trace convert --in FILE --out FILE [--format lackey|bin] [--skip-bad] [--json]
  linewatch trace gen --kind sequential|uniform|zipf|strided --count N [--seed S] [--footprint B]
                      [--stride B] [--size B] [--record B] [--write-pct P] [--skew X] [--base A]
                      [--format lackey|bin] --out FILE [--json]
  linewatch trace stats --in FILE [--skip-bad] [--json]

  rtl    write the device's Verilog (DIR/top.v) for a configuration
  cosim  drive the model and the Verilated RTL in lockstep with a protocol-obeying
         host; report the first diverging cycle with a waveform around it
  bench  model alone vs Verilated RTL alone on the same busy traffic, cycles/s
  sim    replay traces (one per core, or one with core numbers) on the host model
         (MMU, caches, MESI) against the device model (--rtl: the Verilated RTL;
         --lockstep: both, compared every cycle); flush, harvest and report the
         dirty lines and pages (docs/host-model.md)
         With a [remote] section, the traces' pages are mapped first (a streaming
         pass), remote ones fault on first touch, and --prefetch picks the policy
         (pt: the device's page-table trigger fetches them, needs [device.pt])
  memhost  serve 4 KiB pages of FILE to `sim` ([remote] hosts) until a client
         sends SHUTDOWN (docs/host-model.md, memhost protocol)
  synth  Yosys + nextpnr for T (ice40-up5k, ice40-hx8k, ecp5-25k, ecp5-85k;
         ecp5-85k-8 is the 85k in speed grade 8, the others' grade is 6) at the
         config's [fpga] clock_mhz, out of context; logs in DIR (default
         out/synth/<config>-<T>); exit 1 if it does not fit or misses timing;
         --seeds N places with nextpnr seeds 1..N and keeps the best (every
         seed's Fmax is reported, its files kept as *.seedK.*), --jobs of them at
         once (default: one per core; each nextpnr is one thread); --yosys-args and
         --nextpnr-args replace the target's own options of the synthesis pass and
         of nextpnr (ECP5: {ecp5_pnr}), for experiments
  synth-sweep  configs x targets into a markdown table in FILE (default docs/fpga.md)
  trace  memory-access traces (docs/traces.md): record CMD under valgrind lackey into
         the binary format; convert lackey text <-> binary; generate synthetic
         traces from a seed; count accesses and unique lines/pages touched and written

  Verilated devices are cached in $LINEWATCH_CACHE (default ~/.cache/linewatch/verilated).";

/// The usage text, with the ECP5 targets' nextpnr options from the flow itself.
fn usage() -> String {
    USAGE.replace("{ecp5_pnr}", &linewatch_fpga::ECP5_PNR_ARGS.join(" "))
}

/// Parsed `--key value` flags and switches, each usable once.
struct Args {
    cmd: String,
    vals: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse(argv: &[String], takes_value: &[&str], switches: &[&str]) -> Result<Args> {
        let cmd = argv
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no command given\n{}", usage()))?;
        let mut vals = HashMap::new();
        let mut flags = Vec::new();
        let mut it = argv[1..].iter();
        while let Some(a) = it.next() {
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| anyhow!("unexpected argument '{a}' (see linewatch --help)"))?;
            if takes_value.contains(&key) {
                let v = it.next().ok_or_else(|| anyhow!("--{key} needs a value"))?;
                if vals.insert(key.to_string(), v.clone()).is_some() {
                    bail!("--{key} given twice");
                }
            } else if switches.contains(&key) {
                flags.push(key.to_string());
            } else {
                bail!("unknown option --{key} for '{cmd}' (see linewatch --help)");
            }
        }
        Ok(Args { cmd, vals, flags })
    }
    fn has(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
    fn req(&self, k: &str) -> Result<&str> {
        self.vals
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("'{}' needs --{k}", self.cmd))
    }
    fn num(&self, k: &str, default: u64) -> Result<u64> {
        match self.vals.get(k) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| anyhow!("--{k} {v}: not a whole number")),
        }
    }
}

fn progress(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} cycles ({per_sec}, eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(o, "\\u{:04x}", c as u32).unwrap(),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Write `text` to `path` through a temporary name, so a failure never leaves a partial file.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn cmd_rtl(a: &Args) -> Result<()> {
    let cfg_path = a.req("config")?;
    let cfg = Config::load(Path::new(cfg_path))?;
    let out = PathBuf::from(a.req("out")?);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let v = linewatch_rtl::generate_verilog(&cfg.geometry());
    let path = out.join("top.v");
    write_atomic(&path, &v)?;
    println!(
        "wrote {} ({} lines) for {cfg_path}",
        path.display(),
        v.lines().count()
    );
    Ok(())
}

fn report_json(r: &Report, seed: u64, config: &str) -> String {
    let mut s = String::from("{");
    let msgs: Vec<String> = r
        .messages
        .iter()
        .map(|(k, v)| format!("{}:{v}", json_str(k)))
        .collect();
    write!(
        s,
        "\"config\":{},\"seed\":{seed},\"cycles\":{},\"drain_cycles\":{},\"requests\":{},\"mismatches\":{},\"first_mismatch\":{},",
        json_str(config),
        r.cycles,
        r.drain_cycles,
        r.requests,
        r.mismatches,
        r.first_mismatch.as_ref().map_or("null".into(), |m| json_str(&m.to_string())),
    )
    .unwrap();
    write!(
        s,
        "\"model_cycles_per_s\":{:.0},\"rtl_cycles_per_s\":{},\"messages\":{{{}}},\"device_errors\":{},\"violations_injected\":{},\"host_errors\":{},",
        r.a_cycles_per_s,
        r.b_cycles_per_s.map_or("null".into(), |x| format!("{x:.0}")),
        msgs.join(","),
        r.device_errors,
        r.violations_injected,
        r.host_errors.len(),
    )
    .unwrap();
    write!(
        s,
        "\"dirty_lines_written\":{},\"dirty_lines_harvested\":{},\"harvest_scans_checked\":{},\"recalls\":{},\"register_reads\":{},\"register_commands\":{},\"register_snoops\":{},\"register_codes_seen\":{},\"register_commands_done\":{},\"events_produced\":{},\"events_consumed\":{},\"events_dropped\":{},\"event_kinds_seen\":{},\"wall_s\":{:.3}}}",
        r.dirty_written, r.dirty_harvested, r.scans_checked, r.recalls, r.reg_reads, r.reg_commands,
        r.reg_snoops, r.reg_statuses, r.reg_done, r.events_produced, r.events_consumed,
        r.events_dropped, r.event_kinds, r.wall_s
    )
    .unwrap();
    if let Some(p) = &r.pt {
        s.pop();
        write!(
            s,
            ",\"pt\":{{\"fetches\":{},\"answers\":{},\"strays\":{},\"commands\":{},\"lines\":{},\"cleared\":{}}}}}",
            p.fetches, p.answers, p.strays, p.commands, p.lines, p.cleared
        )
        .unwrap();
    }
    s
}

fn cmd_cosim(a: &Args) -> Result<()> {
    let cfg_path = a.req("config")?;
    let cfg = Config::load(Path::new(cfg_path))?;
    let g = cfg.geometry();
    let json = a.has("json");
    let mut opts = RunOptions::new(a.num("cycles", 1_000_000)?, a.num("seed", 1)?);
    opts.vcd = Some(PathBuf::from(
        a.vals
            .get("vcd")
            .map_or("linewatch-mismatch.vcd", String::as_str),
    ));
    let mut model = ModelSide(linewatch_model::Device::new(&g));
    let pb = progress(opts.cycles, json);
    let rep = if a.has("model-only") {
        pb.set_message("model");
        lockstep::run(&g, &cfg.cosim, &opts, &mut model, None, &mut |n| {
            pb.set_position(n)
        })
    } else {
        pb.set_message("verilating");
        let dev = rtl::build(&g, &rtl::default_cache())?;
        let mut r = rtl::RtlSide::new(dev);
        pb.set_message("model = rtl");
        lockstep::run(&g, &cfg.cosim, &opts, &mut model, Some(&mut r), &mut |n| {
            pb.set_position(n)
        })
    };
    pb.finish_and_clear();
    let failures = rep.failures(opts.drain);
    if !json {
        println!(
            "{} cycles (+{} drain), {} requests, {} mismatches, model {:.2} M cycles/s{}",
            rep.cycles,
            rep.drain_cycles,
            rep.requests,
            rep.mismatches,
            rep.a_cycles_per_s / 1e6,
            rep.b_cycles_per_s.map_or(String::new(), |x| format!(
                ", rtl {:.2} M cycles/s (in lockstep)",
                x / 1e6
            )),
        );
        let msgs: Vec<String> = rep
            .messages
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("messages: {}", msgs.join(", "));
        println!(
            "dirty lines written {}, harvested {} ({} scans checked exactly), violations injected {} / counted {}",
            rep.dirty_written, rep.dirty_harvested, rep.scans_checked, rep.violations_injected, rep.device_errors
        );
        if let Some(p) = &rep.pt {
            println!(
                "page-table trigger: {} fetches, {} answers taken ({} stray), {} PT commands, {} page-table lines read, {} PTEs returned not present",
                p.fetches, p.answers, p.strays, p.commands, p.lines, p.cleared
            );
        }
        if let Some(t) = model.0.pt() {
            let c = t.counts();
            println!(
                "trigger counters (model): done {}, late {}, timeout {}, table full {}, refused {}, bypass {}, stray {}; events lost to a full event register {}",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], model.0.pt_lost_cycles()
            );
        }
    } else {
        println!("{}", report_json(&rep, opts.seed, cfg_path));
    }
    if let Some(f) = failures.first() {
        bail!("{f}");
    }
    Ok(())
}

/// Opens a run's traces again (the premap pass reads them before the replay).
type Reopen<'a> = dyn Fn() -> Result<Vec<Box<dyn linewatch_model::trace::TraceSource>>> + 'a;

fn cmd_sim(a: &Args) -> Result<()> {
    use linewatch_model::trace as tr;
    use linewatch_testbench::lockstep::{Checked, Side};
    use linewatch_testbench::system::{replay, SimReport, System, Workload};
    let cfg_path = a.req("config")?;
    let mut cfg = Config::load(Path::new(cfg_path))?;
    if a.vals.contains_key("cores") {
        let n = a.num("cores", 1)?;
        if !(1..=64).contains(&n) {
            bail!("--cores {n}: must be 1 to 64");
        }
        cfg.host.cores = n;
    }
    let epoch = match a.vals.get("epoch") {
        None => None,
        Some(_) => match a.num("epoch", 0)? {
            0 => bail!("--epoch 0: an epoch is at least one access"),
            n => Some(n),
        },
    };
    let fmt = match a.vals.get("format") {
        None => None,
        Some(f) => Some(
            tr::Format::parse(f).ok_or_else(|| anyhow!("--format {f}: expected lackey or bin"))?,
        ),
    };
    let skip_bad = a.has("skip-bad");
    // Drain the event ring through the driver every N accesses (besides harvests).
    let events_every = match a.vals.get("events") {
        None => u64::MAX,
        Some(_) => match a.num("events", 0)? {
            0 => bail!("--events 0: the ring is drained at most every access (1)"),
            n => n,
        },
    };
    let prefetch = a.vals.get("prefetch").map_or("none", String::as_str);
    let depth = a.num("prefetch-depth", 8)?;
    if !(1..=1024).contains(&depth) {
        bail!("--prefetch-depth {depth}: must be 1 to 1024");
    }
    // Checked before anything runs, so `pt` fails fast.
    linewatch_sw::prefetch::by_name(prefetch, depth)?;
    if prefetch != "none" && cfg.remote.is_none() {
        bail!("--prefetch {prefetch}: {cfg_path} has no [remote] section, so no page is remote");
    }
    let names: Vec<String> = a.req("trace")?.split(',').map(str::to_owned).collect();
    let open_all = || -> Result<Vec<Box<dyn tr::TraceSource>>> {
        names
            .iter()
            .map(|n| {
                let p = Path::new(n);
                Ok(match fmt {
                    None => tr::open(p, skip_bad)?.1,
                    Some(tr::Format::Bin) => {
                        Box::new(tr::BinReader::open(p)?) as Box<dyn tr::TraceSource>
                    }
                    Some(tr::Format::Lackey) => Box::new(tr::LackeyReader::open(p, skip_bad)?),
                })
            })
            .collect()
    };
    let sources: Vec<(String, Box<dyn tr::TraceSource>)> =
        names.iter().cloned().zip(open_all()?).collect();
    let mut work = Workload::new(sources, cfg.host.cores as usize)?;
    let g = cfg.geometry();
    let json = a.has("json");
    if a.has("rtl") && a.has("lockstep") {
        bail!("--rtl and --lockstep: choose one (--lockstep runs the RTL and the model)");
    }
    let pb = progress(0, json);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} accesses ({per_sec})")
            .expect("static template"),
    );
    let t = std::time::Instant::now();
    fn go<S: Side>(
        side: S,
        g: &linewatch_model::Geometry,
        cfg: &Config,
        work: &mut Workload,
        (epoch, events_every): (Option<u64>, u64),
        pb: &ProgressBar,
        // The policy, its depth, and how to open the traces again for the premap pass.
        (prefetch, reopen): ((&str, u64), &Reopen),
    ) -> Result<(SimReport, S)> {
        let mut sys = System::new(side, g, &cfg.host)?;
        sys.events_every = events_every;
        if let Some(r) = &cfg.remote {
            sys.set_remote(r, linewatch_sw::prefetch::by_name(prefetch.0, prefetch.1)?)?;
            // The program's pages exist before the run (remote ones moved out).
            let mut pages = Vec::new();
            for mut src in reopen()? {
                pages.extend(linewatch_testbench::system::pages_of(src.as_mut())?);
            }
            pages.sort_unstable();
            pages.dedup();
            sys.premap(&pages)?;
        }
        replay(&mut sys, work, epoch, &mut |n| pb.set_position(n))?;
        sys.finish()
    }
    let (when, pf) = ((epoch, events_every), (prefetch, depth));
    let model = || ModelSide(linewatch_model::Device::new(&g));
    let verilated = || -> Result<rtl::RtlSide> {
        pb.set_message("verilating");
        let dev = rtl::build(&g, &rtl::default_cache())?;
        Ok(rtl::RtlSide::new(dev))
    };
    let (device, rep) = if a.has("lockstep") {
        let pair = Checked::new(model(), verilated()?);
        pb.set_message("model = rtl");
        let (rep, pair) = go(pair, &g, &cfg, &mut work, when, &pb, (pf, &open_all))?;
        if let Some(m) = pair.mismatch() {
            pb.finish_and_clear();
            bail!("model and RTL diverge: {m}");
        }
        ("lockstep", rep)
    } else if a.has("rtl") {
        let side = verilated()?;
        pb.set_message("rtl");
        (
            "rtl",
            go(side, &g, &cfg, &mut work, when, &pb, (pf, &open_all))?.0,
        )
    } else {
        pb.set_message("model");
        (
            "model",
            go(model(), &g, &cfg, &mut work, when, &pb, (pf, &open_all))?.0,
        )
    };
    pb.finish_and_clear();
    let wall = t.elapsed().as_secs_f64();
    let out = sim_json(
        &rep,
        cfg_path,
        &names,
        device,
        cfg.host.cores,
        wall,
        work.skipped(),
    );
    if json {
        println!("{out}");
    } else {
        print!("{}", sim_text(&rep, wall));
        if device == "lockstep" {
            println!(
                "lockstep: the model and the Verilated RTL gave equal outputs on all {} device cycles",
                rep.link.device_cycles
            );
        }
    }
    Ok(())
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn sim_json(
    r: &linewatch_testbench::system::SimReport,
    config: &str,
    traces: &[String],
    device: &str,
    cores: u64,
    wall: f64,
    skipped: u64,
) -> String {
    use linewatch_testbench::host::MESSAGE_NAMES;
    let h = &r.host;
    let m = &r.mmu;
    let msgs: Vec<String> = MESSAGE_NAMES
        .iter()
        .zip(r.link.messages)
        .map(|(k, v)| format!("{}:{v}", json_str(k)))
        .collect();
    let requests: u64 = r.link.messages[..6].iter().sum();
    let snoops: u64 = r.link.messages[10..13].iter().sum();
    let epochs: Vec<String> = r
        .epochs
        .iter()
        .map(|e| {
            format!(
                "{{\"accesses\":{},\"sim_cycles\":{},\"dirty_lines\":{},\"dirty_pages\":{},\"dirty_pt_lines\":{}}}",
                e.accesses, e.sim_cycles, e.dirty_lines, e.dirty_pages, e.dirty_pt_lines
            )
        })
        .collect();
    let traces: Vec<String> = traces.iter().map(|t| json_str(t)).collect();
    let mut s = String::from("{");
    write!(
        s,
        "\"config\":{},\"traces\":[{}],\"device\":\"{device}\",\"cores\":{cores},\"accesses\":{},\"loads\":{},\"stores\":{},\"modifies\":{},\"instrs\":{},\"skipped_lines\":{skipped},",
        json_str(config),
        traces.join(","),
        r.accesses,
        r.kinds[0],
        r.kinds[1],
        r.kinds[2],
        r.kinds[3],
    )
    .unwrap();
    write!(
        s,
        "\"sim_cycles\":{},\"device_cycles\":{},\"l1_hit_rate\":{:.6},\"l2_hit_rate\":{:.6},\"llc_hit_rate\":{:.6},\"tlb_hit_rate\":{:.6},\"walks\":{},\"pages_local\":{},\"pages_window\":{},\"pt_pages\":{},\"pt_accesses\":{},",
        r.sim_cycles,
        r.link.device_cycles,
        ratio(h.l1_hits, h.lines),
        ratio(h.l2_hits, h.lines - h.l1_hits),
        ratio(h.llc_hits, h.llc_hits + h.llc_misses),
        ratio(m.tlb_hits, m.tlb_hits + m.tlb_misses),
        m.walks,
        m.pages_local,
        m.pages_window,
        m.pt_pages,
        r.pt_accesses,
    )
    .unwrap();
    write!(
        s,
        "\"requests\":{requests},\"snoops\":{snoops},\"deferred_snoops\":{},\"messages\":{{{}}},\"device_errors\":{},\"harvests\":{},\"harvest_reads\":{},\"commands\":{},\"command_polls\":{},\"events_produced\":{},\"events_consumed\":{},\"events_dropped\":{},",
        r.link.deferred_snoops,
        msgs.join(","),
        r.link.err_count,
        r.link.harvests,
        r.link.harvest_reads,
        r.link.commands,
        r.link.command_polls,
        r.link.events_produced,
        r.link.events_consumed,
        r.link.events_dropped,
    )
    .unwrap();
    write!(
        s,
        "\"dirty_lines\":{},\"dirty_pages\":{},\"dirty_bytes_line\":{},\"dirty_bytes_page\":{},\"amplification\":{:.4},\"dirty_pt_lines\":{},\"epochs\":[{}],\"wall_s\":{wall:.3},\"accesses_per_s\":{:.0}}}",
        r.dirty_lines,
        r.dirty_pages,
        r.dirty_bytes_line(),
        r.dirty_bytes_page(),
        r.amplification(),
        r.dirty_pt_lines,
        epochs.join(","),
        r.accesses as f64 / wall.max(1e-9),
    )
    .unwrap();
    if let Some(rm) = &r.remote {
        s.pop();
        write!(
            s,
            ",\"prefetch\":{},\"faults\":{},\"prefetch_issued\":{},\"prefetch_useful\":{},\"accuracy\":{:.6},\"coverage\":{:.6},\"late\":{},\"wasted_bytes\":{},\"amat_cycles\":{:.3},\"remote_wait_cycles\":{},\"remote_link_busy\":{},\"host_pages\":{},\"host_checksum\":{},\"mapped_pages\":{},\"remote_pages\":{},\"trigger_pages\":{},\"pt_registered\":{}}}",
            json_str(&rm.policy),
            rm.faults,
            rm.prefetch_issued,
            rm.prefetch_useful,
            rm.accuracy(),
            rm.coverage(),
            rm.late,
            rm.wasted_bytes(),
            r.amat_cycles(),
            rm.wait_cycles,
            rm.link_busy,
            rm.host_pages,
            rm.host_checksum,
            rm.premap.pages,
            rm.premap.remote_pages,
            rm.premap.trigger_pages,
            rm.premap.registered,
        )
        .unwrap();
    }
    s
}

fn sim_text(r: &linewatch_testbench::system::SimReport, wall: f64) -> String {
    use linewatch_testbench::host::MESSAGE_NAMES;
    let h = &r.host;
    let m = &r.mmu;
    let mut s = String::new();
    writeln!(
        s,
        "{} accesses ({} loads, {} stores, {} modifies, {} instruction fetches) in {} host cycles, {:.2} M accesses/s",
        r.accesses, r.kinds[0], r.kinds[1], r.kinds[2], r.kinds[3], r.sim_cycles,
        r.accesses as f64 / wall.max(1e-9) / 1e6
    )
    .unwrap();
    writeln!(
        s,
        "hit rates: L1 {:.2}%, L2 {:.2}%, LLC {:.2}%, TLB {:.2}%; {} walks; pages {} local, {} in the window, {} page-table pages",
        100.0 * ratio(h.l1_hits, h.lines),
        100.0 * ratio(h.l2_hits, h.lines - h.l1_hits),
        100.0 * ratio(h.llc_hits, h.llc_hits + h.llc_misses),
        100.0 * ratio(m.tlb_hits, m.tlb_hits + m.tlb_misses),
        m.walks, m.pages_local, m.pages_window, m.pt_pages
    )
    .unwrap();
    let msgs: Vec<String> = MESSAGE_NAMES
        .iter()
        .zip(r.link.messages)
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(
        s,
        "device: {} cycles; {}",
        r.link.device_cycles,
        msgs.join(", ")
    )
    .unwrap();
    writeln!(
        s,
        "dirty: {} lines ({} B) in {} pages ({} B): amplification {:.2}x; page-table lines {}; {} harvests",
        r.dirty_lines,
        r.dirty_bytes_line(),
        r.dirty_pages,
        r.dirty_bytes_page(),
        r.amplification(),
        r.dirty_pt_lines,
        r.link.harvests
    )
    .unwrap();
    writeln!(
        s,
        "driver: {} commands ({} completion polls); events {} produced, {} consumed, {} dropped",
        r.link.commands,
        r.link.command_polls,
        r.link.events_produced,
        r.link.events_consumed,
        r.link.events_dropped
    )
    .unwrap();
    for (k, e) in r.epochs.iter().enumerate() {
        writeln!(
            s,
            "  epoch {k}: up to access {}, cycle {}: {} dirty lines, {} pages, {} page-table lines",
            e.accesses, e.sim_cycles, e.dirty_lines, e.dirty_pages, e.dirty_pt_lines
        )
        .unwrap();
    }
    if let Some(rm) = &r.remote {
        writeln!(
            s,
            "remote ({}): {} faults, {} prefetched ({} useful, {} late, {} B wasted), accuracy {:.3}, coverage {:.3}, {:.1} cycles per access",
            rm.policy,
            rm.faults,
            rm.prefetch_issued,
            rm.prefetch_useful,
            rm.late,
            rm.wasted_bytes(),
            rm.accuracy(),
            rm.coverage(),
            r.amat_cycles()
        )
        .unwrap();
        let p = &rm.premap;
        writeln!(
            s,
            "premapped: {} pages, {} remote, {} in the trigger's window, {} page-table pages registered",
            p.pages, p.remote_pages, p.trigger_pages, p.registered
        )
        .unwrap();
    }
    s
}

fn cmd_bench(a: &Args) -> Result<()> {
    let cfg_path = a.req("config")?;
    let cfg = Config::load(Path::new(cfg_path))?;
    let g = cfg.geometry();
    let cycles = a.num("cycles", 200_000)? as usize;
    if cycles == 0 {
        bail!("--cycles must be above 0");
    }
    let seed = a.num("seed", 1)?;
    let t = bench::record(&g, &bench::busy(&cfg.cosim), cycles, seed);
    let cache = rtl::default_cache();
    let mut d = rtl::build(&g, &cache)?;
    bench::agree(&g, &mut d, &t)
        .map_err(|e| anyhow!("model and RTL disagree on the bench traffic: {e}"))?;
    let reps_model = (20_000_000 / cycles).clamp(1, 50);
    let (model, _) = bench::time_model(&g, &t, reps_model);
    let rtl_speed = bench::time_rtl(&mut || rtl::build(&g, &cache).expect("cached build"), &t, 2);
    let r = bench::BenchResult {
        cycles: cycles as u64,
        requests: t.requests,
        model_cycles_per_s: model,
        rtl_cycles_per_s: rtl_speed,
    };
    if a.has("json") {
        println!(
            "{{\"config\":{},\"cycles\":{},\"requests_per_cycle\":{:.3},\"model_cycles_per_s\":{:.0},\"rtl_cycles_per_s\":{:.0},\"model_requests_per_s\":{:.0},\"rtl_requests_per_s\":{:.0},\"speedup\":{:.2}}}",
            json_str(cfg_path),
            r.cycles,
            r.requests_per_cycle(),
            r.model_cycles_per_s,
            r.rtl_cycles_per_s,
            r.model_cycles_per_s * r.requests_per_cycle(),
            r.rtl_cycles_per_s * r.requests_per_cycle(),
            r.speedup()
        );
    } else {
        println!(
            "{cfg_path}: {} cycles of busy traffic, {:.3} requests/cycle (outputs identical)",
            r.cycles,
            r.requests_per_cycle()
        );
        println!("  {:<16} {:>14} {:>14}", "", "cycles/s", "requests/s");
        for (name, cps) in [
            ("model", r.model_cycles_per_s),
            ("verilated RTL", r.rtl_cycles_per_s),
        ] {
            println!(
                "  {:<16} {:>14.0} {:>14.0}",
                name,
                cps,
                cps * r.requests_per_cycle()
            );
        }
        println!("  model / RTL: {:.1}x", r.speedup());
    }
    Ok(())
}

fn cmd_synth(a: &Args) -> Result<()> {
    let cfg_path = a.req("config")?;
    let cfg = Config::load(Path::new(cfg_path))?;
    let target = linewatch_fpga::target(a.req("target")?)?;
    let out = a.vals.get("out").map_or_else(
        || linewatch_fpga::sweep::run_dir(Path::new("out/synth"), Path::new(cfg_path), target),
        PathBuf::from,
    );
    let seeds = placement_seeds(a)?;
    let tool_args = linewatch_fpga::ToolArgs::parse(
        a.vals.get("yosys-args").map(String::as_str),
        a.vals.get("nextpnr-args").map(String::as_str),
    )?;
    let how = linewatch_fpga::Placement {
        pcf: a.vals.get("pcf").map(Path::new),
        seeds,
        jobs: placement_jobs(a)?,
        args: tool_args,
    };
    let s = linewatch_fpga::run(
        &cfg.geometry(),
        target,
        cfg.fpga.clock_mhz as f64,
        &out,
        &how,
    )?;
    if a.has("json") {
        println!("{}", s.json(cfg_path));
    } else {
        println!("{}", s.table(cfg_path));
    }
    if let Some(p) = &s.problem {
        bail!("{cfg_path} on {}: {p}", target.name);
    }
    Ok(())
}

/// nextpnr seeds to place with: `--seed N` one, `--seeds N` 1..=N (1 to 64, the
/// best kept), neither nextpnr's default (empty).
fn placement_seeds(a: &Args) -> Result<Vec<u64>> {
    match (a.vals.contains_key("seed"), a.vals.contains_key("seeds")) {
        (true, true) => bail!("--seed and --seeds: give one or the other"),
        (true, false) => Ok(vec![a.num("seed", 0)?]),
        (false, true) => match a.num("seeds", 0)? {
            n @ 1..=64 => Ok((1..=n).collect()),
            n => bail!("--seeds {n}: from 1 to 64"),
        },
        (false, false) => Ok(Vec::new()),
    }
}

/// Placements to run at once: `--jobs N` (1 to 64, with `--seeds`), else one per core.
fn placement_jobs(a: &Args) -> Result<usize> {
    if !a.vals.contains_key("jobs") {
        return Ok(linewatch_fpga::default_jobs().clamp(1, 64));
    }
    if !a.vals.contains_key("seeds") {
        bail!("--jobs places several seeds at once: give --seeds N too");
    }
    match a.num("jobs", 1)? {
        n @ 1..=64 => Ok(n as usize),
        n => bail!("--jobs {n}: from 1 to 64"),
    }
}

fn cmd_synth_sweep(a: &Args) -> Result<()> {
    use linewatch_fpga::sweep;
    let list = |k: &str, default: &str| -> Vec<String> {
        let v = a.vals.get(k).map_or(default, String::as_str);
        v.split(',').map(str::to_string).collect()
    };
    let configs: Vec<PathBuf> = list("configs", "configs/ice40-small.toml,configs/default.toml")
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let all: Vec<&str> = linewatch_fpga::TARGETS.iter().map(|t| t.name).collect();
    let targets = list("targets", &all.join(","))
        .iter()
        .map(|t| linewatch_fpga::target(t))
        .collect::<Result<Vec<_>>>()?;
    let doc = PathBuf::from(a.vals.get("out").map_or("docs/fpga.md", String::as_str));
    // The doc names the command that made its table, options included.
    let mut command = String::from("linewatch synth-sweep");
    for k in ["configs", "targets", "seeds", "out"] {
        if let Some(v) = a.vals.get(k) {
            write!(command, " --{k} {v}").unwrap();
        }
    }
    let seeds = placement_seeds(a)?;
    let jobs = placement_jobs(a)?;
    let start = std::time::Instant::now();
    let rows = sweep::run(
        &configs,
        &targets,
        Path::new("out/synth"),
        &seeds,
        jobs,
        &mut |r| {
            let what = match &r.result {
                Ok(s) => s
                    .problem
                    .clone()
                    .unwrap_or_else(|| format!("fits, Fmax {:.1} MHz", s.fmax_mhz.unwrap_or(0.0))),
                Err(e) => format!("flow failed: {e}"),
            };
            println!("{} on {}: {what}", r.config, r.target.name);
        },
    )?;
    let took = sweep::Took {
        wall_secs: start.elapsed().as_secs_f64(),
        jobs,
        cores: linewatch_fpga::default_jobs(),
    };
    sweep::update_doc(&doc, &sweep::markdown(&rows), &command, &took)?;
    println!(
        "wrote {} ({:.0} s of wall time; nextpnr {} at a time on {} cores)",
        doc.display(),
        took.wall_secs,
        took.jobs,
        took.cores
    );
    Ok(())
}

fn cmd_memhost(a: &Args) -> Result<()> {
    use linewatch_sw::memhost::{Server, Store};
    let file = a.req("file")?;
    // A bad address stops before the file is created.
    linewatch_sw::memhost::Addr::parse(a.req("listen")?)?;
    let pages = match a.vals.get("pages") {
        None => None,
        Some(_) => Some(a.num("pages", 0)?),
    };
    let store = Store::open(Path::new(file), pages)?;
    let n = store.pages();
    let server = Server::bind(a.req("listen")?, store)?;
    // Tests and scripts wait for this line before connecting.
    println!("memhost: serving {n} pages of {file} on {}", server.addr);
    use std::io::Write as _;
    std::io::stdout().flush().ok();
    server.run()
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // Arguments after `--` belong to the command `trace record` runs.
    let mut own = argv.iter().take_while(|a| *a != "--");
    if argv.is_empty() || own.any(|a| a == "--help" || a == "-h") {
        println!("{}", usage());
        return;
    }
    let res = match argv[0].as_str() {
        "rtl" => Args::parse(&argv, &["config", "out"], &[]).and_then(|a| cmd_rtl(&a)),
        "cosim" => Args::parse(
            &argv,
            &["config", "cycles", "seed", "vcd"],
            &["json", "model-only"],
        )
        .and_then(|a| cmd_cosim(&a)),
        "bench" => {
            Args::parse(&argv, &["config", "cycles", "seed"], &["json"]).and_then(|a| cmd_bench(&a))
        }
        "sim" => Args::parse(
            &argv,
            &[
                "config",
                "trace",
                "format",
                "cores",
                "epoch",
                "events",
                "prefetch",
                "prefetch-depth",
            ],
            &["json", "rtl", "lockstep", "skip-bad"],
        )
        .and_then(|a| cmd_sim(&a)),
        "synth" => Args::parse(
            &argv,
            &[
                "config",
                "target",
                "out",
                "pcf",
                "seed",
                "seeds",
                "jobs",
                "yosys-args",
                "nextpnr-args",
            ],
            &["json"],
        )
        .and_then(|a| cmd_synth(&a)),
        "synth-sweep" => Args::parse(&argv, &["configs", "targets", "seeds", "jobs", "out"], &[])
            .and_then(|a| cmd_synth_sweep(&a)),
        "trace" => cmd_trace(&argv),
        "memhost" => {
            Args::parse(&argv, &["listen", "file", "pages"], &[]).and_then(|a| cmd_memhost(&a))
        }
        other => Err(anyhow!("unknown command '{other}'\n{}", usage())),
    };
    if let Err(e) = res {
        eprintln!("linewatch: {e:#}");
        std::process::exit(1);
    }
}

// ---- trace: record, convert, generate and summarise memory-access traces ----

fn cmd_trace(argv: &[String]) -> Result<()> {
    // `trace record ... -- CMD ARGS`: everything after `--` is the traced command.
    let split = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let (opts, rest) = (&argv[1..split], argv.get(split + 1..).unwrap_or(&[]));
    let sub = opts.first().map_or("", String::as_str);
    if sub != "record" && split != argv.len() {
        bail!("'trace {sub}' takes no command after --");
    }
    match sub {
        "record" => Args::parse(opts, &["out"], &["keep-text", "json"])
            .and_then(|a| cmd_trace_record(&a, rest)),
        "convert" => Args::parse(opts, &["in", "out", "format"], &["skip-bad", "json"])
            .and_then(|a| cmd_trace_convert(&a)),
        "gen" => Args::parse(
            opts,
            &[
                "kind",
                "count",
                "seed",
                "footprint",
                "stride",
                "size",
                "record",
                "write-pct",
                "skew",
                "base",
                "out",
                "format",
            ],
            &["json"],
        )
        .and_then(|a| cmd_trace_gen(&a)),
        "stats" => {
            Args::parse(opts, &["in"], &["skip-bad", "json"]).and_then(|a| cmd_trace_stats(&a))
        }
        "" => bail!("'trace' needs record, convert, gen or stats\n{}", usage()),
        other => bail!("unknown trace command '{other}'\n{}", usage()),
    }
}

fn trace_format(
    a: &Args,
    default: linewatch_model::trace::Format,
) -> Result<linewatch_model::trace::Format> {
    match a.vals.get("format") {
        None => Ok(default),
        Some(f) => linewatch_model::trace::Format::parse(f)
            .ok_or_else(|| anyhow!("--format {f}: expected lackey or bin")),
    }
}

/// Streams `src` into `out` (through a temporary name) in `fmt`; returns the count.
fn write_trace<S: linewatch_model::trace::TraceSource + ?Sized>(
    src: &mut S,
    out: &Path,
    fmt: linewatch_model::trace::Format,
) -> Result<u64> {
    use linewatch_model::trace::{self as tr, TraceSink};
    let name = out.display().to_string();
    let file = tr::OutFile::create(out)?;
    let n = match fmt {
        tr::Format::Bin => {
            let mut w = tr::BinWriter::new(file, &name)?;
            tr::copy(src, &mut w)?;
            let n = w.finish()?;
            w.into_inner().commit()?;
            n
        }
        tr::Format::Lackey => {
            let mut w = tr::LackeyWriter::new(file, &name);
            tr::copy(src, &mut w)?;
            let n = w.finish()?;
            w.into_inner().commit()?;
            n
        }
    };
    Ok(n)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn cmd_trace_convert(a: &Args) -> Result<()> {
    use linewatch_model::trace::{self as tr, Format};
    let (inp, out) = (Path::new(a.req("in")?), Path::new(a.req("out")?));
    let (from, mut src) = tr::open(inp, a.has("skip-bad"))?;
    let to = trace_format(
        a,
        if from == Format::Bin {
            Format::Lackey
        } else {
            Format::Bin
        },
    )?;
    let t = std::time::Instant::now();
    let n = write_trace(&mut src, out, to)?;
    let secs = t.elapsed().as_secs_f64();
    let (bytes, skipped) = (file_len(out), src.skipped());
    if a.has("json") {
        println!(
            "{{\"in\":{},\"out\":{},\"from\":\"{}\",\"to\":\"{}\",\"accesses\":{n},\"skipped_lines\":{skipped},\"bytes\":{bytes},\"seconds\":{secs:.3}}}",
            json_str(&inp.display().to_string()),
            json_str(&out.display().to_string()),
            from.name(),
            to.name()
        );
    } else {
        println!(
            "{} ({}) -> {} ({}): {n} accesses, {bytes} bytes ({:.2} bytes/access), {:.1} M accesses/s{}",
            inp.display(),
            from.name(),
            out.display(),
            to.name(),
            bytes as f64 / n.max(1) as f64,
            n as f64 / secs.max(1e-9) / 1e6,
            if skipped > 0 {
                format!(", {skipped} malformed lines skipped")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

fn cmd_trace_gen(a: &Args) -> Result<()> {
    use linewatch_model::trace::{self as tr, SynthKind, SynthSpec};
    let kind_s = a.req("kind")?;
    let kind = SynthKind::parse(kind_s)
        .ok_or_else(|| anyhow!("--kind {kind_s}: expected sequential, uniform, zipf or strided"))?;
    let float = |k: &str, default: f64| -> Result<f64> {
        a.vals.get(k).map_or(Ok(default), |v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| anyhow!("--{k} {v}: not a number"))
        })
    };
    a.req("count")?;
    let mut s = SynthSpec::new(kind, a.num("count", 0)?, a.num("seed", 1)?);
    s.footprint = a.num("footprint", s.footprint)?;
    s.stride = a.num("stride", s.stride)?;
    s.base = a.num("base", s.base)?;
    let small = |k: &str, d: u32| -> Result<u32> {
        u32::try_from(a.num(k, d as u64)?).map_err(|_| anyhow!("--{k}: above 2^32"))
    };
    s.size = small("size", s.size)?;
    s.record = small("record", s.record)?;
    s.write_pct = float("write-pct", s.write_pct)?;
    s.skew = float("skew", s.skew)?;
    let mut g = tr::Synth::new(s.clone()).map_err(|e| anyhow!("trace gen: {e}"))?;
    let out = Path::new(a.req("out")?);
    let fmt = trace_format(a, tr::Format::Bin)?;
    let t = std::time::Instant::now();
    let n = write_trace(&mut g, out, fmt)?;
    let secs = t.elapsed().as_secs_f64();
    let bytes = file_len(out);
    if a.has("json") {
        println!(
            "{{\"out\":{},\"kind\":{},\"accesses\":{n},\"seed\":{},\"bytes\":{bytes},\"seconds\":{secs:.3}}}",
            json_str(&out.display().to_string()),
            json_str(kind_s),
            s.seed
        );
    } else {
        println!(
            "wrote {n} {kind_s} accesses (seed {}) to {} ({bytes} bytes, {:.2} bytes/access)",
            s.seed,
            out.display(),
            bytes as f64 / n.max(1) as f64
        );
    }
    Ok(())
}

fn cmd_trace_stats(a: &Args) -> Result<()> {
    use linewatch_model::trace as tr;
    let inp = Path::new(a.req("in")?);
    let (fmt, mut src) = tr::open(inp, a.has("skip-bad"))?;
    let t = std::time::Instant::now();
    let mut s = tr::Stats::new();
    s.add_all(&mut src)?;
    let secs = t.elapsed().as_secs_f64();
    let rate = s.accesses as f64 / secs.max(1e-9);
    let bytes = file_len(inp);
    if a.has("json") {
        println!(
            "{{\"in\":{},\"format\":\"{}\",\"bytes\":{bytes},\"accesses\":{},\"loads\":{},\"stores\":{},\"modifies\":{},\"instrs\":{},\"line_accesses\":{},\"unique_lines\":{},\"unique_pages\":{},\"lines_written\":{},\"pages_written\":{},\"skipped_lines\":{},\"seconds\":{secs:.3},\"accesses_per_s\":{rate:.0}}}",
            json_str(&inp.display().to_string()),
            fmt.name(),
            s.accesses,
            s.loads,
            s.stores,
            s.modifies,
            s.instrs,
            s.line_accesses,
            s.unique_lines(),
            s.unique_pages(),
            s.lines_written(),
            s.pages_written(),
            src.skipped()
        );
    } else {
        println!(
            "{} ({}, {bytes} bytes, {:.2} bytes/access): {} accesses: {} loads, {} stores, {} modifies, {} instr",
            inp.display(),
            fmt.name(),
            bytes as f64 / s.accesses.max(1) as f64,
            s.accesses,
            s.loads,
            s.stores,
            s.modifies,
            s.instrs
        );
        println!(
            "  touched {} lines ({} KiB) in {} pages; written {} lines in {} pages",
            s.unique_lines(),
            s.unique_lines() * 64 / 1024,
            s.unique_pages(),
            s.lines_written(),
            s.pages_written()
        );
        if src.skipped() > 0 {
            println!("  {} malformed lines skipped", src.skipped());
        }
        println!("  {:.1} M accesses/s ({secs:.3} s)", rate / 1e6);
    }
    Ok(())
}

/// Removes the FIFO however `trace record` ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies what is read into a second writer (`--keep-text`).
struct Tee<R, W>(R, Option<W>);

impl<R: std::io::Read, W: std::io::Write> std::io::Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        if let Some(w) = &mut self.1 {
            w.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

fn cmd_trace_record(a: &Args, cmd: &[String]) -> Result<()> {
    use linewatch_model::trace::{self as tr, TraceSink, TraceSource};
    use std::process::Command;
    let out = PathBuf::from(a.req("out")?);
    if cmd.is_empty() {
        bail!("'trace record' needs the command to trace after --, e.g. linewatch trace record --out t.bin -- ls /");
    }
    let vg = Command::new("valgrind").arg("--version").output();
    if !vg.is_ok_and(|o| o.status.success()) {
        bail!("valgrind not found on PATH (ci/bootstrap.sh installs it)");
    }
    // valgrind writes lackey's trace to its log; a FIFO streams it to us, so a
    // 10^8-access run never sits on disk as text.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let fifo = std::env::temp_dir().join(format!(
        "linewatch-lackey-{}-{nanos}.fifo",
        std::process::id()
    ));
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .with_context(|| "cannot run mkfifo")?;
    if !made.success() {
        bail!("mkfifo {} failed", fifo.display());
    }
    let _fifo_guard = RemoveOnDrop(fifo.clone());
    let name = out.display().to_string();
    let mut w = tr::BinWriter::new(tr::OutFile::create(&out)?, &name)?;
    let text_path = PathBuf::from(format!("{}.lackey", out.display()));
    let text = if a.has("keep-text") {
        Some(tr::OutFile::create(&text_path)?)
    } else {
        None
    };
    let t = std::time::Instant::now();
    let mut child = Command::new("valgrind")
        .arg("--tool=lackey")
        .arg("--trace-mem=yes")
        .arg(format!("--log-file={}", fifo.display()))
        .args(cmd)
        .spawn()
        .with_context(|| "cannot start valgrind")?;
    let reader_fifo = fifo.clone();
    let reader = std::thread::spawn(move || -> Result<_> {
        // Blocks until valgrind opens its log (or we unblock it below).
        let f = std::fs::File::open(&reader_fifo)
            .with_context(|| format!("cannot open {}", reader_fifo.display()))?;
        let mut r = tr::LackeyReader::from_reader(Tee(f, text), "valgrind lackey output", false);
        let mut kinds = [0u64; 4];
        while let Some(acc) = r.next_access()? {
            kinds[acc.kind as usize] += 1;
            w.push(&acc)?;
        }
        Ok((w, kinds, r))
    });
    let status = child.wait().with_context(|| "waiting for valgrind")?;
    // If valgrind never opened the FIFO (e.g. the command does not exist), the
    // reader is still blocked in open: a non-blocking writer open releases it
    // (it fails harmlessly when no reader is waiting).
    while !reader.is_finished() {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (mut w, kinds, r) = reader
        .join()
        .map_err(|_| anyhow!("trace reader thread panicked"))??;
    let n = w.finish()?;
    let secs = t.elapsed().as_secs_f64();
    let code = status.code().unwrap_or(-1);
    if n == 0 {
        bail!(
            "valgrind recorded no accesses (exit status {code}; see its message above) for: {}",
            cmd.join(" ")
        );
    }
    w.into_inner().commit()?;
    if let Some(t) = r.into_inner().into_inner().1 {
        t.commit()?;
    }
    let bytes = file_len(&out);
    if a.has("json") {
        println!(
            "{{\"out\":{},\"command\":{},\"exit_status\":{code},\"accesses\":{n},\"instrs\":{},\"loads\":{},\"stores\":{},\"modifies\":{},\"bytes\":{bytes},\"bytes_per_access\":{:.3},\"seconds\":{secs:.3}{}}}",
            json_str(&name),
            json_str(&cmd.join(" ")),
            kinds[3],
            kinds[0],
            kinds[1],
            kinds[2],
            bytes as f64 / n as f64,
            if a.has("keep-text") {
                format!(",\"text\":{}", json_str(&text_path.display().to_string()))
            } else {
                String::new()
            }
        );
    } else {
        println!(
            "recorded {n} accesses ({} instr, {} loads, {} stores, {} modifies) of '{}' (exit status {code}) into {name}: {bytes} bytes, {:.2} bytes/access, {:.1} s{}",
            kinds[3],
            kinds[0],
            kinds[1],
            kinds[2],
            cmd.join(" "),
            bytes as f64 / n as f64,
            secs,
            if a.has("keep-text") {
                format!("; lackey text in {}", text_path.display())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_names_the_ecp5_options_of_the_flow() {
        let u = usage();
        assert!(!u.contains("{ecp5_pnr}"), "{u}");
        let named = format!("(ECP5: {})", linewatch_fpga::ECP5_PNR_ARGS.join(" "));
        assert!(u.contains(&named), "{u}");
    }
}
