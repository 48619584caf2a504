//! Linewatch RTL: the device described with rust-hdl and emitted as Verilog.
//! Each block mirrors its twin in `linewatch_model::device` cycle for cycle; the
//! runtime configuration enters as constants and memory depths, on fixed maximal
//! types (`linewatch_model::config::MAX_*`). A "step N" in a comment is a step of
//! the timing log, `docs/fpga-steps.md`, which measured why the logic is shaped so.

pub mod core;
pub mod counter;
pub mod dirty_bitmap;
pub mod mem;
pub mod pt_trigger;
pub mod read_queue;
pub mod regs;
pub mod snoop_filter;
pub mod snoop_tracker;
pub mod top;

use linewatch_model::Geometry;
use rust_hdl::prelude::*;

pub use crate::top::Device;

/// Verilator warnings the generated Verilog cannot avoid, as `-Wno-*` flags. The
/// lint test and the Verilator bridge both use this list.
pub const VERILATOR_LINT_WAIVERS: &[&str] = &[
    // rust-hdl's kernel language has no zero-extension or concatenation: `bit_cast`
    // widens as `x & N'h..`, Rust integer literals become `32'h..`, and adding a bool
    // to a counter mixes widths. Verilog's sizing rules give the intended values.
    "-Wno-WIDTH",
    // rust-hdl emits every module into one file and names sub-modules by instance
    // path (`top$sf$ram`), so no file name can match them all.
    "-Wno-DECLFILENAME",
    // rust-hdl emits one `always @(*)` per module, so a parent that drives a child's
    // inputs and reads its combinational outputs (the core and the snoop filter,
    // tracker, read queue, bitmap) looks circular at block level; no net is.
    "-Wno-UNOPTFLAT",
];

/// The device for `g` as Verilog text; the top module is `top`.
pub fn generate_verilog(g: &Geometry) -> String {
    let mut uut = Device::new(g);
    uut.connect_all();
    let mut v = rust_hdl::prelude::generate_verilog(&uut);
    if !v.ends_with('\n') {
        v.push('\n');
    }
    v
}
