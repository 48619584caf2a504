//! No register of one block is merged into another block's by synthesis (Debian
//! Yosys as far as `opt_merge`, `linewatch_fpga::merges`): a register two blocks
//! read must be a `keep_*` copy per block.

use linewatch_fpga::merges::{across_blocks, register_merges, Merge};
use linewatch_fpga::report::blocks_of_verilog;
use linewatch_model::Config;
use std::path::{Path, PathBuf};

fn verilog(config: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(config);
    let g = Config::load(&path).unwrap().geometry();
    linewatch_rtl::generate_verilog(&g)
}

/// A scratch directory for one Yosys run, removed when dropped (also when the
/// run fails and the test panics).
struct Work(PathBuf);

impl Work {
    fn new(name: &str) -> Work {
        Work(std::env::temp_dir().join(format!("linewatch-merges-{}-{name}", std::process::id())))
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The merges across blocks in `verilog` read with `define`.
fn across(verilog: &str, define: &str, name: &str) -> Vec<(Merge, String, String)> {
    let dir = Work::new(name);
    let merges = register_merges(verilog, define, &dir.0).unwrap();
    across_blocks(&merges, &blocks_of_verilog(verilog))
}

#[test]
fn no_register_is_merged_across_blocks() {
    for (config, define) in [
        ("default.toml", "LINEWATCH_ECP5"),
        ("pt-small.toml", "LINEWATCH_ECP5"),
        ("ice40-small.toml", "LINEWATCH_ICE40"),
        ("ice40-small.toml", "LINEWATCH_ECP5"),
    ] {
        let x = across(&verilog(config), define, &format!("{config}-{define}"));
        assert!(x.is_empty(), "{config} with {define}: {x:#?}");
    }
}

/// The check finds the merge step 43 removed: the bitmap's set line as a plain
/// register again is the core's stage-2 line.
#[test]
fn a_shared_register_is_found() {
    let v = verilog("default.toml");
    assert!(v.contains("keep_sb_idx"));
    let x = across(
        &v.replace("keep_sb_idx", "sb_idx"),
        "LINEWATCH_ECP5",
        "plant",
    );
    let pairs: Vec<(&str, &str)> = x
        .iter()
        .map(|(m, _, _)| (m.removed.as_str(), m.kept.as_str()))
        .collect();
    assert!(
        pairs.contains(&("core.s2_line", "core.bitmap.sb_idx"))
            || pairs.contains(&("core.bitmap.sb_idx", "core.s2_line")),
        "{x:#?}"
    );
    assert_eq!(x.len(), 1, "{x:#?}");
}
