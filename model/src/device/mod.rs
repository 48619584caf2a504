//! The device, block by block. Each file has a twin of the same name in `rtl/src/`.

pub mod core;
pub mod dirty_bitmap;
pub mod pt_trigger;
pub mod read_queue;
pub mod regs;
pub mod snoop_filter;
pub mod snoop_tracker;
pub mod top;

pub use self::core::{Core, Sel};
pub use self::top::Device;
