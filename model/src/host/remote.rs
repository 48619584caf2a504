//! Remote memory as the host's OS sees it: which data pages start remote, which
//! have been fetched, and the one link to remote memory, a single server whose
//! transfers queue behind each other. Timing only; contents are moved (if at all)
//! by the system's memory-host clients. See docs/host-model.md, "Remote memory".

use std::collections::HashSet;

/// Which virtual pages are resident. A page starts remote when a hash of its
/// number and the seed falls above `local_fraction`, so the choice does not
/// depend on the order pages are touched in.
#[derive(Clone, Debug)]
pub struct Residency {
    local_fraction: f64,
    seed: u64,
    /// Pages that started remote and have been fetched (demand or prefetch arrival).
    fetched: HashSet<u64>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser: every input bit moves every output bit.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Residency {
    pub fn new(local_fraction: f64, seed: u64) -> Residency {
        Residency {
            local_fraction,
            seed,
            fetched: HashSet::new(),
        }
    }

    /// Does virtual page `vpn` start in remote memory?
    #[inline]
    pub fn starts_remote(&self, vpn: u64) -> bool {
        let h = mix(vpn ^ mix(self.seed));
        let u = (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        u >= self.local_fraction
    }

    /// Is the page's content in local memory now?
    #[inline]
    pub fn is_resident(&self, vpn: u64) -> bool {
        !self.starts_remote(vpn) || self.fetched.contains(&vpn)
    }

    pub(crate) fn mark_fetched(&mut self, vpn: u64) {
        self.fetched.insert(vpn);
    }

    /// Remote pages fetched so far.
    pub fn fetched(&self) -> usize {
        self.fetched.len()
    }
}

/// The link to remote memory: one server moving one page at a time at the
/// configured bandwidth; the latency overlaps other transfers.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoteLink {
    /// Host cycles one page occupies the link.
    pub transfer: u64,
    /// Host cycles from the end of the transfer to the page being usable.
    pub latency: u64,
    /// When the link is free again.
    pub free_at: u64,
    /// Total cycles the link was busy (for its utilisation).
    pub busy: u64,
}

impl RemoteLink {
    pub fn new(transfer: u64, latency: u64) -> RemoteLink {
        RemoteLink {
            transfer,
            latency,
            ..Default::default()
        }
    }

    /// A fetch asked for at `at`: queues behind earlier ones; returns when the
    /// page is usable locally.
    pub fn fetch(&mut self, at: u64) -> u64 {
        let start = at.max(self.free_at);
        self.free_at = start + self.transfer;
        self.busy += self.transfer;
        self.free_at + self.latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_fraction_splits_pages_deterministically() {
        for f in [0.0, 0.25, 0.5, 1.0] {
            let r = Residency::new(f, 7);
            let local = (0..100_000u64).filter(|&v| !r.starts_remote(v)).count() as f64;
            assert!((local / 100_000.0 - f).abs() < 0.01, "{f}: {local}");
            let again = Residency::new(f, 7);
            assert!((0..1000).all(|v| r.starts_remote(v) == again.starts_remote(v)));
        }
        let (a, b) = (Residency::new(0.5, 1), Residency::new(0.5, 2));
        assert!((0..1000).any(|v| a.starts_remote(v) != b.starts_remote(v)));
    }

    #[test]
    fn link_is_one_server_whose_transfers_queue() {
        let mut l = RemoteLink::new(100, 1000);
        assert_eq!(l.fetch(0), 1100);
        // Issued at once: waits for the first transfer, not for its latency.
        assert_eq!(l.fetch(0), 1200);
        assert_eq!(l.fetch(5000), 6100);
        assert_eq!(l.busy, 300);
    }
}
