//! The tools' scale: an 8-bit counter synthesized and placed for each target with
//! the target's own options (`linewatch_fpga::counter_fmax`), the figure the device's
//! Fmax compares against:
//! `cargo run --release -p linewatch-fpga --example scale [-- --seed N] [TARGET...]`
//! (default: every target, seed 1; runs in `out/scale/<target>/`).

use anyhow::{anyhow, Result};
use std::io::Write as _;
use std::path::Path;

fn run() -> Result<()> {
    let mut seed = 1u64;
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => {
                let v = args.next().unwrap_or_default();
                seed = v
                    .parse()
                    .map_err(|_| anyhow!("--seed: expected a number, got `{v}`"))?;
            }
            _ if a.starts_with("--") => {
                return Err(anyhow!(
                    "unknown option `{a}` (usage: scale [--seed N] [TARGET...])"
                ))
            }
            _ => names.push(a),
        }
    }
    let targets = if names.is_empty() {
        linewatch_fpga::TARGETS.iter().collect()
    } else {
        names
            .iter()
            .map(|n| linewatch_fpga::target(n))
            .collect::<Result<Vec<_>>>()?
    };
    let mut out = std::io::stdout().lock();
    for t in targets {
        let dir = Path::new("out/scale").join(t.name);
        let f = linewatch_fpga::counter_fmax(t, &dir, seed)?;
        writeln!(
            out,
            "{:<12} {:<20} 8-bit counter: {f:.1} MHz (seed {seed})",
            t.name, t.part
        )?;
    }
    Ok(())
}

fn main() {
    linewatch_fpga::run_cli("scale", run);
}
