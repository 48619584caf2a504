//! Late endpoints by register in ECP5 run directories' nextpnr reports:
//! `cargo run --release -p linewatch-fpga --example late -- DIR [DIR...]`
//! (each DIR a `linewatch synth --out` directory; every `report.seedN.json` in it,
//! or `report.json`). An endpoint is late when its data arrives after the clock's
//! constraint period (`--period NS` to choose another); `--top K` lists the K
//! registers with the latest arrivals (default 20). `linewatch synth` prints the
//! same endpoints by block; this names the registers inside the blocks.
//!
//! `--without P[,P...]` asks what a fix of some blocks would be worth: the Fmax
//! each placement would have if no endpoint in a register named `P...` (as listed,
//! e.g. `core.sf` for the filter, `regs` for the agent, `keep_` for the top's
//! copies) were timed, that is one
//! over the latest arrival left (the harness's endpoints stay), and the mean over
//! a directory's placements, beside the achieved mean. It is an upper bound for
//! those placements: a changed netlist is placed anew.

use anyhow::{anyhow, ensure, Context, Result};
use linewatch_fpga::report::{register_of, PnrReport};
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn reports(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut seeds: Vec<(u64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(n) = name
            .strip_prefix("report.seed")
            .and_then(|r| r.strip_suffix(".json"))
            .and_then(|n| n.parse().ok())
        {
            seeds.push((n, p));
        }
    }
    seeds.sort();
    let mut v: Vec<PathBuf> = seeds.into_iter().map(|s| s.1).collect();
    if v.is_empty() && dir.join("report.json").is_file() {
        v.push(dir.join("report.json"));
    }
    ensure!(!v.is_empty(), "{}: no nextpnr report", dir.display());
    Ok(v)
}

fn run() -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut period: Option<f64> = None;
    let mut top = 20usize;
    let mut without: Vec<String> = Vec::new();
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--period" => {
                let v = args.next().unwrap_or_default();
                let ns = v.parse::<f64>().ok().filter(|x| *x > 0.0);
                period = Some(ns.ok_or_else(|| {
                    anyhow!("--period: expected a positive number of ns, got `{v}`")
                })?);
            }
            "--top" => {
                let v = args.next().unwrap_or_default();
                top = v
                    .parse()
                    .map_err(|_| anyhow!("--top: expected a count, got `{v}`"))?;
            }
            "--without" => {
                let v = args.next().unwrap_or_default();
                without = v
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
                ensure!(
                    !without.is_empty(),
                    "--without: expected register prefixes such as core.sf,regs, got `{v}`"
                );
            }
            _ if a.starts_with("--") => {
                return Err(anyhow!(
                "unknown option `{a}` (usage: late [--period NS] [--top K] [--without P,..] DIR..)"
            ))
            }
            _ => dirs.push(a),
        }
    }
    ensure!(
        !dirs.is_empty(),
        "usage: late [--period NS] [--top K] [--without P,..] DIR [DIR...]"
    );
    for dir in dirs {
        let (mut achieved, mut bound) = (Vec::new(), Vec::new());
        for path in reports(Path::new(&dir))? {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let rep = PnrReport::parse(&text).with_context(|| format!("{}", path.display()))?;
            let (_, f) = rep
                .worst_clock()
                .ok_or_else(|| anyhow!("{}: no clock was timed", path.display()))?;
            ensure!(
                !rep.arrivals.is_empty(),
                "{}: no endpoint timings (only ECP5 runs have them)",
                path.display()
            );
            let p = period.unwrap_or(1000.0 / f.constraint);
            let late = rep.late_registers(p);
            let n: usize = late.iter().map(|l| l.1).sum();
            writeln!(
                out,
                "{}: {:.1} MHz of {}; {n} of {} endpoints after {p:.2} ns, in {} registers",
                path.display(),
                f.achieved,
                f.constraint,
                rep.arrivals
                    .iter()
                    .filter(|a| register_of(&a.cell).is_some())
                    .count(),
                late.len()
            )?;
            for (r, n, w) in late.iter().take(top) {
                writeln!(out, "  {n:5} {w:6.2} ns  {r}")?;
            }
            if let Some(c) = rep.worst_path() {
                writeln!(
                    out,
                    "  critical path {:.2} ns ({:.2} routing, {} levels): {} -> {}",
                    c.total_ns, c.routing_ns, c.logic_levels, c.from_cell, c.to_cell
                )?;
            }
            if !without.is_empty() {
                let (ns, cell) = rep
                    .latest_without(&without)
                    .ok_or_else(|| anyhow!("{}: no endpoint left", path.display()))?;
                let mhz = 1000.0 / ns;
                writeln!(
                    out,
                    "  without {}: {mhz:.1} MHz (latest left {ns:.2} ns, {cell})",
                    without.join(",")
                )?;
                bound.push(mhz);
            }
            achieved.push(f.achieved);
        }
        if !without.is_empty() {
            writeln!(
                out,
                "{dir}: mean of {} placements {:.1} MHz; without {}: {:.1} MHz",
                achieved.len(),
                mean(&achieved),
                without.join(","),
                mean(&bound)
            )?;
        }
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() {
    linewatch_fpga::run_cli("late", run);
}
