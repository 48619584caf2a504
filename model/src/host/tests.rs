//! Hierarchy tests on tiny caches, where every conflict is easy to force.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::protocol::{Meta, ReqOp, RspOp, RwdOp, SnpOp};
use crate::trace::rng::Rng;
use crate::trace::{Access, Kind, Synth, SynthKind, SynthSpec};

const L1: u64 = 1;
const L2: u64 = 4;
const LLC: u64 = 10;
const MEM: u64 = 100;
const MISS: u64 = L1 + L2 + LLC + MEM;

/// L1 2 sets x 1 way, L2 2 sets x 2 ways, LLC 4 sets x 2 ways. Even lines share the
/// L1 and L2 set 0; lines 0, 4, 8, ... share LLC set 0.
fn tiny(cores: usize, read_grant: ReadGrant) -> Hierarchy {
    Hierarchy::new(HierarchyConfig {
        cores,
        l1: CacheConfig::new(2 * 64, 1, L1 as u32),
        l2: CacheConfig::new(4 * 64, 2, L2 as u32),
        llc: CacheConfig::new(8 * 64, 2, LLC as u32),
        mem_latency: MEM as u32,
        read_grant,
    })
}

/// L1 4 sets x 1 way under an L2 of 1 set x 4 ways: the L2 evicts lines its L1
/// still holds (dirty ones too). LLC 2 sets x 4 ways.
fn small(read_grant: ReadGrant) -> Hierarchy {
    Hierarchy::new(HierarchyConfig {
        cores: 2,
        l1: CacheConfig::new(4 * 64, 1, L1 as u32),
        l2: CacheConfig::new(4 * 64, 4, L2 as u32),
        llc: CacheConfig::new(8 * 64, 4, LLC as u32),
        mem_latency: MEM as u32,
        read_grant,
    })
}

fn ld(line: u64) -> Access {
    Access::new(Kind::Load, line * 64, 8)
}
fn st(line: u64) -> Access {
    Access::new(Kind::Store, line * 64 + 8, 8)
}
fn req(op: ReqOp, meta: Meta, line: u64) -> HostMsg {
    HostMsg::Req { op, meta, line }
}
fn wr(meta: Meta, line: u64) -> HostMsg {
    HostMsg::Rwd {
        op: RwdOp::MemWr,
        meta,
        line,
    }
}
fn go(h: &mut Hierarchy, core: usize, a: Access) -> (u64, Vec<HostMsg>) {
    let (lat, m) = h.access(core, a);
    (lat, m.to_vec())
}

#[test]
fn default_config_is_valid() {
    let h = Hierarchy::new(HierarchyConfig::default());
    assert_eq!(h.config().cores, 4);
}

#[test]
fn hits_misses_and_latency() {
    let mut h = tiny(1, ReadGrant::Exclusive);
    assert_eq!(
        go(&mut h, 0, ld(0)),
        (MISS, vec![req(ReqOp::MemRdData, Meta::Any, 0)])
    );
    assert_eq!(h.private_state(0, 0), (Mesi::E, Mesi::E));
    assert_eq!(h.llc_state(0), Mesi::E);
    assert_eq!(go(&mut h, 0, ld(0)), (L1, vec![]));
    // Line 2 takes line 0's L1 way; line 0 is then an L2 hit.
    assert_eq!(go(&mut h, 0, ld(2)).0, MISS);
    assert_eq!(go(&mut h, 0, ld(0)), (L1 + L2, vec![]));
    // Line 4: the L2 set {0, 2} evicts its LRU line 2 (clean: no message), which
    // stays in the LLC and is then an LLC hit.
    assert_eq!(
        go(&mut h, 0, ld(4)),
        (MISS, vec![req(ReqOp::MemRdData, Meta::Any, 4)])
    );
    assert_eq!(h.private_state(0, 2), (Mesi::I, Mesi::I));
    assert_eq!((h.llc_state(2), h.sharers(2)), (Mesi::E, 0));
    assert_eq!(go(&mut h, 0, ld(2)), (L1 + L2 + LLC, vec![]));
    // A load then a store by the same core: silent E -> M in L1.
    assert_eq!(go(&mut h, 0, st(2)), (L1, vec![]));
    assert_eq!(h.core_state(0, 2), Mesi::M);
    // An access crossing a line boundary pays for both lines.
    let cross = Access::new(Kind::Load, 2 * 64 + 60, 8); // lines 2 and 3
    assert_eq!(
        go(&mut h, 0, cross),
        (L1 + MISS, vec![req(ReqOp::MemRdData, Meta::Any, 3)])
    );
    let s = h.stats();
    assert_eq!((s.lines, s.llc_misses, s.llc_hits), (9, 4, 1));
    h.check_all().unwrap();
}

#[test]
fn llc_replaces_its_lru_line_and_back_invalidates() {
    let mut h = tiny(2, ReadGrant::Exclusive);
    go(&mut h, 0, ld(0));
    go(&mut h, 0, ld(4)); // LLC set 0 = {0, 4}, LRU 0
    go(&mut h, 1, ld(0)); // LLC hit refreshes 0: LRU is now 4
    assert_eq!(
        go(&mut h, 1, ld(8)).1,
        vec![
            req(ReqOp::MemClnEvct, Meta::Invalid, 4),
            req(ReqOp::MemRdData, Meta::Any, 8)
        ]
    );
    // Inclusion: core 0 lost line 4 with the LLC, and keeps its S copy of 0.
    assert_eq!(h.core_state(0, 4), Mesi::I);
    assert_eq!(h.core_state(0, 0), Mesi::S);
    assert_eq!(h.sharers(0), 0b11);
    h.check_all().unwrap();
}

#[test]
fn mesi_across_two_cores_exclusive_grant() {
    let mut h = tiny(2, ReadGrant::Exclusive);
    let a = 5;
    assert_eq!(
        go(&mut h, 0, ld(a)).1,
        vec![req(ReqOp::MemRdData, Meta::Any, a)]
    );
    assert_eq!(h.core_state(0, a), Mesi::E);
    // Load-load shares: the E copy drops to S, no message (the LLC holds A).
    assert_eq!(go(&mut h, 1, ld(a)), (L1 + L2 + LLC, vec![]));
    assert_eq!((h.core_state(0, a), h.core_state(1, a)), (Mesi::S, Mesi::S));
    assert_eq!((h.llc_state(a), h.sharers(a)), (Mesi::E, 0b11));
    // A store invalidates the other core; still no message.
    assert_eq!(go(&mut h, 1, st(a)), (L1 + L2 + LLC, vec![]));
    assert_eq!((h.core_state(0, a), h.core_state(1, a)), (Mesi::I, Mesi::M));
    assert_eq!(h.private_state(1, a), (Mesi::M, Mesi::E));
    // A load by core 0 downgrades the writer; its dirty data lands in the LLC.
    go(&mut h, 0, ld(a));
    assert_eq!((h.core_state(0, a), h.core_state(1, a)), (Mesi::S, Mesi::S));
    assert_eq!(h.llc_state(a), Mesi::M);
    go(&mut h, 0, st(a));
    assert_eq!((h.core_state(0, a), h.core_state(1, a)), (Mesi::M, Mesi::I));
    assert_eq!(h.flush(), &[wr(Meta::Invalid, a)]);
    h.check_all().unwrap();
}

#[test]
fn mesi_across_two_cores_shared_grant() {
    let mut h = tiny(2, ReadGrant::Shared);
    let (a, b) = (5, 6);
    assert_eq!(
        go(&mut h, 0, ld(a)).1,
        vec![req(ReqOp::MemRd, Meta::Shared, a)]
    );
    assert_eq!((h.core_state(0, a), h.llc_state(a)), (Mesi::S, Mesi::S));
    assert_eq!(go(&mut h, 1, ld(a)).1, vec![]);
    // Store to a line the LLC holds S: upgrade with MemInv meta A.
    assert_eq!(
        go(&mut h, 1, st(a)),
        (MISS, vec![req(ReqOp::MemInv, Meta::Any, a)])
    );
    assert_eq!((h.core_state(0, a), h.core_state(1, a)), (Mesi::I, Mesi::M));
    // A store miss asks for ownership directly.
    assert_eq!(
        go(&mut h, 0, st(b)).1,
        vec![req(ReqOp::MemRd, Meta::Any, b)]
    );
    // A line only read is evicted clean.
    go(&mut h, 0, ld(3));
    let mut f = h.flush().to_vec();
    f.sort_by_key(|m| m.line());
    assert_eq!(
        f,
        vec![
            req(ReqOp::MemClnEvct, Meta::Invalid, 3),
            wr(Meta::Invalid, a),
            wr(Meta::Invalid, b)
        ]
    );
    assert_eq!(h.stats().upgrades, 1);
}

#[test]
fn llc_eviction_writes_back_exactly_the_stored_lines() {
    for grant in [ReadGrant::Exclusive, ReadGrant::Shared] {
        let mut h = tiny(2, grant);
        let (mut wb, mut clean) = (HashSet::new(), HashSet::new());
        let mut note = |msgs: &[HostMsg]| {
            for m in msgs {
                match m {
                    HostMsg::Rwd {
                        op: RwdOp::MemWr,
                        meta: Meta::Invalid,
                        line,
                    } => {
                        assert!(wb.insert(*line))
                    }
                    HostMsg::Req {
                        op: ReqOp::MemClnEvct,
                        line,
                        ..
                    } => assert!(clean.insert(*line)),
                    _ => {}
                }
            }
        };
        // Twelve lines through one LLC set of 2 ways; every third one stored to,
        // by alternating cores.
        for i in 0..12u64 {
            let a = if i % 3 == 0 { st(4 * i) } else { ld(4 * i) };
            note(h.access(i as usize % 2, a).1);
        }
        note(h.flush());
        let stored: HashSet<u64> = (0..12).filter(|i| i % 3 == 0).map(|i| 4 * i).collect();
        let loaded: HashSet<u64> = (0..12).filter(|i| i % 3 != 0).map(|i| 4 * i).collect();
        assert_eq!(wb, stored, "{grant:?}");
        assert_eq!(clean, loaded, "{grant:?}");
    }
}

#[test]
fn l2_eviction_takes_dirty_l1_data_to_the_llc() {
    let mut h = small(ReadGrant::Exclusive);
    go(&mut h, 0, st(0));
    for l in 1..4 {
        go(&mut h, 0, ld(l));
    }
    assert_eq!(h.private_state(0, 0), (Mesi::M, Mesi::E));
    // L2 (one set, LRU line 0) evicts 0 while L1 still holds it M.
    go(&mut h, 0, ld(5));
    assert_eq!(
        (h.core_state(0, 0), h.llc_state(0), h.sharers(0)),
        (Mesi::I, Mesi::M, 0)
    );
    let f = h.flush();
    assert_eq!(f.iter().filter(|m| m.is_writeback()).count(), 1);
    assert!(f.contains(&wr(Meta::Invalid, 0)));
}

#[test]
fn snoops() {
    let mut h = tiny(2, ReadGrant::Exclusive);
    // Absent line.
    assert_eq!(h.snoop(9, SnpOp::BISnpInv), (RspOp::BIRspI, None));
    // BISnpInv on M: write back first, then BIRspI; gone from every level.
    go(&mut h, 0, st(1));
    assert_eq!(
        h.snoop(1, SnpOp::BISnpInv),
        (RspOp::BIRspI, Some(wr(Meta::Invalid, 1)))
    );
    assert_eq!((h.core_state(0, 1), h.llc_state(1)), (Mesi::I, Mesi::I));
    // BISnpData on E: clean, no writeback, everyone drops to S.
    go(&mut h, 0, ld(2));
    assert_eq!(h.snoop(2, SnpOp::BISnpData), (RspOp::BIRspS, None));
    assert_eq!((h.core_state(0, 2), h.llc_state(2)), (Mesi::S, Mesi::S));
    // ... so a later store must upgrade.
    assert_eq!(
        go(&mut h, 0, st(2)).1,
        vec![req(ReqOp::MemInv, Meta::Any, 2)]
    );
    // BISnpCur on a clean E line keeps it; on M it writes back and keeps S.
    go(&mut h, 1, ld(3));
    assert_eq!(h.snoop(3, SnpOp::BISnpCur), (RspOp::BIRspE, None));
    assert_eq!(h.core_state(1, 3), Mesi::E);
    go(&mut h, 1, st(3));
    assert_eq!(
        h.snoop(3, SnpOp::BISnpCur),
        (RspOp::BIRspS, Some(wr(Meta::Shared, 3)))
    );
    assert_eq!((h.core_state(1, 3), h.llc_state(3)), (Mesi::S, Mesi::S));
    // BISnpData on a line dirty only in the LLC (the writer's L2 evicted it).
    go(&mut h, 0, st(7));
    go(&mut h, 0, ld(9));
    go(&mut h, 0, ld(13)); // L2 set 1 = {9, 13}: 7 left core 0, dirty, into the LLC
    assert_eq!((h.core_state(0, 7), h.llc_state(7)), (Mesi::I, Mesi::M));
    assert_eq!(
        h.snoop(7, SnpOp::BISnpData),
        (RspOp::BIRspS, Some(wr(Meta::Shared, 7)))
    );
    // Written back: evicting it later is clean.
    assert!(h.flush().iter().all(|m| !m.is_writeback() || m.line() != 7));
    assert_eq!(h.stats().writebacks, 3 + 1); // 1, 3, 7, and line 2 at the flush
    h.check_all().unwrap();
}

/// The device's view of one line, advanced by the host's messages: checks that the
/// host only sends what the protocol allows in that state.
#[derive(Default)]
struct DeviceView {
    meta: HashMap<u64, Meta>,
}

impl DeviceView {
    fn get(&self, line: u64) -> Meta {
        *self.meta.get(&line).unwrap_or(&Meta::Invalid)
    }
    fn apply(&mut self, m: &HostMsg) {
        let (l, cur) = (m.line(), self.get(m.line()));
        let next = match *m {
            HostMsg::Req {
                op: ReqOp::MemRd | ReqOp::MemRdData,
                meta,
                ..
            } => {
                assert_eq!(cur, Meta::Invalid, "{m:?}: read of a held line");
                if matches!(
                    m,
                    HostMsg::Req {
                        op: ReqOp::MemRdData,
                        ..
                    }
                ) {
                    Meta::Any
                } else {
                    meta
                }
            }
            HostMsg::Req {
                op: ReqOp::MemInv,
                meta,
                ..
            } => {
                assert_eq!((cur, meta), (Meta::Shared, Meta::Any), "{m:?}");
                Meta::Any
            }
            HostMsg::Req {
                op: ReqOp::MemClnEvct,
                ..
            } => {
                assert_ne!(cur, Meta::Invalid, "{m:?}: evict of a line not held");
                Meta::Invalid
            }
            HostMsg::Rwd { meta, .. } => {
                assert_eq!(cur, Meta::Any, "{m:?}: writeback without ownership");
                meta
            }
        };
        self.meta.insert(l, next);
    }
}

/// Replays a seeded trace on 2 cores (optionally with random snoops), then flushes.
/// Every MemWr must follow a store to its line since that line's previous
/// writeback, and at the end every stored line has been written back: the lines
/// written back are exactly the lines stored to.
fn exact(seed: u64, grant: ReadGrant, kind: SynthKind, snoop_pct: u64) {
    // Uniform over 16 lines (hits at every level) or zipf over 96 (a hot set).
    let lines = if kind == SynthKind::Uniform { 16 } else { 96 };
    let mut spec = SynthSpec::new(kind, 20_000, seed);
    spec.footprint = lines * 64; // against an LLC of 8 lines
    spec.record = 96; // zipf records cross lines
    spec.size = 8;
    spec.write_pct = 25.0;
    let mut h = if seed.is_multiple_of(2) {
        tiny(2, grant)
    } else {
        small(grant)
    };
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut view = DeviceView::default();
    let mut dirty = HashSet::new(); // stored since the last writeback
    let (mut stored, mut written) = (HashSet::new(), HashSet::new());
    let mut writeback = |view: &mut DeviceView, dirty: &mut HashSet<u64>, m: &HostMsg| {
        view.apply(m);
        if let HostMsg::Req {
            op: ReqOp::MemClnEvct,
            line,
            ..
        } = m
        {
            assert!(!dirty.contains(line), "{m:?}: stored-to line evicted clean");
        }
        if m.is_writeback() {
            assert!(dirty.remove(&m.line()), "{m:?}: line not stored to");
            written.insert(m.line());
        }
    };
    for a in Synth::new(spec).unwrap() {
        let core = rng.below(2) as usize;
        // Pieces one at a time, so the shadow can order stores and writebacks.
        for p in a.split_lines() {
            let msgs = h.access(core, p).1.to_vec();
            for m in &msgs {
                writeback(&mut view, &mut dirty, m);
            }
            if p.kind.writes() {
                dirty.insert(p.first_line());
                stored.insert(p.first_line());
            }
        }
        if rng.below(100) < snoop_pct {
            let line = rng.below(lines);
            let op = SnpOp::ALL[rng.below(3) as usize];
            assert_eq!(
                view.get(line) == Meta::Invalid,
                h.llc_state(line) == Mesi::I
            );
            let (rsp, wb) = h.snoop(line, op);
            assert!(op.allows(rsp), "{op:?} answered {rsp:?}");
            // Any snoop returns data stored since the last writeback.
            assert_eq!(wb.is_some(), dirty.contains(&line), "{op:?} on {line}");
            if let Some(m) = wb {
                writeback(&mut view, &mut dirty, &m);
            }
            let after = match rsp {
                RspOp::BIRspI => Meta::Invalid,
                RspOp::BIRspS => Meta::Shared,
                RspOp::BIRspE => Meta::Any,
            };
            assert!(after != Meta::Any || view.get(line) == Meta::Any);
            view.meta.insert(line, after);
        }
    }
    h.check_all().unwrap();
    for m in h.flush().to_vec() {
        writeback(&mut view, &mut dirty, &m);
    }
    assert!(dirty.is_empty(), "never written back: {dirty:?}");
    assert_eq!(written, stored);
    assert!(view.meta.values().all(|&m| m == Meta::Invalid));
    let s = h.stats();
    assert!(
        s.llc_misses > 500 && s.l1_hits > 500 && s.llc_hits > 500,
        "{s:?}"
    );
}

#[test]
fn exact_writebacks_uniform() {
    for seed in 1..=4 {
        exact(seed, ReadGrant::Exclusive, SynthKind::Uniform, 0);
        exact(seed, ReadGrant::Shared, SynthKind::Uniform, 0);
    }
}

#[test]
fn exact_writebacks_zipf_with_snoops() {
    for seed in 1..=4 {
        exact(seed, ReadGrant::Exclusive, SynthKind::Zipf, 5);
        exact(seed, ReadGrant::Shared, SynthKind::Zipf, 5);
    }
}

/// Whole accesses (crossing lines) through `access`: the set of lines written back
/// equals the set stored to, computed from the trace alone; read-only lines, even
/// held E, never are.
#[test]
fn exact_writeback_set_whole_accesses() {
    for seed in [7, 8] {
        let mut spec = SynthSpec::new(SynthKind::Zipf, 20_000, seed);
        spec.footprint = 96 * 64;
        spec.record = 96;
        spec.write_pct = 20.0;
        // Stores only in the lower half, so the upper half is read-only.
        let trace: Vec<Access> = Synth::new(spec)
            .unwrap()
            .map(|mut a| {
                if a.addr >= 48 * 64 {
                    a.kind = Kind::Load;
                }
                a
            })
            .collect();
        let stored: HashSet<u64> = trace
            .iter()
            .filter(|a| a.kind.writes())
            .flat_map(|a| a.lines())
            .collect();
        let read_only = trace
            .iter()
            .flat_map(|a| a.lines())
            .filter(|l| !stored.contains(l))
            .count();
        assert!(read_only > 0 && !stored.is_empty());
        let mut h = small(ReadGrant::Exclusive);
        let mut rng = Rng::new(seed);
        let mut written = HashSet::new();
        for a in trace {
            let msgs = h.access(rng.below(2) as usize, a).1;
            written.extend(msgs.iter().filter(|m| m.is_writeback()).map(|m| m.line()));
        }
        written.extend(
            h.flush()
                .iter()
                .filter(|m| m.is_writeback())
                .map(|m| m.line()),
        );
        assert_eq!(written, stored);
    }
}

/// Throughput on the default (4-core, 8 MiB LLC) configuration; run with
/// `cargo test --release -p linewatch-model host_throughput -- --ignored --nocapture`
/// (`LW_FP` sets the footprint in bytes, default 256 MiB).
#[test]
#[ignore]
fn host_throughput() {
    let mut spec = SynthSpec::new(SynthKind::Zipf, 4_000_000, 1);
    spec.footprint = std::env::var("LW_FP").map_or(256 << 20, |v| v.parse().unwrap());
    let trace: Vec<Access> = Synth::new(spec).unwrap().collect();
    let mut h = Hierarchy::new(HierarchyConfig::default());
    let t = std::time::Instant::now();
    let (mut cycles, mut msgs) = (0u64, 0usize);
    for (i, a) in trace.iter().enumerate() {
        let (c, m) = h.access(i & 3, *a);
        cycles += c;
        msgs += m.len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} accesses in {s:.2} s: {:.1} M accesses/s, {cycles} cycles, {msgs} messages, {:?}",
        trace.len(),
        trace.len() as f64 / s / 1e6,
        h.stats()
    );
}
