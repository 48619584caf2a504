//! Host model (issue #3): the cache hierarchy whose misses, upgrades and
//! writebacks become the link requests the device sees, and the MMU and OS that
//! turn virtual addresses into physical ones. See docs/host-model.md.

pub mod cache;
pub mod hierarchy;
pub mod mmu;
pub mod os;
pub mod remote;

#[cfg(test)]
mod mmu_tests;
#[cfg(test)]
mod tests;

pub use cache::{Cache, CacheConfig, Mesi, Replacement};
pub use hierarchy::{Hierarchy, HierarchyConfig, HostMsg, HostStats, ReadGrant};
pub use mmu::{Mmu, MmuConfig, MmuError, MmuStats, PhysOp, PhysOpKind};
pub use remote::{RemoteLink, Residency};
