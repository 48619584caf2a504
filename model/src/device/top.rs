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

use super::core::{Core, Sel};
use super::dirty_bitmap::DirtyBitmap;
use super::regs::{self, AgentIn, Regs, AGENT_BITAG};
use super::snoop_filter::SnoopFilter;
use crate::config::Geometry;
use crate::ports::{Inputs, Outputs};

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
        }
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
        let req = i.req_valid & regs::in_page(&self.g, i.req_addr);
        let rwd = i.rwd_valid & regs::in_page(&self.g, i.rwd_addr);
        let birsp = i.birsp_valid & (i.birsp_bitag == AGENT_BITAG);
        let p = self.regs.core_ports();
        // The core's inputs differ from the top's only while the agent drives its
        // command or harvest port or a BIRsp is the agent's: copy them only then.
        let sel = if p.cmd_valid | p.hv_valid | birsp {
            let ci = &mut self.ci;
            ci.clone_from(i);
            ci.birsp_valid &= !birsp;
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
            self.core.cycle(ci, o, [rwd, req])
        } else {
            self.core.cycle(i, o, [rwd, req])
        };
        // What the agent's registers show where the core's are empty, taken before
        // the agent's edge (they are registered outputs).
        let shown = self.regs.shown(o);
        let (req_ready, rwd_ready) = self.regs.cycle(
            i,
            &AgentIn {
                req,
                rwd,
                birsp,
                core: o,
                ev_dirty: self.ev_dirty,
                ev_recall: self.ev_recall,
                err: self.err,
            },
        );
        self.err = (o.err_count, o.err_code);
        self.ev_dirty = self.core.ev_dirty;
        self.ev_recall = self.core.ev_recall;
        shown.apply(o);
        if req {
            o.req_ready = req_ready;
        }
        if rwd {
            o.rwd_ready = rwd_ready;
        }
        o.cmd_ready &= !p.cmd_valid;
        o.hv_ready &= !p.hv_valid;
        sel
    }
}
