//! Trace-driven system: cores replay traces through the MMU and the cache
//! hierarchy; the LLC's messages to the window drive the device (the Rust model or
//! the Verilated RTL) through its ports, the hierarchy answers the device's snoops,
//! and the dirty set is read back through the harvest port.
//!
//! Timing: each core is a blocking in-order core. An access costs its cache
//! latency; when it sends messages to the device, the device is clocked until every
//! one of them has completed and the cycles spent, times the host/device clock
//! ratio, are added. Cores interleave by local time (the core furthest behind goes
//! next). Device cycles in which the host has nothing outstanding are skipped: the
//! device is idle then, and both device implementations see the same inputs.

use crate::host::{message_index, HvInFlight};
use crate::lockstep::Side;
use anyhow::{anyhow, bail, Result};
use linewatch_model::config::HostConfig;
use linewatch_model::config::RemoteConfig;
use linewatch_model::host::{
    CacheConfig, Hierarchy, HierarchyConfig, HostMsg, Mmu, MmuConfig, MmuError, PhysOp, PhysOpKind,
    ReadGrant, RemoteLink, Replacement, Residency,
};
use linewatch_model::protocol::*;
use linewatch_model::trace::{Access, Kind, TraceSource};
use linewatch_model::{Geometry, Inputs, Outputs};
use linewatch_sw::memhost::Client;
use linewatch_sw::prefetch::{Policy, Trigger};
use std::collections::{HashMap, VecDeque};

const PAGE: u64 = 4096;
const LINES_PER_PAGE: u64 = PAGE / LINE_BYTES;
// The dirty-set bitmap relies on one u64 word per page.
const _: () = assert!(LINES_PER_PAGE == 64);
/// Tags the host uses; far more than it ever has in flight.
const TAGS: usize = 256;
/// Device cycles one access may take before the run is declared hung.
const HANG_CYCLES: u64 = 1_000_000;

/// What a host request in flight is, and what its completion triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flight {
    /// A read or an upgrade: once the device has accepted it, a snoop to its line
    /// waits for it to complete (rule 5). Before that the snoop is answered at
    /// once: the device may be unable to accept the read until it is.
    Acquire { line: u64, accepted: bool },
    /// An eviction (MemWr, MemClnEvct).
    Release,
    /// A writeback forced by a snoop: send this answer once it completes.
    SnoopWriteback { bitag: u64, rsp: RspOp },
}

#[derive(Clone, Copy, Debug)]
struct Msg {
    op: u8,
    meta: u8,
    tag: u64,
    line: u64,
    data: Line,
}

const ZERO: Line = [0; DATA_WORDS];

/// Merge `data` into `old` where the byte mask is set.
fn merge(old: &Line, data: &Line, mask: u64) -> Line {
    let mut out = *old;
    for (w, o) in out.iter_mut().enumerate() {
        let m8 = (mask >> (8 * w)) & 0xff;
        let bits = (0..8).fold(0u64, |b, k| {
            if m8 >> k & 1 != 0 {
                b | 0xff << (8 * k)
            } else {
                b
            }
        });
        *o = *o & !bits | data[w] & bits;
    }
    out
}

/// Harvest-port driver: a swap, then a read-and-clear scan of the retired bank
/// from the top level down, reading only words whose summary bit is set.
#[derive(Default)]
struct Harvest {
    /// The request being offered: (op, level, index).
    offer: Option<(u64, u64, u64)>,
    /// Words still to read, in order.
    queue: VecDeque<(u64, u64)>,
    /// Reads taken and not yet answered (level, word).
    inflight: HvInFlight<(u64, u64)>,
    /// Level-0 line indices (window-relative) found by the current scan.
    lines: Vec<u64>,
    reads: u64,
}

/// The fetch engine behind the device's fetch port (page-table trigger): requests
/// go over the same remote link as the OS's demand fetches, in host time; a
/// response is offered once its page has arrived.
struct FetchEngine {
    link: RemoteLink,
    ratio: u64,
    /// Host time of device cycle `base.1` (set whenever the host starts clocking).
    base: (u64, u64),
    /// Requests in flight: (frame, host time it is usable), in order.
    pending: VecDeque<(u64, u64)>,
    /// Every frame the device fetched, with its arrival host time.
    fetched: HashMap<u64, u64>,
    issued: u64,
    /// Frames asked for since the system last read their contents from the memory
    /// hosts (only kept when there are hosts).
    new: Vec<u64>,
    keep_new: bool,
}

impl FetchEngine {
    #[inline]
    fn host_time(&self, device_cycle: u64) -> u64 {
        self.base.0 + (device_cycle - self.base.1) * self.ratio
    }
}

/// Device-side counters, identical for the model and the RTL on the same trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub messages: [u64; 16],
    pub device_cycles: u64,
    pub harvests: u64,
    pub harvest_reads: u64,
    pub mem_reads: u64,
    pub mem_writes: u64,
    /// Snoops answered only after the read of their line completed (rule 5).
    pub deferred_snoops: u64,
    pub err_count: u64,
    /// Driver commands (each harvest: a swap and one read per word it scans) and
    /// the completion polls they took.
    pub commands: u64,
    pub command_polls: u64,
    /// The event ring as the driver sees it at the last harvest: records the device
    /// appended and dropped, and records the driver consumed.
    pub events_produced: u64,
    pub events_consumed: u64,
    pub events_dropped: u64,
}

/// The host's side of the link: queues per channel, tags, snoop answers, the
/// device memory (fixed latency) and the harvest port.
pub struct Link<S: Side> {
    side: S,
    g: Geometry,
    i: Inputs,
    o: Outputs,
    mem_latency: u64,
    /// Device-memory reads in order: (due cycle, line).
    reads: VecDeque<(u64, u64)>,
    /// Device memory contents: lines never written with data read as zero (trace
    /// accesses carry no data, so only data the host wrote takes room).
    mem: HashMap<u64, Line>,
    /// Data of lines the host holds, where it is not all zero: filled by MemData,
    /// changed by stores through [`System::window_store`], sent with every MemWr.
    data: HashMap<u64, Line>,
    req: VecDeque<Msg>,
    rwd: VecDeque<Msg>,
    birsp: VecDeque<(u64, RspOp)>,
    flights: Vec<Option<Flight>>,
    in_flight: usize,
    next_tag: usize,
    /// Snoops waiting for a read of their line: (bitag, op, line).
    deferred: Vec<(u64, SnpOp, u64)>,
    hv: Harvest,
    pub stats: LinkStats,
    /// Data of every fill since software's current window access began: a load
    /// whose fill a deferred snoop (rule 5) takes away at once still returns it.
    fills: HashMap<u64, Line>,
    capture_fills: bool,
    fe: Option<FetchEngine>,
}

impl<S: Side> Link<S> {
    pub fn new(side: S, g: &Geometry, mem_latency: u64) -> Self {
        let i = Inputs {
            ndr_ready: true,
            drs_ready: true,
            bisnp_ready: true,
            mem_req_ready: true,
            ..Default::default()
        };
        Link {
            side,
            g: *g,
            i,
            o: Outputs::default(),
            mem_latency,
            reads: VecDeque::new(),
            mem: HashMap::new(),
            data: HashMap::new(),
            req: VecDeque::new(),
            rwd: VecDeque::new(),
            birsp: VecDeque::new(),
            flights: vec![None; TAGS],
            in_flight: 0,
            next_tag: 0,
            deferred: Vec::new(),
            hv: Harvest::default(),
            stats: LinkStats::default(),
            fills: HashMap::new(),
            capture_fills: false,
            fe: None,
        }
    }

    /// The host's time now (host cycles), for the fetch engine's clock.
    fn set_host_time(&mut self, now: u64) {
        let d = self.stats.device_cycles;
        if let Some(fe) = &mut self.fe {
            fe.base = (now.max(fe.host_time(d)), d);
        }
    }

    /// The host's copy of word `w` of `line` (the data it holds, else what it was
    /// last filled with, else device memory).
    fn host_word(&self, line: u64, w: usize) -> u64 {
        self.host_line(line)[w]
    }

    /// The host's copy of `line`, as [`Self::host_word`] finds it.
    fn host_line(&self, line: u64) -> Line {
        self.data
            .get(&line)
            .or(self.fills.get(&line))
            .or(self.mem.get(&line))
            .copied()
            .unwrap_or(ZERO)
    }

    pub fn side(&self) -> &S {
        &self.side
    }

    fn alloc(&mut self, f: Flight) -> Result<u64> {
        for _ in 0..TAGS {
            let t = self.next_tag;
            self.next_tag = (t + 1) % TAGS;
            if self.flights[t].is_none() {
                self.flights[t] = Some(f);
                self.in_flight += 1;
                return Ok(t as u64);
            }
        }
        bail!("host ran out of tags ({TAGS} requests in flight)")
    }

    /// Queue one of the LLC's messages (the caller keeps only window lines).
    pub fn send(&mut self, m: &HostMsg) -> Result<()> {
        match *m {
            HostMsg::Req { op, meta, line } => {
                let f = match op {
                    ReqOp::MemRd | ReqOp::MemRdData | ReqOp::MemInv => Flight::Acquire {
                        line,
                        accepted: false,
                    },
                    ReqOp::MemClnEvct => Flight::Release,
                };
                let tag = self.alloc(f)?;
                if op == ReqOp::MemClnEvct {
                    self.data.remove(&line);
                }
                self.req.push_back(Msg {
                    op: op as u8,
                    meta: meta as u8,
                    tag,
                    line,
                    data: ZERO,
                });
            }
            HostMsg::Rwd { op, meta, line } => {
                let tag = self.alloc(Flight::Release)?;
                // An eviction: the data leaves the host with the MemWr.
                let data = self.data.remove(&line).unwrap_or(ZERO);
                self.rwd.push_back(Msg {
                    op: op as u8,
                    meta: meta as u8,
                    tag,
                    line,
                    data,
                });
            }
        }
        Ok(())
    }

    /// Nothing queued, in flight, deferred or being harvested, and the device
    /// shows no response, snoop or memory request this cycle.
    fn quiet(&self) -> bool {
        self.in_flight == 0
            && self.req.is_empty()
            && self.rwd.is_empty()
            && self.birsp.is_empty()
            && self.deferred.is_empty()
            && self.reads.is_empty()
            && self.hv.offer.is_none()
            && self.hv.inflight.is_empty()
            && self.hv.queue.is_empty()
            && !self.o.ndr_valid
            && !self.o.drs_valid
            && !self.o.bisnp_valid
            && !self.o.mem_req_valid
            && !self.o.fetch_valid
    }

    /// Clock the device `n` cycles whatever the link does (time passing while
    /// software computes or polls in its cache), then until the host side is quiet.
    pub fn idle(&mut self, host: &mut Hierarchy, n: u64) -> Result<u64> {
        for _ in 0..n {
            self.step(host)?;
        }
        Ok(n + self.run(host)?)
    }

    /// Clock the device until the host side is quiet; returns the cycles taken.
    pub fn run(&mut self, host: &mut Hierarchy) -> Result<u64> {
        let start = self.stats.device_cycles;
        while !self.quiet() {
            self.step(host)?;
            if self.stats.device_cycles - start > HANG_CYCLES {
                bail!(
                    "device cycle {}: no progress for {HANG_CYCLES} cycles ({} requests in flight)",
                    self.stats.device_cycles,
                    self.in_flight
                );
            }
        }
        Ok(self.stats.device_cycles - start)
    }

    fn step(&mut self, host: &mut Hierarchy) -> Result<()> {
        let now = self.stats.device_cycles;
        let i = &mut self.i;
        i.req_valid = false;
        if let Some(m) = self.req.front() {
            i.req_valid = true;
            i.req_opcode = m.op as u64;
            i.req_meta = m.meta as u64;
            i.req_tag = m.tag;
            i.req_addr = m.line;
        }
        i.rwd_valid = false;
        if let Some(m) = self.rwd.front() {
            i.rwd_valid = true;
            i.rwd_opcode = m.op as u64;
            i.rwd_meta = m.meta as u64;
            i.rwd_tag = m.tag;
            i.rwd_addr = m.line;
            i.rwd_mask = u64::MAX;
            i.rwd_data = m.data;
        }
        i.birsp_valid = false;
        if let Some(&(bitag, op)) = self.birsp.front() {
            i.birsp_valid = true;
            i.birsp_bitag = bitag;
            i.birsp_opcode = op as u64;
        }
        i.mem_rsp_valid = false;
        if let Some(&(due, line)) = self.reads.front() {
            if due <= now {
                i.mem_rsp_valid = true;
                i.mem_rsp_data = self.mem.get(&line).copied().unwrap_or(ZERO);
            }
        }
        i.fetch_rsp_valid = false;
        if let Some(fe) = &self.fe {
            i.fetch_ready = true;
            if let Some(&(frame, ready)) = fe.pending.front() {
                if ready <= fe.host_time(now) {
                    i.fetch_rsp_valid = true;
                    i.fetch_rsp_frame = frame;
                }
            }
        }
        i.hv_valid = false;
        if let Some((op, level, index)) = self.hv.offer {
            i.hv_valid = true;
            i.hv_op = op;
            i.hv_level = level;
            i.hv_index = index;
        }

        self.side.cycle(&self.i, &mut self.o);
        self.stats.device_cycles += 1;
        let (i, o) = (&self.i, &self.o);

        if i.req_valid && o.req_ready {
            let m = self.req.pop_front().expect("offered");
            if let Some(Flight::Acquire { accepted, .. }) = &mut self.flights[m.tag as usize] {
                *accepted = true;
            }
            let op = ReqOp::from_bits(m.op).expect("host sends legal requests");
            self.stats.messages[message_index(op.name())] += 1;
        }
        if i.rwd_valid && o.rwd_ready {
            let m = self.rwd.pop_front().expect("offered");
            let op = RwdOp::from_bits(m.op).expect("host sends legal writes");
            self.stats.messages[message_index(op.name())] += 1;
        }
        if i.birsp_valid && o.birsp_ready {
            let (_, op) = self.birsp.pop_front().expect("offered");
            self.stats.messages[message_index(op.name())] += 1;
        }
        if o.mem_req_valid {
            let line = o.mem_req_addr;
            if o.mem_req_write {
                self.stats.mem_writes += 1;
                let old = self.mem.get(&line).copied();
                let new = merge(&old.unwrap_or(ZERO), &o.mem_req_data, o.mem_req_mask);
                if old.is_some() || new != ZERO {
                    self.mem.insert(line, new);
                }
            } else {
                self.stats.mem_reads += 1;
                let after = self.reads.back().map_or(0, |r| r.0).max(now);
                self.reads
                    .push_back((after.max(now + self.mem_latency), line));
            }
        }
        if i.mem_rsp_valid && o.mem_rsp_ready {
            self.reads.pop_front();
        }
        if let Some(fe) = &mut self.fe {
            if i.fetch_rsp_valid && o.fetch_rsp_ready {
                fe.pending.pop_front();
            }
            if o.fetch_valid && i.fetch_ready {
                let t = fe.host_time(now);
                let ready = fe.link.fetch(t);
                fe.pending.push_back((o.fetch_frame, ready));
                fe.fetched.entry(o.fetch_frame).or_insert(ready);
                fe.issued += 1;
                if fe.keep_new {
                    fe.new.push(o.fetch_frame);
                }
            }
        }
        self.stats.err_count = o.err_count;
        let ndr = o.ndr_valid.then_some((o.ndr_tag, o.ndr_opcode));
        let drs = o.drs_valid.then_some((o.drs_tag, o.drs_data));
        let snoop = o
            .bisnp_valid
            .then_some((o.bisnp_bitag, o.bisnp_opcode, o.bisnp_addr));
        let hv_taken = i.hv_valid && o.hv_ready;
        let hv_rsp = (o.hv_rsp_valid, o.hv_rsp_data);

        if let Some((tag, op)) = ndr {
            let name = NdrOp::from_bits(op as u8)
                .ok_or_else(|| anyhow!("device cycle {now}: NDR opcode {op} is not a response"))?
                .name();
            self.stats.messages[message_index(name)] += 1;
            self.complete(tag, now, host)?;
        }
        if let Some((tag, data)) = drs {
            self.stats.messages[message_index("MemData")] += 1;
            if let Some(Some(Flight::Acquire { line, .. })) = self.flights.get(tag as usize) {
                if self.capture_fills {
                    self.fills.insert(*line, data);
                }
                if data != ZERO {
                    self.data.insert(*line, data);
                } else {
                    self.data.remove(line);
                }
            }
            self.complete(tag, now, host)?;
        }
        if let Some((bitag, op, line)) = snoop {
            let op = SnpOp::from_bits(op as u8)
                .ok_or_else(|| anyhow!("device cycle {now}: BISnp opcode {op} is not a snoop"))?;
            self.stats.messages[message_index(op.name())] += 1;
            let waits = self.flights.contains(&Some(Flight::Acquire {
                line,
                accepted: true,
            }));
            if waits {
                self.stats.deferred_snoops += 1;
                self.deferred.push((bitag, op, line));
            } else {
                self.answer(bitag, op, line, host)?;
            }
        }
        self.harvest_step(hv_taken, hv_rsp, now)
    }

    fn complete(&mut self, tag: u64, now: u64, host: &mut Hierarchy) -> Result<()> {
        let f = self
            .flights
            .get_mut(tag as usize)
            .and_then(Option::take)
            .ok_or_else(|| {
                anyhow!("device cycle {now}: response for tag {tag}, which is not in flight")
            })?;
        self.in_flight -= 1;
        match f {
            Flight::SnoopWriteback { bitag, rsp } => self.birsp.push_back((bitag, rsp)),
            Flight::Acquire { line, .. } => {
                // Rule 5: snoops to this line were held until its read completed.
                let mut k = 0;
                while k < self.deferred.len() {
                    if self.deferred[k].2 == line {
                        let (bitag, op, line) = self.deferred.remove(k);
                        self.answer(bitag, op, line, host)?;
                    } else {
                        k += 1;
                    }
                }
            }
            Flight::Release => {}
        }
        Ok(())
    }

    fn answer(&mut self, bitag: u64, op: SnpOp, line: u64, host: &mut Hierarchy) -> Result<()> {
        let (rsp, wb) = host.snoop(line, op);
        // The host keeps data only for a copy it still holds.
        let data = if rsp == RspOp::BIRspI {
            self.data.remove(&line)
        } else {
            self.data.get(&line).copied()
        };
        match wb {
            // Dirty data first; the answer follows the writeback's completion.
            Some(HostMsg::Rwd { op: wop, meta, .. }) => {
                let tag = self.alloc(Flight::SnoopWriteback { bitag, rsp })?;
                self.rwd.push_back(Msg {
                    op: wop as u8,
                    meta: meta as u8,
                    tag,
                    line,
                    data: data.unwrap_or(ZERO),
                });
            }
            _ => self.birsp.push_back((bitag, rsp)),
        }
        Ok(())
    }

    fn harvest_step(&mut self, taken: bool, rsp: (bool, u64), now: u64) -> Result<()> {
        let g = self.g;
        let hv = &mut self.hv;
        if let Some((k, w)) = hv.inflight.step() {
            if !rsp.0 {
                bail!("device cycle {now}: no harvest response {HV_LATENCY} cycles after the read of level {k} word {w}");
            }
            for b in 0..g.fanout {
                if rsp.1 >> b & 1 != 0 {
                    let below = (w << g.fanout_log2) | b;
                    if k == 0 {
                        hv.lines.push(below);
                    } else {
                        hv.queue.push_back((k - 1, below));
                    }
                }
            }
        }
        if taken {
            let (op, k, w) = hv.offer.take().expect("offered");
            if op == HV_SWAP as u64 {
                let top = g.levels - 1;
                hv.queue.extend((0..g.level_words(top)).map(|w| (top, w)));
            } else {
                hv.reads += 1;
                hv.inflight.push((k, w));
            }
        }
        if hv.offer.is_none() {
            if let Some((k, w)) = hv.queue.pop_front() {
                hv.offer = Some((HV_READ_CLEAR as u64, k, w));
            }
        }
        Ok(())
    }

    /// Retire the active bitmap bank and read it out: the window-relative lines
    /// marked dirty since the previous harvest, in scan order.
    pub fn harvest(&mut self, host: &mut Hierarchy) -> Result<Vec<u64>> {
        self.hv.lines.clear();
        self.hv.offer = Some((HV_SWAP as u64, 0, 0));
        self.run(host)?;
        self.stats.harvests += 1;
        self.stats.harvest_reads = self.hv.reads;
        Ok(std::mem::take(&mut self.hv.lines))
    }
}

/// The `[host]` section as the model's hierarchy and MMU configurations.
pub fn host_configs(h: &HostConfig) -> (HierarchyConfig, MmuConfig) {
    // Each level draws from its own stream of the one seed.
    let cc = |c: &linewatch_model::config::CacheLevelConfig, k: u64| CacheConfig {
        replacement: Replacement::parse(&c.replacement, h.seed.wrapping_mul(3).wrapping_add(k))
            .expect("checked at load"),
        ..CacheConfig::new(c.size as usize, c.ways as usize, c.latency as u32)
    };
    let hier = HierarchyConfig {
        cores: h.cores as usize,
        l1: cc(&h.l1, 0),
        l2: cc(&h.l2, 1),
        llc: cc(&h.llc, 2),
        // The device's real latency is added by the system, per access.
        mem_latency: 0,
        read_grant: if h.read_grant == "shared" {
            ReadGrant::Shared
        } else {
            ReadGrant::Exclusive
        },
    };
    let mmu = MmuConfig {
        tlb_entries: h.tlb.entries as usize,
        tlb_ways: h.tlb.ways as usize,
        local_bytes: h.local_dram,
        set_dirty_bits: h.set_dirty_bits,
        ..MmuConfig::default()
    };
    (hier, mmu)
}

/// Dirty lines found by one harvest, split by what the pages hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochReport {
    /// Accesses replayed when the harvest was taken.
    pub accesses: u64,
    pub sim_cycles: u64,
    pub dirty_lines: u64,
    pub dirty_pages: u64,
    pub dirty_pt_lines: u64,
}

/// Counters of a run, for `linewatch sim`.
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    pub accesses: u64,
    /// By trace kind: loads, stores, modifies, instruction fetches.
    pub kinds: [u64; 4],
    pub sim_cycles: u64,
    pub host: linewatch_model::host::HostStats,
    pub mmu: linewatch_model::host::MmuStats,
    pub link: LinkStats,
    /// Physical line accesses made by the walker and the OS (PT reads and writes).
    pub pt_accesses: u64,
    pub dirty_lines: u64,
    pub dirty_pages: u64,
    pub dirty_pt_lines: u64,
    pub epochs: Vec<EpochReport>,
    /// Host cycles of every trace access, fault and prefetch waits included.
    pub access_cycles: u64,
    /// With `[remote]`: faults and prefetches.
    pub remote: Option<RemoteReport>,
}

/// Remote-memory counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteReport {
    pub policy: String,
    /// Demand faults: first touches of remote pages with no prefetch issued.
    pub faults: u64,
    pub prefetch_issued: u64,
    /// Prefetched pages touched before the end (in time or late).
    pub prefetch_useful: u64,
    /// Useful prefetches still in flight when the access came (it waited).
    pub late: u64,
    /// Host cycles accesses spent in remote faults and waits for late prefetches.
    pub wait_cycles: u64,
    /// Host cycles the remote link was busy.
    pub link_busy: u64,
    /// Pages read from memory hosts, and a checksum (FNV-1a) of their contents in
    /// fetch order; 0 without hosts.
    pub host_pages: u64,
    pub host_checksum: u64,
    /// What [`System::premap`] set up (zero without it).
    pub premap: PremapReport,
}

impl RemoteReport {
    pub fn accuracy(&self) -> f64 {
        ratio(self.prefetch_useful, self.prefetch_issued)
    }
    pub fn coverage(&self) -> f64 {
        ratio(self.prefetch_useful, self.prefetch_useful + self.faults)
    }
    /// Prefetched pages never touched, in bytes.
    pub fn wasted_bytes(&self) -> u64 {
        self.prefetch_issued.saturating_sub(self.prefetch_useful) * PAGE
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The OS's side of the page-table trigger: which remote pages the device fetches
/// (their PTEs are present in registered page-table pages), and which of them have
/// been touched.
struct PtHost {
    /// Device pages: virtual page -> frame in the trigger's window, and back.
    frame_of: HashMap<u64, u64>,
    vpn_of: HashMap<u64, u64>,
    touched: std::collections::HashSet<u64>,
}

/// What [`System::premap`] set up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PremapReport {
    pub pages: u64,
    pub remote_pages: u64,
    /// Remote pages mapped present for the device's trigger (with `pt`), or in
    /// the trigger's window as plain remote pages (the other policies).
    pub trigger_pages: u64,
    /// Page-table pages registered with the device (with `pt`).
    pub registered: u64,
}

/// The OS's remote-memory state: the link, prefetched pages not yet touched, the
/// policy and the memory-host clients.
struct Remote {
    link: RemoteLink,
    map_around: u64,
    fault_cycles: u64,
    policy: Box<dyn Policy>,
    /// Prefetched pages not touched yet: virtual page -> when usable.
    inflight: HashMap<u64, u64>,
    hosts: Vec<Client>,
    candidates: Vec<u64>,
    rep: RemoteReport,
}

impl Remote {
    /// Read page `vpn`'s contents from its memory host (vpn modulo the hosts).
    fn move_contents(&mut self, vpn: u64) -> Result<()> {
        if self.hosts.is_empty() {
            return Ok(());
        }
        let n = self.hosts.len() as u64;
        let h = &mut self.hosts[(vpn % n) as usize];
        let index = (vpn / n) % h.pages();
        let page = h.read(index)?;
        let mut x = self.rep.host_checksum ^ 0xcbf2_9ce4_8422_2325;
        for &b in page.iter() {
            x = (x ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.rep.host_checksum = x;
        self.rep.host_pages += 1;
        Ok(())
    }
}

impl SimReport {
    /// Mean host cycles per trace access.
    pub fn amat_cycles(&self) -> f64 {
        ratio(self.access_cycles, self.accesses)
    }
    pub fn dirty_bytes_line(&self) -> u64 {
        self.dirty_lines * LINE_BYTES
    }
    pub fn dirty_bytes_page(&self) -> u64 {
        self.dirty_pages * PAGE
    }
    /// Dirty bytes at page granularity over dirty bytes at line granularity.
    pub fn amplification(&self) -> f64 {
        if self.dirty_lines == 0 {
            0.0
        } else {
            self.dirty_bytes_page() as f64 / self.dirty_bytes_line() as f64
        }
    }
}

/// Host (cores, MMU, caches) plus the device behind a link.
pub struct System<S: Side> {
    hier: Hierarchy,
    mmu: Mmu,
    link: Link<S>,
    g: Geometry,
    ratio: u64,
    walk_latency: u64,
    l1_latency: u64,
    /// The line of the last access (core, virtual line), when nothing but that
    /// access happened since, and whether the line is known written.
    last: Option<(usize, u64)>,
    last_written: bool,
    device_touched: bool,
    fast_path: bool,
    /// Accesses served by the same-line fast path (L1 and TLB hits).
    fast_hits: u64,
    time: Vec<u64>,
    ops: Vec<PhysOp>,
    accesses: u64,
    kinds: [u64; 4],
    pt_accesses: u64,
    /// Union of every harvest, one bit per window line.
    dirty: Vec<u64>,
    epochs: Vec<EpochReport>,
    access_cycles: u64,
    remote: Option<Box<Remote>>,
    /// The OS's side of the device's page-table trigger (`--prefetch pt`).
    pt: Option<Box<PtHost>>,
    /// Drain the event ring through the driver every this many accesses (besides
    /// every harvest); `u64::MAX`: only at harvests.
    pub events_every: u64,
}

impl<S: Side> System<S> {
    pub fn new(side: S, g: &Geometry, h: &HostConfig) -> Result<Self> {
        let (hc, mc) = host_configs(h);
        hc.check().map_err(|e| anyhow!("host: {e}"))?;
        if !g.registers {
            bail!("device.registers = false: the simulated host reads the dirty set through the driver and the register page; set it to true");
        }
        let window_base = g.window_base_line * LINE_BYTES;
        let window_size = g.window_lines * LINE_BYTES;
        let mmu = Mmu::new(mc, hc.cores, window_base, window_size).map_err(|e| anyhow!("{e}"))?;
        Ok(System {
            hier: Hierarchy::new(hc),
            mmu,
            link: Link::new(side, g, h.device_mem_latency),
            g: *g,
            ratio: h.clock_ratio,
            walk_latency: mc.walk_latency as u64,
            l1_latency: h.l1.latency,
            last: None,
            last_written: false,
            device_touched: false,
            fast_path: true,
            fast_hits: 0,
            time: vec![0; h.cores as usize],
            ops: Vec::with_capacity(64),
            accesses: 0,
            kinds: [0; 4],
            pt_accesses: 0,
            dirty: vec![0; g.window_lines.div_ceil(64) as usize],
            epochs: Vec::new(),
            access_cycles: 0,
            remote: None,
            pt: None,
            events_every: u64::MAX,
        })
    }

    /// Put data pages in remote memory (`[remote]`) and fetch them with `policy`;
    /// connects to the memory hosts. Call before the first access.
    pub fn set_remote(&mut self, r: &RemoteConfig, policy: Box<dyn Policy>) -> Result<()> {
        if policy.device() {
            if self.g.pt.is_none() {
                bail!("--prefetch {}: the device has no page-table trigger; add a [device.pt] section", policy.name());
            }
            self.link.fe = Some(FetchEngine {
                link: RemoteLink::new(r.transfer_cycles(), r.latency),
                ratio: self.ratio,
                base: (0, 0),
                pending: VecDeque::new(),
                fetched: HashMap::new(),
                issued: 0,
                new: Vec::new(),
                keep_new: !r.hosts.is_empty(),
            });
            self.pt = Some(Box::new(PtHost {
                frame_of: HashMap::new(),
                vpn_of: HashMap::new(),
                touched: Default::default(),
            }));
        }
        let hosts = r
            .hosts
            .iter()
            .map(|h| Client::connect(h).map_err(|e| anyhow!("remote.hosts: {h}: {e}")))
            .collect::<Result<Vec<_>>>()?;
        self.mmu
            .set_remote(Residency::new(r.local_fraction, r.seed));
        self.remote = Some(Box::new(Remote {
            link: RemoteLink::new(r.transfer_cycles(), r.latency),
            map_around: r.map_around,
            fault_cycles: r.fault_cycles,
            rep: RemoteReport {
                policy: policy.name().into(),
                ..Default::default()
            },
            policy,
            inflight: HashMap::new(),
            hosts,
            candidates: Vec::new(),
        }));
        Ok(())
    }

    /// Map every page of `pages` (virtual page numbers, the trace's footprint)
    /// before the run, as if the program had touched them all and its remote pages
    /// had then been moved out; with `[remote]` only. With a page-table trigger in
    /// the device, the remote pages of the leaf tables holding the most remote pages
    /// (as many tables as the registry holds, as many pages as its window has frames)
    /// get frames in the trigger's window: present, for the trigger to fetch, with
    /// `pt`; plain remote entries with the other policies (the same layout). With
    /// `pt` the tables are written into device memory and the chosen leaf tables are
    /// registered through the driver.
    pub fn premap(&mut self, pages: &[u64]) -> Result<PremapReport> {
        let device = self.pt.is_some();
        let Some(r) = &self.remote else {
            bail!("premap: needs [remote] (set_remote first)");
        };
        let group = r.map_around;
        let mut around;
        let pages = if group > 1 {
            around = Vec::with_capacity(pages.len() * 2);
            for &v in pages {
                around.extend(v & !(group - 1)..(v | (group - 1)) + 1);
            }
            around.sort_unstable();
            around.dedup();
            &around[..]
        } else {
            pages
        };
        let mut rep = PremapReport::default();
        let canonical = |v: u64| {
            let va = v.wrapping_shl(12);
            va >> 12 == v && ((va as i64) << 16 >> 16) as u64 == va
        };
        let mut chosen: HashMap<u64, u64> = HashMap::new();
        let mut registry = Vec::new();
        if let Some(p) = self.g.pt {
            let first = self
                .mmu
                .reserve_top(p.window_frames)
                .map_err(|e| anyhow!("device.pt.frames: {e}"))?;
            // The OS's reserved top and the device's residency window are one range.
            debug_assert_eq!(first, p.window_base);
            let mut per: HashMap<u64, u64> = HashMap::new();
            for &v in pages {
                if canonical(v) && !self.mmu.is_resident(v) {
                    *per.entry(v >> 9).or_default() += 1;
                }
            }
            let mut regions: Vec<(u64, u64)> = per.into_iter().collect();
            regions.sort_unstable_by_key(|&(r, n)| (std::cmp::Reverse(n), r));
            regions.truncate(p.registry);
            let take: std::collections::HashSet<u64> = regions.iter().map(|r| r.0).collect();
            let mut next = 0;
            for &v in pages {
                if next < p.window_frames
                    && canonical(v)
                    && !self.mmu.is_resident(v)
                    && take.contains(&(v >> 9))
                {
                    chosen.insert(v, first + next);
                    next += 1;
                }
            }
            registry = regions.iter().map(|r| r.0).collect();
        }
        for &v in pages {
            if !canonical(v) {
                continue;
            }
            let at = chosen.get(&v).copied();
            self.mmu
                .premap(v << 12, at, device && at.is_some())
                .map_err(|e| anyhow!("premap: {e}"))?;
            rep.pages += 1;
            rep.remote_pages += u64::from(!self.mmu.is_resident(v));
        }
        rep.trigger_pages = chosen.len() as u64;
        if device {
            // The tables as memory holds them, for the trigger to parse.
            let mut lines = Vec::new();
            for (pfn, t) in self.mmu.tables() {
                for (l, w) in t.chunks_exact(8).enumerate() {
                    if w.iter().any(|&e| e != 0) {
                        let mut line = ZERO;
                        line.copy_from_slice(w);
                        lines.push(((pfn << 6) + l as u64, line));
                    }
                }
            }
            self.link.mem.extend(lines);
            let mut frames: Vec<u64> = registry
                .iter()
                .filter_map(|&r| self.mmu.leaf_table(r << 21))
                .collect();
            frames.sort_unstable();
            frames.dedup();
            let st = {
                let mut d = linewatch_sw::Driver::open(SimWindow { sys: self, core: 0 })?;
                for &f in &frames {
                    d.pt_register(f, true)
                        .map_err(|e| anyhow!("registering page-table page {f:#x}: {e}"))?;
                }
                d.stats
            };
            self.link.stats.commands += st.commands;
            self.link.stats.command_polls += st.polls;
            rep.registered = frames.len() as u64;
            let pt = self.pt.as_mut().expect("device");
            pt.vpn_of = chosen.iter().map(|(&v, &f)| (f, v)).collect();
            pt.frame_of = chosen;
        }
        self.remote.as_mut().expect("checked").rep.premap = rep.clone();
        Ok(rep)
    }

    /// An OS or walker store to a page-table entry (pt mode): the host's cached copy
    /// of the line changes with it (a D bit ORed in, or the OS's entry written).
    fn pt_os_store(&mut self, op: PhysOp) {
        let Some(e) = self.mmu.read_pt_entry(op.addr & !7) else {
            return;
        };
        let line = op.addr / LINE_BYTES;
        let w = ((op.addr % LINE_BYTES) / 8) as usize;
        let mut l = self.link.host_line(line);
        l[w] = if op.kind == PhysOpKind::DirtyBit {
            l[w] | linewatch_model::host::os::PTE_D
        } else {
            e
        };
        self.link.data.insert(line, l);
    }

    /// After a walk of `vaddr` (pt mode) whose leaf entry is at `pte`: a device
    /// page's first touch is counted, and an entry the trigger returned not present
    /// (its fetch timed out) faults: the handler waits for the device's fetch if it
    /// is on its way, else fetches the page on demand and marks the frame resident
    /// through the driver, then sets P. Returns the host cycles added.
    #[cold]
    fn pt_walked(
        &mut self,
        core: usize,
        vaddr: u64,
        pte: u64,
        start: u64,
        now: u64,
    ) -> Result<u64> {
        let vpn = vaddr >> 12;
        let pt = self.pt.as_mut().expect("pt mode");
        let Some(&frame) = pt.frame_of.get(&vpn) else {
            return Ok(0);
        };
        let first = pt.touched.insert(vpn);
        let line = pte / LINE_BYTES;
        let w = ((pte % LINE_BYTES) / 8) as usize;
        let present = self.link.host_word(line, w) & linewatch_model::host::os::PTE_P != 0;
        let r = self.remote.as_mut().expect("pt needs [remote]");
        let fe = self.link.fe.as_mut().expect("pt mode");
        let arrived = fe.fetched.get(&frame).copied();
        if present {
            if first {
                self.mmu.mark_fetched(vpn);
                if let Some(t) = arrived {
                    r.rep.prefetch_useful += 1;
                    if t > start {
                        r.rep.late += 1;
                        r.rep.wait_cycles += now - start;
                    }
                }
            }
            return Ok(0);
        }
        // Timed out (or the table was full): the fault handler.
        let (wait, command) = match arrived {
            Some(t) => {
                if first {
                    r.rep.prefetch_useful += 1;
                    r.rep.late += 1;
                }
                (
                    r.fault_cycles + t.saturating_sub(now + r.fault_cycles),
                    false,
                )
            }
            None => {
                r.rep.faults += 1;
                let ready = fe.link.fetch(now + r.fault_cycles);
                r.move_contents(vpn)?;
                (ready - now, true)
            }
        };
        r.rep.wait_cycles += wait;
        r.rep.link_busy = fe.link.busy;
        self.mmu.mark_fetched(vpn);
        let mut lat = wait;
        if command {
            let t = self.time[core];
            self.time[core] = now + lat;
            let st = {
                let mut d = linewatch_sw::Driver::open(SimWindow { sys: self, core })?;
                d.pt_resident(frame, true)?;
                d.stats
            };
            self.link.stats.commands += st.commands;
            self.link.stats.command_polls += st.polls;
            lat = self.time[core] - now;
            self.time[core] = t;
        }
        // Set P in the entry: a store through the caches.
        lat += self.phys(core, Access::new(Kind::Store, pte, 8), now + lat)?;
        let mut l = self.link.host_line(line);
        l[w] |= linewatch_model::host::os::PTE_P;
        self.link.data.insert(line, l);
        Ok(lat)
    }

    /// The OS's fault handler for a remote page at `vaddr`, at host time `now`:
    /// waits for its prefetch or fetches it on demand, lets the policy prefetch,
    /// sets the PTE present. Returns the host cycles the access waits.
    #[cold]
    fn remote_fault(&mut self, vaddr: u64, now: u64) -> Result<u64> {
        let vpn = vaddr >> 12;
        let r = self
            .remote
            .as_mut()
            .ok_or_else(|| anyhow!("page fault at {vaddr:#x}: a remote page without [remote]"))?;
        let (wait, trigger) = match r.inflight.remove(&vpn) {
            Some(ready) if ready <= now => (0, Trigger::Hit),
            Some(ready) => (r.fault_cycles + (ready - now), Trigger::Late),
            None => {
                let link = match &mut self.link.fe {
                    Some(fe) => &mut fe.link,
                    None => &mut r.link,
                };
                let ready = link.fetch(now + r.fault_cycles);
                r.move_contents(vpn)?;
                (ready - now, Trigger::Fault)
            }
        };
        match trigger {
            Trigger::Fault => r.rep.faults += 1,
            Trigger::Late => {
                r.rep.prefetch_useful += 1;
                r.rep.late += 1;
            }
            Trigger::Hit => r.rep.prefetch_useful += 1,
        }
        r.rep.wait_cycles += wait;
        // Prefetches leave once the handler has decided (a hit decides at once).
        let at = if trigger == Trigger::Hit {
            now
        } else {
            now + r.fault_cycles
        };
        let mut cand = std::mem::take(&mut r.candidates);
        cand.clear();
        r.policy.on_touch(vpn, trigger, &mut cand);
        for &c in &cand {
            let va = c.wrapping_shl(12);
            let canonical = va >> 12 == c && ((va as i64) << 16 >> 16) as u64 == va;
            if c == vpn || !canonical || self.mmu.is_resident(c) || r.inflight.contains_key(&c) {
                continue;
            }
            let ready = r.link.fetch(at);
            r.inflight.insert(c, ready);
            r.rep.prefetch_issued += 1;
            r.move_contents(c)?;
        }
        r.candidates = cand;
        r.rep.link_busy = r.link.busy;
        if !self.mmu.make_present(vaddr, &mut self.ops) {
            bail!("page fault at {vaddr:#x}: no remote entry to make present");
        }
        Ok(wait)
    }

    /// Turn the same-line fast path off (tests check it changes nothing).
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
        self.last = None;
    }

    pub fn cores(&self) -> usize {
        self.time.len()
    }
    /// The core whose local time is furthest behind (ties: the lowest number).
    pub fn next_core(&self) -> usize {
        let mut best = 0;
        for c in 1..self.time.len() {
            if self.time[c] < self.time[best] {
                best = c;
            }
        }
        best
    }
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.hier
    }
    pub fn mmu(&self) -> &Mmu {
        &self.mmu
    }
    pub fn link(&self) -> &Link<S> {
        &self.link
    }

    /// One physical access through `core`'s caches; the device work it causes is
    /// clocked to completion. Returns its latency in host cycles.
    #[inline]
    fn phys(&mut self, core: usize, a: Access, now: u64) -> Result<u64> {
        let (lat, msgs) = self.hier.access(core, a);
        if msgs.is_empty() {
            return Ok(lat);
        }
        let mut any = false;
        for m in msgs {
            if m.line() & !self.g.window_mask == self.g.window_base_line {
                self.link.send(m)?;
                any = true;
            }
        }
        if !any {
            return Ok(lat);
        }
        self.device_touched = true;
        self.link.set_host_time(now + lat);
        let d = self.link.run(&mut self.hier)?;
        if self.link.fe.as_ref().is_some_and(|fe| !fe.new.is_empty()) {
            self.pt_contents()?;
        }
        Ok(lat + d * self.ratio)
    }

    /// The contents of the pages the device's trigger asked for, from the memory
    /// hosts (the transfer's timing is the fetch engine's).
    #[cold]
    fn pt_contents(&mut self) -> Result<()> {
        let fe = self.link.fe.as_mut().expect("checked");
        let frames = std::mem::take(&mut fe.new);
        let pt = self.pt.as_ref().expect("pt mode");
        let r = self.remote.as_mut().expect("pt needs [remote]");
        for f in frames {
            if let Some(&vpn) = pt.vpn_of.get(&f) {
                r.move_contents(vpn)?;
            }
        }
        Ok(())
    }

    /// Replay one virtual access of `core` (`a.core` is ignored).
    pub fn access(&mut self, core: usize, a: Access) -> Result<()> {
        self.accesses += 1;
        self.kinds[a.kind as usize] += 1;
        let write = a.kind.writes();
        let line = a.addr >> 6;
        let one_line = (a.addr & 63) + (a.size as u64).max(1) <= 64;
        // Same core, same line as the access just before, nothing in between: an L1
        // and TLB hit on the most recently used entries, which changes no state
        // (a store needs the line already written: M in L1, D set in the TLB).
        if self.fast_path
            && one_line
            && self.last == Some((core, line))
            && (!write || self.last_written)
        {
            self.fast_hits += 1;
            self.time[core] += self.l1_latency;
            self.access_cycles += self.l1_latency;
            return Ok(());
        }
        self.device_touched = false;
        let mut lat = 0;
        let end = a.addr.saturating_add((a.size as u64).max(1));
        let mut at = a.addr;
        // A piece per page: each page is translated on its own.
        while at < end {
            let piece_end = end.min((at / PAGE + 1) * PAGE);
            self.ops.clear();
            let pa = loop {
                match self.mmu.translate(core, at, write, &mut self.ops) {
                    Ok(pa) => break pa,
                    Err(MmuError::RemoteFault { vaddr }) => {
                        lat += self.remote_fault(vaddr, self.time[core] + lat)?;
                    }
                    Err(e) => bail!("access {}: {e}", self.accesses),
                }
            };
            let t0 = self.time[core];
            if self.pt.is_some() {
                self.link.fills.clear();
                self.link.capture_fills = true;
            }
            let mut leaf = None;
            for k in 0..self.ops.len() {
                let op = self.ops[k];
                let kind = if op.write { Kind::Store } else { Kind::Load };
                self.pt_accesses += 1;
                lat += self.phys(core, Access::new(kind, op.addr, 8), t0 + lat)?;
                match op.kind {
                    PhysOpKind::WalkRead => {
                        lat += self.walk_latency;
                        leaf = Some(op.addr);
                    }
                    _ if self.pt.is_some() => self.pt_os_store(op),
                    _ => {}
                }
            }
            if self.pt.is_some() {
                self.link.capture_fills = false;
                if let Some(pte) = leaf {
                    lat += self.pt_walked(core, at, pte, t0, t0 + lat)?;
                }
            }
            let piece = Access::new(a.kind, pa, (piece_end - at) as u32);
            lat += self.phys(core, piece, t0 + lat)?;
            at = piece_end;
        }
        self.time[core] += lat;
        self.access_cycles += lat;
        // Device traffic may have snooped lines (rule 5 can drop the line just filled).
        if one_line && !self.device_touched {
            self.last_written = write || (self.last == Some((core, line)) && self.last_written);
            self.last = Some((core, line));
        } else {
            self.last = None;
        }
        Ok(())
    }

    /// A physical access of `core` to the window on behalf of software (the
    /// driver): through the caches, at the cost the access takes.
    fn window_access(&mut self, core: usize, kind: Kind, addr: u64, len: usize) -> Result<u64> {
        let base = self.g.window_base_line * LINE_BYTES;
        let size = self.g.window_lines * LINE_BYTES;
        linewatch_sw::window::check_span(base, size, addr, len)?;
        if core >= self.time.len() {
            bail!("core {core}: the host has {} cores", self.time.len());
        }
        self.last = None;
        let now = self.time[core];
        let lat = self.phys(core, Access::new(kind, addr, len as u32), now)?;
        self.time[core] += lat;
        Ok(addr / LINE_BYTES)
    }

    /// Load `buf.len()` bytes at window address `addr` (within one line). The
    /// device runs on meanwhile, for the time an L1 hit takes (so a poll loop that
    /// hits in its cache still sees the device's back-invalidations).
    pub fn window_load(&mut self, core: usize, addr: u64, buf: &mut [u8]) -> Result<()> {
        let n = (self.l1_latency / self.ratio.max(1)).max(1);
        // (A bad core number is refused by `window_access` below.)
        self.link
            .set_host_time(self.time.get(core).copied().unwrap_or(0));
        self.link.idle(&mut self.hier, n)?;
        self.link.fills.clear();
        self.link.capture_fills = true;
        let line = self.window_access(core, Kind::Load, addr, buf.len());
        self.link.capture_fills = false;
        let line = line?;
        let data = self
            .link
            .data
            .get(&line)
            .or(self.link.fills.get(&line))
            .copied()
            .unwrap_or(ZERO);
        let off = (addr % LINE_BYTES) as usize;
        for (k, b) in buf.iter_mut().enumerate() {
            let at = off + k;
            *b = (data[at / 8] >> (8 * (at % 8))) as u8;
        }
        Ok(())
    }

    /// Store `bytes` at window address `addr` (within one line).
    pub fn window_store(&mut self, core: usize, addr: u64, bytes: &[u8]) -> Result<()> {
        let line = self.window_access(core, Kind::Store, addr, bytes.len())?;
        let d = self.link.data.entry(line).or_insert(ZERO);
        let off = (addr % LINE_BYTES) as usize;
        for (k, &b) in bytes.iter().enumerate() {
            let at = off + k;
            let sh = 8 * (at % 8);
            d[at / 8] = d[at / 8] & !(0xff << sh) | (b as u64) << sh;
        }
        Ok(())
    }

    /// `clflush` of the line holding window address `addr`.
    pub fn window_flush(&mut self, core: usize, addr: u64) -> Result<()> {
        let base = self.g.window_base_line * LINE_BYTES;
        let size = self.g.window_lines * LINE_BYTES;
        linewatch_sw::window::check_span(base, size, addr, 1)?;
        self.last = None;
        let msgs: Vec<HostMsg> = self.hier.flush_line(addr / LINE_BYTES).to_vec();
        let mut lat = self.l1_latency;
        if !msgs.is_empty() {
            for m in &msgs {
                self.link.send(m)?;
            }
            self.link
                .set_host_time(self.time.get(core).copied().unwrap_or(0));
            lat += self.link.run(&mut self.hier)? * self.ratio;
        }
        self.time[core] += lat;
        Ok(())
    }

    pub fn sim_cycles(&self) -> u64 {
        self.time.iter().copied().max().unwrap_or(0)
    }

    /// Drain the event ring now through the driver on core 0 (its loads, stores
    /// and flushes are coherence traffic like any other, at their cost in time).
    pub fn poll_events(&mut self) -> Result<()> {
        self.last = None;
        let (consumed, prod, dropped) = {
            let mut d = linewatch_sw::Driver::open(SimWindow { sys: self, core: 0 })?;
            d.consume_events()?;
            let (prod, _, dropped) = d.event_counts()?;
            (d.stats.events_consumed, prod, dropped)
        };
        self.link.stats.events_produced = prod;
        self.link.stats.events_dropped = dropped;
        self.link.stats.events_consumed += consumed;
        Ok(())
    }

    /// Harvest the bitmap now (without flushing the caches) and record an epoch.
    /// The harvest is the driver's (`linewatch_sw::Driver` on core 0 through
    /// [`SimWindow`]): register commands through the caches, at their cost in time.
    pub fn epoch(&mut self) -> Result<()> {
        self.last = None;
        let (lines, ds, self_events) = {
            let mut d = linewatch_sw::Driver::open(SimWindow { sys: self, core: 0 })?;
            let lines = d.harvest()?;
            d.consume_events()?;
            let (prod, _, dropped) = d.event_counts()?;
            (lines, d.stats, (prod, dropped))
        };
        self.link.stats.events_produced = self_events.0;
        self.link.stats.events_dropped = self_events.1;
        self.link.stats.events_consumed += ds.events_consumed;
        self.link.stats.harvests += ds.harvests;
        self.link.stats.harvest_reads += ds.commands - ds.harvests;
        self.link.stats.commands += ds.commands;
        self.link.stats.command_polls += ds.polls;
        let mut e = EpochReport {
            accesses: self.accesses,
            sim_cycles: self.sim_cycles(),
            ..Default::default()
        };
        let mut last_page = u64::MAX;
        let mut pages = Vec::new();
        for &l in &lines {
            self.dirty[(l / 64) as usize] |= 1 << (l % 64);
            let pfn = (self.g.window_base_line + l) / LINES_PER_PAGE;
            if self.mmu.is_pt_frame(pfn) {
                e.dirty_pt_lines += 1;
            } else {
                e.dirty_lines += 1;
                if pfn != last_page {
                    pages.push(pfn);
                    last_page = pfn;
                }
            }
        }
        pages.sort_unstable();
        pages.dedup();
        e.dirty_pages = pages.len() as u64;
        self.epochs.push(e);
        Ok(())
    }

    /// End of run: write every dirty line back, take the final harvest, report.
    pub fn finish(mut self) -> Result<(SimReport, S)> {
        let msgs: Vec<HostMsg> = self
            .hier
            .flush()
            .iter()
            .copied()
            .filter(|m| m.line() & !self.g.window_mask == self.g.window_base_line)
            .collect();
        // Send in bounded batches: the host has a finite number of tags.
        let end = self.sim_cycles();
        self.link.set_host_time(end);
        for chunk in msgs.chunks(TAGS / 2) {
            for m in chunk {
                self.link.send(m)?;
            }
            self.link.run(&mut self.hier)?;
        }
        self.epoch()?;
        let mut r = SimReport {
            accesses: self.accesses,
            kinds: self.kinds,
            sim_cycles: self.sim_cycles(),
            host: {
                let mut h = *self.hier.stats();
                h.lines += self.fast_hits;
                h.l1_hits += self.fast_hits;
                h
            },
            mmu: {
                let mut m = *self.mmu.stats();
                m.tlb_hits += self.fast_hits;
                m
            },
            link: self.link.stats.clone(),
            pt_accesses: self.pt_accesses,
            epochs: std::mem::take(&mut self.epochs),
            access_cycles: self.access_cycles,
            remote: self.remote.as_ref().map(|r| {
                let mut rep = r.rep.clone();
                match &self.link.fe {
                    // The device's fetches are the prefetches.
                    Some(fe) => {
                        rep.prefetch_issued = fe.issued;
                        rep.link_busy = fe.link.busy;
                    }
                    None => debug_assert_eq!(
                        r.rep.prefetch_issued - r.rep.prefetch_useful,
                        r.inflight.len() as u64
                    ),
                }
                rep
            }),
            ..Default::default()
        };
        // One bitmap word is one 4 KiB page (64 lines): classify pages, not lines.
        let first_page = self.g.window_base_line / LINES_PER_PAGE;
        for (wi, &w) in self.dirty.iter().enumerate() {
            if w == 0 {
                continue;
            }
            if self.mmu.is_pt_frame(first_page + wi as u64) {
                r.dirty_pt_lines += w.count_ones() as u64;
            } else {
                r.dirty_lines += w.count_ones() as u64;
                r.dirty_pages += 1;
            }
        }
        Ok((r, self.link.side))
    }
}

/// The simulated host as software's [`linewatch_sw::Window`]: every access is a
/// physical access of `core` through its caches, so the software's own loads,
/// stores and flushes are coherence traffic the device sees, and cost time.
pub struct SimWindow<'a, S: Side> {
    pub sys: &'a mut System<S>,
    pub core: usize,
}

impl<S: Side> linewatch_sw::Window for SimWindow<'_, S> {
    fn base(&self) -> u64 {
        self.sys.g.window_base_line * LINE_BYTES
    }
    fn size(&self) -> u64 {
        self.sys.g.window_lines * LINE_BYTES
    }
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.sys.window_load(self.core, addr, buf)
    }
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        self.sys.window_store(self.core, addr, data)
    }
    fn flush(&mut self, addr: u64) -> Result<()> {
        self.sys.window_flush(self.core, addr)
    }
    /// Every access of a core completes before its next one: nothing to order.
    fn fence(&mut self) -> Result<()> {
        Ok(())
    }
    fn now(&self) -> u64 {
        self.sys.time[self.core]
    }
}

/// Where a run's accesses come from: one trace per core, or one trace whose
/// records carry core numbers.
pub struct Workload {
    sources: Vec<Box<dyn TraceSource>>,
    names: Vec<String>,
}

impl Workload {
    pub fn new(sources: Vec<(String, Box<dyn TraceSource>)>, cores: usize) -> Result<Workload> {
        if sources.len() != 1 && sources.len() != cores {
            bail!(
                "{} traces for {cores} cores: give one trace per core, or one trace whose records carry core numbers",
                sources.len()
            );
        }
        let (names, sources) = sources.into_iter().unzip();
        Ok(Workload { sources, names })
    }

    /// Malformed lines skipped (with `--skip-bad`), over all traces.
    pub fn skipped(&self) -> u64 {
        self.sources.iter().map(|s| s.skipped()).sum()
    }
}

const BATCH: usize = 4096;

/// The virtual pages a trace touches (sorted, distinct), read in one streaming
/// pass: an access spanning pages counts each.
pub fn pages_of(src: &mut dyn TraceSource) -> Result<Vec<u64>> {
    let mut set = std::collections::HashSet::new();
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        buf.clear();
        if src.fill(&mut buf, BATCH)? == 0 {
            break;
        }
        for a in &buf {
            let end = a.addr.saturating_add((a.size as u64).max(1) - 1);
            for v in a.addr >> 12..=end >> 12 {
                set.insert(v);
            }
        }
    }
    let mut v: Vec<u64> = set.into_iter().collect();
    v.sort_unstable();
    Ok(v)
}

/// Replay `w` on `sys` to the end; harvest every `epoch` accesses when set.
/// `tick` gets the access count now and then (for a progress bar).
pub fn replay<S: Side>(
    sys: &mut System<S>,
    w: &mut Workload,
    epoch: Option<u64>,
    tick: &mut dyn FnMut(u64),
) -> Result<()> {
    let cores = sys.cores();
    let step = epoch.unwrap_or(u64::MAX);
    let mut next_epoch = step;
    let ev_step = sys.events_every;
    let mut next_events = ev_step;
    let mut n = 0u64;
    if w.sources.len() == 1 {
        let mut buf = Vec::with_capacity(BATCH);
        loop {
            buf.clear();
            if w.sources[0].fill(&mut buf, BATCH)? == 0 {
                break;
            }
            for &a in &buf {
                let c = match a.core {
                    None if cores == 1 => 0,
                    Some(c) => c as usize % cores,
                    None => bail!(
                        "{}: record {} has no core number, and {cores} cores need one trace each (--trace a,b,...)",
                        w.names[0],
                        n + 1
                    ),
                };
                sys.access(c, a)?;
                n += 1;
                if n == next_epoch {
                    sys.epoch()?;
                    next_epoch = next_epoch.saturating_add(step);
                }
                if n == next_events {
                    sys.poll_events()?;
                    next_events = next_events.saturating_add(ev_step);
                }
            }
            tick(n);
        }
        tick(n);
        return Ok(());
    }
    // One trace per core: the core furthest behind in time goes next.
    let mut bufs: Vec<VecDeque<Access>> = vec![VecDeque::new(); w.sources.len()];
    let mut done = vec![false; w.sources.len()];
    let mut scratch = Vec::with_capacity(BATCH);
    loop {
        for k in 0..bufs.len() {
            if bufs[k].is_empty() && !done[k] {
                scratch.clear();
                if w.sources[k].fill(&mut scratch, BATCH)? == 0 {
                    done[k] = true;
                }
                bufs[k].extend(scratch.drain(..));
            }
        }
        let mut pick = None;
        for (c, b) in bufs.iter().enumerate() {
            if !b.is_empty() && pick.is_none_or(|p: usize| sys.time[c] < sys.time[p]) {
                pick = Some(c);
            }
        }
        let Some(c) = pick else { break };
        let a = bufs[c].pop_front().expect("non-empty");
        sys.access(c, a)?;
        n += 1;
        if n == next_epoch {
            sys.epoch()?;
            next_epoch = next_epoch.saturating_add(step);
        }
        if n == next_events {
            sys.poll_events()?;
            next_events = next_events.saturating_add(ev_step);
        }
        if n.is_multiple_of(BATCH as u64) {
            tick(n);
        }
    }
    tick(n);
    Ok(())
}
