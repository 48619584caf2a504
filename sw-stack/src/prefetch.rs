//! Remote-memory prefetch policies: given the faults (and first touches of
//! prefetched pages) the OS sees, which virtual pages to fetch ahead. Pure
//! decisions on page numbers; the host model charges every prefetch the link
//! time of a demand fetch and counts which ones are used.
//!
//! `pt` is the device's page-table-line trigger: the OS maps remote pages present
//! in registered page-table pages and the device fetches them when a page walk
//! reads their line, so the policy itself prefetches nothing.

use anyhow::{bail, Result};

/// What the OS saw at a first touch of a page that started remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Demand fault: the page was neither resident nor in flight.
    Fault,
    /// The page's prefetch was still in flight: the access waits for it.
    Late,
    /// The page's prefetch had arrived: no wait.
    Hit,
}

pub trait Policy {
    fn name(&self) -> &'static str;
    /// Called at each trigger on virtual page `vpn`; appends pages to fetch
    /// (the caller drops pages already resident or in flight).
    fn on_touch(&mut self, vpn: u64, trigger: Trigger, out: &mut Vec<u64>);
    /// Does the device's page-table trigger do the prefetching?
    fn device(&self) -> bool {
        false
    }
}

/// The device's page-table-line trigger (the OS sets it up; faults fetch on demand).
#[derive(Debug, Default)]
pub struct DeviceTrigger;

impl Policy for DeviceTrigger {
    fn name(&self) -> &'static str {
        "pt"
    }
    fn on_touch(&mut self, _: u64, _: Trigger, _: &mut Vec<u64>) {}
    fn device(&self) -> bool {
        true
    }
}

/// Demand fetch only.
#[derive(Debug, Default)]
pub struct NoPrefetch;

impl Policy for NoPrefetch {
    fn name(&self) -> &'static str {
        "none"
    }
    fn on_touch(&mut self, _: u64, _: Trigger, _: &mut Vec<u64>) {}
}

/// Sequential readahead: the next `depth` pages after every touch, so a
/// sequential stream keeps `depth` pages ahead of itself.
#[derive(Debug)]
pub struct Readahead {
    pub depth: u64,
}

impl Policy for Readahead {
    fn name(&self) -> &'static str {
        "readahead"
    }
    fn on_touch(&mut self, vpn: u64, _: Trigger, out: &mut Vec<u64>) {
        out.extend((1..=self.depth).filter_map(|k| vpn.checked_add(k)));
    }
}

/// Majority-vote trend detection in the spirit of Leap (Al Maruf and Chowdhury,
/// ATC'20): keep the last `history` touched pages; look for a delta that is a
/// strict majority among the most recent `w` deltas (Boyer-Moore vote), with `w`
/// growing from 4 to the whole history; prefetch `depth` pages along it. No
/// majority: no prefetch.
#[derive(Debug)]
pub struct Trend {
    pub depth: u64,
    history: Vec<u64>,
    cap: usize,
}

impl Trend {
    pub fn new(depth: u64, history: usize) -> Trend {
        Trend {
            depth,
            history: Vec::with_capacity(history),
            cap: history.max(2),
        }
    }

    /// The majority delta among the most recent deltas, if there is one.
    pub fn trend(&self) -> Option<i64> {
        let deltas: Vec<i64> = self
            .history
            .windows(2)
            .map(|p| p[1].wrapping_sub(p[0]) as i64)
            .collect();
        let mut w = 4.min(deltas.len());
        while w > 0 {
            let recent = &deltas[deltas.len() - w..];
            if let Some(d) = majority(recent) {
                return Some(d);
            }
            if w == deltas.len() {
                break;
            }
            w = (w * 2).min(deltas.len());
        }
        None
    }
}

/// Boyer-Moore majority vote: the element occurring more than `len / 2` times.
pub fn majority(xs: &[i64]) -> Option<i64> {
    let (mut cand, mut count) = (0i64, 0usize);
    for &x in xs {
        if count == 0 {
            cand = x;
            count = 1;
        } else if x == cand {
            count += 1;
        } else {
            count -= 1;
        }
    }
    (count > 0 && xs.iter().filter(|&&x| x == cand).count() * 2 > xs.len()).then_some(cand)
}

impl Policy for Trend {
    fn name(&self) -> &'static str {
        "trend"
    }
    fn on_touch(&mut self, vpn: u64, _: Trigger, out: &mut Vec<u64>) {
        if self.history.len() == self.cap {
            self.history.remove(0);
        }
        self.history.push(vpn);
        if let Some(d) = self.trend().filter(|&d| d != 0) {
            let mut p = vpn;
            for _ in 0..self.depth {
                p = p.wrapping_add(d as u64);
                out.push(p);
            }
        }
    }
}

/// The policy `name` with `depth` pages per prefetch: `none`, `pt`, `readahead`,
/// `trend` (`depth` does not apply to `pt`).
pub fn by_name(name: &str, depth: u64) -> Result<Box<dyn Policy>> {
    Ok(match name {
        "none" => Box::new(NoPrefetch),
        "readahead" => Box::new(Readahead { depth }),
        "trend" => Box::new(Trend::new(depth, 32)),
        "pt" => Box::new(DeviceTrigger),
        other => bail!("--prefetch {other}: expected none, pt, readahead or trend"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_vote_needs_a_strict_majority() {
        assert_eq!(majority(&[3, 3, 1, 3]), Some(3));
        assert_eq!(majority(&[1, 2, 3, 3, 3]), Some(3));
        assert_eq!(majority(&[1, 1, 2, 2]), None);
        assert_eq!(majority(&[1, 2, 3, 4, 1]), None);
        assert_eq!(majority(&[]), None);
    }

    fn run(p: &mut dyn Policy, vpns: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        for &v in vpns {
            out.clear();
            p.on_touch(v, Trigger::Fault, &mut out);
        }
        out
    }

    #[test]
    fn trend_follows_a_stride_and_ignores_noise() {
        let mut t = Trend::new(3, 32);
        assert_eq!(run(&mut t, &[100, 105, 110, 115]), vec![120, 125, 130]);
        // One outlier among the recent deltas does not break a majority.
        assert_eq!(run(&mut t, &[500, 505, 510, 515]), vec![520, 525, 530]);
        let mut t = Trend::new(3, 32);
        assert_eq!(
            run(&mut t, &[7, 91, 12, 400, 3, 77, 1000, 2]),
            Vec::<u64>::new()
        );
        // Downward strides too.
        let mut t = Trend::new(2, 32);
        assert_eq!(run(&mut t, &[100, 98, 96, 94]), vec![92, 90]);
    }

    #[test]
    fn readahead_and_none_and_pt() {
        assert_eq!(run(&mut Readahead { depth: 3 }, &[10]), vec![11, 12, 13]);
        assert!(run(&mut NoPrefetch, &[1, 2, 3]).is_empty());
        let pt = by_name("pt", 4).unwrap();
        assert!(pt.device() && !by_name("trend", 4).unwrap().device());
        let e = by_name("leap", 4).err().unwrap().to_string();
        assert!(
            e.contains("none, pt, readahead or trend") && !e.contains('\n'),
            "{e}"
        );
    }
}
