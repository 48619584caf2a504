//! Linewatch testbench: a protocol-obeying host agent and device memory, the
//! lockstep runner that checks the model against the Verilated RTL, and waveforms.

pub mod bench;
pub mod host;
pub mod lockstep;
pub mod memory;
pub mod rng;
pub mod rtl;
pub mod system;
pub mod vcd;
pub mod verilator;
