//! nextpnr's `--report` JSON (utilization per bel type, fmax per clock, critical
//! paths, and with `--detailed-timing-report` the arrival time at every timed
//! endpoint) and Yosys' `stat -json` cell counts.

use crate::json::{self, Value};
use anyhow::{anyhow, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Used and available bels of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

impl Usage {
    pub fn percent(&self) -> f64 {
        if self.available == 0 {
            if self.used == 0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            100.0 * self.used as f64 / self.available as f64
        }
    }
    pub fn fits(&self) -> bool {
        self.used <= self.available
    }
}

/// Achieved and constrained frequency of one clock, MHz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fmax {
    pub achieved: f64,
    pub constraint: f64,
}

/// The longest register-to-register path of one clock, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticalPath {
    pub clock: String,
    pub total_ns: f64,
    pub logic_ns: f64,
    pub routing_ns: f64,
    /// Logic segments on the path other than carry propagation (LUTs, wide-function
    /// muxes, the entry into a carry chain).
    pub logic_levels: usize,
    /// Carry-chain steps on the path (segments from a carry input, `FCI` on ECP5,
    /// `CIN` on iCE40): a few tens of picoseconds each, so not counted as levels.
    pub carry_steps: usize,
    pub from_cell: String,
    pub to_cell: String,
    /// Device blocks the path crosses in order (`sf`, `tracker`, ...; `core` for the
    /// top level, `harness` for the measurement wrapper), repeats collapsed.
    pub blocks: Vec<String>,
}

/// When data reaches one timed endpoint (a register's or RAM's input pin) after
/// the clock edge, from nextpnr's detailed net timing.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    pub cell: String,
    pub ns: f64,
}

/// A parsed nextpnr report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PnrReport {
    pub utilization: BTreeMap<String, Usage>,
    pub fmax: BTreeMap<String, Fmax>,
    pub critical_paths: Vec<CriticalPath>,
    /// Every timed endpoint (empty without `--detailed-timing-report`).
    pub arrivals: Vec<Arrival>,
}

/// Endpoints whose data arrives after the clock period, by device block: how far
/// the whole design is from a constraint, where the critical path shows one path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Census {
    pub period_ns: f64,
    /// Timed endpoints in the device (the harness's left out).
    pub timed: usize,
    /// (block, endpoints arriving late, latest arrival ns), most late endpoints first.
    pub late: Vec<(String, usize, f64)>,
}

impl Census {
    pub fn late_total(&self) -> usize {
        self.late.iter().map(|l| l.1).sum()
    }
    /// For a table cell: `4753 of 23644 endpoints late (regs 2114, core.sf 1390, ...)`.
    pub fn brief(&self, blocks: usize) -> String {
        let top: Vec<String> = self
            .late
            .iter()
            .take(blocks)
            .map(|(b, n, _)| format!("{b} {n}"))
            .collect();
        format!(
            "{} of {} endpoints late ({}{})",
            self.late_total(),
            self.timed,
            top.join(", "),
            if self.late.len() > blocks {
                ", ..."
            } else {
                ""
            }
        )
    }
    pub fn describe(&self, blocks: usize) -> String {
        let mut parts: Vec<String> = self
            .late
            .iter()
            .take(blocks)
            .map(|(b, n, w)| format!("{b} {n} (to {w:.1} ns)"))
            .collect();
        if self.late.len() > blocks {
            parts.push(format!("{} more blocks", self.late.len() - blocks));
        }
        format!(
            "{} of {} after {:.2} ns{}{}",
            self.late_total(),
            self.timed,
            self.period_ns,
            if parts.is_empty() { "" } else { ": " },
            parts.join(", ")
        )
    }
}

/// Instance paths of the device's blocks (`core`, `core.sf`, ...) from the module
/// names rust-hdl writes into `top.v` (`top$core$sf`, one module per instance): a
/// block is an instance with at least two instances below it, so a flip-flop, a
/// RAM or a register type wrapping one flip-flop counts with the block that holds
/// it.
pub fn blocks_of_verilog(verilog: &str) -> BTreeSet<String> {
    let paths: Vec<String> = verilog
        .lines()
        .filter_map(|l| l.strip_prefix("module top$"))
        .map(|rest| {
            let name = rest.split(|c: char| c == '(' || c.is_whitespace()).next();
            name.unwrap_or("").replace('$', ".")
        })
        .collect();
    let below = |p: &str| {
        paths
            .iter()
            .filter(|q| q.len() > p.len() && q.starts_with(p) && q[p.len()..].starts_with('.'))
            .count()
    };
    paths.iter().filter(|p| below(p) >= 2).cloned().collect()
}

/// The block an endpoint's cell belongs to: the longest block path its hierarchical
/// name starts with (`dut.core.sf.ram.mem.0.3$RAMW_SLICE` -> `core.sf`); `top` for
/// the device top's own cells, None for the harness.
pub fn census_block(cell: &str, blocks: &BTreeSet<String>) -> Option<String> {
    // Array elements are `name$k` in cell names and `name.k` in block paths.
    let rest = cell.strip_prefix("dut.")?.replace('$', ".");
    let mut best = "top";
    for b in blocks {
        if rest.starts_with(b.as_str()) && rest[b.len()..].starts_with('.') && b.len() > best.len()
        {
            best = b;
        }
    }
    Some(best.to_string())
}

impl PnrReport {
    /// The device's endpoints arriving after `period_ns`, by block (largest count first).
    pub fn census(&self, period_ns: f64, blocks: &BTreeSet<String>) -> Census {
        let mut c = Census {
            period_ns,
            ..Default::default()
        };
        let mut late: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        for a in &self.arrivals {
            let Some(b) = census_block(&a.cell, blocks) else {
                continue;
            };
            c.timed += 1;
            if a.ns > period_ns {
                let e = late.entry(b).or_default();
                e.0 += 1;
                e.1 = e.1.max(a.ns);
            }
        }
        c.late = late.into_iter().map(|(b, (n, w))| (b, n, w)).collect();
        c.late.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        c
    }

    /// The latest arrival (ns) among the endpoints outside registers whose name
    /// (`register_of`) starts with one of `prefixes`, and its cell: one over it is
    /// the Fmax the placement would reach if those registers' paths were fixed (the
    /// harness's endpoints always count). None if no endpoint is left.
    pub fn latest_without(&self, prefixes: &[String]) -> Option<(f64, &str)> {
        self.arrivals
            .iter()
            .filter(|a| match register_of(&a.cell) {
                Some(r) => !prefixes.iter().any(|p| r.starts_with(p.as_str())),
                None => true,
            })
            .max_by(|a, b| a.ns.total_cmp(&b.ns))
            .map(|a| (a.ns, a.cell.as_str()))
    }

    /// The device's endpoints arriving after `period_ns`, by register (`register_of`):
    /// (register, late endpoints, latest arrival ns), latest arrival first. The census
    /// says which block to look at; this says which of its registers.
    pub fn late_registers(&self, period_ns: f64) -> Vec<(String, usize, f64)> {
        let mut late: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        for a in self.arrivals.iter().filter(|a| a.ns > period_ns) {
            if let Some(r) = register_of(&a.cell) {
                let e = late.entry(r).or_default();
                e.0 += 1;
                e.1 = e.1.max(a.ns);
            }
        }
        let mut v: Vec<(String, usize, f64)> =
            late.into_iter().map(|(r, (n, w))| (r, n, w)).collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        v
    }
}

/// The device register (or RAM) a placed cell implements, from its hierarchical
/// name: the cell name cut where Yosys' and nextpnr's suffixes begin (one flip-flop
/// of a bus, an array element, a memory's slice), `dut.` dropped
/// (`dut.regs.records$19$q_TRELLIS_FF_Q_6` -> `regs.records`); None for the harness.
pub fn register_of(cell: &str) -> Option<String> {
    let rest = cell.strip_prefix("dut.")?;
    const CUTS: [&str; 7] = [".q_", ".d_", "$", "_TRELLIS", "_LUT4", "_PFUMX", "_L6MUX"];
    let mut end = rest.strip_suffix(".q").unwrap_or(rest).len();
    for c in CUTS {
        if let Some(i) = rest.find(c) {
            end = end.min(i);
        }
    }
    // A memory's slices are `mem.0.160`: its bit and word numbers go too.
    let mut reg = &rest[..end];
    while let Some((head, last)) = reg.rsplit_once('.') {
        if last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        reg = head;
    }
    Some(reg.to_string())
}

/// The device block a netlist cell belongs to, from its hierarchical name: the
/// harness instantiates the device as `dut`. The device top's own cells count as
/// `core`, its registers included (`dut.keep_ev_dirty_valid.q_TRELLIS_FF_Q`: a
/// flip-flop instance's cells are named after its `q`).
pub fn block_of(cell: &str) -> String {
    match cell.strip_prefix("dut.") {
        None => "harness".into(),
        Some(rest) => match rest.split_once('.') {
            Some((_, inner)) if inner == "q" || inner.starts_with("q_") => "core".into(),
            Some((blk, _)) => blk.to_string(),
            None => "core".into(),
        },
    }
}

fn num(v: &Value, what: &str) -> Result<f64> {
    v.as_f64()
        .ok_or_else(|| anyhow!("nextpnr report: {what} is not a number"))
}

impl PnrReport {
    pub fn parse(text: &str) -> Result<PnrReport> {
        let v = json::parse(text).map_err(|e| anyhow!("nextpnr report: {e}"))?;
        let mut r = PnrReport::default();
        let util = v
            .get("utilization")
            .ok_or_else(|| anyhow!("nextpnr report: no 'utilization'"))?;
        for (bel, u) in util.entries() {
            let field = |k: &str| -> Result<u64> {
                Ok(num(
                    u.get(k).unwrap_or(&Value::Null),
                    &format!("utilization.{bel}.{k}"),
                )? as u64)
            };
            r.utilization.insert(
                bel.clone(),
                Usage {
                    used: field("used")?,
                    available: field("available")?,
                },
            );
        }
        if let Some(f) = v.get("fmax") {
            for (clk, e) in f.entries() {
                let field =
                    |k: &str| num(e.get(k).unwrap_or(&Value::Null), &format!("fmax.{clk}.{k}"));
                r.fmax.insert(
                    clk.clone(),
                    Fmax {
                        achieved: field("achieved")?,
                        constraint: field("constraint")?,
                    },
                );
            }
        }
        if let Some(cps) = v.get("critical_paths") {
            for cp in cps.as_array() {
                r.critical_paths.push(critical_path(cp)?);
            }
        }
        for net in v
            .get("detailed_net_timings")
            .map(Value::as_array)
            .unwrap_or(&[])
        {
            for e in net.get("endpoints").map(Value::as_array).unwrap_or(&[]) {
                let cell = e.get("cell").and_then(Value::as_str).unwrap_or("");
                // One number (older nextpnr) or a pair whose larger is the arrival
                // (the largest over the design is the critical path's length).
                let ns = match e.get("delay") {
                    Some(Value::Arr(d)) => d.iter().filter_map(Value::as_f64).reduce(f64::max),
                    Some(d) => d.as_f64(),
                    None => None,
                }
                .ok_or_else(|| anyhow!("nextpnr report: endpoint {cell} has no delay"))?;
                r.arrivals.push(Arrival {
                    cell: cell.to_string(),
                    ns,
                });
            }
        }
        Ok(r)
    }

    /// The slowest clock (lowest achieved fmax), if the design was timed.
    pub fn worst_clock(&self) -> Option<(&str, Fmax)> {
        self.fmax
            .iter()
            .min_by(|a, b| a.1.achieved.total_cmp(&b.1.achieved))
            .map(|(k, f)| (k.as_str(), *f))
    }

    /// The longest path that starts and ends on the same clock (the one that sets fmax).
    pub fn worst_path(&self) -> Option<&CriticalPath> {
        self.critical_paths
            .iter()
            .filter(|p| !p.clock.is_empty())
            .max_by(|a, b| a.total_ns.total_cmp(&b.total_ns))
    }
}

fn critical_path(cp: &Value) -> Result<CriticalPath> {
    let from = cp.get("from").and_then(Value::as_str).unwrap_or("");
    let to = cp.get("to").and_then(Value::as_str).unwrap_or("");
    let mut p = CriticalPath {
        // Cross-domain paths (ports, async) have different ends; they get no clock.
        clock: if from == to {
            from.to_string()
        } else {
            String::new()
        },
        total_ns: 0.0,
        logic_ns: 0.0,
        routing_ns: 0.0,
        logic_levels: 0,
        carry_steps: 0,
        from_cell: String::new(),
        to_cell: String::new(),
        blocks: Vec::new(),
    };
    for seg in cp.get("path").map(Value::as_array).unwrap_or(&[]) {
        let delay = num(seg.get("delay").unwrap_or(&Value::Null), "path delay")?;
        p.total_ns += delay;
        let cell = |end: &str| {
            seg.get(end)
                .and_then(|e| e.get("cell"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match seg.get("type").and_then(Value::as_str).unwrap_or("") {
            "routing" => p.routing_ns += delay,
            "logic" => {
                p.logic_ns += delay;
                let port = seg.get("from").and_then(|e| e.get("port"));
                if matches!(port.and_then(Value::as_str), Some("FCI" | "CIN")) {
                    p.carry_steps += 1;
                } else {
                    p.logic_levels += 1;
                }
            }
            // clk-to-q and setup: cell delays, not levels
            _ => p.logic_ns += delay,
        }
        // Only routing hops name their ends reliably (nextpnr 0.4 writes a clk-to-q
        // segment's `from` as the sink cell), so the path is read off them.
        if seg.get("type").and_then(Value::as_str) == Some("routing") {
            if p.from_cell.is_empty() {
                p.from_cell = cell("from");
                p.blocks.push(block_of(&p.from_cell));
            }
            p.to_cell = cell("to");
            let b = block_of(&p.to_cell);
            if p.blocks.last() != Some(&b) {
                p.blocks.push(b);
            }
        }
    }
    Ok(p)
}

/// Cell counts per type of one module from Yosys' `stat -json` (module names as
/// Yosys writes them, e.g. `\top`; the `design` totals when `module` is None).
pub fn yosys_cells(stat_json: &str, module: Option<&str>) -> Result<BTreeMap<String, u64>> {
    let v = json::parse(stat_json).map_err(|e| anyhow!("yosys stat: {e}"))?;
    let m = match module {
        None => v.get("design"),
        Some(name) => v.get("modules").and_then(|m| m.get(name)),
    }
    .ok_or_else(|| anyhow!("yosys stat: no module {}", module.unwrap_or("design")))?;
    let mut out = BTreeMap::new();
    for (ty, n) in m
        .get("num_cells_by_type")
        .map(Value::entries)
        .unwrap_or(&[])
    {
        out.insert(
            ty.clone(),
            n.as_f64()
                .ok_or_else(|| anyhow!("yosys stat: count of {ty} is not a number"))?
                as u64,
        );
    }
    Ok(out)
}
