//! N cores with private L1 and L2, a shared inclusive LLC with a directory, MESI
//! inside the host, and the link protocol's messages outside it.
//!
//! Choices (docs/host-model.md has the reasoning):
//! - L2 is inclusive of its L1, so the directory bit "core c holds the line" means
//!   "c's L2 holds it" and a back-invalidation of a core looks at two caches only.
//! - The LLC is inclusive of every L2 and its directory is precise: L2 evictions,
//!   clean ones too, notify the LLC (no outward message).
//! - The LLC's own MESI state is its permission toward the home agent: S after
//!   MemRd S, E after an A grant, M once dirty data reached it. A core may hold a
//!   line M while the LLC says E; the line is dirty if either is M.
//! - A load miss asks for S or for E on a sole reader (`ReadGrant`).

use super::cache::{Cache, CacheConfig, Mesi, Slot};
use crate::protocol::{Meta, ReqOp, RspOp, RwdOp, SnpOp};
use crate::trace::Access;

/// What the LLC asks the home agent for on a load miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadGrant {
    /// MemRd meta S: a later store costs a MemInv meta A upgrade, but the device
    /// sees every line the host may dirty before it is dirtied.
    Shared,
    /// MemRdData (device grants A, the core gets E): the usual CPU behaviour; a
    /// read-then-write line costs one request, not two.
    Exclusive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HierarchyConfig {
    /// 1 to 64 (the directory is one `u64` bitmask per LLC line).
    pub cores: usize,
    pub l1: CacheConfig,
    pub l2: CacheConfig,
    pub llc: CacheConfig,
    /// Cycles the home agent adds to a read or an upgrade that leaves the LLC.
    /// Writebacks are posted and cost nothing on the access's path.
    pub mem_latency: u32,
    pub read_grant: ReadGrant,
}

impl Default for HierarchyConfig {
    /// A generic 4-core server part: 32 KiB/8-way L1, 1 MiB/16-way L2, 8 MiB/16-way LLC.
    fn default() -> Self {
        HierarchyConfig {
            cores: 4,
            l1: CacheConfig::new(32 << 10, 8, 4),
            l2: CacheConfig::new(1 << 20, 16, 14),
            llc: CacheConfig::new(8 << 20, 16, 40),
            mem_latency: 200,
            read_grant: ReadGrant::Exclusive,
        }
    }
}

impl HierarchyConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.cores) {
            return Err(format!("cores = {}: must be 1 to 64", self.cores));
        }
        for (name, c) in [("l1", &self.l1), ("l2", &self.l2), ("llc", &self.llc)] {
            c.check().map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }
}

/// A message the host sends to the home agent (the device), named as in
/// `docs/protocol.md`. `line` is the line address (byte address / 64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostMsg {
    /// Request channel: MemRd, MemRdData, MemInv, MemClnEvct.
    Req { op: ReqOp, meta: Meta, line: u64 },
    /// Request-with-data channel: MemWr (the data is the line's current contents).
    Rwd { op: RwdOp, meta: Meta, line: u64 },
}

impl HostMsg {
    pub fn line(&self) -> u64 {
        match *self {
            HostMsg::Req { line, .. } | HostMsg::Rwd { line, .. } => line,
        }
    }
    pub fn meta(&self) -> Meta {
        match *self {
            HostMsg::Req { meta, .. } | HostMsg::Rwd { meta, .. } => meta,
        }
    }
    /// A full-line writeback of dirty data.
    pub fn is_writeback(&self) -> bool {
        matches!(
            self,
            HostMsg::Rwd {
                op: RwdOp::MemWr,
                ..
            }
        )
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
}

/// Event counts since construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Line-sized pieces of accesses (an access crossing a line counts twice).
    pub lines: u64,
    pub l1_hits: u64,
    pub l2_hits: u64,
    pub llc_hits: u64,
    pub llc_misses: u64,
    /// MemInv meta A sent (store to a line the LLC holds S).
    pub upgrades: u64,
    pub writebacks: u64,
    pub clean_evicts: u64,
    pub snoops: u64,
}

#[derive(Clone, Debug)]
struct Core {
    l1: Cache,
    l2: Cache,
}

#[derive(Clone, Debug)]
pub struct Hierarchy {
    cfg: HierarchyConfig,
    cores: Vec<Core>,
    llc: Cache,
    /// Per LLC slot: bit c set when core c's L2 holds the line.
    dir: Vec<u64>,
    /// Messages of the current call; handed out as a slice, reused (no allocation).
    out: Vec<HostMsg>,
    stats: HostStats,
}

impl Hierarchy {
    /// Panics on a bad configuration (see [`HierarchyConfig::check`]).
    pub fn new(cfg: HierarchyConfig) -> Hierarchy {
        if let Err(e) = cfg.check() {
            panic!("bad host config: {e}");
        }
        let llc = Cache::new(cfg.llc);
        Hierarchy {
            cores: (0..cfg.cores)
                .map(|_| Core {
                    l1: Cache::new(cfg.l1),
                    l2: Cache::new(cfg.l2),
                })
                .collect(),
            dir: vec![0; llc.slots()],
            llc,
            out: Vec::with_capacity(8),
            stats: HostStats::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &HierarchyConfig {
        &self.cfg
    }
    pub fn stats(&self) -> &HostStats {
        &self.stats
    }

    /// Runs one access of `core` through the hierarchy, line by line. Returns the
    /// latency in cycles (the sum over the lines it touches: pieces are issued one
    /// after another) and the messages the LLC sends to the home agent, in order.
    /// `a.core` is ignored: the caller decides which core issues it.
    pub fn access(&mut self, core: usize, a: Access) -> (u64, &[HostMsg]) {
        assert!(core < self.cores.len(), "core {core} out of range");
        self.out.clear();
        let write = a.kind.writes();
        let mut lat = 0;
        for line in a.lines() {
            lat += self.access_line(core, line, write);
            debug_assert_eq!(self.check_line(line), Ok(()));
        }
        (lat, &self.out)
    }

    /// Applies a back-invalidate snoop from the device to every level. Returns the
    /// answer and, when the host held the line dirty, the MemWr that must reach the
    /// device before the answer (meta I for BISnpInv, S otherwise, as the
    /// co-simulation host does).
    pub fn snoop(&mut self, line: u64, op: SnpOp) -> (RspOp, Option<HostMsg>) {
        self.stats.snoops += 1;
        let Some(slot) = self.llc.find(line) else {
            // Inclusive LLC: absent here means absent everywhere.
            return (RspOp::BIRspI, None);
        };
        let r = match op {
            SnpOp::BISnpInv => {
                let dirty = self.drop_llc_line(slot);
                (
                    RspOp::BIRspI,
                    dirty.then(|| HostMsg::wr(Meta::Invalid, line)),
                )
            }
            SnpOp::BISnpData | SnpOp::BISnpCur => {
                let dirty = self.llc.state(slot) == Mesi::M
                    || self
                        .holders(slot)
                        .any(|d| self.core_state(d, line) == Mesi::M);
                if op == SnpOp::BISnpCur && !dirty {
                    // Nothing to return; keep the state and report it.
                    let rsp = if self.llc.state(slot).owned() {
                        RspOp::BIRspE
                    } else {
                        RspOp::BIRspS
                    };
                    (rsp, None)
                } else {
                    for d in bits(self.dir[slot]) {
                        self.downgrade_core(d, line);
                    }
                    self.llc.set_state(slot, Mesi::S);
                    (
                        RspOp::BIRspS,
                        dirty.then(|| HostMsg::wr(Meta::Shared, line)),
                    )
                }
            }
        };
        if r.1.is_some() {
            self.stats.writebacks += 1;
        }
        debug_assert_eq!(self.check_line(line), Ok(()));
        r
    }

    /// Evicts every line from every level (LLC evictions: MemWr meta I for dirty
    /// lines, MemClnEvct for clean ones) and returns the messages.
    pub fn flush(&mut self) -> &[HostMsg] {
        self.out.clear();
        for slot in 0..self.llc.slots() {
            if self.llc.state(slot).valid() {
                self.evict_llc(slot);
            }
        }
        debug_assert!(self
            .cores
            .iter()
            .all(|c| c.l1.lines().next().is_none() && c.l2.lines().next().is_none()));
        &self.out
    }

    /// Flushes one line from every level, as `clflush` does: MemWr meta I when it
    /// was dirty anywhere, MemClnEvct when clean, nothing when not cached.
    pub fn flush_line(&mut self, line: u64) -> &[HostMsg] {
        self.out.clear();
        if let Some(slot) = self.llc.find(line) {
            self.evict_llc(slot);
        }
        &self.out
    }

    /// `(L1, L2)` states of `line` in `core`.
    pub fn private_state(&self, core: usize, line: u64) -> (Mesi, Mesi) {
        let c = &self.cores[core];
        (c.l1.probe(line), c.l2.probe(line))
    }
    /// The core's MESI state for the line: M if dirty in L1 or L2, else its L2 state.
    pub fn core_state(&self, core: usize, line: u64) -> Mesi {
        match self.private_state(core, line) {
            (Mesi::M, _) => Mesi::M,
            (_, st) => st,
        }
    }
    pub fn llc_state(&self, line: u64) -> Mesi {
        self.llc.probe(line)
    }
    /// Directory bitmask of the cores holding `line` (0 when the LLC misses).
    pub fn sharers(&self, line: u64) -> u64 {
        self.llc.find(line).map_or(0, |s| self.dir[s])
    }

    fn holders(&self, slot: Slot) -> impl Iterator<Item = usize> {
        bits(self.dir[slot])
    }

    fn access_line(&mut self, c: usize, line: u64, write: bool) -> u64 {
        self.stats.lines += 1;
        let l1_lat = self.cfg.l1.latency as u64;
        let l2_lat = self.cfg.l2.latency as u64;
        let core = &mut self.cores[c];
        if let Some(s) = core.l1.find(line) {
            let st = core.l1.state(s);
            if !write || st.owned() {
                core.l1.touch(s);
                if write {
                    core.l1.set_state(s, Mesi::M);
                }
                self.stats.l1_hits += 1;
                return l1_lat;
            }
        }
        if let Some(s) = core.l2.find(line) {
            let st = core.l2.state(s);
            if !write || st.owned() {
                // L1 misses here: an L1 copy would be owned whenever L2 is.
                core.l2.touch(s);
                self.stats.l2_hits += 1;
                let l1_st = match (st.owned(), write) {
                    (false, _) => Mesi::S,
                    (true, false) => Mesi::E,
                    (true, true) => Mesi::M,
                };
                self.fill_l1(c, line, l1_st);
                return l1_lat + l2_lat;
            }
        }
        let lat = l1_lat + l2_lat + self.cfg.llc.latency as u64;
        lat + if write {
            self.llc_own(c, line)
        } else {
            self.llc_read(c, line)
        }
    }

    /// Load that missed the core's L2. Returns the latency beyond the LLC's.
    fn llc_read(&mut self, c: usize, line: u64) -> u64 {
        let mut extra = 0;
        let slot = match self.llc.find(line) {
            Some(s) => {
                self.llc.touch(s);
                self.stats.llc_hits += 1;
                s
            }
            None => {
                extra = self.cfg.mem_latency as u64;
                let (op, meta, st) = match self.cfg.read_grant {
                    ReadGrant::Shared => (ReqOp::MemRd, Meta::Shared, Mesi::S),
                    ReadGrant::Exclusive => (ReqOp::MemRdData, Meta::Any, Mesi::E),
                };
                self.llc_miss(line, HostMsg::req(op, meta, line), st)
            }
        };
        // An owner elsewhere (at most one, then the only holder) drops to S.
        let others = self.dir[slot] & !(1 << c);
        if others != 0 {
            let d = others.trailing_zeros() as usize;
            if self.cores[d].l2.probe(line).owned() && self.downgrade_core(d, line) {
                self.llc.set_state(slot, Mesi::M);
            }
        }
        let grant = if others == 0 && self.llc.state(slot).owned() {
            Mesi::E
        } else {
            Mesi::S
        };
        self.dir[slot] |= 1 << c;
        self.fill_l2(c, line, grant);
        self.fill_l1(c, line, grant);
        extra
    }

    /// Store without ownership in the core. Returns the latency beyond the LLC's.
    fn llc_own(&mut self, c: usize, line: u64) -> u64 {
        let mut extra = 0;
        let slot = match self.llc.find(line) {
            Some(s) => {
                self.llc.touch(s);
                self.stats.llc_hits += 1;
                if self.llc.state(s) == Mesi::S {
                    extra = self.cfg.mem_latency as u64;
                    self.out.push(HostMsg::req(ReqOp::MemInv, Meta::Any, line));
                    self.stats.upgrades += 1;
                    self.llc.set_state(s, Mesi::E);
                }
                s
            }
            None => {
                extra = self.cfg.mem_latency as u64;
                self.llc_miss(line, HostMsg::req(ReqOp::MemRd, Meta::Any, line), Mesi::E)
            }
        };
        let others = self.dir[slot] & !(1 << c);
        for d in bits(others) {
            if self.invalidate_core(d, line) {
                self.llc.set_state(slot, Mesi::M);
            }
        }
        self.dir[slot] &= !others;
        self.dir[slot] |= 1 << c;
        let core = &mut self.cores[c];
        match core.l2.find(line) {
            Some(s) => {
                core.l2.set_state(s, Mesi::E);
                core.l2.touch(s);
                match core.l1.find(line) {
                    Some(s1) => {
                        core.l1.set_state(s1, Mesi::M);
                        core.l1.touch(s1);
                    }
                    None => self.fill_l1(c, line, Mesi::M),
                }
            }
            None => {
                self.fill_l2(c, line, Mesi::E);
                self.fill_l1(c, line, Mesi::M);
            }
        }
        extra
    }

    /// Allocates `line` in the LLC (evicting the LRU line), sends `req`, installs `st`.
    fn llc_miss(&mut self, line: u64, req: HostMsg, st: Mesi) -> Slot {
        self.stats.llc_misses += 1;
        let v = self.llc.victim(line);
        if self.llc.state(v).valid() {
            self.evict_llc(v);
        }
        self.out.push(req);
        self.llc.fill(v, line, st);
        self.dir[v] = 0;
        v
    }

    /// Back-invalidates the holders of the LLC line in `slot`, drops it, and sends
    /// MemWr meta I if anyone held it dirty, MemClnEvct otherwise.
    fn evict_llc(&mut self, slot: Slot) {
        let line = self.llc.line(slot);
        let msg = if self.drop_llc_line(slot) {
            self.stats.writebacks += 1;
            HostMsg::wr(Meta::Invalid, line)
        } else {
            self.stats.clean_evicts += 1;
            HostMsg::req(ReqOp::MemClnEvct, Meta::Invalid, line)
        };
        self.out.push(msg);
        debug_assert_eq!(self.check_line(line), Ok(()));
    }

    /// Invalidates the line in `slot` everywhere; true when it was dirty anywhere.
    fn drop_llc_line(&mut self, slot: Slot) -> bool {
        let line = self.llc.line(slot);
        let mut dirty = self.llc.state(slot) == Mesi::M;
        for d in bits(self.dir[slot]) {
            dirty |= self.invalidate_core(d, line);
        }
        self.llc.set_state(slot, Mesi::I);
        self.dir[slot] = 0;
        dirty
    }

    /// Drops the line from core `d`'s L1 and L2; true when it was dirty there.
    fn invalidate_core(&mut self, d: usize, line: u64) -> bool {
        let core = &mut self.cores[d];
        let a = core.l1.invalidate(line);
        let b = core.l2.invalidate(line);
        a == Mesi::M || b == Mesi::M
    }

    /// Leaves core `d` with an S copy; true when it was dirty there.
    fn downgrade_core(&mut self, d: usize, line: u64) -> bool {
        let core = &mut self.cores[d];
        let mut dirty = false;
        for cache in [&mut core.l1, &mut core.l2] {
            if let Some(s) = cache.find(line) {
                dirty |= cache.state(s) == Mesi::M;
                cache.set_state(s, Mesi::S);
            }
        }
        dirty
    }

    fn fill_l2(&mut self, c: usize, line: u64, st: Mesi) {
        let v = self.cores[c].l2.victim(line);
        if self.cores[c].l2.state(v).valid() {
            self.evict_l2(c, v);
        }
        self.cores[c].l2.fill(v, line, st);
    }

    /// L2 eviction: takes the L1 copy with it (inclusion) and tells the LLC, which
    /// keeps the data and becomes M if the core had dirtied it.
    fn evict_l2(&mut self, c: usize, slot: Slot) {
        let core = &mut self.cores[c];
        let line = core.l2.line(slot);
        let dirty = core.l1.invalidate(line) == Mesi::M || core.l2.state(slot) == Mesi::M;
        core.l2.set_state(slot, Mesi::I);
        let s = self.llc.find(line).expect("LLC inclusive of L2");
        self.dir[s] &= !(1 << c);
        if dirty {
            self.llc.set_state(s, Mesi::M);
        }
        debug_assert_eq!(self.check_line(line), Ok(()));
    }

    fn fill_l1(&mut self, c: usize, line: u64, st: Mesi) {
        let core = &mut self.cores[c];
        let v = core.l1.victim(line);
        if core.l1.state(v).valid() {
            // L1 eviction: dirty data moves to the L2 copy (L2 inclusive of L1).
            let vl = core.l1.line(v);
            if core.l1.state(v) == Mesi::M {
                let s2 = core.l2.find(vl).expect("L2 inclusive of L1");
                core.l2.set_state(s2, Mesi::M);
            }
            core.l1.set_state(v, Mesi::I);
        }
        core.l1.fill(v, line, st);
    }

    /// Checks every invariant for one line: L2 inclusive of L1 with the same
    /// ownership, LLC inclusive of every L2, a precise directory, single writer (at
    /// most one core E/M, and then no other holder), and an owning core only under
    /// an LLC that holds A permission.
    pub fn check_line(&self, line: u64) -> Result<(), String> {
        let slot = self.llc.find(line);
        let (mut holders, mut owners) = (0, 0);
        for (d, core) in self.cores.iter().enumerate() {
            let (a, b) = (core.l1.probe(line), core.l2.probe(line));
            if a.valid() && !b.valid() {
                return Err(format!("line {line:#x}: core {d} L1 {a} without L2 copy"));
            }
            if a.valid() && a.owned() != b.owned() {
                return Err(format!("line {line:#x}: core {d} L1 {a} vs L2 {b}"));
            }
            let in_dir = slot.is_some_and(|s| self.dir[s] >> d & 1 == 1);
            if b.valid() {
                holders += 1;
                owners += b.owned() as u32;
                if slot.is_none() {
                    return Err(format!("line {line:#x}: core {d} holds it, LLC does not"));
                }
                if !in_dir {
                    return Err(format!(
                        "line {line:#x}: core {d} holds it, not in directory"
                    ));
                }
            } else if in_dir {
                return Err(format!(
                    "line {line:#x}: directory names core {d}, which lacks it"
                ));
            }
        }
        if owners > 1 || (owners == 1 && holders > 1) {
            return Err(format!(
                "line {line:#x}: {owners} owners among {holders} holders"
            ));
        }
        if owners == 1 && !self.llc.probe(line).owned() {
            return Err(format!("line {line:#x}: core owns it under an LLC in S"));
        }
        Ok(())
    }

    /// [`Hierarchy::check_line`] for every cached line, and no directory bits on
    /// empty LLC slots. Slow; for tests.
    pub fn check_all(&self) -> Result<(), String> {
        let mut lines: Vec<u64> = self.llc.lines().map(|(l, _)| l).collect();
        for c in &self.cores {
            lines.extend(c.l1.lines().map(|(l, _)| l));
            lines.extend(c.l2.lines().map(|(l, _)| l));
        }
        lines.sort_unstable();
        lines.dedup();
        for l in lines {
            self.check_line(l)?;
        }
        for s in 0..self.llc.slots() {
            if !self.llc.state(s).valid() && self.dir[s] != 0 {
                return Err(format!("empty LLC slot {s} has directory bits"));
            }
        }
        Ok(())
    }
}

/// The set bits of a directory mask, lowest first. Takes the mask by value, so the
/// caches it indexes can change while iterating.
fn bits(mut m: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (m != 0).then(|| {
            let d = m.trailing_zeros() as usize;
            m &= m - 1;
            d
        })
    })
}
