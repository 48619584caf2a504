//! Host model (issue #3): the cache hierarchy whose misses, upgrades and
//! writebacks become the link requests the device sees. See docs/host-model.md.

pub mod cache;
pub mod hierarchy;

#[cfg(test)]
mod tests;

pub use cache::{Cache, CacheConfig, Mesi};
pub use hierarchy::{Hierarchy, HierarchyConfig, HostMsg, HostStats, ReadGrant};
