//! Helpers shared by the testbench's tests.
#![allow(dead_code)] // each test file uses its own subset

use linewatch_model::Config;
use std::path::Path;

/// A configuration from the repository's configs/ directory.
pub fn config(name: &str) -> Config {
    Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../configs")
            .join(name),
    )
    .unwrap()
}

/// A configuration with the register agent on (the simulated host's driver needs
/// it; ice40-small leaves it out for the UP5K).
pub fn with_registers(name: &str) -> Config {
    let mut c = config(name);
    c.device.registers = true;
    c
}

/// Host caches small enough that a few MiB of traffic evicts constantly:
/// 4 KiB/4-way L1, 16 KiB/4-way L2, 64 KiB/8-way LLC.
pub fn small_caches(c: &mut Config) {
    c.host.l1.size = 4096;
    c.host.l1.ways = 4;
    c.host.l2.size = 16384;
    c.host.l2.ways = 4;
    c.host.llc.size = 65536;
    c.host.llc.ways = 8;
}
