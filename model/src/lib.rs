//! Linewatch model: the executable specification of the link protocol and the
//! cycle-accurate model of the device (and, later, of the host).

pub mod config;
pub mod device;
pub mod host;
pub mod ports;
pub mod protocol;
pub mod regmap;
pub mod trace;

pub use config::{Config, DeviceConfig, Geometry};
pub use device::Device;
pub use ports::{Inputs, Outputs};
