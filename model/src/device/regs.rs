//! Register agent: the home agent of the register page (the window's last 4 KiB),
//! a sibling of the core under the top.
//!
//! Per cycle: takes one message addressed to the register page (request with data
//! first, then request) into its inbox when the inbox is empty at the cycle's start,
//! and handles the inbox's message when its answer register (NDR for writes and MemInv
//! / MemClnEvct, DRS for reads) is free, answering reads with the line's current value
//! and keeping one "host holds it" bit per line. A line the device changes while the
//! host holds it is marked for back-invalidation; one snoop at a time (BITag
//! [`AGENT_BITAG`]) goes out from a register, the doorbell's BISnpData on the command
//! line before any back-invalidation, which takes the lowest line marked as the
//! cycle before began (a mark waits a cycle, so the pick is a register). A command
//! (a meta-I writeback of the command line, or the doorbell's pull) starts the
//! cycle after it is handled; harvest and recall commands drive the core's harvest
//! and command ports from registers and complete the cycle after the core takes
//! them (a harvest read `HV_LATENCY` + 1 cycles after, with the word). Completion
//! codes land in the completion line at the edge, error codes at the edge after
//! (from registers); a BIRsp for the agent is checked the cycle after it arrives.
//! The event ring takes up to four records a cycle, deciding on those that reached
//! the agent in the cycle before (registered beside it): a record is in its slot,
//! or counted as dropped, at the third edge after it arrives.

use crate::config::Geometry;
use crate::device::pt_trigger::PFN_BITS;
use crate::ports::Outputs;
use crate::protocol::*;

pub use crate::regmap::*;

/// BITag of the agent's snoop (the core's are 0..snoop_slots).
pub const AGENT_BITAG: u64 = 1 << (BITAG_BITS - 1);

/// Command execution states (the RTL keeps one flag per state, `xs_*`): idle;
/// waiting for the core to take the port request; the harvest read in the bitmap's
/// address registers; in its RAMs' read registers; in their output registers; in
/// the registers on the way back from the RAMs; the word on the core's port;
/// complete with the word; complete after the core took a recall or a swap at the
/// last edge.
pub const X_IDLE: u8 = 0;
pub const X_PORT: u8 = 1;
pub const X_READ: u8 = 6;
pub const X_RAM: u8 = 7;
pub const X_WORD: u8 = 2;
pub const X_LATE: u8 = 3;
pub const X_DONE: u8 = 4;
pub const X_ACK: u8 = 5;
pub const X_BACK: u8 = 8;
const _: () = assert!(
    crate::protocol::HV_LATENCY == 5,
    "X_READ, X_RAM, X_WORD, X_BACK, X_LATE wait out the harvest latency"
);

/// First line of the register page for geometry `g`.
pub fn page_base(g: &Geometry) -> u64 {
    g.window_base_line + g.window_lines - PAGE_LINES
}

/// Whether line address `addr` is in the register page.
#[inline]
pub fn in_page(g: &Geometry, addr: u64) -> bool {
    addr >> 6 == page_base(g) >> 6
}

/// The agent's registered outputs toward the core's command and harvest ports.
#[derive(Clone, Copy, Debug, Default)]
pub struct CorePorts {
    pub cmd_valid: bool,
    pub cmd_opcode: u64,
    pub cmd_addr: u64,
    pub hv_valid: bool,
    pub hv_op: u64,
    pub hv_level: u64,
    pub hv_index: u64,
    /// Toward the page-table trigger's registry and residency ports.
    pub pt_reg_valid: bool,
    pub pt_reg_set: bool,
    pub pt_reg_frame: u64,
    pub pt_res_valid: bool,
    pub pt_res_set: bool,
    pub pt_res_frame: u64,
}

/// A message for the register page, as the inbox holds it: all the agent keeps
/// (bytes 0..31 of the data and their byte enables: command words 0..3, the
/// consumer index).
#[derive(Clone, Copy, Debug, Default)]
struct Inbox {
    rwd: bool,
    opcode: u64,
    meta: u64,
    tag: u64,
    /// The line in the page.
    line: u64,
    /// Byte enables of bytes 0..31, all ones for a full write (decoded on the way
    /// in, as the RTL's `in_be`).
    be: u64,
    data: [u64; CMD_WORDS],
}

pub struct Regs {
    g: Geometry,
    page: u64,
    /// The message taken last; handled when its answer register is free. The
    /// inbox keeps the page decode and the channel pick off the agent's paths.
    inbox: Option<Inbox>,
    held: u64,
    inv_pend: u64,
    /// The lowest line of `inv_pend` as the last cycle began (one-hot, 0 for
    /// none): the snoop issue takes it, so the RTL's pick is a register, not a
    /// priority chain in front of the snoop register and the marks' clear.
    inv_pick: u64,
    // answer registers
    ndr_valid: bool,
    ndr_opcode: u64,
    ndr_tag: u64,
    drs_valid: bool,
    drs_meta: u64,
    drs_tag: u64,
    drs_data: Line,
    // snoop register: valid (waiting for the host), outstanding (waiting for BIRsp)
    snp_valid: bool,
    snp_out: bool,
    /// The host took the snoop at the last edge.
    snp_fresh: bool,
    /// A BIRsp for the agent arrived last cycle: checked this cycle.
    birsp_r: bool,
    snp_op: u64,
    snp_line: u64,
    // register contents
    control: u64,
    /// Words 0..3 of the command line (opcode, sequence, arguments); 4..7 read zero.
    command: [u64; CMD_WORDS],
    comp_seq: u64,
    comp_status: u64,
    comp_result: u64,
    err_count: u64,
    err_code: u64,
    /// This cycle's message and BIRsp errors, counted at the next edge.
    err_pend: [u64; 2],
    commands: u64,
    doorbells: u64,
    core_err_count: u64,
    core_err_code: u64,
    // command execution
    exec_pend: bool,
    /// `X_IDLE` .. `X_BACK`.
    exec_state: u8,
    exec_seq: u64,
    hv_word: u64,
    /// Doorbell: 0 idle, 1 snoop to send, 2 waiting for its BIRsp.
    db_state: u8,
    ports: CorePorts,
    // event ring
    /// The ring's inputs as they arrived last cycle (dirty, recall, error and
    /// page-table records, and a lost trigger event): the ring decides on them a
    /// cycle after they arrive, from registers beside it.
    ring_in: [Option<u64>; 4],
    ring_lost: bool,
    records: [u64; RING_RECORDS as usize],
    /// Appends decided this cycle, written into `records` at the next edge.
    rec_pend: [Option<(usize, u64)>; 4],
    prod: u64,
    cons: u64,
    /// The consumer index at the start of the previous cycle: the ring's room goes
    /// by it, so a consumer write frees room a cycle after it lands.
    cons_room: u64,
    dropped: u64,
    /// Drops decided this cycle, counted in `dropped` at the next edge (appends
    /// count in `prod` then too: one per `rec_pend` entry).
    drop_pend: u64,
}

/// The agent's outputs shown over the core's this cycle.
pub struct Shown {
    ndr: Option<(u64, u64)>,
    drs: Option<(u64, u64, Line)>,
    snp: Option<(u64, u64)>,
}

impl Shown {
    #[inline]
    pub fn apply(self, o: &mut Outputs) {
        if let Some((op, tag)) = self.ndr {
            o.ndr_valid = true;
            o.ndr_opcode = op;
            o.ndr_tag = tag;
        }
        if let Some((meta, tag, data)) = self.drs {
            o.drs_valid = true;
            o.drs_opcode = DRS_MEMDATA as u64;
            o.drs_meta = meta;
            o.drs_tag = tag;
            o.drs_data = data;
        }
        if let Some((op, addr)) = self.snp {
            o.bisnp_valid = true;
            o.bisnp_opcode = op;
            o.bisnp_bitag = AGENT_BITAG;
            o.bisnp_addr = addr;
        }
    }
}

/// What the agent is offered this cycle (the top's demux) and what the core shows.
pub struct AgentIn<'a> {
    pub req: bool,
    pub rwd: bool,
    pub birsp: bool,
    pub core: &'a Outputs,
    /// The core's events of the previous cycle (window-relative lines).
    pub ev_dirty: Option<u64>,
    pub ev_recall: Option<u64>,
    /// The core's error counter and code as of the previous cycle.
    pub err: (u64, u64),
    /// A page-table trigger record (kind and frame) from the top's event register.
    pub ev_pt: Option<u64>,
    /// A trigger event lost last cycle (its register was still full; the top
    /// registers the flag): counted as dropped.
    pub ev_pt_lost: bool,
    /// The trigger refuses this cycle's registry set (full). (It always takes a
    /// residency update: the update wins its RAM's write port over a fetch answer.)
    pub pt_refused: bool,
}

impl Regs {
    pub fn new(g: &Geometry) -> Self {
        Regs {
            g: *g,
            page: page_base(g),
            inbox: None,
            held: 0,
            inv_pend: 0,
            inv_pick: 0,
            ndr_valid: false,
            ndr_opcode: 0,
            ndr_tag: 0,
            drs_valid: false,
            drs_meta: 0,
            drs_tag: 0,
            drs_data: [0; DATA_WORDS],
            snp_valid: false,
            snp_out: false,
            snp_fresh: false,
            birsp_r: false,
            snp_op: 0,
            snp_line: 0,
            control: 0,
            command: [0; CMD_WORDS],
            comp_seq: 0,
            comp_status: 0,
            comp_result: 0,
            err_count: 0,
            err_code: 0,
            err_pend: [0; 2],
            commands: 0,
            doorbells: 0,
            core_err_count: 0,
            core_err_code: 0,
            exec_pend: false,
            exec_state: X_IDLE,
            exec_seq: 0,
            hv_word: 0,
            db_state: 0,
            ports: CorePorts::default(),
            ring_in: [None; 4],
            ring_lost: false,
            records: [0; RING_RECORDS as usize],
            rec_pend: [None; 4],
            prod: 0,
            drop_pend: 0,
            cons: 0,
            cons_room: 0,
            dropped: 0,
        }
    }

    /// Registered requests toward the core's command and harvest ports.
    #[inline]
    pub fn core_ports(&self) -> CorePorts {
        self.ports
    }

    /// The current value of register line `k` of the page.
    pub fn line(&self, k: u64) -> Line {
        let g = &self.g;
        let mut l = [0; DATA_WORDS];
        match k {
            LINE_IDENT => {
                l[0] = MAGIC;
                l[1] = VERSION;
                l[2] = self.page;
                l[3] = PAGE_LINES;
            }
            LINE_PARAMS => {
                l[0] = g.window_base_line;
                l[1] = g.window_lines;
                l[2] = g.sf_sets;
                l[3] = g.sf_ways;
                l[4] = g.snoop_slots;
                l[5] = g.read_queue;
                l[6] = g.levels | g.fanout << 8 | (g.dirty_on_ownership as u64) << 16;
                l[7] = pt_params_word(g.pt.as_ref());
            }
            LINE_CONTROL => l[0] = self.control,
            LINE_COMMAND => l[..CMD_WORDS].copy_from_slice(&self.command),
            LINE_COMPLETION => {
                l[0] = self.comp_seq;
                l[1] = self.comp_status;
                l[2] = self.comp_result;
                l[3] = self.err_count;
                l[4] = self.err_code;
            }
            LINE_STATUS => {
                l[0] = self.commands;
                l[1] = self.doorbells;
                l[2] = self.core_err_count;
                l[3] = self.core_err_code;
            }
            LINE_EVENTS => {
                l[0] = self.prod;
                l[1] = self.cons;
                l[2] = self.dropped;
                l[3] = RING_FIRST;
                l[4] = RING_RECORDS;
            }
            k if (RING_FIRST..RING_FIRST + RING_RECORDS / 8).contains(&k) => {
                let at = ((k - RING_FIRST) * 8) as usize;
                l.copy_from_slice(&self.records[at..at + 8]);
            }
            _ => {}
        }
        l
    }

    /// The agent's registered outputs that show over the core's `o` this cycle
    /// (where the core's NDR / DRS / BISnp register is empty); apply them with
    /// [`Shown::apply`] after the agent's edge.
    #[inline]
    pub fn shown(&self, o: &Outputs) -> Shown {
        Shown {
            ndr: (!o.ndr_valid && self.ndr_valid).then_some((self.ndr_opcode, self.ndr_tag)),
            // The line is copied only when it is shown.
            drs: if !o.drs_valid && self.drs_valid {
                Some((self.drs_meta, self.drs_tag, self.drs_data))
            } else {
                None
            },
            snp: (!o.bisnp_valid && self.snp_valid)
                .then_some((self.snp_op, self.page | self.snp_line)),
        }
    }

    /// No event, no error change and no record left to land: with
    /// [`Self::events_only`], the cycle would change no state.
    #[inline]
    fn nothing_to_log(&self, x: &AgentIn) -> bool {
        x.ev_dirty.is_none()
            & x.ev_recall.is_none()
            & x.ev_pt.is_none()
            & !x.ev_pt_lost
            & self.ring_in.iter().all(Option::is_none)
            & !self.ring_lost
            & (x.err == (self.core_err_count, self.core_err_code))
            & self.rec_pend.iter().all(Option::is_none)
            & (self.drop_pend == 0)
    }

    /// One clock cycle. `x.core` holds the core's outputs of this cycle; returns
    /// (req_ready, rwd_ready) for messages routed here (taken into the inbox).
    #[inline]
    pub fn cycle(&mut self, i: &crate::ports::Inputs, x: &AgentIn) -> (bool, bool) {
        let cons_room = std::mem::replace(&mut self.cons_room, self.cons);
        if self.events_only(x) {
            if self.nothing_to_log(x) {
                return (false, false);
            }
            // Nothing but the ring and the mirror can change; a changed line the
            // host holds is marked for back-invalidation as in a full cycle.
            let mut changed = 0;
            self.events(x, cons_room, &mut changed);
            // `inv_pend` was empty as this cycle began (`events_only`), and so was
            // the pick: a mark stays until its snoop, and the cycle after a snoop
            // has the snoop register full.
            debug_assert_eq!(self.inv_pick, 0);
            self.inv_pend = changed & self.held;
            self.snp_fresh = false;
            return (false, false);
        }
        let oc = x.core;
        let ndr_take = i.ndr_ready & !oc.ndr_valid;
        let drs_take = i.drs_ready & !oc.drs_valid;
        let snp_take = i.bisnp_ready & !oc.bisnp_valid;
        // An answer register takes a new message only when it is empty at the start
        // of the cycle (not when the host drains it in the same cycle): the agent's
        // acceptance does not wait for the link's readies.
        let ndr_free = !self.ndr_valid;
        let drs_free = !self.drs_valid;
        let busy = self.exec_pend | (self.exec_state != X_IDLE) | (self.db_state != 0);

        // The inbox's message is handled when its answer register is free; a new
        // one is taken when the inbox is empty at the cycle's start (the request
        // channel waits while a write is offered here): the RTL's enable of the
        // inbox's payload is then a flip-flop.
        let m = self.inbox.unwrap_or_default();
        let full = self.inbox.is_some();
        let rop = ReqOp::from_bits(m.opcode as u8);
        let rmeta = Meta::from_bits(m.meta as u8);
        let is_read = !m.rwd & matches!(rop, Some(ReqOp::MemRd) | Some(ReqOp::MemRdData));
        let go = full & if is_read { drs_free } else { ndr_free };
        let acc_rwd = go & m.rwd;
        let acc_req = go & !m.rwd;
        let room = !full;
        let take_rwd = x.rwd & room;
        let take_req = x.req & !x.rwd & room;
        if go {
            self.inbox = None;
        }
        if take_rwd | take_req {
            let (opcode, meta, tag, addr) = if take_rwd {
                (i.rwd_opcode, i.rwd_meta, i.rwd_tag, i.rwd_addr)
            } else {
                (i.req_opcode, i.req_meta, i.req_tag, i.req_addr)
            };
            let full_write = i.rwd_opcode == RwdOp::MemWr as u64;
            let mut data = [0; CMD_WORDS];
            data.copy_from_slice(&i.rwd_data[..CMD_WORDS]);
            self.inbox = Some(Inbox {
                rwd: take_rwd,
                opcode,
                meta,
                tag,
                line: addr & (PAGE_LINES - 1),
                be: if full_write {
                    0xffff_ffff
                } else {
                    i.rwd_mask & 0xffff_ffff
                },
                data,
            });
        }

        let mut set_held = 0u64;
        let mut clr_held = 0u64;
        let mut changed = 0u64;
        let mut errs = [0u64; 2];
        let mut ndr_load = None;
        let mut ring = false;
        let mut trigger = false;
        let mut new_cmd = None;
        let mut new_cons = None;
        if acc_rwd {
            let k = m.line;
            let op = RwdOp::from_bits(m.opcode as u8);
            let meta = Meta::from_bits(m.meta as u8).filter(|&m| m != Meta::Any);
            ndr_load = Some((NdrOp::Cmp, m.tag));
            if op.is_none() || meta.is_none() {
                errs[0] = ST_BAD_MESSAGE;
            }
            if meta != Some(Meta::Shared) {
                clr_held = 1 << k;
            }
            if op.is_some() {
                let mask = m.be;
                match k {
                    LINE_COMMAND => {
                        let mut c = self.command;
                        for (w, d) in c.iter_mut().enumerate() {
                            let e = expand_mask(mask >> (8 * w) & 0xff);
                            *d = (*d & !e) | (m.data[w] & e);
                        }
                        new_cmd = Some(c);
                        trigger = meta != Some(Meta::Shared);
                    }
                    LINE_DOORBELL => ring = true,
                    LINE_EVENTS => {
                        let e = expand_mask(mask >> 8 & 0xff);
                        new_cons = Some((self.cons & !e) | (m.data[1] & e));
                    }
                    _ => errs[0] = ST_READ_ONLY,
                }
            }
            if (trigger | ring) & busy {
                errs[0] = ST_BUSY;
                trigger = false;
                ring = false;
            }
        } else if acc_req {
            let k = m.line;
            if rop.is_none() || rmeta.is_none() {
                errs[0] = ST_BAD_MESSAGE;
            }
            let meta = rmeta.unwrap_or(Meta::Invalid);
            match rop {
                Some(ReqOp::MemRd) | Some(ReqOp::MemRdData) => {
                    let grant = if rop == Some(ReqOp::MemRdData) {
                        Meta::Any
                    } else {
                        meta
                    };
                    if grant != Meta::Invalid {
                        set_held = 1 << k;
                    }
                    self.drs_valid = true;
                    self.drs_meta = grant as u64;
                    self.drs_tag = m.tag;
                    self.drs_data = self.line(k);
                }
                Some(ReqOp::MemInv) => {
                    if meta == Meta::Invalid {
                        clr_held = 1 << k;
                    } else {
                        set_held = 1 << k;
                    }
                    let op = match meta {
                        Meta::Invalid => NdrOp::Cmp,
                        Meta::Shared => NdrOp::CmpS,
                        Meta::Any => NdrOp::CmpE,
                    };
                    ndr_load = Some((op, m.tag));
                }
                Some(ReqOp::MemClnEvct) => {
                    clr_held = 1 << k;
                    ndr_load = Some((NdrOp::Cmp, m.tag));
                }
                None => ndr_load = Some((NdrOp::Cmp, m.tag)),
            }
        }
        if !(acc_req & is_read) & drs_take {
            self.drs_valid = false;
        }
        match ndr_load {
            Some((op, tag)) => {
                self.ndr_valid = true;
                self.ndr_opcode = op as u64;
                self.ndr_tag = tag;
            }
            None if ndr_take => self.ndr_valid = false,
            None => {}
        }

        // Snoop response of the last cycle, from a register (checked against the
        // state at the start of this cycle: a snoop the host took at the last edge
        // was not out when the response arrived).
        let mut db_done = false;
        if self.birsp_r {
            if self.snp_out & !self.snp_fresh {
                self.snp_out = false;
                db_done = self.snp_op == SnpOp::BISnpData as u64;
            } else {
                errs[1] = ST_BAD_BIRSP;
            }
        }
        self.birsp_r = x.birsp;
        self.snp_fresh = false;
        // Snoop register: the host takes it, or a new snoop is decided.
        let mut inv_clear = 0u64;
        if self.snp_valid {
            if snp_take {
                self.snp_valid = false;
                self.snp_out = true;
                self.snp_fresh = true;
            }
        } else if !self.snp_out {
            if self.db_state == 1 {
                self.snp_valid = true;
                self.snp_op = SnpOp::BISnpData as u64;
                self.snp_line = LINE_COMMAND;
                self.db_state = 2;
            } else if self.inv_pick != 0 {
                // Still marked: only an issue clears a mark, and the cycle after
                // one has the snoop register full.
                debug_assert!(self.inv_pend & self.inv_pick != 0);
                self.snp_valid = true;
                self.snp_op = SnpOp::BISnpInv as u64;
                self.snp_line = self.inv_pick.trailing_zeros() as u64;
                inv_clear = self.inv_pick;
            }
        }

        // Command execution.
        let mut complete = None;
        match self.exec_state {
            X_IDLE if self.exec_pend => {
                self.exec_pend = false;
                let op = self.command[0] & 0xff;
                let (a0, a1) = (self.command[2], self.command[3]);
                self.exec_seq = self.command[1];
                match op {
                    CMD_NOP => complete = Some((ST_OK, 0)),
                    CMD_SET_CONTROL => {
                        self.control = a0;
                        changed |= 1 << LINE_CONTROL;
                        complete = Some((ST_OK, 0));
                    }
                    CMD_HARVEST_SWAP => {
                        self.ports.hv_valid = true;
                        self.ports.hv_op = HV_SWAP as u64;
                        self.ports.hv_level = 0;
                        self.ports.hv_index = 0;
                        self.exec_state = X_PORT;
                    }
                    CMD_HARVEST_READ if a0 < self.g.levels && a1 >> HV_INDEX_BITS == 0 => {
                        self.ports.hv_valid = true;
                        self.ports.hv_op = HV_READ_CLEAR as u64;
                        self.ports.hv_level = a0;
                        self.ports.hv_index = a1;
                        self.exec_state = X_PORT;
                    }
                    CMD_RECALL
                        if a0 <= SnpOp::BISnpInv as u64
                            && a1 >> ADDR_BITS == 0
                            && a1 & !self.g.window_mask == self.g.window_base_line
                            && a1 >> 6 != self.page >> 6 =>
                    {
                        self.ports.cmd_valid = true;
                        self.ports.cmd_opcode = a0;
                        self.ports.cmd_addr = a1;
                        self.exec_state = X_PORT;
                    }
                    CMD_PT_REGISTER | CMD_PT_RESIDENT
                        if self.g.pt.is_some() && a1 <= 1 && a0 >> PFN_BITS == 0 =>
                    {
                        let p = &mut self.ports;
                        if op == CMD_PT_REGISTER {
                            p.pt_reg_valid = true;
                            p.pt_reg_set = a1 == 1;
                            p.pt_reg_frame = a0;
                        } else {
                            p.pt_res_valid = true;
                            p.pt_res_set = a1 == 1;
                            p.pt_res_frame = a0;
                        }
                        self.exec_state = X_PORT;
                    }
                    CMD_PT_REGISTER | CMD_PT_RESIDENT if self.g.pt.is_some() => {
                        complete = Some((ST_BAD_ARG, 0))
                    }
                    CMD_HARVEST_READ | CMD_RECALL => complete = Some((ST_BAD_ARG, 0)),
                    _ => complete = Some((ST_UNKNOWN_COMMAND, 0)),
                }
            }
            X_PORT => {
                if self.ports.pt_reg_valid {
                    self.ports.pt_reg_valid = false;
                    self.exec_state = X_IDLE;
                    let st = if x.pt_refused { ST_NO_SPACE } else { ST_OK };
                    complete = Some((st, 0));
                }
                if self.ports.pt_res_valid {
                    self.ports.pt_res_valid = false;
                    self.exec_state = X_IDLE;
                    complete = Some((ST_OK, 0));
                }
                // A recall or a swap completes the cycle after the core takes it, so
                // the completion registers' enables do not wait for the core's
                // acceptance (a combinational ready).
                if self.ports.cmd_valid & oc.cmd_ready {
                    self.ports.cmd_valid = false;
                    self.exec_state = X_ACK;
                }
                if self.ports.hv_valid & oc.hv_ready {
                    self.ports.hv_valid = false;
                    self.exec_state = if self.ports.hv_op == HV_SWAP as u64 {
                        X_ACK
                    } else {
                        X_READ
                    };
                }
            }
            // The harvest word comes `HV_LATENCY` cycles after the read (the
            // bitmap's address, RAM read, output and return registers) and is
            // registered again before the completion line: the RAMs are at the other
            // end of the chip.
            X_READ => self.exec_state = X_RAM,
            X_RAM => self.exec_state = X_WORD,
            X_WORD => self.exec_state = X_BACK,
            X_BACK => self.exec_state = X_LATE,
            X_LATE => {
                self.hv_word = oc.hv_rsp_data;
                self.exec_state = X_DONE;
            }
            X_DONE => {
                self.exec_state = X_IDLE;
                complete = Some((ST_OK, self.hv_word));
            }
            X_ACK => {
                self.exec_state = X_IDLE;
                complete = Some((ST_OK, 0));
            }
            _ => {}
        }
        if let Some((st, res)) = complete {
            self.comp_seq = self.exec_seq;
            self.comp_status = st;
            self.comp_result = res;
            self.commands = self.commands.wrapping_add(1);
            changed |= 1 << LINE_COMPLETION | 1 << LINE_STATUS;
        }
        if let Some(c) = new_cmd {
            self.command = c;
        }
        if trigger {
            self.exec_pend = true;
        }
        if ring {
            self.doorbells = self.doorbells.wrapping_add(1);
            changed |= 1 << LINE_STATUS;
            if self.held >> LINE_COMMAND & 1 != 0 {
                self.db_state = 1;
            } else {
                self.exec_pend = true;
            }
        }
        if db_done {
            self.db_state = 0;
            self.exec_pend = true;
        }
        // Errors are counted one edge after the cycle that saw them (from registers).
        for e in std::mem::replace(&mut self.err_pend, errs) {
            if e != 0 {
                self.err_count = self.err_count.wrapping_add(1);
                self.err_code = e;
                changed |= 1 << LINE_COMPLETION;
            }
        }
        self.events(x, cons_room, &mut changed);
        if let Some(c) = new_cons {
            self.cons = c;
        }
        self.held = ((self.held & !clr_held) | set_held) & !inv_clear;
        self.inv_pick = self.inv_pend & self.inv_pend.wrapping_neg();
        self.inv_pend = (self.inv_pend & !inv_clear) | (changed & self.held);
        (take_req, take_rwd)
    }
}

impl Regs {
    /// The error mirror and the event ring's part of a cycle: the status line
    /// mirrors the core's error counter a cycle late (a change is an error event);
    /// the ring takes up to four records a cycle (the page-table trigger's last),
    /// in order, a cycle after they arrive (`ring_in`); a record that finds the
    /// ring full (by `cons`, the consumer index at the start
    /// of the previous cycle; the fill level is producer minus consumer modulo 64)
    /// is dropped and counted, as is a trigger event the top lost. Records decided
    /// last cycle land now; this cycle's land at the next edge.
    #[inline]
    fn events(&mut self, x: &AgentIn, cons: u64, changed: &mut u64) {
        let mut ev_error = None;
        let (err_count, err_code) = x.err;
        if (err_count != self.core_err_count) | (err_code != self.core_err_code) {
            self.core_err_count = err_count;
            self.core_err_code = err_code;
            *changed |= 1 << LINE_STATUS;
            ev_error = Some(err_count << 16 | err_code);
        }
        // This cycle's records wait a cycle in the ring's input registers.
        let evs = std::mem::replace(
            &mut self.ring_in,
            [
                x.ev_dirty.map(|l| EV_DIRTY << 60 | l),
                x.ev_recall.map(|l| EV_RECALL << 60 | l),
                ev_error.map(|e| EV_ERROR << 60 | e),
                x.ev_pt,
            ],
        );
        let lost = std::mem::replace(&mut self.ring_lost, x.ev_pt_lost);
        // Last cycle's decisions land: records, producer, drop count.
        self.dropped = self
            .dropped
            .wrapping_add(std::mem::take(&mut self.drop_pend));
        for (slot, r) in std::mem::take(&mut self.rec_pend).into_iter().flatten() {
            self.records[slot] = r;
            self.prod = self.prod.wrapping_add(1);
        }
        if lost {
            self.drop_pend += 1;
            *changed |= 1 << LINE_EVENTS;
        }
        let mut prod = self.prod;
        for (n, r) in evs.into_iter().flatten().enumerate() {
            if prod.wrapping_sub(cons) & (2 * RING_RECORDS - 1) < RING_RECORDS {
                let slot = prod % RING_RECORDS;
                self.rec_pend[n] = Some((slot as usize, r));
                prod = prod.wrapping_add(1);
                *changed |= 1 << (RING_FIRST + slot / 8);
            } else {
                self.drop_pend += 1;
            }
            *changed |= 1 << LINE_EVENTS;
        }
    }

    /// Only events (and the error mirror) to handle: no message, snoop, answer,
    /// command or port request in play. The common busy-traffic cycle.
    #[inline]
    fn events_only(&self, x: &AgentIn) -> bool {
        !(x.req | x.rwd | x.birsp)
            & self.inbox.is_none()
            & !self.birsp_r
            & (self.err_pend == [0; 2])
            & !(self.exec_pend | self.ndr_valid | self.drs_valid | self.snp_valid)
            & (self.exec_state == X_IDLE)
            & (self.db_state == 0)
            & (self.inv_pend == 0)
            & !(self.ports.cmd_valid | self.ports.hv_valid)
    }
}

/// One mask bit per byte of a word, widened to the bits of those bytes.
#[inline]
fn expand_mask(m: u64) -> u64 {
    let mut r = 0;
    for b in 0..8 {
        if m >> b & 1 != 0 {
            r |= 0xff << (8 * b);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Device;
    use crate::ports::Inputs;

    /// A bare host: every device output is taken at once; records what came out.
    struct Bench {
        d: Device,
        g: Geometry,
        drs: Vec<(u64, u64, Line)>,
        snoops: Vec<(u64, u64, u64)>,
        ndr: Vec<(u64, u64)>,
        tag: u64,
        cycles: u64,
    }

    impl Bench {
        fn new() -> Self {
            let g = crate::Config::parse(
                "[device]\nwindow_base = 0x100000\nwindow_size = 0x100000\nsf_sets = 16\nsf_ways = 2\nsnoop_slots = 4\nread_queue = 4\nbitmap_levels = 2\nbitmap_fanout = 64\ndirty_on_ownership = false\n",
                "test",
            )
            .unwrap()
            .geometry();
            Bench {
                d: Device::new(&g),
                g,
                drs: vec![],
                snoops: vec![],
                ndr: vec![],
                tag: 0,
                cycles: 0,
            }
        }
        fn reg(&self, k: u64) -> u64 {
            page_base(&self.g) + k
        }
        fn idle() -> Inputs {
            Inputs {
                ndr_ready: true,
                drs_ready: true,
                bisnp_ready: true,
                mem_req_ready: true,
                ..Default::default()
            }
        }
        /// One cycle; returns the outputs.
        fn step(&mut self, i: &Inputs) -> Outputs {
            let mut o = Outputs::default();
            self.d.cycle(i, &mut o);
            self.cycles += 1;
            if o.drs_valid {
                self.drs.push((o.drs_tag, o.drs_meta, o.drs_data));
            }
            if o.ndr_valid {
                self.ndr.push((o.ndr_tag, o.ndr_opcode));
            }
            if o.bisnp_valid {
                self.snoops
                    .push((o.bisnp_opcode, o.bisnp_bitag, o.bisnp_addr));
            }
            o
        }
        fn run(&mut self, n: usize) {
            for _ in 0..n {
                self.step(&Self::idle());
            }
        }
        /// Offer `i` until taken (by `ready`), then idle a few cycles.
        fn offer(&mut self, i: Inputs, ready: fn(&Outputs) -> bool) {
            for _ in 0..100 {
                let o = self.step(&i);
                if ready(&o) {
                    self.run(8);
                    return;
                }
            }
            panic!("not accepted");
        }
        fn read(&mut self, addr: u64, meta: Meta) -> Line {
            self.tag += 1;
            let i = Inputs {
                req_valid: true,
                req_opcode: ReqOp::MemRd as u64,
                req_meta: meta as u64,
                req_tag: self.tag,
                req_addr: addr,
                ..Self::idle()
            };
            self.drs.clear();
            self.offer(i, |o| o.req_ready);
            let &(tag, m, data) = self.drs.last().expect("data");
            assert_eq!((tag, m), (self.tag, meta as u64));
            data
        }
        /// A MemWr of `data` to `addr` with the next tag, to offer.
        fn write_in(&mut self, addr: u64, meta: Meta, data: Line) -> Inputs {
            self.tag += 1;
            Inputs {
                rwd_valid: true,
                rwd_opcode: RwdOp::MemWr as u64,
                rwd_meta: meta as u64,
                rwd_tag: self.tag,
                rwd_addr: addr,
                rwd_data: data,
                ..Self::idle()
            }
        }
        fn write(&mut self, addr: u64, meta: Meta, data: Line) {
            let i = self.write_in(addr, meta, data);
            self.offer(i, |o| o.rwd_ready);
        }
        fn birsp(&mut self, op: RspOp) {
            let i = Inputs {
                birsp_valid: true,
                birsp_opcode: op as u64,
                birsp_bitag: AGENT_BITAG,
                ..Self::idle()
            };
            self.offer(i, |o| o.birsp_ready);
        }
        /// The command line's data: opcode, sequence number, arguments.
        fn command_line(op: u64, seq: u64, a0: u64, a1: u64) -> Line {
            let mut c = [0; DATA_WORDS];
            c[..CMD_WORDS].copy_from_slice(&[op, seq, a0, a1]);
            c
        }
        fn command(&mut self, op: u64, seq: u64, a0: u64, a1: u64) {
            let c = Self::command_line(op, seq, a0, a1);
            self.write(self.reg(LINE_COMMAND), Meta::Invalid, c);
        }
        fn completion(&mut self) -> Line {
            self.read(self.reg(LINE_COMPLETION), Meta::Invalid)
        }
    }

    #[test]
    fn identity_and_parameters_read_back() {
        let mut b = Bench::new();
        let id = b.read(b.reg(LINE_IDENT), Meta::Shared);
        assert_eq!(id[0], MAGIC);
        assert_eq!(id[1], VERSION);
        assert_eq!(id[2], page_base(&b.g));
        let p = b.read(b.reg(LINE_PARAMS), Meta::Invalid);
        assert_eq!(p[0], b.g.window_base_line);
        assert_eq!(p[1], b.g.window_lines);
        assert_eq!(p[6], 2 | 64 << 8);
    }

    #[test]
    fn commands_complete_with_their_status() {
        let mut b = Bench::new();
        b.command(CMD_SET_CONTROL, 1, 0xabc, 0);
        let c = b.completion();
        assert_eq!(&c[..3], &[1, ST_OK, 0]);
        assert_eq!(b.read(b.reg(LINE_CONTROL), Meta::Invalid)[0], 0xabc);
        b.command(0x77, 2, 0, 0);
        assert_eq!(&b.completion()[..2], &[2, ST_UNKNOWN_COMMAND]);
        // Recall: bad snoop opcode, outside the window, in the register page.
        let page = page_base(&b.g);
        for (s, (a0, a1)) in [(9, 0x100), (0, 1), (0, page + 3)].into_iter().enumerate() {
            b.command(CMD_RECALL, 10 + s as u64, a0, a1);
            assert_eq!(&b.completion()[..2], &[10 + s as u64, ST_BAD_ARG]);
        }
        b.command(CMD_HARVEST_READ, 20, 2, 0);
        assert_eq!(&b.completion()[..2], &[20, ST_BAD_ARG]);
        // A write to a read-only line: an error code, no command.
        b.write(b.reg(LINE_IDENT), Meta::Invalid, [1; DATA_WORDS]);
        let c = b.completion();
        assert_eq!((c[0], c[3], c[4]), (20, 1, ST_READ_ONLY));
        let st = b.read(b.reg(LINE_STATUS), Meta::Invalid);
        assert_eq!(st[0], 6);
    }

    #[test]
    fn a_held_line_is_back_invalidated_before_it_changes() {
        let mut b = Bench::new();
        b.read(b.reg(LINE_COMPLETION), Meta::Shared);
        b.snoops.clear();
        b.run(20);
        assert!(b.snoops.is_empty(), "an idle device sends nothing");
        b.command(CMD_NOP, 5, 0, 0);
        let want = (SnpOp::BISnpInv as u64, AGENT_BITAG, b.reg(LINE_COMPLETION));
        assert_eq!(b.snoops.first(), Some(&want));
        b.birsp(RspOp::BIRspI);
        assert_eq!(b.completion()[0], 5);
        // Not held now (read with meta I): a change needs no snoop.
        b.snoops.clear();
        b.command(CMD_NOP, 6, 0, 0);
        assert!(b.snoops.is_empty());
    }

    #[test]
    fn a_snoop_takes_the_lowest_line_marked_as_the_cycle_before_began() {
        let mut b = Bench::new();
        b.read(b.reg(LINE_CONTROL), Meta::Shared);
        b.read(b.reg(LINE_COMPLETION), Meta::Shared);
        b.snoops.clear();
        // SET_CONTROL changes CONTROL and COMPLETION at one edge: both are marked.
        let mut c = [0; DATA_WORDS];
        c[0] = CMD_SET_CONTROL;
        c[1] = 9;
        b.tag += 1;
        let wr = Inputs {
            rwd_valid: true,
            rwd_opcode: RwdOp::MemWr as u64,
            rwd_meta: Meta::Invalid as u64,
            rwd_tag: b.tag,
            rwd_addr: b.reg(LINE_COMMAND),
            rwd_data: c,
            ..Bench::idle()
        };
        while !b.step(&wr).rwd_ready {}
        let (mut marked, mut snooped) = (None, None);
        for k in 0..40 {
            let o = b.step(&Bench::idle());
            if marked.is_none() && b.d.regs().inv_pend != 0 {
                assert_eq!(
                    b.d.regs().inv_pend,
                    1 << LINE_CONTROL | 1 << LINE_COMPLETION
                );
                marked = Some(k);
            }
            if snooped.is_none() && o.bisnp_valid {
                snooped = Some(k);
            }
        }
        // Marked at the edge of cycle m; the pick is registered at m + 1's edge,
        // the snoop register loaded at m + 2's, so the snoop shows in cycle m + 3.
        assert_eq!(snooped.unwrap() - marked.unwrap(), 3);
        let base = page_base(&b.g);
        let line = |k| (SnpOp::BISnpInv as u64, AGENT_BITAG, base + k);
        assert_eq!(
            b.snoops,
            vec![line(LINE_CONTROL)],
            "the lower line first, one at a time"
        );
        b.birsp(RspOp::BIRspI);
        assert_eq!(b.snoops, vec![line(LINE_CONTROL), line(LINE_COMPLETION)]);
    }

    #[test]
    fn the_inbox_holds_one_message_while_its_answer_register_is_full() {
        let mut b = Bench::new();
        let addr = b.reg(LINE_IDENT);
        // The host takes no DRS: the first read's answer stays in the DRS register.
        let read = |tag: u64, drs_ready: bool| Inputs {
            req_valid: true,
            req_opcode: ReqOp::MemRd as u64,
            req_meta: Meta::Invalid as u64,
            req_tag: tag,
            req_addr: addr,
            drs_ready,
            ..Bench::idle()
        };
        assert!(b.step(&read(1, false)).req_ready, "an empty inbox takes it");
        assert!(
            !b.step(&read(2, false)).req_ready,
            "the first drains into the DRS register, but the inbox was full at the cycle's start"
        );
        assert!(
            b.step(&read(2, false)).req_ready,
            "the emptied inbox takes it"
        );
        for _ in 0..5 {
            let o = b.step(&read(3, false));
            assert!(!o.req_ready, "the inbox holds the second while DRS is full");
            assert_eq!((o.drs_valid, o.drs_tag), (true, 1));
        }
        // The host drains DRS: the second is handled and the third taken.
        let mut tags = vec![];
        let mut taken = false;
        for _ in 0..10 {
            let i = if taken { Bench::idle() } else { read(3, true) };
            let o = b.step(&i);
            taken |= o.req_ready;
            if o.drs_valid && tags.last() != Some(&o.drs_tag) {
                tags.push(o.drs_tag);
            }
        }
        assert!(taken);
        assert_eq!(tags, [1, 2, 3], "answers in order, one message at a time");
    }

    #[test]
    fn a_birsp_in_its_snoops_own_cycle_is_an_error() {
        let mut b = Bench::new();
        b.read(b.reg(LINE_COMPLETION), Meta::Shared);
        // A NOP changes COMPLETION, which the host holds: the agent snoops it, and
        // the host is not ready for the snoop yet.
        let wait = Inputs {
            bisnp_ready: false,
            ..Bench::idle()
        };
        let mut c = [0; DATA_WORDS];
        c[0] = CMD_NOP;
        c[1] = 5;
        let w = Inputs {
            rwd_valid: true,
            rwd_opcode: RwdOp::MemWr as u64,
            rwd_meta: Meta::Invalid as u64,
            rwd_tag: 1,
            rwd_addr: b.reg(LINE_COMMAND),
            rwd_data: c,
            ..wait
        };
        while !b.step(&w).rwd_ready {}
        let shown = (0..20).filter(|_| b.step(&wait).bisnp_valid).count();
        assert!(shown > 0, "the snoop waits for the host");
        // The host takes it and answers in the same cycle: the answer cannot be
        // for it (BAD_BIRSP), and the snoop stays out for the real answer.
        let both = Inputs {
            birsp_valid: true,
            birsp_opcode: RspOp::BIRspI as u64,
            birsp_bitag: AGENT_BITAG,
            ..Bench::idle()
        };
        let o = b.step(&both);
        assert!(o.bisnp_valid && o.birsp_ready);
        b.run(4);
        let c = b.completion();
        assert_eq!((c[0], c[3], c[4]), (5, 1, ST_BAD_BIRSP));
        // The real answer is taken without an error.
        b.birsp(RspOp::BIRspI);
        assert_eq!(b.completion()[3], 1);
    }

    #[test]
    fn the_doorbell_pulls_the_command_line() {
        let mut b = Bench::new();
        b.read(b.reg(LINE_COMMAND), Meta::Any);
        b.snoops.clear();
        b.write(b.reg(LINE_DOORBELL), Meta::Invalid, [0; DATA_WORDS]);
        let want = (SnpOp::BISnpData as u64, AGENT_BITAG, b.reg(LINE_COMMAND));
        assert_eq!(b.snoops.first(), Some(&want));
        // The host writes the line back keeping S (no command by itself), then answers.
        let mut c = [0; DATA_WORDS];
        c[0] = CMD_SET_CONTROL;
        c[1] = 9;
        c[2] = 5;
        b.write(b.reg(LINE_COMMAND), Meta::Shared, c);
        assert_eq!(b.completion()[0], 0, "not before the snoop's answer");
        b.birsp(RspOp::BIRspS);
        b.run(4);
        assert_eq!(&b.completion()[..2], &[9, ST_OK]);
        assert_eq!(b.read(b.reg(LINE_CONTROL), Meta::Invalid)[0], 5);
        // A stray answer is an error, not a hang.
        b.birsp(RspOp::BIRspI);
        assert_eq!(b.completion()[4], ST_BAD_BIRSP);
    }

    #[test]
    fn a_command_while_busy_is_refused() {
        let mut b = Bench::new();
        b.read(b.reg(LINE_COMMAND), Meta::Any);
        b.write(b.reg(LINE_DOORBELL), Meta::Invalid, [0; DATA_WORDS]);
        // The doorbell waits for its BIRsp: a second ring is refused.
        b.write(b.reg(LINE_DOORBELL), Meta::Invalid, [0; DATA_WORDS]);
        let c = b.completion();
        assert_eq!((c[3], c[4]), (1, ST_BUSY));
        b.birsp(RspOp::BIRspI);
        b.run(4);
        assert_eq!(b.read(b.reg(LINE_STATUS), Meta::Invalid)[..2], [1, 1]);
    }

    #[test]
    fn events_are_appended_counted_when_dropped_and_consumed() {
        let mut b = Bench::new();
        let base = b.g.window_base_line;
        for k in 0..RING_RECORDS + 3 {
            b.write(base + 100 + k, Meta::Invalid, [0; DATA_WORDS]);
        }
        let ev = b.read(b.reg(LINE_EVENTS), Meta::Invalid);
        assert_eq!(&ev[..5], &[RING_RECORDS, 0, 3, RING_FIRST, RING_RECORDS]);
        let r = b.read(b.reg(RING_FIRST + 1), Meta::Invalid);
        assert_eq!(r[0], EV_DIRTY << 60 | 108);
        // The consumer frees the ring.
        b.tag += 1;
        b.offer(consumer_write(&b.g, b.tag, 10), |o| o.rwd_ready);
        b.write(base + 500, Meta::Invalid, [0; DATA_WORDS]);
        let ev = b.read(b.reg(LINE_EVENTS), Meta::Invalid);
        assert_eq!(&ev[..3], &[RING_RECORDS + 1, 10, 3]);
        let r = b.read(b.reg(RING_FIRST), Meta::Invalid);
        assert_eq!(r[0], EV_DIRTY << 60 | 500, "slot 0 reused");
        assert_eq!(b.completion()[3], 0, "no register error");
    }

    /// The driver's consumer-index write: word 1 of the events line, a partial write.
    fn consumer_write(g: &Geometry, tag: u64, cons: u64) -> Inputs {
        let mut d = [0; DATA_WORDS];
        d[1] = cons;
        Inputs {
            rwd_valid: true,
            rwd_opcode: RwdOp::MemWrPtl as u64,
            rwd_meta: Meta::Invalid as u64,
            rwd_tag: tag,
            rwd_addr: page_base(g) + LINE_EVENTS,
            rwd_mask: 0xff00,
            rwd_data: d,
            ..Bench::idle()
        }
    }

    /// A consumer write frees room a cycle after it lands: the ring's room goes by
    /// the consumer index at the start of the previous cycle (registers.md).
    #[test]
    fn a_consumer_write_frees_room_a_cycle_after_it_lands() {
        let g = Bench::new().g;
        let mut r = Regs::new(&g);
        let core = Outputs::default();
        let idle = Bench::idle();
        let ev = |line: Option<u64>| AgentIn {
            req: false,
            rwd: false,
            birsp: false,
            core: &core,
            ev_dirty: line,
            ev_recall: None,
            err: (0, 0),
            ev_pt: None,
            ev_pt_lost: false,
            pt_refused: false,
        };
        // Consumer 0: 32 records appended, then two dropped; the ring decides each a
        // cycle after it arrives, and the last decisions land at the edge after.
        for k in 0..RING_RECORDS + 2 {
            r.cycle(&idle, &ev(Some(k)));
        }
        r.cycle(&idle, &ev(None));
        r.cycle(&idle, &ev(None));
        assert_eq!((r.prod, r.dropped), (RING_RECORDS, 2));
        // Consumer 10, offered until the inbox takes it, then run until it lands; an
        // event arrives every cycle from then on, and each is dropped.
        let w = consumer_write(&g, 1, 10);
        let offer = AgentIn {
            rwd: true,
            ..ev(None)
        };
        while !r.cycle(&w, &offer).1 {}
        let mut late = 0;
        for _ in 0..10 {
            if r.cons == 10 {
                break;
            }
            r.cycle(&idle, &ev(Some(99)));
            late += 1;
        }
        assert_eq!(r.cons, 10);
        assert!(late > 0);
        // The cycle after it landed the ring is still full (the event of the cycle it
        // landed in is dropped); the next it has room.
        r.cycle(&idle, &ev(Some(101)));
        assert_eq!((r.prod, r.drop_pend), (RING_RECORDS, 1));
        r.cycle(&idle, &ev(None));
        r.cycle(&idle, &ev(None));
        assert_eq!((r.prod, r.dropped), (RING_RECORDS + 1, 2 + late));
        assert_eq!(r.records[0], EV_DIRTY << 60 | 101);
    }

    #[test]
    fn harvest_and_recall_commands_drive_the_core() {
        let mut b = Bench::new();
        let line = b.g.window_base_line + 70;
        b.write(line, Meta::Invalid, [3; DATA_WORDS]);
        b.command(CMD_HARVEST_SWAP, 1, 0, 0);
        assert_eq!(&b.completion()[..2], &[1, ST_OK]);
        b.command(CMD_HARVEST_READ, 2, 1, 0);
        let c = b.completion();
        assert_eq!(&c[..3], &[2, ST_OK, 1 << 1], "summary bit of word 1");
        b.command(CMD_HARVEST_READ, 3, 0, 1);
        assert_eq!(b.completion()[2], 1 << 6, "line 70 = word 1 bit 6");
        b.command(CMD_HARVEST_READ, 4, 0, 1);
        assert_eq!(b.completion()[2], 0, "read-and-clear");
        b.snoops.clear();
        b.command(CMD_RECALL, 5, SnpOp::BISnpInv as u64, line);
        assert_eq!(&b.completion()[..2], &[5, ST_OK]);
        assert!(b
            .snoops
            .iter()
            .any(|&(op, tag, a)| op == SnpOp::BISnpInv as u64 && tag < AGENT_BITAG && a == line));
    }

    /// The agent offers a recall to the core until the core takes it (once),
    /// completes it at the edge after, and holds the external command port off
    /// meanwhile.
    #[test]
    fn a_recall_is_taken_once_and_completes_at_the_next_edge() {
        let mut b = Bench::new();
        let line = b.g.window_base_line + 9;
        // Written without `command`'s idle cycles after it, to watch the offer.
        let c = Bench::command_line(CMD_RECALL, 7, SnpOp::BISnpData as u64, line);
        let i = b.write_in(b.reg(LINE_COMMAND), Meta::Invalid, c);
        while !b.step(&i).rwd_ready {}
        b.snoops.clear();
        // The external port offers a recall of another line from the agent's first
        // offer until taken.
        let other = line + 1;
        let ext = Inputs {
            cmd_valid: true,
            cmd_opcode: SnpOp::BISnpInv as u64,
            cmd_addr: other,
            ..Bench::idle()
        };
        let (mut offered, mut ext_taken, mut done) = (vec![], None, None);
        for t in 0..40 {
            offered.push(b.d.regs().core_ports().cmd_valid);
            let i = if offered.contains(&true) && ext_taken.is_none() {
                &ext
            } else {
                &Bench::idle()
            };
            if b.step(i).cmd_ready && ext_taken.is_none() {
                ext_taken = Some(t);
            }
            if b.d.regs().comp_seq == 7 && done.is_none() {
                done = Some(t);
            }
        }
        let first = offered.iter().position(|&v| v).expect("offered");
        let last = offered.iter().rposition(|&v| v).expect("offered");
        assert!(
            offered[first..=last].iter().all(|&v| v),
            "offered until taken"
        );
        assert_eq!(done, Some(last + 1), "completes at the edge after the take");
        let n = |l| b.snoops.iter().filter(|s| s.2 == l).count();
        assert_eq!(n(line), 1, "one snoop: the core took the recall once");
        assert_eq!(n(other), 1, "the external recall went too");
        assert!(ext_taken.is_some_and(|e| e > last), "{ext_taken:?} {last}");
    }
}
