//! LUT levels into the device's registers and RAMs of run directories' netlists:
//! `cargo run --release -p linewatch-fpga --example depth -- DIR [DIR...]`
//! (each DIR a `linewatch synth --out` directory holding `lw_ooc.json`);
//! `--levels K` lists the registers at the top K depths (default 2); `--into NAME`
//! prints the deepest path into the endpoints whose cell name contains NAME.

use std::io::Write as _;

fn run() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut levels = 2u32;
    let mut into = String::new();
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--levels" {
            let v = args.next().unwrap_or_default();
            levels = v
                .parse()
                .map_err(|_| anyhow::anyhow!("--levels: expected a count, got `{v}`"))?;
        } else if a == "--into" {
            into = args.next().unwrap_or_default();
        } else {
            dirs.push(a);
        }
    }
    anyhow::ensure!(
        !dirs.is_empty(),
        "usage: depth [--levels K] [--into NAME] DIR [DIR...]"
    );
    for dir in dirs {
        let path = std::path::Path::new(&dir).join("lw_ooc.json");
        let net = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let d =
            linewatch_fpga::depth::analyse_into(&net, linewatch_fpga::harness::TOP, "dut.", &into)?;
        writeln!(out, "{dir}: {}", d.describe())?;
        let top = d.max() as u32;
        for floor in (top.saturating_sub(levels.saturating_sub(1))..=top).rev() {
            let regs = d.by_register(floor);
            let list: Vec<String> = regs
                .iter()
                .take(16)
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            writeln!(out, "  >= {floor} levels: {}", list.join(", "))?;
        }
        if d.path.is_empty() {
            writeln!(out, "  path: no endpoint's name contains `{into}`")?;
        } else {
            writeln!(out, "  path: {}", d.path.join(" -> "))?;
        }
    }
    Ok(())
}

fn main() {
    linewatch_fpga::run_cli("depth", run);
}
