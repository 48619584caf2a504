//! Host agent: a protocol-obeying host (its last-level cache toward the device, and
//! the software that recalls and harvests) that drives the device's ports.
//!
//! Rules it keeps (docs/protocol.md, "Host obligations"): at most one request per
//! line in flight; unique tags among requests in flight; writes back only lines it
//! holds dirty; answers every snoop, writing dirty data back first and sending the
//! BIRsp after that write's Cmp; a snoop to a line whose read or upgrade the device
//! has already accepted is answered after that read or upgrade completes. Valid and
//! payload stay stable until the device takes them; no valid waits on a ready.
//!
//! With the page-table trigger (`[device.pt]`) the host also plays the fetch engine
//! behind the fetch port (random readiness, answers after a random latency, some
//! beyond the trigger's timer, now and then a stray frame), keeps page-table pages
//! in device memory (lines of PTEs pointing into and out of the trigger's window)
//! whose lines its pool reads, and sends PT_REGISTER / PT_RESIDENT commands among the
//! others. MemData is then matched by address, not order (a held line is overtaken),
//! and may come back with the P bit of present leaf PTEs into the window cleared.
//! Every choice comes from the run's seed; without the trigger none of this draws a
//! random number, so those runs are unchanged.

use crate::memory::DeviceMemory;
use crate::rng::Rng;
use linewatch_model::config::CosimConfig;
use linewatch_model::device::pt_trigger::{pte_frame, pte_present_leaf, PtParams, PFN_BITS};
use linewatch_model::device::regs;
use linewatch_model::ports::low_mask;
use linewatch_model::protocol::*;
use linewatch_model::{Geometry, Inputs, Outputs};
use std::collections::{HashMap, HashSet, VecDeque};

/// Message kinds counted on the link, in report order.
pub const MESSAGE_NAMES: [&str; 16] = [
    "MemRd",
    "MemRdData",
    "MemInv",
    "MemClnEvct",
    "MemWr",
    "MemWrPtl",
    "Cmp",
    "Cmp-S",
    "Cmp-E",
    "MemData",
    "BISnpCur",
    "BISnpData",
    "BISnpInv",
    "BIRspI",
    "BIRspS",
    "BIRspE",
];

/// Position of a message name in [`MESSAGE_NAMES`].
pub fn message_index(name: &str) -> usize {
    MESSAGE_NAMES
        .iter()
        .position(|n| *n == name)
        .expect("known message")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    I,
    S,
    E,
    M,
}

/// What a request in flight is for, and so what answer it expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ReadS,
    ReadOwn,
    ReadData,
    ReadUncached,
    Upgrade,
    Drop,
    Downgrade,
    CleanEvict,
    Writeback,
    WritebackKeepS,
    PartialUncached,
    /// A writeback forced by a snoop: send this BIRsp when its Cmp arrives.
    SnoopWriteback(u64, RspOp),
    InjectedRead,
    InjectedCmp,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    line: Option<usize>,
    /// The request's line address (MemData is matched to memory's data by it).
    addr: u64,
    kind: Kind,
    accepted: bool,
}

#[derive(Clone, Copy, Debug)]
struct Snoop {
    bitag: u64,
    op: SnpOp,
    addr: u64,
    due: u64,
}

#[derive(Clone, Copy, Debug)]
struct ReqMsg {
    op: u64,
    meta: u64,
    tag: u64,
    addr: u64,
}

#[derive(Clone, Copy, Debug)]
struct RwdMsg {
    op: u64,
    meta: u64,
    tag: u64,
    addr: u64,
    mask: u64,
    data: Line,
}

/// Counters the agent keeps for reports and end-of-run checks.
#[derive(Clone, Debug, Default)]
pub struct HostStats {
    pub messages: [u64; 16],
    pub requests: u64,
    pub violations_injected: u64,
    pub swaps: u64,
    pub harvest_reads: u64,
    pub recalls: u64,
    /// Register-page reads answered, and command lines written back.
    pub reg_reads: u64,
    pub reg_commands: u64,
    /// Snoops from the register agent (back-invalidations and doorbell pulls).
    pub reg_snoops: u64,
    /// Completion statuses and error codes read back (bit per code).
    pub reg_statuses: u64,
    /// The largest executed-command count read from the status line.
    pub reg_done: u64,
    /// Stray BIRsps injected on the register agent's BITag.
    pub reg_violations: u64,
    /// Event ring: largest producer index, consumer index written and dropped count
    /// seen; record kinds read from the ring (bit per kind).
    pub events_produced: u64,
    pub events_consumed: u64,
    pub events_dropped: u64,
    pub event_kinds: u64,
    /// Page-table trigger (with `[device.pt]`): fetches the device sent, answers it
    /// took (of which stray frames), PT commands written, MemData lines of
    /// page-table pages and PTEs among them that came back with P cleared.
    pub pt_fetches: u64,
    pub pt_answers: u64,
    pub pt_strays: u64,
    pub pt_commands: u64,
    pub pt_lines: u64,
    pub pt_cleared: u64,
}

/// The co-simulation host's page-table side: the fetch engine and the page tables.
struct PtHost {
    rng: Rng,
    p: PtParams,
    /// Page-table pages (frames) whose lines the pool reads.
    pages: Vec<u64>,
    page_set: HashSet<u64>,
    /// A few frames of the trigger's window that PTEs name often (so lines share
    /// frames in flight) and PT_RESIDENT clears often (so they are fetched again).
    hot: Vec<u64>,
    /// Accepted fetches: (cycle the answer may go, frame).
    fetches: Vec<(u64, u64)>,
    /// The answer offered, stable until the device takes it (and whether it is stray).
    offer: Option<(u64, bool)>,
    /// Frames answered (resident now, unless cleared since): PT_RESIDENT clears
    /// mostly pick from these, so a long run keeps fetching.
    answered: Vec<u64>,
}

impl PtHost {
    fn new(rng: Rng, p: PtParams, g: &Geometry) -> Self {
        let mut rng = rng;
        // Page-table pages below the trigger's window (which ends at the register page).
        let first = g.window_base_line >> 6;
        let n = p.window_base - first;
        let mut pages = Vec::new();
        while pages.len() < p.registry + 2 {
            let f = first + rng.below(n);
            if !pages.contains(&f) {
                pages.push(f);
            }
        }
        let hot = (0..8)
            .map(|_| p.window_base + rng.below(p.window_frames))
            .collect();
        PtHost {
            rng,
            p,
            page_set: pages.iter().copied().collect(),
            pages,
            hot,
            fetches: Vec::new(),
            offer: None,
            answered: Vec::new(),
        }
    }

    fn window_frame(&mut self) -> u64 {
        if self.rng.pct(30) {
            self.hot[self.rng.below(self.hot.len() as u64) as usize]
        } else {
            self.p.window_base + self.rng.below(self.p.window_frames)
        }
    }

    /// A line of PTEs: present leaves into the window (the trigger's work) and out
    /// of it, large pages, not-present entries and zeros.
    fn pte_line(&mut self) -> Line {
        let mut l = [0; DATA_WORDS];
        for w in l.iter_mut() {
            let flags = self.rng.next_u64() & 0x66 | (self.rng.below(2) << 63);
            *w = match self.rng.below(100) {
                0..=44 => self.window_frame() << 12 | flags | 1,
                45..=59 => self.rng.below(self.p.window_base) << 12 | flags | 1,
                60..=69 => self.window_frame() << 12 | flags | 0x81,
                70..=84 => self.window_frame() << 12 | flags,
                _ => 0,
            };
        }
        l
    }

    /// A PT_REGISTER / PT_RESIDENT command (opcode, a0, a1), now and then a bad one.
    fn command(&mut self) -> (u64, u64, u64) {
        let page = self.pages[self.rng.below(self.pages.len() as u64) as usize];
        match self.rng.below(20) {
            0..=6 => (regs::CMD_PT_REGISTER, page, 1),
            7..=10 => (regs::CMD_PT_REGISTER, page, 0),
            // Evict a page: mostly one the fetch engine brought in.
            11..=16 => {
                let f = if !self.answered.is_empty() && self.rng.pct(70) {
                    let k = self.rng.below(self.answered.len() as u64) as usize;
                    self.answered.swap_remove(k)
                } else {
                    self.window_frame()
                };
                (regs::CMD_PT_RESIDENT, f, 0)
            }
            17 => (regs::CMD_PT_RESIDENT, self.window_frame(), 1),
            18 => (regs::CMD_PT_RESIDENT, page, 2 + self.rng.below(100)),
            _ => (
                regs::CMD_PT_REGISTER,
                self.rng.next_u64() | 1 << PFN_BITS,
                1,
            ),
        }
    }

    /// The fetch port's inputs this cycle.
    fn drive(&mut self, now: u64, draining: bool, i: &mut Inputs) {
        i.fetch_ready = self.rng.pct(80);
        if self.offer.is_none() {
            let due = self
                .fetches
                .iter()
                .enumerate()
                .filter(|(_, &(d, _))| d <= now)
                .min_by_key(|(_, &(d, _))| d)
                .map(|(k, _)| k);
            if let Some(k) = due {
                self.offer = Some((self.fetches.swap_remove(k).1, false));
            } else if !draining && self.rng.below(4000) == 0 {
                // A frame nobody asked for: in the window or not.
                let f = if self.rng.pct(50) {
                    self.window_frame()
                } else {
                    self.rng.below(1 << PFN_BITS)
                };
                self.offer = Some((f, true));
            }
        }
        i.fetch_rsp_valid = self.offer.is_some();
        i.fetch_rsp_frame = self.offer.map_or(0, |(f, _)| f);
    }

    /// Fetches the device sent (answered after a latency: most within the timer,
    /// some around it, some well beyond) and answers it took.
    fn observe(&mut self, now: u64, i: &Inputs, o: &Outputs, st: &mut HostStats) {
        if o.fetch_valid && i.fetch_ready {
            let t = self.p.timer;
            let lat = match self.rng.below(100) {
                0..=54 => self.rng.range(1, t / 2),
                55..=79 => self.rng.range(t / 2, t + t / 4),
                _ => self.rng.range(t + t / 4, 3 * t),
            };
            self.fetches.push((now + lat, o.fetch_frame));
            st.pt_fetches += 1;
        }
        if i.fetch_rsp_valid && o.fetch_rsp_ready {
            let (f, stray) = self.offer.take().expect("offered");
            if !stray && self.answered.len() < 4096 {
                self.answered.push(f);
            }
            st.pt_answers += 1;
            st.pt_strays += stray as u64;
        }
    }

    fn idle(&self) -> bool {
        self.fetches.is_empty() && self.offer.is_none()
    }

    /// A word the trigger may have returned with P cleared: a present leaf into its window.
    fn may_clear(&self, pte: u64) -> bool {
        pte_present_leaf(pte)
            && (self.p.window_base..self.p.window_base + self.p.window_frames)
                .contains(&pte_frame(pte))
    }
}

/// Harvest reads the device has taken and not yet answered: the harvest port
/// answers a read `HV_LATENCY` cycles after taking it (protocol.md), and takes one
/// a cycle. Newest first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HvInFlight<T>([Option<T>; HV_LATENCY]);

impl<T> Default for HvInFlight<T> {
    fn default() -> Self {
        Self(std::array::from_fn(|_| None))
    }
}

impl<T: Copy> HvInFlight<T> {
    /// The read taken in the last cycle.
    pub(crate) fn last(&self) -> Option<T> {
        self.0[0]
    }
    /// A new cycle: the read whose answer is on the port now, if any.
    pub(crate) fn step(&mut self) -> Option<T> {
        let answered = self.0[HV_LATENCY - 1].take();
        self.0.rotate_right(1);
        answered
    }
    /// A read taken this cycle.
    pub(crate) fn push(&mut self, read: T) {
        self.0[0] = Some(read);
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

pub struct HostAgent {
    rng: Rng,
    c: CosimConfig,
    g: Geometry,
    pub mem: DeviceMemory,
    addrs: Vec<u64>,
    index: HashMap<u64, usize>,
    st: Vec<St>,
    busy: Vec<bool>,
    /// An upgrade in flight lost its S copy to a snoop: complete it as I.
    lost: Vec<bool>,
    pending: HashMap<u64, Pending>,
    next_tag: u64,
    req: Option<ReqMsg>,
    rwd: Option<RwdMsg>,
    cmd: Option<(u64, u64)>,
    hv: Option<(u64, u64, u64)>,
    /// `hv` reads again the word whose read the device took in the last cycle.
    hv_reread: bool,
    /// Harvest reads taken and not yet answered (level, word, a re-read).
    hv_inflight: HvInFlight<(u64, u64, bool)>,
    hv_queue: VecDeque<(u64, u64)>,
    birsp: VecDeque<(u64, u64)>,
    snoops: Vec<Snoop>,
    ready: (bool, bool, bool),
    /// Lines (window-relative) whose write the device accepted.
    pub written: HashSet<u64>,
    /// Lines (window-relative) the harvest returned.
    pub harvested: HashSet<u64>,
    /// Lines marked dirty since the last swap, and what the scan in progress must return.
    epoch_written: HashSet<u64>,
    scan_expect: Option<HashSet<u64>>,
    scan_got: HashSet<u64>,
    pub scans_checked: u64,
    /// Stop issuing new work; finish what is in flight.
    draining: bool,
    drain_swaps: u32,
    /// Device answers that broke the protocol (wrong tag, grant or data).
    pub errors: Vec<String>,
    pub stats: HostStats,
    /// The event ring's producer index as last read.
    ev_seen: u64,
    /// The page-table side, with `[device.pt]`.
    pt: Option<PtHost>,
    /// Payloads driven on the host's channels while they offer nothing (a payload
    /// is defined only while valid is high), so the model and the RTL must agree on
    /// what they do with idle inputs. A stream of its own: the traffic is as without.
    idle: Rng,
}

impl HostAgent {
    pub fn new(g: &Geometry, c: &CosimConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mem = DeviceMemory::new(rng.fork(), c);
        // Lines spread over the window, so sets collide and the filter evicts.
        let mut addrs = Vec::with_capacity(c.lines as usize);
        let mut index = HashMap::new();
        // The register page (the window's last 4 KiB) is the register agent's.
        while (addrs.len() as u64) < c.lines {
            let a = g.window_base_line + rng.below(g.window_lines - regs::PAGE_LINES);
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(a) {
                e.insert(addrs.len());
                addrs.push(a);
            }
        }
        // Then the register lines, treated by the same MESI traffic as any line: polls
        // (reads), ownership, writebacks (of the command line they carry commands, of
        // the doorbell they ring it, of the others they are read-only errors).
        // With the trigger: lines of the page-table pages join the pool, their memory
        // holding PTEs (from a stream of their own: the rest of the run is as without).
        let mut mem = mem;
        let pt = g.pt.map(|p| {
            let mut h = PtHost::new(Rng::new(seed ^ 0x7074_5f68_6f73_7421), p, g);
            for f in h.pages.clone() {
                for _ in 0..PT_POOL_LINES {
                    let a = f << 6 | h.rng.below(64);
                    if let std::collections::hash_map::Entry::Vacant(e) = index.entry(a) {
                        e.insert(addrs.len());
                        addrs.push(a);
                    }
                }
                for k in 0..64 {
                    mem.preload(f << 6 | k, h.pte_line());
                }
            }
            h
        });
        for k in 0..reg_lines(g) {
            index.insert(regs::page_base(g) + k, addrs.len());
            addrs.push(regs::page_base(g) + k);
        }
        let n = addrs.len();
        HostAgent {
            rng,
            c: c.clone(),
            g: *g,
            mem,
            addrs,
            index,
            st: vec![St::I; n],
            busy: vec![false; n],
            lost: vec![false; n],
            pending: HashMap::new(),
            next_tag: 0,
            req: None,
            rwd: None,
            cmd: None,
            hv: None,
            hv_reread: false,
            hv_inflight: HvInFlight::default(),
            hv_queue: VecDeque::new(),
            birsp: VecDeque::new(),
            snoops: Vec::new(),
            ready: (false, false, false),
            written: HashSet::new(),
            harvested: HashSet::new(),
            epoch_written: HashSet::new(),
            scan_expect: None,
            scan_got: HashSet::new(),
            scans_checked: 0,
            draining: false,
            drain_swaps: 0,
            errors: Vec::new(),
            stats: HostStats::default(),
            ev_seen: 0,
            pt,
            idle: Rng::new(seed ^ 0x6964_6c65_2d72_6571),
        }
    }

    fn alloc_tag(&mut self) -> u64 {
        loop {
            let t = self.next_tag;
            self.next_tag = (self.next_tag + 1) & ((1 << TAG_BITS) - 1);
            if !self.pending.contains_key(&t) {
                return t;
            }
        }
    }

    fn send_req(&mut self, line: Option<usize>, op: ReqOp, meta: Meta, addr: u64, kind: Kind) {
        let tag = self.alloc_tag();
        self.pending.insert(
            tag,
            Pending {
                line,
                addr,
                kind,
                accepted: false,
            },
        );
        self.req = Some(ReqMsg {
            op: op as u64,
            meta: meta as u64,
            tag,
            addr,
        });
        if let Some(l) = line {
            self.busy[l] = true;
        }
    }

    fn send_rwd(&mut self, line: Option<usize>, addr: u64, op: RwdOp, meta: Meta, kind: Kind) {
        let tag = self.alloc_tag();
        self.pending.insert(
            tag,
            Pending {
                line,
                addr,
                kind,
                accepted: false,
            },
        );
        let mut data = [0; DATA_WORDS];
        data.iter_mut().for_each(|w| *w = self.rng.next_u64());
        if let Some(pt) = self
            .pt
            .as_mut()
            .filter(|h| h.page_set.contains(&(addr >> 6)))
        {
            // A page-table line stays one.
            data = pt.pte_line();
        }
        if addr == regs::page_base(&self.g) + regs::LINE_COMMAND {
            data = self.command();
            self.stats.reg_commands += 1;
        }
        if addr == regs::page_base(&self.g) + regs::LINE_EVENTS {
            // The consumer index: up to the producer index last read, sometimes less.
            data[1] = self.ev_seen.saturating_sub(self.rng.below(4));
            self.stats.events_consumed = self.stats.events_consumed.max(data[1]);
        }
        let mask = if op == RwdOp::MemWr {
            u64::MAX
        } else {
            self.rng.next_u64()
        };
        self.rwd = Some(RwdMsg {
            op: op as u64,
            meta: meta as u64,
            tag,
            addr,
            mask,
            data,
        });
        if let Some(l) = line {
            self.busy[l] = true;
        }
    }

    /// Start draining: no new requests, recalls or violations; then two full harvests.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// Everything issued has completed and the final harvests are done.
    pub fn finished(&self) -> bool {
        self.draining
            && self.drain_swaps >= 2
            && self.quiet()
            && self.hv.is_none()
            && self.hv_inflight.is_empty()
            && self.hv_queue.is_empty()
    }

    fn quiet(&self) -> bool {
        self.pt.iter().all(PtHost::idle)
            && self.pending.is_empty()
            && self.req.is_none()
            && self.rwd.is_none()
            && self.cmd.is_none()
            && self.birsp.is_empty()
            && self.snoops.is_empty()
            && self.mem.idle()
    }

    /// An idle channel's opcode, meta, tag and address: random, within their widths.
    fn idle_header(&mut self) -> (u64, u64, u64, u64) {
        let idle = &mut self.idle;
        let mut r = |bits: usize| idle.next_u64() & low_mask(bits);
        (r(OPCODE_BITS), r(META_BITS), r(TAG_BITS), r(ADDR_BITS))
    }

    /// Set this cycle's inputs. Nothing here looks at this cycle's outputs.
    pub fn drive(&mut self, now: u64, i: &mut Inputs) {
        self.mem.drive(now, i);
        if let Some(pt) = self.pt.as_mut() {
            pt.drive(now, self.draining, i);
        }
        self.handle_snoops(now);
        if !self.draining {
            self.new_work();
        } else {
            self.drain_harvest();
        }
        // Now and then the word just read is read again at once: it was cleared, and
        // this read meets its clear at the RAM (the bitmap answers 0 there itself).
        if let Some((k, w, false)) = self.hv_inflight.last() {
            if self.hv.is_none() && k < self.g.levels && self.rng.permille(REREAD_PERMILLE) {
                self.hv = Some((HV_READ_CLEAR as u64, k, w));
                self.hv_reread = true;
            }
        }
        if self.hv.is_none() {
            if let Some(&(k, w)) = self.hv_queue.front() {
                self.hv = Some((HV_READ_CLEAR as u64, k, w));
            }
        }
        self.ready = (
            self.rng.pct(self.c.host_ready),
            self.rng.pct(self.c.host_ready),
            self.rng.pct(self.c.host_ready),
        );
        i.ndr_ready = self.ready.0;
        i.drs_ready = self.ready.1;
        i.bisnp_ready = self.ready.2;
        match self.req {
            Some(m) => {
                i.req_valid = true;
                i.req_opcode = m.op;
                i.req_meta = m.meta;
                i.req_tag = m.tag;
                i.req_addr = m.addr;
            }
            None => {
                i.req_valid = false;
                (i.req_opcode, i.req_meta, i.req_tag, i.req_addr) = self.idle_header();
            }
        }
        match &self.rwd {
            Some(m) => {
                i.rwd_valid = true;
                i.rwd_opcode = m.op;
                i.rwd_meta = m.meta;
                i.rwd_tag = m.tag;
                i.rwd_addr = m.addr;
                i.rwd_mask = m.mask;
                i.rwd_data = m.data;
            }
            None => {
                i.rwd_valid = false;
                (i.rwd_opcode, i.rwd_meta, i.rwd_tag, i.rwd_addr) = self.idle_header();
                i.rwd_mask = self.idle.next_u64();
                for w in i.rwd_data.iter_mut() {
                    *w = self.idle.next_u64();
                }
            }
        }
        match self.cmd {
            Some((op, addr)) => {
                i.cmd_valid = true;
                i.cmd_opcode = op;
                i.cmd_addr = addr;
            }
            None => {
                i.cmd_valid = false;
                i.cmd_opcode = self.idle.next_u64() & low_mask(OPCODE_BITS);
                i.cmd_addr = self.idle.next_u64() & low_mask(ADDR_BITS);
            }
        }
        match self.hv {
            Some((op, level, index)) => {
                i.hv_valid = true;
                i.hv_op = op;
                i.hv_level = level;
                i.hv_index = index;
            }
            None => {
                i.hv_valid = false;
                i.hv_op = self.idle.next_u64() & 1;
                i.hv_level = self.idle.next_u64() & low_mask(HV_LEVEL_BITS);
                i.hv_index = self.idle.next_u64() & low_mask(HV_INDEX_BITS);
            }
        }
        match self.birsp.front() {
            Some(&(bitag, op)) => {
                i.birsp_valid = true;
                i.birsp_bitag = bitag;
                i.birsp_opcode = op;
            }
            None => {
                i.birsp_valid = false;
                i.birsp_opcode = self.idle.next_u64() & low_mask(OPCODE_BITS);
                i.birsp_bitag = self.idle.next_u64() & low_mask(BITAG_BITS);
            }
        }
    }

    fn new_work(&mut self) {
        let c = self.c.clone();
        if self.rng.permille(c.violation_rate) {
            self.inject();
        }
        if self.cmd.is_none() && self.rng.permille(c.recall_rate) {
            let op = SnpOp::ALL[self.rng.below(3) as usize];
            let a = self.addrs[self.rng.below(self.addrs.len() as u64) as usize];
            self.cmd = Some((op as u64, a));
        }
        if self.hv.is_none()
            && self.hv_inflight.is_empty()
            && self.hv_queue.is_empty()
            && self.rng.permille(c.harvest_rate)
        {
            self.hv = Some((HV_SWAP as u64, 0, 0));
        }
        if !self.rng.pct(c.request_rate) {
            return;
        }
        // Some picks are register lines (polls, commands, doorbells).
        let l = if self.g.registers && c.register_rate > 0 && self.rng.permille(c.register_rate) {
            (self.g_lines() + self.rng.below(REG_LINES)) as usize
        } else {
            self.rng.below(self.g_lines()) as usize
        };
        if self.busy[l] {
            return;
        }
        let a = self.addrs[l];
        let r = self.rng.below(100);
        let req_free = self.req.is_none();
        let rwd_free = self.rwd.is_none();
        match self.st[l] {
            St::I if req_free && r < 30 => {
                self.send_req(Some(l), ReqOp::MemRd, Meta::Shared, a, Kind::ReadS)
            }
            St::I if req_free && r < 55 => {
                self.send_req(Some(l), ReqOp::MemRd, Meta::Any, a, Kind::ReadOwn)
            }
            St::I if req_free && r < 70 => {
                self.send_req(Some(l), ReqOp::MemRdData, Meta::Invalid, a, Kind::ReadData)
            }
            St::I if req_free && r < 80 => {
                self.send_req(Some(l), ReqOp::MemRd, Meta::Invalid, a, Kind::ReadUncached)
            }
            St::I if rwd_free && r >= 90 => self.send_rwd(
                Some(l),
                self.addrs[l],
                RwdOp::MemWrPtl,
                Meta::Invalid,
                Kind::PartialUncached,
            ),
            St::S if req_free && r < 30 => {
                self.send_req(Some(l), ReqOp::MemInv, Meta::Any, a, Kind::Upgrade)
            }
            St::S if req_free && r < 55 => {
                self.st[l] = St::I;
                self.send_req(
                    Some(l),
                    ReqOp::MemClnEvct,
                    Meta::Invalid,
                    a,
                    Kind::CleanEvict,
                )
            }
            St::S if req_free && r < 65 => {
                self.st[l] = St::I;
                self.send_req(Some(l), ReqOp::MemInv, Meta::Invalid, a, Kind::Drop)
            }
            St::E if r < 40 => self.st[l] = St::M,
            St::E if req_free && r < 70 => {
                self.st[l] = St::I;
                self.send_req(
                    Some(l),
                    ReqOp::MemClnEvct,
                    Meta::Invalid,
                    a,
                    Kind::CleanEvict,
                )
            }
            St::E if req_free && r < 80 => {
                self.st[l] = St::S;
                self.send_req(Some(l), ReqOp::MemInv, Meta::Shared, a, Kind::Downgrade)
            }
            St::M if rwd_free && r < 40 => {
                self.st[l] = St::I;
                self.send_rwd(
                    Some(l),
                    self.addrs[l],
                    RwdOp::MemWr,
                    Meta::Invalid,
                    Kind::Writeback,
                )
            }
            St::M if rwd_free && r < 60 => {
                self.st[l] = St::S;
                self.send_rwd(
                    Some(l),
                    self.addrs[l],
                    RwdOp::MemWr,
                    Meta::Shared,
                    Kind::WritebackKeepS,
                )
            }
            _ => {}
        }
    }

    /// Break one protocol rule the device must detect, count and survive.
    fn inject(&mut self) {
        let outside = (self.g.window_base_line + self.g.window_lines) & ADDR_MASK;
        match self.rng.below(8) {
            0 if self.req.is_none() => {
                self.send_req(
                    None,
                    ReqOp::MemRd,
                    Meta::Invalid,
                    outside,
                    Kind::InjectedRead,
                );
            }
            // An opcode that is not a request, to a pool line (the core counts it) or,
            // with the agent, to a register line (the agent records BAD_MESSAGE in
            // its completion line instead); either answers Cmp.
            k @ (1 | 5) if self.req.is_none() && (k == 1 || self.g.registers) => {
                let addr = if k == 5 {
                    regs::page_base(&self.g) + regs::LINE_STATUS
                } else {
                    self.addrs[0]
                };
                let tag = self.alloc_tag();
                self.pending.insert(
                    tag,
                    Pending {
                        line: None,
                        addr,
                        kind: Kind::InjectedCmp,
                        accepted: false,
                    },
                );
                self.req = Some(ReqMsg {
                    op: 0b0111,
                    meta: 0,
                    tag,
                    addr,
                });
                if k == 5 {
                    self.stats.reg_violations += 1;
                    return;
                }
            }
            // A BIRsp naming no slot in flight: a second copy right behind a queued
            // answer to one of the core's slots (freed by the first, so the copy
            // comes the cycle after the slot is freed: it must not count as
            // allowed), or a BITag past every slot.
            2 => match self.birsp.front() {
                Some(&(bitag, op)) if bitag < self.g.snoop_slots => {
                    self.birsp.insert(1, (bitag, op))
                }
                _ => self.birsp.push_back((MAX_BITAG, RspOp::BIRspI as u64)),
            },
            // A stray answer on the register agent's BITag: the agent records it in
            // its completion line, not in the core's error counter.
            // Without the agent it is a stray answer to the core like any other.
            4 => {
                self.birsp
                    .push_back((regs::AGENT_BITAG, RspOp::BIRspI as u64));
                if self.g.registers {
                    self.stats.reg_violations += 1;
                    return;
                }
            }
            3 if self.hv.is_none() && self.hv_inflight.is_empty() && self.hv_queue.is_empty() => {
                self.hv = Some((HV_READ_CLEAR as u64, 3, 0));
            }
            // A partial write past the window: counted, answered Cmp, and its data
            // still goes to memory (the core's rule); no line of the window is dirty.
            6 if self.rwd.is_none() => self.send_rwd(
                None,
                outside,
                RwdOp::MemWrPtl,
                Meta::Invalid,
                Kind::InjectedCmp,
            ),
            // A recall of a line past the window: counted, snoops nothing.
            7 if self.cmd.is_none() => {
                let op = SnpOp::ALL[self.rng.below(3) as usize];
                self.cmd = Some((op as u64, outside));
            }
            _ => return,
        }
        self.stats.violations_injected += 1;
    }

    fn drain_harvest(&mut self) {
        if self.drain_swaps < 2
            && self.quiet()
            && self.hv.is_none()
            && self.hv_inflight.is_empty()
            && self.hv_queue.is_empty()
        {
            self.hv = Some((HV_SWAP as u64, 0, 0));
            self.drain_swaps += 1;
        }
    }

    fn handle_snoops(&mut self, now: u64) {
        let mut k = 0;
        while k < self.snoops.len() {
            let s = self.snoops[k];
            if s.due > now || !self.answer(s) {
                k += 1;
            } else {
                self.snoops.remove(k);
            }
        }
    }

    /// Answer one snoop if the rules allow it now; false to retry next cycle.
    fn answer(&mut self, s: Snoop) -> bool {
        let Some(&l) = self.index.get(&s.addr) else {
            self.birsp.push_back((s.bitag, RspOp::BIRspI as u64));
            return true;
        };
        let waits = self.pending.values().any(|p| {
            p.line == Some(l)
                && p.accepted
                && matches!(
                    p.kind,
                    Kind::ReadS | Kind::ReadOwn | Kind::ReadData | Kind::Upgrade
                )
        });
        if waits {
            return false;
        }
        let upgrading = self
            .pending
            .values()
            .any(|p| p.line == Some(l) && p.kind == Kind::Upgrade);
        let (next, rsp) = match (s.op, self.st[l]) {
            (_, St::M) => {
                if self.busy[l] || self.rwd.is_some() {
                    return false;
                }
                let (meta, next, rsp) = match s.op {
                    SnpOp::BISnpInv => (Meta::Invalid, St::I, RspOp::BIRspI),
                    _ => (Meta::Shared, St::S, RspOp::BIRspS),
                };
                self.st[l] = next;
                self.send_rwd(
                    Some(l),
                    self.addrs[l],
                    RwdOp::MemWr,
                    meta,
                    Kind::SnoopWriteback(s.bitag, rsp),
                );
                return true;
            }
            (SnpOp::BISnpInv, _) => (St::I, RspOp::BIRspI),
            (SnpOp::BISnpData, St::I) => (St::I, RspOp::BIRspI),
            (SnpOp::BISnpData, _) => (St::S, RspOp::BIRspS),
            (SnpOp::BISnpCur, St::E) => (St::E, RspOp::BIRspE),
            (SnpOp::BISnpCur, St::S) => (St::S, RspOp::BIRspS),
            (SnpOp::BISnpCur, St::I) => (St::I, RspOp::BIRspI),
        };
        if upgrading && next == St::I && self.st[l] == St::S {
            self.lost[l] = true;
        }
        self.st[l] = next;
        self.birsp.push_back((s.bitag, rsp as u64));
        true
    }

    fn count(&mut self, name: &str) {
        self.stats.messages[message_index(name)] += 1;
    }

    fn complete(&mut self, now: u64, tag: u64, what: &str) -> Option<Pending> {
        match self.pending.get(&tag) {
            Some(p) if p.accepted => self.pending.remove(&tag),
            _ => {
                self.errors.push(format!(
                    "cycle {now}: {what} for tag {tag:#x} that has no request in flight"
                ));
                None
            }
        }
    }

    /// A command line: commands that leave the dirty bitmap alone (the harvest
    /// checks stay exact), malformed ones and unknown opcodes.
    fn command(&mut self) -> Line {
        let mut d = [0; DATA_WORDS];
        d[1] = self.rng.next_u64();
        let pool = self.addrs[self.rng.below(self.g_lines()) as usize];
        // With the trigger, half the commands are PT ones.
        let pick = self.rng.below(if self.pt.is_some() { 16 } else { 8 });
        let (op, a0, a1) = match pick {
            8.. => {
                self.stats.pt_commands += 1;
                self.pt.as_mut().expect("trigger").command()
            }
            0 | 1 => (regs::CMD_NOP, 0, 0),
            2 | 3 => (regs::CMD_RECALL, self.rng.below(3), pool),
            4 => (regs::CMD_SET_CONTROL, self.rng.next_u64(), 0),
            5 => (regs::CMD_RECALL, 3 + self.rng.below(4), pool),
            6 => (
                regs::CMD_RECALL,
                0,
                regs::page_base(&self.g) + self.rng.below(64),
            ),
            _ if self.rng.below(2) == 0 => (5 + self.rng.below(251), self.rng.next_u64(), 0),
            // Arguments just out of range, or in range with a high bit set: refused
            // with BAD_ARG, so no harvest read changes the bitmap under the checks.
            _ => {
                let high = 1 << (2 + self.rng.below(62));
                match self.rng.below(4) {
                    0 => (regs::CMD_HARVEST_READ, self.g.levels + self.rng.below(2), 0),
                    1 => (
                        regs::CMD_HARVEST_READ,
                        high | self.rng.below(self.g.levels),
                        0,
                    ),
                    2 => (regs::CMD_RECALL, high | self.rng.below(3), pool),
                    // An index past the harvest port's width.
                    _ => (
                        regs::CMD_HARVEST_READ,
                        self.rng.below(self.g.levels),
                        1 << (HV_INDEX_BITS as u64 + self.rng.below(64 - HV_INDEX_BITS as u64)),
                    ),
                }
            }
        };
        d[0] = op;
        d[2] = a0;
        d[3] = a1;
        d
    }

    /// Pool lines outside the register page.
    fn g_lines(&self) -> u64 {
        self.addrs.len() as u64 - reg_lines(&self.g)
    }

    fn mark_dirty(&mut self, addr: u64) {
        if addr & !self.g.window_mask == self.g.window_base_line && !regs::in_page(&self.g, addr) {
            self.written.insert(addr & self.g.window_mask);
            self.epoch_written.insert(addr & self.g.window_mask);
        }
    }

    /// Take note of what moved on every channel this cycle.
    pub fn observe(&mut self, now: u64, i: &Inputs, o: &Outputs) {
        if let Some(pt) = self.pt.as_mut() {
            pt.observe(now, i, o, &mut self.stats);
        }
        if i.req_valid && o.req_ready {
            let m = self.req.take().expect("offered");
            self.pending.get_mut(&m.tag).expect("tag").accepted = true;
            self.stats.requests += 1;
            if let Some(op) = ReqOp::from_bits(m.op as u8) {
                self.count(op.name());
            }
            let kind = self.pending[&m.tag].kind;
            if self.g.dirty_on_ownership
                && matches!(kind, Kind::ReadOwn | Kind::ReadData | Kind::Upgrade)
            {
                self.mark_dirty(m.addr);
            }
        }
        if i.rwd_valid && o.rwd_ready {
            let m = self.rwd.take().expect("offered");
            self.pending.get_mut(&m.tag).expect("tag").accepted = true;
            self.stats.requests += 1;
            let op = RwdOp::from_bits(m.op as u8).expect("host sends legal writes");
            self.count(op.name());
            self.mark_dirty(m.addr);
        }
        if i.cmd_valid && o.cmd_ready {
            self.cmd = None;
            self.stats.recalls += 1;
        }
        if i.birsp_valid && o.birsp_ready {
            let (_, op) = self.birsp.pop_front().expect("offered");
            self.count(RspOp::from_bits(op as u8).expect("legal").name());
        }
        // The answer to the read of `HV_LATENCY` cycles ago, then this cycle's harvest
        // operation.
        if let Some((k, w, reread)) = self.hv_inflight.step() {
            if !o.hv_rsp_valid {
                self.errors.push(format!(
                    "cycle {now}: no harvest response {HV_LATENCY} cycles after the read of level {k} word {w}"
                ));
            } else if reread {
                if o.hv_rsp_data != 0 {
                    self.errors.push(format!(
                        "cycle {now}: level {k} word {w}, read again right after its read-and-clear, returned {:#x}",
                        o.hv_rsp_data
                    ));
                }
            } else if k < self.g.levels {
                let d = o.hv_rsp_data;
                for b in 0..self.g.fanout {
                    if d >> b & 1 != 0 {
                        let below = (w << self.g.fanout_log2) | b;
                        if k == 0 {
                            self.harvested.insert(below);
                            self.scan_got.insert(below);
                        } else {
                            self.hv_queue.push_back((k - 1, below));
                        }
                    }
                }
            } else if o.hv_rsp_data != 0 {
                self.errors.push(format!(
                    "cycle {now}: harvest of missing level {k} returned data"
                ));
            }
        }
        if let Some((op, k, w)) = self.hv.filter(|_| i.hv_valid && o.hv_ready) {
            self.hv = None;
            let reread = std::mem::take(&mut self.hv_reread);
            if op == HV_SWAP as u64 {
                self.stats.swaps += 1;
                // Writes accepted up to and including this cycle belong to the retired bank.
                self.scan_expect = Some(std::mem::take(&mut self.epoch_written));
                self.scan_got.clear();
                let top = self.g.levels - 1;
                self.hv_queue
                    .extend((0..self.g.level_words(top)).map(|w| (top, w)));
            } else {
                self.stats.harvest_reads += 1;
                if !reread && self.hv_queue.front() == Some(&(k, w)) {
                    self.hv_queue.pop_front();
                }
                self.hv_inflight.push((k, w, reread));
            }
        }
        if o.bisnp_valid && i.bisnp_ready {
            let op = SnpOp::from_bits(o.bisnp_opcode as u8);
            match op {
                Some(op) => {
                    self.count(op.name());
                    if o.bisnp_bitag == regs::AGENT_BITAG {
                        self.stats.reg_snoops += 1;
                    }
                    let due = now + 1 + self.rng.below(self.c.snoop_delay_max + 1);
                    self.snoops.push(Snoop {
                        bitag: o.bisnp_bitag,
                        op,
                        addr: o.bisnp_addr,
                        due,
                    });
                }
                None => self.errors.push(format!(
                    "cycle {now}: BISnp with unknown opcode {:#x}",
                    o.bisnp_opcode
                )),
            }
        }
        if o.ndr_valid && i.ndr_ready {
            let op = NdrOp::from_bits(o.ndr_opcode as u8);
            if let Some(op) = op {
                self.count(op.name());
            }
            if let Some(p) = self.complete(now, o.ndr_tag, "NDR") {
                let want = match p.kind {
                    Kind::Upgrade => Some(NdrOp::CmpE),
                    Kind::Downgrade => Some(NdrOp::CmpS),
                    Kind::Drop
                    | Kind::CleanEvict
                    | Kind::Writeback
                    | Kind::WritebackKeepS
                    | Kind::PartialUncached => Some(NdrOp::Cmp),
                    Kind::SnoopWriteback(..) | Kind::InjectedCmp => Some(NdrOp::Cmp),
                    _ => None,
                };
                if op.is_none() || op != want {
                    self.errors.push(format!(
                        "cycle {now}: {:?} answered with NDR opcode {:#x}",
                        p.kind, o.ndr_opcode
                    ));
                }
                if let Some(l) = p.line {
                    self.busy[l] = false;
                    if p.kind == Kind::Upgrade {
                        self.st[l] = if std::mem::take(&mut self.lost[l]) {
                            St::I
                        } else {
                            St::M
                        };
                    }
                }
                if let Kind::SnoopWriteback(bitag, rsp) = p.kind {
                    self.birsp.push_back((bitag, rsp as u64));
                }
            }
        }
        if o.drs_valid && i.drs_ready {
            self.count("MemData");
            let reg = self
                .pending
                .get(&o.drs_tag)
                .and_then(|p| p.line)
                .is_some_and(|l| regs::in_page(&self.g, self.addrs[l]));
            let expect = if reg {
                self.stats.reg_reads += 1;
                let l = self.pending[&o.drs_tag].line.expect("register line");
                let k = self.addrs[l] & (regs::PAGE_LINES - 1);
                if k == regs::LINE_COMPLETION {
                    self.stats.reg_statuses |= 1 << (o.drs_data[1] & 63);
                    self.stats.reg_statuses |= 1 << (o.drs_data[4] & 63);
                } else if k == regs::LINE_STATUS {
                    self.stats.reg_done = self.stats.reg_done.max(o.drs_data[0]);
                } else if k == regs::LINE_EVENTS {
                    self.ev_seen = o.drs_data[0];
                    self.stats.events_produced = self.stats.events_produced.max(o.drs_data[0]);
                    self.stats.events_dropped = self.stats.events_dropped.max(o.drs_data[2]);
                } else if (regs::RING_FIRST..regs::RING_FIRST + regs::RING_RECORDS / 8).contains(&k)
                {
                    for &r in &o.drs_data {
                        if r != 0 {
                            let kind = r >> 60;
                            self.stats.event_kinds |= 1 << kind;
                            let last = if self.pt.is_some() {
                                regs::EV_PT_FULL
                            } else {
                                regs::EV_ERROR
                            };
                            if !(regs::EV_DIRTY..=last).contains(&kind) {
                                self.errors.push(format!(
                                    "cycle {now}: event record {r:#x} of unknown kind"
                                ));
                            }
                        }
                    }
                }
                Some(o.drs_data)
            } else if self.pt.is_some() {
                let addr = self.pending.get(&o.drs_tag).map(|p| p.addr);
                addr.and_then(|a| self.mem.take_returned(a))
            } else {
                self.mem.returned.pop_front().map(|(_, d)| d)
            };
            let expect = match (expect, self.pt.as_ref()) {
                // The trigger may have cleared P in present leaf PTEs into its window,
                // in lines of page-table pages only.
                (Some(want), Some(pt)) if want != o.drs_data => {
                    let page = self.pending.get(&o.drs_tag).map(|p| p.addr >> 6);
                    let cleared = (0..DATA_WORDS)
                        .filter(|&k| o.drs_data[k] != want[k])
                        .collect::<Vec<_>>();
                    let ok = page.is_some_and(|f| pt.page_set.contains(&f))
                        && cleared
                            .iter()
                            .all(|&k| pt.may_clear(want[k]) && o.drs_data[k] == want[k] & !1);
                    if ok {
                        self.stats.pt_cleared += cleared.len() as u64;
                        Some(o.drs_data)
                    } else {
                        Some(want)
                    }
                }
                (e, _) => e,
            };
            if let Some(pt) = self.pt.as_ref() {
                let page = self.pending.get(&o.drs_tag).map(|p| p.addr >> 6);
                if page.is_some_and(|f| pt.page_set.contains(&f)) {
                    self.stats.pt_lines += 1;
                }
            }
            if expect != Some(o.drs_data) {
                self.errors.push(format!(
                    "cycle {now}: MemData for tag {:#x} does not carry the data memory returned",
                    o.drs_tag
                ));
            }
            if let Some(p) = self.complete(now, o.drs_tag, "MemData") {
                let (grant, next) = match p.kind {
                    Kind::ReadS => (Meta::Shared, St::S),
                    Kind::ReadOwn => (Meta::Any, St::M),
                    Kind::ReadData => (Meta::Any, St::E),
                    Kind::ReadUncached | Kind::InjectedRead => (Meta::Invalid, St::I),
                    k => {
                        self.errors
                            .push(format!("cycle {now}: MemData answered a {k:?}"));
                        (Meta::Invalid, St::I)
                    }
                };
                if o.drs_meta != grant as u64 {
                    self.errors.push(format!(
                        "cycle {now}: {:?} granted meta {:#b}",
                        p.kind, o.drs_meta
                    ));
                }
                if let Some(l) = p.line {
                    self.busy[l] = false;
                    self.st[l] = next;
                }
            }
        }
        if self.hv_queue.is_empty() && self.hv_inflight.is_empty() {
            if let Some(want) = self.scan_expect.take() {
                if want != self.scan_got {
                    let lost = want.difference(&self.scan_got).count();
                    let extra = self.scan_got.difference(&want).count();
                    self.errors.push(format!("cycle {now}: harvest scan missed {lost} dirty lines and returned {extra} clean ones"));
                }
                self.scans_checked += 1;
            }
        }
        self.mem.observe(now, i, o);
    }
}

/// Lines of each page-table page the pool reads (drawn at random, so a few fewer).
const PT_POOL_LINES: usize = 16;
/// Of the harvest reads the device takes, how many (per mille) the host reads again
/// in the next cycle, expecting the 0 that the read's clear left.
const REREAD_PERMILLE: u64 = 250;

/// Register lines in the agent's pool: registers, the events line and the ring.
const REG_LINES: u64 = regs::RING_FIRST + regs::RING_RECORDS / 8;

/// Register lines in the pool: none when the device has no register agent.
fn reg_lines(g: &Geometry) -> u64 {
    if g.registers {
        REG_LINES
    } else {
        0
    }
}

/// A BITag no configuration has a slot for.
const MAX_BITAG: u64 = (1 << BITAG_BITS) - 1;
