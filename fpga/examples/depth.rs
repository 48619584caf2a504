//! LUT levels into the device's registers and RAMs of run directories' netlists:
//! `cargo run --release -p linewatch-fpga --example depth -- DIR [DIR...]`
//! (each DIR a `linewatch synth --out` directory holding `lw_ooc.json`).

fn main() -> anyhow::Result<()> {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!dirs.is_empty(), "usage: depth DIR [DIR...]");
    for dir in dirs {
        let path = std::path::Path::new(&dir).join("lw_ooc.json");
        let net = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let d = linewatch_fpga::depth::analyse(&net, linewatch_fpga::harness::TOP, "dut.")?;
        println!("{dir}: {}", d.describe());
        let top = d.max() as u32;
        for floor in [top, top.saturating_sub(1)] {
            let regs = d.by_register(floor);
            let list: Vec<String> = regs
                .iter()
                .take(12)
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            println!("  >= {floor} levels: {}", list.join(", "));
        }
        println!("  path: {}", d.path.join(" -> "));
    }
    Ok(())
}
