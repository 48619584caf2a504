//! Linewatch host software stack. Everything here reaches the device through a
//! [`Window`]: loads, stores, flushes and fences on physical addresses of the
//! coherent window, and nothing else. The simulated host implements it through its
//! caches (`linewatch_testbench::system::SimWindow`), so the software's own accesses
//! are real coherence traffic; a mapping of a real device's window could implement
//! it too.

pub mod driver;
pub mod memhost;
pub mod prefetch;
pub mod window;

pub use driver::Driver;
pub use window::Window;
