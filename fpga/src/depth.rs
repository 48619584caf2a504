//! Logic depth of the mapped netlist: how many LUT levels feed each of the device's
//! registers and block-RAM ports, counted on Yosys' netlist before placement.
//!
//! Unlike Fmax, this does not move with nextpnr's seed: an RTL change that takes a
//! level off a family of paths shows up here even when the placement noise (several
//! MHz on the UP5K) hides it in Fmax. A level is a LUT4 (iCE40 `SB_LUT4`, ECP5
//! `LUT4`), an ECP5 wide-function mux (`PFUMX`, `L6MUX21`), a carry cell's sum
//! output, or an ECP5 distributed-RAM read (`TRELLIS_DPR16X4`, address to data);
//! a carry chain's carry adds none. Flip-flops, block RAMs and the harness are
//! where paths start.

use crate::json::{self, Value};
use anyhow::{anyhow, Result};
use std::collections::HashMap;

/// Endpoints (device registers and RAMs) by the LUT levels in front of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Depth {
    /// `histogram[n]`: endpoint cells whose deepest input has `n` levels.
    pub histogram: Vec<u64>,
    /// Every endpoint, deepest first (then by name): depth and cell name.
    pub endpoints: Vec<(u32, String)>,
    /// The cells on the deepest endpoint's deepest input path, from where it
    /// starts (a register, RAM or input) to the endpoint (with [`analyse_into`],
    /// the deepest endpoint of those it picks).
    pub path: Vec<String>,
}

impl Depth {
    /// Endpoints with at least `n` levels, counted per register or RAM (the cell
    /// name up to its `.q_` suffix), most first.
    pub fn by_register(&self, n: u32) -> Vec<(String, u64)> {
        let mut m: std::collections::BTreeMap<String, u64> = Default::default();
        for (d, name) in &self.endpoints {
            if *d >= n {
                let base = name.split(".q_").next().unwrap_or(name);
                *m.entry(base.to_string()).or_default() += 1;
            }
        }
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
    pub fn max(&self) -> usize {
        self.histogram.len().saturating_sub(1)
    }
    /// Endpoints with at least `n` levels in front of them.
    pub fn at_least(&self, n: usize) -> u64 {
        self.histogram.iter().skip(n).sum()
    }
    /// The greatest depth and how many endpoints have it and one level less:
    /// `6 (3 at 6, 158 at 5)`.
    pub fn top_two(&self) -> String {
        let m = self.max();
        let below = m.saturating_sub(1);
        let at = |n: usize| self.histogram.get(n).copied().unwrap_or(0);
        format!("{m} ({} at {m}, {} at {below})", at(m), at(below))
    }
    /// One line: the histogram from 3 levels up and the deepest endpoint.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!(
            "<=2: {}",
            self.histogram.iter().take(3).sum::<u64>()
        )];
        for (n, c) in self.histogram.iter().enumerate().skip(3) {
            parts.push(format!("{n}: {c}"));
        }
        let deepest = self
            .endpoints
            .first()
            .map_or(String::new(), |(d, c)| format!("; deepest {d} into {c}"));
        format!("{}{deepest}", parts.join(", "))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Every output is one level past its deepest input.
    Lut,
    /// Sum outputs one level past the inputs, the carry output none.
    Carry,
    /// Distributed RAM: the read data is one level past the read address; the
    /// write side is an endpoint.
    LutRam,
    /// Registers and block RAM: outputs start paths, inputs end them.
    Seq,
}

fn kind(ty: &str) -> Kind {
    match ty {
        "SB_LUT4" | "LUT4" | "PFUMX" | "L6MUX21" => Kind::Lut,
        "SB_CARRY" | "CCU2C" => Kind::Carry,
        "TRELLIS_DPR16X4" => Kind::LutRam,
        _ => Kind::Seq,
    }
}

fn is_clock(port: &str) -> bool {
    matches!(
        port,
        "C" | "CLK" | "CLKA" | "CLKB" | "WCK" | "RCLK" | "WCLK"
    )
}

fn is_carry_out(port: &str) -> bool {
    matches!(port, "CO" | "COUT")
}

struct Cell<'a> {
    name: &'a str,
    kind: Kind,
    /// (port, bits) of the inputs; constants are None.
    inputs: Vec<(&'a str, Vec<Option<u64>>)>,
}

/// Depth of every device endpoint in `module` of a Yosys JSON netlist; endpoints are
/// the cells whose name starts with `prefix` (the harness instantiates the device as
/// `dut`).
pub fn analyse(netlist: &str, module: &str, prefix: &str) -> Result<Depth> {
    analyse_into(netlist, module, prefix, "")
}

/// As [`analyse`], with `path` the deepest path into the deepest endpoint whose
/// cell name contains `into` (empty: any endpoint).
pub fn analyse_into(netlist: &str, module: &str, prefix: &str, into: &str) -> Result<Depth> {
    let v = json::parse(netlist).map_err(|e| anyhow!("netlist: {e}"))?;
    let m = v
        .get("modules")
        .and_then(|m| m.get(module))
        .ok_or_else(|| anyhow!("netlist: no module {module}"))?;
    let bits = |v: &Value| -> Vec<Option<u64>> {
        v.as_array()
            .iter()
            .map(|b| b.as_f64().map(|n| n as u64))
            .collect()
    };
    let mut cells = Vec::new();
    // net -> (cell, output port)
    let mut driver: HashMap<u64, (usize, bool)> = HashMap::new();
    for (name, c) in m.get("cells").map(Value::entries).unwrap_or(&[]) {
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        let dirs = c.get("port_directions");
        let mut cell = Cell {
            name,
            kind: kind(ty),
            inputs: Vec::new(),
        };
        for (port, conn) in c.get("connections").map(Value::entries).unwrap_or(&[]) {
            let dir = dirs.and_then(|d| d.get(port)).and_then(Value::as_str);
            if dir == Some("output") {
                for b in bits(conn).into_iter().flatten() {
                    driver.insert(b, (cells.len(), is_carry_out(port)));
                }
            } else if !is_clock(port) {
                cell.inputs.push((port.as_str(), bits(conn)));
            }
        }
        cells.push(cell);
    }

    let mut memo: HashMap<u64, u32> = HashMap::new();
    let mut open: std::collections::HashSet<u64> = Default::default();
    // Depth of a net, with an explicit stack (carry chains run 64 cells deep). A
    // combinational loop (none in a synchronous design) is cut where it closes.
    let mut depth_of = |net: u64| -> u32 {
        let mut stack = vec![net];
        while let Some(&n) = stack.last() {
            if memo.contains_key(&n) {
                stack.pop();
                continue;
            }
            let Some(&(ci, carry_out)) = driver.get(&n) else {
                memo.insert(n, 0); // a module input or undriven
                stack.pop();
                continue;
            };
            let c = &cells[ci];
            if c.kind == Kind::Seq {
                memo.insert(n, 0);
                stack.pop();
                continue;
            }
            let read = |p: &str| c.kind != Kind::LutRam || p == "RAD";
            let mut pending = false;
            let mut deepest = 0;
            for (port, bs) in &c.inputs {
                if !read(port) {
                    continue;
                }
                for b in bs.iter().flatten() {
                    match memo.get(b) {
                        Some(&d) => deepest = deepest.max(d),
                        None if open.contains(b) => {}
                        None => {
                            pending = true;
                            stack.push(*b);
                        }
                    }
                }
            }
            open.insert(n);
            if !pending {
                let step = u32::from(!(c.kind == Kind::Carry && carry_out));
                memo.insert(n, deepest + step);
                open.remove(&n);
                stack.pop();
            }
        }
        memo[&net]
    };

    let mut histogram: Vec<u64> = Vec::new();
    let mut ends: Vec<(u32, String)> = Vec::new();
    for c in &cells {
        if !c.name.starts_with(prefix) || !matches!(c.kind, Kind::Seq | Kind::LutRam) {
            continue;
        }
        let mut d = 0;
        for (port, bs) in &c.inputs {
            if c.kind == Kind::LutRam && *port == "RAD" {
                continue;
            }
            for b in bs.iter().flatten() {
                d = d.max(depth_of(*b));
            }
        }
        if histogram.len() <= d as usize {
            histogram.resize(d as usize + 1, 0);
        }
        histogram[d as usize] += 1;
        ends.push((d, c.name.to_string()));
    }
    ends.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    // Walk back from the deepest endpoint along the deepest input at each cell.
    let mut path = Vec::new();
    if let Some((_, name)) = ends.iter().find(|(_, n)| n.contains(into)) {
        let deepest_input = |c: &Cell, skip_rad: bool, only_rad: bool| {
            c.inputs
                .iter()
                .filter(|(p, _)| !(skip_rad && *p == "RAD") && (!only_rad || *p == "RAD"))
                .flat_map(|(_, bs)| bs.iter().flatten())
                .max_by_key(|b| memo.get(b).copied().unwrap_or(0))
                .copied()
        };
        let end = cells.iter().find(|c| c.name == name).expect("an endpoint");
        path.push(end.name.to_string());
        let mut net = deepest_input(end, end.kind == Kind::LutRam, false);
        while let Some(n) = net {
            let Some(&(ci, _)) = driver.get(&n) else {
                path.push("(input)".into());
                break;
            };
            let c = &cells[ci];
            path.push(c.name.to_string());
            if c.kind == Kind::Seq || path.len() > 200 {
                break;
            }
            net = deepest_input(c, false, c.kind == Kind::LutRam);
        }
        path.reverse();
    }
    Ok(Depth {
        histogram,
        endpoints: ends,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written netlist: ff0 -> lut a -> lut b -> ff1.D, ff0 -> carry chain
    /// (two carries) -> lut c -> ff2.D, and a RAM whose address comes from lut a.
    const NET: &str = r#"{"modules":{"top":{"cells":{
      "ff0":{"type":"SB_DFF","port_directions":{"C":"input","D":"input","Q":"output"},
             "connections":{"C":[1],"D":[2],"Q":[3]}},
      "dut.a":{"type":"SB_LUT4","port_directions":{"I0":"input","I1":"input","O":"output"},
             "connections":{"I0":[3],"I1":["0"],"O":[4]}},
      "dut.b":{"type":"SB_LUT4","port_directions":{"I0":"input","O":"output"},
             "connections":{"I0":[4],"O":[5]}},
      "dut.ff1":{"type":"SB_DFFE","port_directions":{"C":"input","D":"input","E":"input","Q":"output"},
             "connections":{"C":[1],"D":[5],"E":[3],"Q":[6]}},
      "dut.k0":{"type":"SB_CARRY","port_directions":{"CI":"input","I0":"input","I1":"input","CO":"output"},
             "connections":{"CI":["0"],"I0":[3],"I1":[3],"CO":[7]}},
      "dut.k1":{"type":"SB_CARRY","port_directions":{"CI":"input","I0":"input","I1":"input","CO":"output"},
             "connections":{"CI":[7],"I0":[3],"I1":[3],"CO":[8]}},
      "dut.c":{"type":"SB_LUT4","port_directions":{"I0":"input","I3":"input","O":"output"},
             "connections":{"I0":[8],"I3":[5],"O":[9]}},
      "dut.ff2":{"type":"SB_DFF","port_directions":{"C":"input","D":"input","Q":"output"},
             "connections":{"C":[1],"D":[9],"Q":[10]}},
      "dut.ram":{"type":"SB_RAM40_4K","port_directions":{"RCLK":"input","RADDR":"input","RDATA":"output"},
             "connections":{"RCLK":[1],"RADDR":[4,3],"RDATA":[11]}}
    }}}}"#;

    #[test]
    fn counts_lut_levels_into_registers_and_rams() {
        let d = analyse(NET, "top", "dut.").unwrap();
        // ff1: 2 levels (a, b); ff2: 3 (a, b, c; the carries add none); ram: 1.
        assert_eq!(d.histogram, vec![0, 1, 1, 1]);
        assert_eq!(d.endpoints[0], (3, "dut.ff2".to_string()));
        assert_eq!(d.endpoints.len(), 3);
        assert_eq!(d.path, ["ff0", "dut.a", "dut.b", "dut.c", "dut.ff2"]);
        assert_eq!(d.max(), 3);
        assert_eq!(d.at_least(2), 2);
        assert_eq!(d.describe(), "<=2: 2, 3: 1; deepest 3 into dut.ff2");
        assert_eq!(d.top_two(), "3 (1 at 3, 1 at 2)");
        // ff0 is not the device's.
        assert!(d.endpoints.iter().all(|(_, n)| n != "ff0"));
    }

    #[test]
    fn the_path_into_a_named_endpoint() {
        let d = analyse_into(NET, "top", "dut.", "ff1").unwrap();
        assert_eq!(d.path, ["ff0", "dut.a", "dut.b", "dut.ff1"]);
        // The counts do not depend on the name.
        assert_eq!(d.histogram, vec![0, 1, 1, 1]);
        assert!(analyse_into(NET, "top", "dut.", "nothing")
            .unwrap()
            .path
            .is_empty());
    }

    #[test]
    fn a_missing_module_is_an_error() {
        let e = analyse(NET, "nope", "dut.").unwrap_err().to_string();
        assert!(e.contains("no module nope"), "{e}");
    }
}
