//! Configurations x targets, one synthesis per configuration and family, written
//! as a markdown table between two markers of a document (the prose around it is
//! kept).

use crate::{
    copy_synthesis, place_and_route_seeds, synthesize, tools, Family, Placement, Synth, Target,
    ToolArgs,
};
use anyhow::{Context, Result};
use linewatch_model::Config;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const BEGIN: &str = "<!-- synth-sweep:begin (generated; edit around it) -->";
pub const END: &str = "<!-- synth-sweep:end -->";

/// One cell of the sweep: a result, or the one-line reason the flow broke.
pub struct Row {
    pub config: String,
    pub target: &'static Target,
    pub result: Result<Synth, String>,
}

/// The directory a run of `config` on `target` works in.
pub fn run_dir(root: &Path, config: &Path, target: &Target) -> PathBuf {
    let stem = config
        .file_stem()
        .map_or("config".into(), |s| s.to_string_lossy());
    root.join(format!("{stem}-{}", target.name))
}

/// Run every configuration on every target, placing once per seed in `seeds` (once
/// with nextpnr's default seed when empty; `jobs` seeds at once); `say` hears each
/// finished row.
pub fn run(
    configs: &[PathBuf],
    targets: &[&'static Target],
    root: &Path,
    seeds: &[u64],
    jobs: usize,
    say: &mut dyn FnMut(&Row),
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for path in configs {
        let cfg = Config::load(path)?;
        let g = cfg.geometry();
        let clock = cfg.fpga.clock_mhz as f64;
        let how = Placement {
            seeds: seeds.to_vec(),
            jobs,
            ..Placement::default()
        };
        let pnr = |d: &Path, t: &'static Target| place_and_route_seeds(d, t, clock, &how);
        let name = path.display().to_string();
        for fam in [Family::Ice40, Family::Ecp5] {
            // Targets of a family with the same synthesis options share one run.
            let mut synthesized: Vec<(&str, Result<PathBuf, String>)> = Vec::new();
            for &t in targets.iter().filter(|t| t.family == fam) {
                let dir = run_dir(root, path, t);
                let earlier = synthesized
                    .iter()
                    .find(|(args, _)| *args == t.synth_args)
                    .map(|(_, r)| r.clone());
                let res = match earlier {
                    None => {
                        let r = tools::find(fam.yosys())
                            .and_then(|_| synthesize(&g, t, &ToolArgs::default(), &dir))
                            .map(|secs| (dir.clone(), secs))
                            .map_err(|e| format!("{e:#}"));
                        synthesized.push((
                            t.synth_args,
                            r.as_ref().map(|(d, _)| d.clone()).map_err(Clone::clone),
                        ));
                        r.and_then(|(d, secs)| {
                            pnr(&d, t)
                                .map(|mut s| {
                                    s.times.insert(0, ("yosys", secs));
                                    s
                                })
                                .map_err(|e| format!("{e:#}"))
                        })
                    }
                    Some(Err(e)) => Err(e),
                    Some(Ok(first)) => copy_synthesis(&first, &dir)
                        .and_then(|_| pnr(&dir, t))
                        .map_err(|e| format!("{e:#}")),
                };
                let row = Row {
                    config: name.clone(),
                    target: t,
                    result: res,
                };
                say(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// The markdown table of a sweep.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| config | target | clock | logic cells | LUT4 | FF | BRAM | Fmax | fits | timing | critical path | LUT depth | yosys, nextpnr (s) |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|\n");
    for r in rows {
        let cfg = Path::new(&r.config)
            .file_name()
            .map_or(r.config.clone(), |f| f.to_string_lossy().into());
        match &r.result {
            Err(e) => writeln!(
                s,
                "| {cfg} | {} | | | | | | | | | flow failed: {} | | |",
                r.target.name,
                e.replace('|', "/")
            )
            .unwrap(),
            Ok(x) => {
                let l = x.logic();
                let b = x.bram();
                let secs = |stage: &str| -> f64 {
                    x.times
                        .iter()
                        .filter(|(k, _)| k.starts_with(stage))
                        .map(|(_, v)| v)
                        .sum()
                };
                // The second target of a family reuses the first one's synthesis.
                let yosys = if x.times.iter().any(|(k, _)| *k == "yosys") {
                    format!("{:.0}", secs("yosys"))
                } else {
                    "shared".into()
                };
                writeln!(
                    s,
                    "| {cfg} | {} | {} MHz | {} / {} ({:.0}%) | {} | {}{} | {} / {} | {} | {} | {} | {} | {} | {yosys}, {:.0} |",
                    r.target.name,
                    x.constraint_mhz,
                    l.used,
                    l.available,
                    l.percent(),
                    x.luts,
                    x.ffs,
                    if x.lutram > 0 {
                        format!(" (+{} LUT-RAM)", x.lutram)
                    } else {
                        String::new()
                    },
                    b.used,
                    b.available,
                    match (x.fmax_mhz, x.fmax_spread()) {
                        (None, _) => "—".into(),
                        (Some(f), None) => format!("{f:.1} MHz"),
                        (Some(f), Some((lo, med, _))) => format!(
                            "{f:.1} MHz (of {} seeds; min {lo:.1}, median {med:.1})",
                            x.tries.len()
                        ),
                    },
                    if x.fits { "yes" } else { "**no**" },
                    match (x.fits, x.meets_timing, &x.census) {
                        (false, _, _) => "—".into(),
                        (true, true, _) => "met".into(),
                        (true, false, None) => "**missed**".to_string(),
                        (true, false, Some(c)) => format!("**missed**: {}", c.brief(3)),
                    },
                    x.critical_path.as_ref().map_or("—".into(), |p| p.describe()),
                    x.depth.as_ref().map_or("—".into(), |d| d.top_two()),
                    secs("nextpnr")
                )
                .unwrap();
            }
        }
    }
    s
}

/// How long a sweep took: wall time, placements run at once, the machine's cores.
pub struct Took {
    pub wall_secs: f64,
    pub jobs: usize,
    pub cores: usize,
}

/// Put `table` between the markers of `doc` (or make a minimal document), after
/// the command that made it and how long that took.
pub fn update_doc(doc: &Path, table: &str, command: &str, took: &Took) -> Result<()> {
    let body = format!(
        "{BEGIN}\n\nRegenerate with `{command}` ({:.0} s of wall time for this table; nextpnr {} at a time on {} cores).\n\n{table}\n{END}",
        took.wall_secs, took.jobs, took.cores
    );
    let text = match std::fs::read_to_string(doc) {
        Ok(old) => match (old.find(BEGIN), old.find(END)) {
            (Some(a), Some(b)) if a < b => format!("{}{body}{}", &old[..a], &old[b + END.len()..]),
            _ => format!("{}\n{body}\n", old.trim_end()),
        },
        Err(_) => format!("# FPGA results\n\n{body}\n"),
    };
    let tmp = doc.with_extension("partial");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, doc).with_context(|| format!("cannot write {}", doc.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_doc_keeps_the_prose_around_the_markers() {
        let p = std::env::temp_dir().join(format!("lw_sweep_doc_{}.md", std::process::id()));
        std::fs::write(
            &p,
            format!("# T\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n"),
        )
        .unwrap();
        let took = Took {
            wall_secs: 12.4,
            jobs: 1,
            cores: 2,
        };
        update_doc(&p, "| new |\n", "cmd", &took).unwrap();
        let t = std::fs::read_to_string(&p).unwrap();
        assert!(
            t.contains(
                "Regenerate with `cmd` (12 s of wall time for this table; nextpnr 1 at a time on 2 cores)."
            ),
            "{t}"
        );
        assert!(t.starts_with("# T\n\nbefore\n\n"), "{t}");
        assert!(t.contains("| new |") && !t.contains("old"), "{t}");
        assert!(t.ends_with(&format!("{END}\n\nafter\n")), "{t}");
        let _ = std::fs::remove_file(&p);
    }
}
