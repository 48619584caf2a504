//! Registers that synthesis merges across blocks.
//!
//! Yosys merges flip-flops that load the same net (`opt_merge`). Inside a block
//! that costs nothing; across blocks it does: the merged register can sit by only
//! one of the blocks that read it, and the other's paths cross the die (step 43:
//! the agent's event registers were the bitmap's set-stage registers, and the
//! core's stage-2 line was the bitmap's too). A copy meant to stay apart is named
//! `keep_*`, which the flow keeps out of the merge (`KEEP_MODULES`). This pass runs
//! Debian Yosys on `top.v` as far as `opt_merge`, with the same `keep_*` rule, and
//! lists the register merges it makes.

use crate::report::census_block;
use crate::tools::{self, Tool};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One register of `top` folded into another: instance paths (`core.bitmap.sb_idx`,
/// array elements as `name.k`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    pub removed: String,
    pub kept: String,
}

/// The register merges Yosys makes in `verilog` (a `top.v`), read with `define`
/// set (`LINEWATCH_ECP5` or `LINEWATCH_ICE40`, as the flow reads it). Registers
/// that never change (a constant input, the unused entries of a configuration) are
/// removed first (`opt_dff`): they are no register at all. Works in `dir`.
pub fn register_merges(verilog: &str, define: &str, dir: &Path) -> Result<Vec<Merge>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let top = dir.join("top.v");
    std::fs::write(&top, verilog).with_context(|| format!("cannot write {}", top.display()))?;
    let yosys = tools::find(Tool::Yosys)?;
    let script = format!(
        "read_verilog -D{define} top.v; hierarchy -top top; \
         setattr -mod -set keep_hierarchy 1 {keep}; proc; flatten; opt_expr; opt_clean; \
         opt_dff; opt_clean; tee -q -o merges.log debug opt_merge",
        keep = crate::KEEP_MODULES
    );
    let out = Command::new(&yosys)
        .args(["-q", "-p", &script])
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run {}", yosys.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed in {}: {}",
            yosys.display(),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let log_path = dir.join("merges.log");
    let log = std::fs::read_to_string(&log_path)
        .with_context(|| format!("cannot read {}", log_path.display()))?;
    Ok(parse_merges(&log))
}

/// The `Cell A is identical to cell B` lines of `debug opt_merge` whose cells are
/// registers (`$procdff`).
pub fn parse_merges(log: &str) -> Vec<Merge> {
    let path = |cell: &str| -> Option<String> {
        let inst = cell
            .strip_prefix("$flatten\\")?
            .split(".$procdff$")
            .next()?;
        Some(inst.replace('\\', "").replace('$', "."))
    };
    log.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("Cell `")?;
            let (a, rest) = rest.split_once("' is identical to cell `")?;
            let b = rest.strip_suffix("'.")?;
            if !a.contains("$procdff$") || !b.contains("$procdff$") {
                return None;
            }
            Some(Merge {
                removed: path(a)?,
                kept: path(b)?,
            })
        })
        .collect()
}

/// The merges between registers of different blocks (`census_block`'s blocks: the
/// top's own registers are `top`), with the two blocks.
pub fn across_blocks(merges: &[Merge], blocks: &BTreeSet<String>) -> Vec<(Merge, String, String)> {
    let block = |path: &str| census_block(&format!("dut.{path}"), blocks).expect("a device cell");
    merges
        .iter()
        .filter_map(|m| {
            let (a, b) = (block(&m.removed), block(&m.kept));
            (a != b).then(|| (m.clone(), a, b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_register_merges_of_a_log() {
        let log = "Finding identical cells in module `\\top'.\n  \
            Cell `$flatten\\core.\\bitmap.\\wr_set$3.$procdff$23590' is identical to cell `$flatten\\core.\\bitmap.\\wr_set$1.$procdff$23592'.\n    \
            Removing $dff cell `$flatten\\core.\\bitmap.\\wr_set$3.$procdff$23590' from module `\\top'.\n  \
            Cell `$flatten\\ev_dirty_valid.$procdff$1' is identical to cell `$flatten\\core.\\bitmap.\\sb_valid.$procdff$2'.\n  \
            Cell `$flatten\\core.$and$top.v:10$5' is identical to cell `$flatten\\core.$and$top.v:11$6'.\n";
        let m = parse_merges(log);
        assert_eq!(
            m,
            vec![
                Merge {
                    removed: "core.bitmap.wr_set.3".into(),
                    kept: "core.bitmap.wr_set.1".into()
                },
                Merge {
                    removed: "ev_dirty_valid".into(),
                    kept: "core.bitmap.sb_valid".into()
                },
            ]
        );
        let blocks: BTreeSet<String> = ["core", "core.bitmap"].map(String::from).into();
        let x = across_blocks(&m, &blocks);
        assert_eq!(x.len(), 1);
        assert_eq!((x[0].1.as_str(), x[0].2.as_str()), ("top", "core.bitmap"));
    }
}
