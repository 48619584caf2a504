//! The Verilated RTL as a lockstep side: generate the Verilog for a geometry,
//! verilate it (cached), and move packed ports across the C ABI every cycle.

use crate::lockstep::Side;
use crate::verilator::VerilatedDevice;
use anyhow::Result;
use linewatch_model::ports::{INPUT_WORDS, OUTPUT_WORDS};
use linewatch_model::{Geometry, Inputs, Outputs};
use std::path::{Path, PathBuf};

/// Where verilated devices are cached: `$LINEWATCH_CACHE`, else `~/.cache/linewatch`.
pub fn default_cache() -> PathBuf {
    if let Some(p) = std::env::var_os("LINEWATCH_CACHE") {
        return PathBuf::from(p);
    }
    match std::env::var_os("HOME") {
        Some(h) => Path::new(&h).join(".cache/linewatch/verilated"),
        None => std::env::temp_dir().join("linewatch-verilated"),
    }
}

/// Generate, verilate (or reuse) and load the device for `g`.
pub fn build(g: &Geometry, cache: &Path) -> Result<VerilatedDevice> {
    let v = linewatch_rtl::generate_verilog(g);
    VerilatedDevice::build(&v, cache, linewatch_rtl::VERILATOR_LINT_WAIVERS)
}

pub struct RtlSide {
    dev: VerilatedDevice,
    ib: Vec<u64>,
    ob: Vec<u64>,
}

impl RtlSide {
    pub fn new(dev: VerilatedDevice) -> Self {
        RtlSide {
            dev,
            ib: vec![0; INPUT_WORDS],
            ob: vec![0; OUTPUT_WORDS],
        }
    }
}

impl Side for RtlSide {
    fn name(&self) -> &'static str {
        "rtl"
    }
    fn cycle(&mut self, i: &Inputs, o: &mut Outputs) {
        i.pack(&mut self.ib);
        self.dev.cycle(&self.ib, &mut self.ob);
        *o = Outputs::unpack(&self.ob);
    }
}
