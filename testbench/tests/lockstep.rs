//! Model ≡ RTL: the Verilated RTL and the model, driven in lockstep by the host
//! agent, agree on every output of every cycle; a planted divergence is caught at
//! its cycle, with both values and a waveform.

mod common;

use common::*;

use linewatch_model::{Device, Inputs, Outputs};
use linewatch_testbench::lockstep::{run, ModelSide, RunOptions, Side};
use linewatch_testbench::rtl::{self, RtlSide};
use std::path::{Path, PathBuf};

fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("verilated")
}

fn lockstep(name: &str, cycles: u64, seed: u64, violations: u64) {
    let mut c = config(name);
    c.cosim.violation_rate = violations;
    let g = c.geometry();
    let mut model = ModelSide(Device::new(&g));
    let mut rtl = RtlSide::new(rtl::build(&g, &cache()).unwrap_or_else(|e| panic!("{e}")));
    let rep = run(
        &g,
        &c.cosim,
        &RunOptions::new(cycles, seed),
        &mut model,
        Some(&mut rtl),
        &mut |_| {},
    );
    let f = rep.failures(true);
    assert!(f.is_empty(), "{name} seed {seed}: {f:?}");
    assert_eq!(rep.mismatches, 0);
    for (m, n) in &rep.messages {
        assert!(*n > 0, "{name} seed {seed}: {m} never exercised");
    }
    assert!(
        rep.scans_checked > 10 && rep.dirty_written > 10,
        "{name}: {rep:?}"
    );
}

#[test]
fn small_config_agrees_with_violations() {
    lockstep("ice40-small.toml", 150_000, 21, 3);
}

#[test]
fn default_config_agrees() {
    lockstep("default.toml", 150_000, 22, 1);
}

/// The model with one planted bug: from `at` on, the first MemData it sends has bit 300 flipped.
struct Planted {
    inner: ModelSide,
    now: u64,
    at: u64,
    fired: Option<u64>,
}

impl Side for Planted {
    fn name(&self) -> &'static str {
        "model"
    }
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs) {
        self.inner.cycle(i, o);
        if self.now >= self.at && self.fired.is_none() && o.drs_valid {
            o.drs_data[4] ^= 1 << 44;
            self.fired = Some(self.now);
        }
        self.now += 1;
    }
}

#[test]
fn planted_divergence_is_caught_at_its_cycle() {
    let c = config("ice40-small.toml");
    let g = c.geometry();
    let mut planted = Planted {
        inner: ModelSide(Device::new(&g)),
        now: 0,
        at: 5_000,
        fired: None,
    };
    let mut rtl = RtlSide::new(rtl::build(&g, &cache()).unwrap());
    let vcd = Path::new(env!("CARGO_TARGET_TMPDIR")).join("planted.vcd");
    let _ = std::fs::remove_file(&vcd);
    let mut opts = RunOptions::new(20_000, 3);
    opts.vcd = Some(vcd.clone());
    let rep = run(
        &g,
        &c.cosim,
        &opts,
        &mut planted,
        Some(&mut rtl),
        &mut |_| {},
    );
    let at = planted.fired.expect("the bug fired");
    let m = rep
        .first_mismatch
        .as_ref()
        .expect("lockstep caught the planted bug");
    assert_eq!(m.cycle, at);
    assert_eq!(m.diffs.len(), 1, "{m}");
    assert_eq!(m.diffs[0].port, "drs_data");
    assert_eq!(m.diffs[0].a[4] ^ m.diffs[0].b[4], 1 << 44);
    assert!(
        rep.cycles < at + 100,
        "the run stops soon after the mismatch"
    );
    let text = std::fs::read_to_string(&vcd).expect("waveform written");
    assert!(text.contains("$enddefinitions"));
    assert!(
        text.contains(&format!("#{}\n", at * 10)),
        "waveform covers the diverging cycle"
    );
    assert!(text.contains("$scope module rtl $end") && text.contains("$scope module model $end"));
    assert!(!rep.failures(true).is_empty());
}
