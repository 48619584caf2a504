//! Top: the core and the register agent side by side behind one set of ports.
//!
//! Per cycle: routes a request or request-with-data message to the register agent
//! when its line is in the register page (the window's last 4 KiB) and to the core
//! otherwise, and a BIRsp to the agent when it names the agent's BITag; the agent's
//! registered requests take the core's command and harvest ports ahead of the
//! external ones; the core's events reach the agent through a register (a cycle
//! late). The NDR, DRS and BISnp channels show the core's register when it is full
//! and the agent's otherwise; the agent's register is taken only when the core's is
//! empty.
//!
//! With the page-table trigger (`[device.pt]`): the core's DRS register is the
//! trigger's observation port (the core's DRS ready is the trigger's `obs_ready`)
//! and the DRS channel shows the trigger's output register, else the agent's; the
//! agent's registry and residency requests drive the trigger's ports from registers;
//! the fetch port is the top's. The trigger's events wait in three registers
//! (response, timeout, table full), of which the first full one goes into the ring
//! each cycle; an event that finds its register still full is counted as dropped,
//! through a register (a cycle late, like the core's events: no path from the
//! trigger's response match into the agent's counters).

use super::core::{Core, Sel};
use super::dirty_bitmap::DirtyBitmap;
use super::pt_trigger::{PtIn, PtTrigger};
use super::regs::{self, AgentIn, Regs, AGENT_BITAG};
use super::snoop_filter::SnoopFilter;
use crate::config::Geometry;
use crate::ports::{Inputs, Outputs};
use crate::protocol::{RSP_OPCODE_BITS, TAG_BITS};
use crate::regmap::{EV_PT_DONE, EV_PT_FULL, EV_PT_LATE, EV_PT_TIMEOUT};

/// The cycle-accurate model of the whole device (`top` in the generated Verilog).
pub struct Device {
    g: Geometry,
    core: Core,
    regs: Regs,
    ci: Inputs,
    /// The core's events of the previous cycle: the agent sees them a cycle late, so
    /// no combinational path runs from the core's accept decision into the ring.
    ev_dirty: Option<u64>,
    ev_recall: Option<u64>,
    err: (u64, u64),
    pt: Option<Box<PtTrigger>>,
    /// Trigger event records waiting for the ring: response, timeout, table full.
    pt_ev: [Option<u64>; 3],
    /// A trigger event found its register full last cycle: the agent counts it now.
    pt_lost: bool,
    /// Cycles in which a trigger event was lost (for reports and tests).
    pt_lost_cycles: u64,
}

/// The top's routing of one cycle: the agent's messages and its port requests.
struct Demux {
    req: bool,
    rwd: bool,
    birsp: bool,
    p: regs::CorePorts,
}

/// What the trigger hands the agent in a cycle (nothing without it).
#[derive(Default)]
struct PtToAgent {
    /// The event register drained into the ring this cycle.
    ev: Option<u64>,
    /// An event lost last cycle to a full event register (registered).
    lost: bool,
    /// The trigger refuses this cycle's registry set.
    refused: bool,
}

/// The DRS fields that ride through the trigger beside the line: opcode, meta, tag.
#[inline]
fn side_pack(op: u64, meta: u64, tag: u64) -> u64 {
    op | meta << RSP_OPCODE_BITS | tag << (RSP_OPCODE_BITS + crate::protocol::META_BITS)
}

#[inline]
fn side_unpack(s: u64) -> (u64, u64, u64) {
    let m = crate::protocol::META_BITS;
    (
        s & ((1 << RSP_OPCODE_BITS) - 1),
        s >> RSP_OPCODE_BITS & ((1 << m) - 1),
        s >> (RSP_OPCODE_BITS + m) & ((1 << TAG_BITS) - 1),
    )
}

impl Device {
    pub fn new(g: &Geometry) -> Self {
        Device {
            g: *g,
            core: Core::new(g),
            regs: Regs::new(g),
            ci: Inputs::default(),
            ev_dirty: None,
            ev_recall: None,
            err: (0, 0),
            pt: g.pt.map(|p| {
                Box::new(PtTrigger::new(p, g.completion_timeout).expect("checked at load"))
            }),
            pt_ev: [None; 3],
            pt_lost: false,
            pt_lost_cycles: 0,
        }
    }

    /// The page-table trigger, when built.
    pub fn pt(&self) -> Option<&PtTrigger> {
        self.pt.as_deref()
    }

    /// Cycles in which a trigger event found its event register still full (each
    /// counted once in the ring's dropped count).
    pub fn pt_lost_cycles(&self) -> u64 {
        self.pt_lost_cycles
    }

    pub fn geometry(&self) -> &Geometry {
        &self.g
    }
    pub fn snoop_filter(&self) -> &SnoopFilter {
        self.core.snoop_filter()
    }
    pub fn bitmap(&self) -> &DirtyBitmap {
        self.core.bitmap()
    }
    pub fn regs(&self) -> &Regs {
        &self.regs
    }

    /// One clock cycle: drive `o` from the current state and `i`, then take the edge.
    #[inline(always)]
    pub fn cycle(&mut self, i: &Inputs, o: &mut Outputs) -> Sel {
        if !self.g.registers {
            return self.core.cycle(i, o, [false; 2]);
        }
        if self.pt.is_some() {
            return self.cycle_pt(i, o);
        }
        let d = self.demux(i);
        let sel = self.core_cycle(i, o, &d, i.drs_ready);
        self.agent_cycle(i, o, &d, PtToAgent::default());
        sel
    }

    /// Which of this cycle's messages are the agent's, and its port requests.
    #[inline(always)]
    fn demux(&self, i: &Inputs) -> Demux {
        Demux {
            req: i.req_valid & regs::in_page(&self.g, i.req_addr),
            rwd: i.rwd_valid & regs::in_page(&self.g, i.rwd_addr),
            birsp: i.birsp_valid & (i.birsp_bitag == AGENT_BITAG),
            p: self.regs.core_ports(),
        }
    }

    /// The core's cycle, with `drs_ready` as its DRS register's ready.
    #[inline(always)]
    fn core_cycle(&mut self, i: &Inputs, o: &mut Outputs, d: &Demux, drs_ready: bool) -> Sel {
        let p = &d.p;
        // The core's inputs differ from the top's only while the agent drives its
        // command or harvest port or a BIRsp is the agent's: copy them only then.
        if p.cmd_valid | p.hv_valid | d.birsp {
            let ci = &mut self.ci;
            ci.clone_from(i);
            ci.birsp_valid &= !d.birsp;
            if p.cmd_valid {
                ci.cmd_valid = true;
                ci.cmd_opcode = p.cmd_opcode;
                ci.cmd_addr = p.cmd_addr;
            }
            if p.hv_valid {
                ci.hv_valid = true;
                ci.hv_op = p.hv_op;
                ci.hv_level = p.hv_level;
                ci.hv_index = p.hv_index;
            }
            self.core.cycle_drs(ci, o, [d.rwd, d.req], drs_ready)
        } else {
            self.core.cycle_drs(i, o, [d.rwd, d.req], drs_ready)
        }
    }

    /// The agent's cycle after the core's (and the trigger's): it shows its answer
    /// registers where `o`'s are empty and answers the messages routed to it.
    #[inline(always)]
    fn agent_cycle(&mut self, i: &Inputs, o: &mut Outputs, d: &Demux, pt: PtToAgent) {
        // What the agent's registers show where the core's are empty, taken before
        // the agent's edge (they are registered outputs).
        let shown = self.regs.shown(o);
        let (req_ready, rwd_ready) = self.regs.cycle(
            i,
            &AgentIn {
                req: d.req,
                rwd: d.rwd,
                birsp: d.birsp,
                core: o,
                ev_dirty: self.ev_dirty,
                ev_recall: self.ev_recall,
                err: self.err,
                ev_pt: pt.ev,
                ev_pt_lost: pt.lost,
                pt_refused: pt.refused,
            },
        );
        self.err = (o.err_count, o.err_code);
        self.ev_dirty = self.core.ev_dirty;
        self.ev_recall = self.core.ev_recall;
        shown.apply(o);
        if d.req {
            o.req_ready = req_ready;
        }
        if d.rwd {
            o.rwd_ready = rwd_ready;
        }
        o.cmd_ready &= !d.p.cmd_valid;
        o.hv_ready &= !d.p.hv_valid;
    }

    /// [`Self::cycle`] with the page-table trigger between the core's DRS register
    /// and the link.
    fn cycle_pt(&mut self, i: &Inputs, o: &mut Outputs) -> Sel {
        let d = self.demux(i);
        let p = &d.p;
        let pt = self.pt.as_mut().expect("built");
        let (dv, daddr, dmeta, dtag, ddata) = self.core.drs_peek();
        let po = pt.step(&PtIn {
            reg_valid: p.pt_reg_valid,
            reg_set: p.pt_reg_set,
            reg_frame: p.pt_reg_frame,
            obs_valid: dv,
            obs_addr: daddr,
            obs_side: side_pack(crate::protocol::DRS_MEMDATA as u64, dmeta, dtag),
            obs_data: *ddata,
            out_ready: i.drs_ready,
            fetch_ready: i.fetch_ready,
            rsp_valid: i.fetch_rsp_valid,
            rsp_frame: i.fetch_rsp_frame,
            res_valid: p.pt_res_valid,
            res_set: p.pt_res_set,
            res_frame: p.pt_res_frame,
        });
        let sel = self.core_cycle(i, o, &d, po.obs_ready);
        // The DRS channel is the trigger's output register (the core's goes through it).
        o.drs_valid = po.out_valid;
        let (op, meta, tag) = side_unpack(po.out_side);
        o.drs_opcode = op;
        o.drs_meta = meta;
        o.drs_tag = tag;
        o.drs_data = po.out_data;
        o.fetch_valid = po.fetch_valid;
        o.fetch_frame = po.fetch_frame;
        o.fetch_rsp_ready = po.rsp_ready;
        // Event registers: the first full one goes to the ring now; this cycle's
        // events load at the edge into registers that are empty or draining.
        let drain = self.pt_ev.iter().position(Option::is_some);
        let ev = drain.and_then(|k| self.pt_ev[k]);
        let new = [
            if po.ev_done {
                Some(EV_PT_DONE << 60 | i.fetch_rsp_frame)
            } else if po.ev_late {
                Some(EV_PT_LATE << 60 | i.fetch_rsp_frame)
            } else {
                None
            },
            po.ev_timeout
                .then_some(EV_PT_TIMEOUT << 60 | po.ev_timeout_frame),
            po.ev_full.then_some(EV_PT_FULL << 60 | po.ev_full_frame),
        ];
        let mut lost = false;
        for (k, n) in new.into_iter().enumerate() {
            if drain == Some(k) {
                self.pt_ev[k] = None;
            }
            if let Some(r) = n {
                if self.pt_ev[k].is_some() {
                    lost = true;
                } else {
                    self.pt_ev[k] = Some(r);
                }
            }
        }
        let to_agent = PtToAgent {
            ev,
            lost: self.pt_lost,
            refused: po.reg_refused,
        };
        self.agent_cycle(i, o, &d, to_agent);
        self.pt_lost = lost;
        self.pt_lost_cycles += lost as u64;
        sel
    }
}
