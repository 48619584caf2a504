//! The host agent against the model alone: the protocol completes, every violation
//! is counted, and after a drain the harvested dirty set equals the written set.

mod common;

use common::*;

use linewatch_model::Device;
use linewatch_testbench::lockstep::{run, ModelSide, RunOptions};

#[test]
fn model_survives_random_traffic_and_harvest_is_exact() {
    for (name, seed, regs) in [
        ("default.toml", 1, true),
        ("ice40-small.toml", 2, false),
        ("ice40-small.toml", 3, true),
    ] {
        let mut c = config(name);
        c.device.registers = regs;
        c.cosim.violation_rate = 3;
        let g = c.geometry();
        let mut side = ModelSide(Device::new(&g));
        let rep = run(
            &g,
            &c.cosim,
            &RunOptions::new(200_000, seed),
            &mut side,
            None,
            &mut |_| {},
        );
        let f = rep.failures(true);
        assert!(f.is_empty(), "{name} seed {seed}: {f:?}");
        assert!(
            rep.dirty_written > 50,
            "{name}: too few writes to mean anything: {}",
            rep.dirty_written
        );
        assert!(rep.violations_injected > 0);
        assert!(
            rep.scans_checked > 100,
            "{name}: only {} harvest scans checked",
            rep.scans_checked
        );
        for (m, n) in &rep.messages {
            assert!(*n > 0, "{name} seed {seed}: message {m} never exercised");
        }
    }
}

/// A device that loses one harvested bit now and then: the per-epoch harvest check must see it.
struct DropsHarvestBits(ModelSide, u64);

impl linewatch_testbench::lockstep::Side for DropsHarvestBits {
    fn name(&self) -> &'static str {
        "model"
    }
    fn cycle(&mut self, i: &linewatch_model::Inputs, o: &mut linewatch_model::Outputs) {
        self.0.cycle(i, o);
        if o.hv_rsp_valid && o.hv_rsp_data != 0 {
            self.1 += 1;
            if self.1.is_multiple_of(97) {
                o.hv_rsp_data &= o.hv_rsp_data - 1;
            }
        }
    }
}

#[test]
fn harvest_check_catches_a_lost_dirty_line() {
    let c = config("ice40-small.toml");
    let g = c.geometry();
    let mut side = DropsHarvestBits(ModelSide(Device::new(&g)), 0);
    let rep = run(
        &g,
        &c.cosim,
        &RunOptions::new(50_000, 5),
        &mut side,
        None,
        &mut |_| {},
    );
    let f = rep.failures(true);
    assert!(f.iter().any(|e| e.contains("harvest scan missed")), "{f:?}");
}

#[test]
fn runs_are_deterministic_under_a_seed() {
    let c = config("ice40-small.toml");
    let g = c.geometry();
    let once = |seed| {
        let mut side = ModelSide(Device::new(&g));
        let r = run(
            &g,
            &c.cosim,
            &RunOptions::new(30_000, seed),
            &mut side,
            None,
            &mut |_| {},
        );
        (
            r.messages,
            r.requests,
            r.dirty_written,
            r.swaps,
            r.drain_cycles,
        )
    };
    assert_eq!(once(9), once(9));
    assert_ne!(once(9), once(10));
}
