//! Device core: the home agent of the coherent window.
//!
//! Per cycle: picks one message (request-with-data, then command, then request)
//! and accepts it only if every resource it needs is free this cycle (memory-request
//! register, NDR register, a read-queue entry, and a snoop-queue entry if the message
//! may make a snoop), judged from opcodes and registered state. An accepted message
//! loads the output registers and marks its line dirty in the bitmap at once; its
//! filter work follows in a pipeline that never stalls: the address, pick and
//! read stages (the RTL reads the set from a register over two edges, then
//! compares its tags) and, four cycles after acceptance, the filter stage (lookup, update; a victim or
//! command snoop joins the snoop queue, whose head takes a free tracker slot).
//! Independently it moves one memory response to the DRS register, one snoop to
//! the host and takes one snoop response. Errors are counted one cycle after they
//! are seen.

use super::dirty_bitmap::DirtyBitmap;
use super::read_queue::ReadQueue;
use super::snoop_filter::{SfOp, SnoopFilter};
use super::snoop_tracker::SnoopTracker;
use crate::config::Geometry;
use crate::ports::{Inputs, Outputs};
use crate::protocol::*;

/// Which channel the core serves this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sel {
    None,
    Rwd,
    Cmd,
    Req,
}

/// What the selected message needs and does, decoded combinationally.
#[derive(Clone, Copy, Debug)]
struct Action {
    err: ErrCode,
    sf: SfOp,
    /// Load the memory-request register (read, or write with mask/data).
    mem: bool,
    write: bool,
    /// Full-line write (mask all ones) rather than the channel's mask.
    full: bool,
    /// Push the read queue with this grant.
    read: bool,
    grant: Meta,
    /// Load the NDR register with this opcode.
    ndr: Option<NdrOp>,
    /// Allocate a snoop slot for this command snoop.
    snoop: Option<SnpOp>,
    /// May need a snoop slot (a filter allocation or a command snoop), judged by
    /// channel and opcode alone so that acceptance does not wait for the window check.
    may_slot: bool,
    /// Reserves a snoop-queue entry for its filter work: it would take a snoop slot
    /// if it were in the window. The window check is left out (an out-of-window
    /// message reserves an entry it will not use) so the reservation, a flip-flop
    /// set at acceptance, does not wait for it.
    reserve: bool,
    dirty: bool,
}

impl Action {
    const IDLE: Action = Action {
        err: ErrCode::None,
        sf: SfOp::None,
        mem: false,
        write: false,
        full: false,
        read: false,
        grant: Meta::Invalid,
        ndr: None,
        snoop: None,
        may_slot: false,
        reserve: false,
        dirty: false,
    };
}

/// Decode of every (in-window, opcode, meta) of one channel, built once: the
/// per-cycle path is a table lookup instead of a tree of data-dependent branches.
struct DecodeTable([Action; 2 * 16 * 4]);

impl DecodeTable {
    fn build(f: impl Fn(bool, u8, u8) -> Action) -> Self {
        DecodeTable(std::array::from_fn(|k| {
            let (opcode, meta) = ((k >> 2 & 15) as u8, (k & 3) as u8);
            let mut a = f(k >> 6 != 0, opcode, meta);
            let inw = f(true, opcode, meta);
            a.reserve = matches!(inw.sf, SfOp::Set { .. }) | inw.snoop.is_some();
            a
        }))
    }
    #[inline]
    fn get(&self, inw: bool, opcode: u64, meta: u64) -> &Action {
        // Opcodes wider than the field are not representable on the port.
        &self.0[(inw as usize) << 6 | (opcode as usize & 15) << 2 | (meta as usize & 3)]
    }
}

fn decode_req(inw: bool, opcode: u8, meta: u8, own_dirty: bool) -> Action {
    let mut a = Action::IDLE;
    let op = ReqOp::from_bits(opcode);
    let meta_ok = Meta::from_bits(meta);
    a.err = match (op, meta_ok) {
        (None, _) => ErrCode::BadOpcode,
        (_, None) => ErrCode::BadMeta,
        _ if !inw => ErrCode::OutOfWindow,
        _ => ErrCode::None,
    };
    let ok = a.err == ErrCode::None;
    let meta = if ok { meta_ok.unwrap() } else { Meta::Invalid };
    match op {
        Some(ReqOp::MemRd) | Some(ReqOp::MemRdData) => {
            a.grant = if op == Some(ReqOp::MemRdData) && ok {
                Meta::Any
            } else {
                meta
            };
            a.mem = true;
            a.read = true;
            if ok && a.grant != Meta::Invalid {
                a.sf = sf_set(a.grant);
            }
        }
        Some(ReqOp::MemInv) => {
            a.grant = meta;
            a.ndr = Some(ndr_for(meta));
            if ok {
                a.sf = sf_set(meta);
            }
        }
        Some(ReqOp::MemClnEvct) | None => {
            a.ndr = Some(NdrOp::Cmp);
            if ok {
                a.sf = SfOp::Remove;
            }
        }
    }
    a.dirty = ok && own_dirty && a.grant == Meta::Any;
    a.may_slot = op.is_some() && op != Some(ReqOp::MemClnEvct);
    a
}

fn decode_rwd(inw: bool, opcode: u8, meta: u8) -> Action {
    let mut a = Action::IDLE;
    let op = RwdOp::from_bits(opcode);
    let meta = Meta::from_bits(meta).filter(|&m| m != Meta::Any);
    a.err = match (op, meta) {
        (None, _) => ErrCode::BadOpcode,
        (_, None) => ErrCode::BadMeta,
        _ if !inw => ErrCode::OutOfWindow,
        _ => ErrCode::None,
    };
    a.ndr = Some(NdrOp::Cmp);
    if let Some(op) = op {
        a.mem = true;
        a.write = true;
        a.full = op == RwdOp::MemWr;
        // The data reached memory: the line is dirty even if the meta was bad.
        a.dirty = inw;
    }
    if a.err == ErrCode::None {
        a.sf = if meta == Some(Meta::Shared) {
            SfOp::DowngradeIfHit
        } else {
            SfOp::Remove
        };
    }
    a
}

fn decode_cmd(inw: bool, opcode: u8) -> Action {
    let mut a = Action::IDLE;
    let op = SnpOp::from_bits(opcode);
    a.may_slot = true;
    a.err = match op {
        None => ErrCode::BadOpcode,
        _ if !inw => ErrCode::OutOfWindow,
        _ => ErrCode::None,
    };
    if a.err == ErrCode::None {
        let op = op.unwrap();
        a.snoop = Some(op);
        a.sf = match op {
            SnpOp::BISnpInv => SfOp::Remove,
            SnpOp::BISnpData => SfOp::DowngradeIfHit,
            SnpOp::BISnpCur => SfOp::None,
        };
    }
    a
}

/// The cycle-accurate model of the core (`core` under `top` in the generated Verilog).
pub struct Core {
    g: Geometry,
    req_table: DecodeTable,
    rwd_table: DecodeTable,
    cmd_table: DecodeTable,
    sf: SnoopFilter,
    tracker: SnoopTracker,
    rq: ReadQueue,
    bitmap: DirtyBitmap,
    // NDR register
    ndr_valid: bool,
    ndr_opcode: u64,
    ndr_tag: u64,
    // DRS register
    drs_valid: bool,
    /// The line address of the DRS register's response (not a port: the top's
    /// page-table trigger reads it).
    drs_addr: u64,
    drs_meta: u64,
    drs_tag: u64,
    drs_data: Line,
    // memory-request register
    mem_valid: bool,
    mem_write: bool,
    mem_addr: u64,
    mem_mask: u64,
    mem_data: Line,
    /// Filter work in flight: `sfp[0]` of the message accepted in the previous cycle
    /// (address stage), `sfp[1]` of the one before (pick stage), `sfp[2]` (read
    /// stage), `sfp[3]` of the one accepted four cycles ago (filter stage).
    sfp: [Option<SfEntry>; SF_STAGES],
    /// Snoop queue: snoops the filter stage made (victims, commands), in order,
    /// each waiting for a tracker slot.
    snq: [(SnpOp, u64); SNOOP_QUEUE],
    snq_count: usize,
    /// The BIRsp taken last cycle (BITag, opcode): checked against the tracker
    /// this cycle, from a register.
    birsp_r: Option<(u64, u64)>,
    // error reporting: this cycle's errors are counted at the next edge
    err_pend: [ErrCode; 3],
    err_count: u64,
    err_code: u64,
    /// Event outputs of the last cycle (window-relative lines): the line its
    /// accepted message marked dirty, and the victim its filter stage recalled.
    pub ev_dirty: Option<u64>,
    pub ev_recall: Option<u64>,
}

/// Depth of the snoop queue between the filter stage and the snoop tracker.
/// One more than the stages that may hold a reservation, so a stream of reads
/// (each reserving an entry it does not use) keeps line rate.
pub const SNOOP_QUEUE: usize = SF_STAGES + 1;

/// Stages between acceptance and the filter's update, the filter stage included.
pub const SF_STAGES: usize = 4;

/// One accepted message's work for the snoop filter and tracker, done four cycles
/// after its acceptance (the RTL reads the set over two edges and compares its
/// tags in between).
#[derive(Clone, Copy, Debug)]
struct SfEntry {
    addr: u64,
    sf: SfOp,
    snoop: Option<SnpOp>,
    /// Holds a snoop-queue entry (`Action::reserve`).
    reserve: bool,
}

fn ndr_for(grant: Meta) -> NdrOp {
    match grant {
        Meta::Invalid => NdrOp::Cmp,
        Meta::Shared => NdrOp::CmpS,
        Meta::Any => NdrOp::CmpE,
    }
}

fn sf_set(grant: Meta) -> SfOp {
    match grant {
        Meta::Invalid => SfOp::Remove,
        Meta::Shared => SfOp::Set { owned: false },
        Meta::Any => SfOp::Set { owned: true },
    }
}

impl Core {
    pub fn new(g: &Geometry) -> Self {
        let own = g.dirty_on_ownership;
        Core {
            g: *g,
            req_table: DecodeTable::build(|w, op, m| decode_req(w, op, m, own)),
            rwd_table: DecodeTable::build(decode_rwd),
            cmd_table: DecodeTable::build(|w, op, _| decode_cmd(w, op)),
            sf: SnoopFilter::new(g),
            tracker: SnoopTracker::new(g),
            rq: ReadQueue::new(g),
            bitmap: DirtyBitmap::new(g),
            ndr_valid: false,
            ndr_opcode: 0,
            ndr_tag: 0,
            drs_valid: false,
            drs_addr: 0,
            drs_meta: 0,
            drs_tag: 0,
            drs_data: [0; DATA_WORDS],
            mem_valid: false,
            mem_write: false,
            mem_addr: 0,
            mem_mask: 0,
            mem_data: [0; DATA_WORDS],
            sfp: [None; SF_STAGES],
            snq: [(SnpOp::BISnpInv, 0); SNOOP_QUEUE],
            snq_count: 0,
            birsp_r: None,
            err_pend: [ErrCode::None; 3],
            err_count: 0,
            err_code: 0,
            ev_dirty: None,
            ev_recall: None,
        }
    }

    pub fn geometry(&self) -> &Geometry {
        &self.g
    }
    pub fn snoop_filter(&self) -> &SnoopFilter {
        &self.sf
    }
    pub fn bitmap(&self) -> &DirtyBitmap {
        &self.bitmap
    }

    /// The DRS register as the page-table trigger observes it: valid, line address,
    /// meta, tag, data (the opcode is always MemData).
    #[inline]
    pub fn drs_peek(&self) -> (bool, u64, u64, u64, &Line) {
        (
            self.drs_valid,
            self.drs_addr,
            self.drs_meta,
            self.drs_tag,
            &self.drs_data,
        )
    }

    #[inline]
    fn in_window(&self, addr: u64) -> bool {
        addr & !self.g.window_mask == self.g.window_base_line
    }

    /// One clock cycle: drive `o` from the current state and `i`, then take the edge.
    /// `foreign` marks the request-with-data and request channels' messages as the
    /// register agent's: the core picks its channel as if they were its own (so the
    /// pick needs no address decode) but does not accept a foreign one.
    #[inline(always)]
    pub fn cycle(&mut self, i: &Inputs, o: &mut Outputs, foreign: [bool; 2]) -> Sel {
        self.cycle_drs(i, o, foreign, i.drs_ready)
    }

    /// [`Self::cycle`] with the DRS register's ready given apart from `i` (the
    /// page-table trigger's `obs_ready` when it sits between the core and the link).
    #[inline(always)]
    pub fn cycle_drs(
        &mut self,
        i: &Inputs,
        o: &mut Outputs,
        foreign: [bool; 2],
        drs_ready: bool,
    ) -> Sel {
        // Registered outputs.
        o.ndr_valid = self.ndr_valid;
        o.ndr_opcode = self.ndr_opcode;
        o.ndr_tag = self.ndr_tag;
        o.drs_valid = self.drs_valid;
        o.drs_opcode = DRS_MEMDATA as u64;
        o.drs_meta = self.drs_meta;
        o.drs_tag = self.drs_tag;
        o.drs_data = self.drs_data;
        o.mem_req_valid = self.mem_valid;
        o.mem_req_write = self.mem_write;
        o.mem_req_addr = self.mem_addr;
        o.mem_req_mask = self.mem_mask;
        o.mem_req_data = self.mem_data;
        let head = self.tracker.head();
        o.bisnp_valid = head.is_some();
        let (sop, stag, saddr) = head.unwrap_or((0, 0, 0));
        o.bisnp_opcode = sop as u64;
        o.bisnp_bitag = stag as u64;
        o.bisnp_addr = saddr;
        (o.hv_rsp_valid, o.hv_rsp_data) = self.bitmap.response();
        o.err_count = self.err_count;
        o.err_code = self.err_code;

        // Combinational readies.
        let ndr_free = !self.ndr_valid || i.ndr_ready;
        let mem_free = !self.mem_valid || i.mem_req_ready;
        let drs_free = !self.drs_valid || drs_ready;
        o.mem_rsp_ready = drs_free && !self.rq.is_empty();
        o.birsp_ready = true;
        o.hv_ready = self.bitmap.ready(i.hv_op);

        // With no message offered the request channel's inputs stand selected (the
        // payload registers below load from them); nothing is accepted.
        let (sel, addr, tag, a) = if i.rwd_valid {
            (
                Sel::Rwd,
                i.rwd_addr,
                i.rwd_tag,
                self.rwd_table
                    .get(self.in_window(i.rwd_addr), i.rwd_opcode, i.rwd_meta),
            )
        } else if i.cmd_valid {
            (
                Sel::Cmd,
                i.cmd_addr,
                0,
                self.cmd_table
                    .get(self.in_window(i.cmd_addr), i.cmd_opcode, 0),
            )
        } else {
            (
                if i.req_valid { Sel::Req } else { Sel::None },
                i.req_addr,
                i.req_tag,
                self.req_table
                    .get(self.in_window(i.req_addr), i.req_opcode, i.req_meta),
            )
        };
        let a = *a;
        // Acceptance depends on opcodes and registered state only. The filter work
        // happens four cycles later in the filter stage and never waits there: a
        // message that may make a snoop is accepted only when the snoop queue has an
        // entry for it beyond those the messages in the address, pick, read and
        // filter stages may take (the queue's head leaves this cycle if a tracker
        // slot is free), so five entries keep a stream of reads at line rate.
        let slot = self.tracker.free_slot();
        let snq_pop = (self.snq_count > 0) & slot.is_some();
        let reserved = self.sfp.iter().flatten().filter(|h| h.reserve).count();
        let slot_ok = SNOOP_QUEUE - self.snq_count + snq_pop as usize > reserved;
        // Non-short-circuit `&`: these are data-dependent and mispredict when branched on.
        let mine = match sel {
            Sel::Rwd => !foreign[0],
            Sel::Req => !foreign[1],
            _ => true,
        };
        let ok = (sel != Sel::None)
            & mine
            & (!a.mem | mem_free)
            & (a.ndr.is_none() | ndr_free)
            & (!a.read | !self.rq.full())
            & (!a.may_slot | slot_ok);
        o.rwd_ready = ok & (sel == Sel::Rwd);
        o.cmd_ready = ok & (sel == Sel::Cmd);
        o.req_ready = ok & (sel == Sel::Req);

        // Clock edge.
        // The snoop queue's head takes the lowest tracker slot free at the start of
        // the cycle. Filter stage: look the line up and apply; a victim or a command
        // snoop joins the snoop queue (acceptance reserved the entry).
        if snq_pop {
            let (op, addr) = self.snq[0];
            self.tracker.alloc(slot.unwrap(), op, addr);
            self.snq.copy_within(1.., 0);
            self.snq_count -= 1;
        }
        self.ev_recall = None;
        if let Some(h) = self.sfp[SF_STAGES - 1] {
            let l = self.sf.lookup(h.addr);
            let victim = self.sf.apply(h.addr, &l, h.sf);
            self.ev_recall = victim.map(|v| v & self.g.window_mask);
            let snoop = victim
                .map(|v| (SnpOp::BISnpInv, v))
                .or(h.snoop.map(|op| (op, h.addr)));
            if let Some(s) = snoop {
                self.snq[self.snq_count] = s;
                self.snq_count += 1;
            }
        }
        let mut errs = [ErrCode::None; 3];
        let mut push = None;
        let mut set = None;
        let mut ndr_load = false;
        let mut mem_load = false;
        // The memory-request and NDR payloads load from the selected channel
        // whenever their register is free, whatever the message is and whether or
        // not it is accepted; valid says whether they hold one (the RTL's load
        // enables are then one gate of registered state and a ready).
        if mem_free {
            mem_load = ok & a.mem;
            self.mem_write = a.write;
            self.mem_addr = addr;
            self.mem_mask = if a.full {
                u64::MAX
            } else if sel == Sel::Rwd {
                i.rwd_mask
            } else {
                0
            };
            // A read's data is undefined (its mask is 0): the data does not wait
            // for the opcode decode, so its 512 flip-flops take no reset term.
            self.mem_data = i.rwd_data;
        }
        if ndr_free {
            self.ndr_opcode = a.ndr.unwrap_or(NdrOp::Cmp) as u64;
            self.ndr_tag = tag;
        }
        if ok {
            errs[0] = a.err;
            if a.read {
                push = Some((tag, a.grant as u64, addr));
            }
            ndr_load = a.ndr.is_some();
            if a.dirty {
                set = Some(addr & self.g.window_mask);
            }
        }
        self.mem_valid = mem_load || (self.mem_valid && !i.mem_req_ready);
        if ndr_load {
            self.ndr_valid = true;
        } else if i.ndr_ready {
            self.ndr_valid = false;
        }
        let pop = i.mem_rsp_valid && o.mem_rsp_ready;
        // The data loads whenever the DRS register is free, response or not (a
        // payload is defined only while valid is high): the enable of its 512
        // flip-flops is not the memory response's valid.
        if drs_free {
            self.drs_data = i.mem_rsp_data;
        }
        if pop {
            let (tag, meta) = self.rq.head();
            self.drs_addr = self.rq.head_addr();
            self.drs_valid = true;
            self.drs_meta = meta;
            self.drs_tag = tag;
        } else if drs_ready {
            self.drs_valid = false;
        }
        self.rq.update(push, pop);
        // A response is checked the cycle after it arrives, from a register (it can
        // only name a snoop sent before it arrived).
        if let Some((bitag, op)) = self.birsp_r {
            errs[1] = self.tracker.respond(bitag, op);
        }
        self.birsp_r = i.birsp_valid.then_some((i.birsp_bitag, i.birsp_opcode));
        self.tracker
            .mark_sent((o.bisnp_valid && i.bisnp_ready).then_some(stag));
        let hv = (i.hv_valid && o.hv_ready).then_some((i.hv_op, i.hv_level, i.hv_index));
        errs[2] = self.bitmap.tick(set, hv);
        self.ev_dirty = set;
        self.sfp.copy_within(..SF_STAGES - 1, 1);
        self.sfp[0] = ok.then_some(SfEntry {
            addr,
            sf: a.sf,
            snoop: a.snoop,
            reserve: a.reserve,
        });
        // Errors are counted one edge after the cycle that saw them.
        for e in self.err_pend {
            if e != ErrCode::None {
                self.err_count = (self.err_count + 1) & ((1 << ERR_COUNT_BITS) - 1);
                self.err_code = e as u64;
            }
        }
        self.err_pend = errs;
        sel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that the host's snoops never drain: two fill the tracker's slots.
    fn held_command(addr: u64) -> Inputs {
        Inputs {
            cmd_valid: true,
            cmd_opcode: SnpOp::BISnpCur as u64,
            cmd_addr: addr,
            ndr_ready: true,
            drs_ready: true,
            mem_req_ready: true,
            bisnp_ready: false,
            ..Default::default()
        }
    }

    /// A 1 MiB window with two tracker slots and no register agent.
    fn two_slot_geometry() -> Geometry {
        crate::Config::parse(
            "[device]\nwindow_base = 0x100000\nwindow_size = 0x100000\nsf_sets = 16\nsf_ways = 2\nsnoop_slots = 2\nread_queue = 4\nbitmap_levels = 2\nbitmap_fanout = 64\ndirty_on_ownership = false\nregisters = false\n",
            "test",
        )
        .unwrap()
        .geometry()
    }

    /// The filter stage is `SF_STAGES` cycles after acceptance; its snoop enters the
    /// queue at that edge, takes a tracker slot at the next and is on the BISnp
    /// channel in the cycle after (docs/protocol.md: six or more cycles).
    #[test]
    fn a_command_snoop_reaches_the_bisnp_channel_six_cycles_after_acceptance() {
        let g = two_slot_geometry();
        let mut c = Core::new(&g);
        let mut o = Outputs::default();
        c.cycle(&held_command(g.window_base_line + 3), &mut o, [false; 2]);
        assert!(o.cmd_ready, "accepted in cycle 0");
        let mut first = None;
        for t in 1..12 {
            c.cycle(&Inputs::default(), &mut o, [false; 2]);
            if o.bisnp_valid && first.is_none() {
                first = Some(t);
                assert_eq!(o.bisnp_addr, g.window_base_line + 3);
            }
        }
        assert_eq!(first, Some(6), "{SF_STAGES} stages, the queue, the tracker");
    }

    #[test]
    fn an_out_of_window_command_reserves_a_snoop_queue_entry_it_does_not_use() {
        let g = two_slot_geometry();
        let mut c = Core::new(&g);
        let mut o = Outputs::default();
        let inside = g.window_base_line;
        let outside = g.window_base_line + g.window_mask + 1;
        // Six snoops: two in the tracker's slots, four in the snoop queue, one entry left.
        let mut accepted = 0;
        for _ in 0..40 {
            if accepted < 6 {
                c.cycle(&held_command(inside + accepted), &mut o, [false; 2]);
                accepted += o.cmd_ready as u64;
            } else {
                c.cycle(&Inputs::default(), &mut o, [false; 2]);
            }
        }
        assert_eq!((accepted, c.snq_count), (6, SNOOP_QUEUE - 1));
        // The out-of-window command takes the last entry's reservation through the
        // address, pick, read and filter stages (four cycles), so the next command
        // waits for all four.
        c.cycle(&held_command(outside), &mut o, [false; 2]);
        assert!(o.cmd_ready, "the out-of-window command is accepted");
        let mut ready = vec![];
        for _ in 0..SF_STAGES + 1 {
            c.cycle(&held_command(inside + 8), &mut o, [false; 2]);
            ready.push(o.cmd_ready);
        }
        assert_eq!(ready, [false, false, false, false, true]);
        // It made no snoop: the queue still holds four, plus the command accepted last.
        for _ in 0..SF_STAGES {
            c.cycle(&Inputs::default(), &mut o, [false; 2]);
        }
        assert_eq!(c.snq_count, SNOOP_QUEUE);
    }
}
