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
  linewatch synth --config FILE --target T [--out DIR] [--pcf FILE] [--json]
  linewatch synth-sweep [--configs A,B] [--targets T,U] [--out FILE]

  rtl    write the device's Verilog (DIR/top.v) for a configuration
  cosim  drive the model and the Verilated RTL in lockstep with a protocol-obeying
         host; report the first diverging cycle with a waveform around it
  bench  model alone vs Verilated RTL alone on the same busy traffic, cycles/s
  synth  Yosys + nextpnr for T (ice40-up5k, ice40-hx8k, ecp5-25k, ecp5-85k) at the
         config's [fpga] clock_mhz, out of context; logs in DIR (default
         out/synth/<config>-<T>); exit 1 if it does not fit or misses timing
  synth-sweep  configs x targets into a markdown table in FILE (default docs/fpga.md)

  Verilated devices are cached in $LINEWATCH_CACHE (default ~/.cache/linewatch/verilated).";

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
            .ok_or_else(|| anyhow!("no command given\n{USAGE}"))?;
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
        "\"dirty_lines_written\":{},\"dirty_lines_harvested\":{},\"harvest_scans_checked\":{},\"recalls\":{},\"wall_s\":{:.3}}}",
        r.dirty_written, r.dirty_harvested, r.scans_checked, r.recalls, r.wall_s
    )
    .unwrap();
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
    } else {
        println!("{}", report_json(&rep, opts.seed, cfg_path));
    }
    if let Some(f) = failures.first() {
        bail!("{f}");
    }
    Ok(())
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
    let s = linewatch_fpga::run(
        &cfg.geometry(),
        target,
        cfg.fpga.clock_mhz as f64,
        &out,
        a.vals.get("pcf").map(Path::new),
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
    for k in ["configs", "targets", "out"] {
        if let Some(v) = a.vals.get(k) {
            write!(command, " --{k} {v}").unwrap();
        }
    }
    let rows = sweep::run(&configs, &targets, Path::new("out/synth"), &mut |r| {
        let what = match &r.result {
            Ok(s) => s
                .problem
                .clone()
                .unwrap_or_else(|| format!("fits, Fmax {:.1} MHz", s.fmax_mhz.unwrap_or(0.0))),
            Err(e) => format!("flow failed: {e}"),
        };
        println!("{} on {}: {what}", r.config, r.target.name);
    })?;
    sweep::update_doc(&doc, &sweep::markdown(&rows), &command)?;
    println!("wrote {}", doc.display());
    Ok(())
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
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
        "synth" => Args::parse(&argv, &["config", "target", "out", "pcf"], &["json"])
            .and_then(|a| cmd_synth(&a)),
        "synth-sweep" => Args::parse(&argv, &["configs", "targets", "out"], &[])
            .and_then(|a| cmd_synth_sweep(&a)),
        other => Err(anyhow!("unknown command '{other}'\n{USAGE}")),
    };
    if let Err(e) = res {
        eprintln!("linewatch: {e:#}");
        std::process::exit(1);
    }
}
