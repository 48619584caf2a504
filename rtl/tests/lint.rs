//! The generated Verilog passes `verilator --lint-only -Wall` (with only the
//! crate's waivers), has exactly the model's ports, and synthesizes for iCE40.

use linewatch_model::ports::{Port, INPUT_PORTS, OUTPUT_PORTS};
use linewatch_model::Config;
use linewatch_rtl::{generate_verilog, VERILATOR_LINT_WAIVERS};
use std::path::{Path, PathBuf};
use std::process::Command;

fn generate(config: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(config);
    let g = Config::load(&path).unwrap().geometry();
    generate_verilog(&g)
}

/// A fresh directory holding the Verilog as `top.v`.
fn write_top(name: &str, verilog: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linewatch_rtl_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("top.v"), verilog).unwrap();
    dir
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lint(config: &str) {
    lint_verilog(
        &format!("lint_{}", config.replace(['.', '-'], "_")),
        &generate(config),
    );
}

/// `verilator --lint-only -Wall` with the crate's waivers on `verilog` (top `top`).
fn lint_verilog(name: &str, verilog: &str) {
    let dir = write_top(name, verilog);
    run(Command::new("verilator")
        .current_dir(&dir)
        .args(["--lint-only", "-Wall"])
        .args(VERILATOR_LINT_WAIVERS)
        .args(["--top-module", "top", "top.v"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page-table trigger as a block of its own (the device with it:
/// `pt_small_config_lints_clean`).
#[test]
fn pt_trigger_block_lints_clean() {
    use linewatch_model::device::pt_trigger::PtParams;
    use linewatch_rtl::pt_trigger::PtTrigger;
    use rust_hdl::prelude::Block;
    let mut uut = PtTrigger::new(&PtParams {
        registry: 16,
        inflight: 3,
        timer: 100,
        window_base: 0x1000,
        window_frames: 5000, // a residency RAM of 8192 words
    });
    uut.connect_all();
    lint_verilog(
        "lint_pt_trigger",
        &rust_hdl::prelude::generate_verilog(&uut),
    );
}

#[test]
fn default_config_lints_clean() {
    lint("default.toml");
}

#[test]
fn ice40_small_config_lints_clean() {
    lint("ice40-small.toml");
}

/// The device with the page-table trigger (`[device.pt]`).
#[test]
fn pt_small_config_lints_clean() {
    lint("pt-small.toml");
}

/// With the trigger, the top has the same ports (the fetch port then drives).
#[test]
fn pt_small_top_ports_match_the_port_table() {
    let with = top_ports(&generate("pt-small.toml"));
    let mut without = top_ports(&generate("default.toml"));
    let mut with_sorted = with.clone();
    with_sorted.sort();
    without.sort();
    assert_eq!(with_sorted, without);
    assert!(with
        .iter()
        .any(|(d, n, w)| d == "output" && n == "fetch_frame" && *w == 40));
}

/// `(direction, name, width)` of each port in `module top(...)`.
fn top_ports(verilog: &str) -> Vec<(String, String, usize)> {
    let start = verilog.find("\nmodule top(").expect("module top");
    let body = &verilog[start..];
    let body = &body[..body.find("endmodule").unwrap()];
    body.lines()
        .map(str::trim)
        .filter_map(|l| {
            let dir = if l.starts_with("input ") {
                "input"
            } else if l.starts_with("output ") {
                "output"
            } else {
                return None;
            };
            let l = l.trim_end_matches(';');
            let width = match (l.find('['), l.find(':')) {
                (Some(a), Some(b)) => l[a + 1..b].parse::<usize>().unwrap() + 1,
                _ => 1,
            };
            let name = l.split_whitespace().last().unwrap().to_string();
            Some((dir.to_string(), name, width))
        })
        .collect()
}

#[test]
fn top_ports_match_the_port_table() {
    let v = generate("ice40-small.toml");
    let mut got = top_ports(&v);
    got.sort();
    let clock = Port {
        name: "clock",
        width: 1,
    };
    let mut want: Vec<_> = INPUT_PORTS
        .iter()
        .chain([&clock])
        .map(|p| ("input".to_string(), p.name.to_string(), p.width))
        .chain(
            OUTPUT_PORTS
                .iter()
                .map(|p| ("output".to_string(), p.name.to_string(), p.width)),
        )
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn ice40_small_synthesizes() {
    let dir = write_top("synth_ice40", &generate("ice40-small.toml"));
    run(Command::new("yosys").current_dir(&dir).args([
        "-q",
        "-l",
        "yosys.log",
        "-p",
        "read_verilog top.v; synth_ice40 -top top; stat",
    ]));
    let _ = std::fs::remove_dir_all(&dir);
}
