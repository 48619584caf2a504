//! Device memory: the DRAM behind the device-memory port, with random acceptance
//! and in-order read responses after a random latency, all from the run's seed.

use crate::rng::Rng;
use linewatch_model::config::CosimConfig;
use linewatch_model::protocol::{Line, DATA_WORDS};
use linewatch_model::{Inputs, Outputs};
use std::collections::{HashMap, VecDeque};

pub struct DeviceMemory {
    rng: Rng,
    /// Data driven while no response is offered (a payload is defined only while
    /// its valid is high), so a device that keeps it shows in lockstep. Its own
    /// stream: the traffic does not depend on it.
    idle: Rng,
    ready_pct: u64,
    lat: (u64, u64),
    store: HashMap<u64, Line>,
    /// Reads in flight: (cycle the data may leave, line address, data).
    reads: VecDeque<(u64, u64, Line)>,
    last_due: u64,
    /// Data handed to the device (line address, data), oldest first, for the host to
    /// check MemData against.
    pub returned: VecDeque<(u64, Line)>,
    pub reads_served: u64,
    pub writes_served: u64,
}

impl DeviceMemory {
    pub fn new(rng: Rng, c: &CosimConfig) -> Self {
        DeviceMemory {
            idle: Rng::new(rng.clone().next_u64() ^ 0x1d1e),
            rng,
            ready_pct: c.mem_ready,
            lat: (c.mem_latency_min, c.mem_latency_max),
            store: HashMap::new(),
            reads: VecDeque::new(),
            last_due: 0,
            returned: VecDeque::new(),
            reads_served: 0,
            writes_served: 0,
        }
    }

    pub fn read_line(&self, addr: u64) -> Line {
        self.store.get(&addr).copied().unwrap_or([0; DATA_WORDS])
    }

    /// Set a line's contents before the run (the co-simulation host's page tables).
    pub fn preload(&mut self, addr: u64, data: Line) {
        self.store.insert(addr, data);
    }

    /// The oldest data returned for line `addr`, removed: MemData that may leave the
    /// device out of order (the page-table trigger holds some lines) is matched by
    /// address.
    pub fn take_returned(&mut self, addr: u64) -> Option<Line> {
        let k = self.returned.iter().position(|&(a, _)| a == addr)?;
        self.returned.remove(k).map(|(_, d)| d)
    }

    pub fn drive(&mut self, now: u64, i: &mut Inputs) {
        i.mem_req_ready = self.rng.pct(self.ready_pct);
        match self.reads.front() {
            Some(&(due, _, data)) if due <= now => {
                i.mem_rsp_valid = true;
                i.mem_rsp_data = data;
            }
            _ => {
                i.mem_rsp_valid = false;
                let x = self.idle.next_u64();
                for (k, w) in i.mem_rsp_data.iter_mut().enumerate() {
                    *w = x.rotate_left(8 * k as u32) ^ k as u64;
                }
            }
        }
    }

    pub fn observe(&mut self, now: u64, i: &Inputs, o: &Outputs) {
        if o.mem_req_valid && i.mem_req_ready {
            if o.mem_req_write {
                let line = self.store.entry(o.mem_req_addr).or_insert([0; DATA_WORDS]);
                for (w, word) in line.iter_mut().enumerate() {
                    let m8 = (o.mem_req_mask >> (w * 8)) & 0xff;
                    let mut m = 0u64;
                    for b in 0..8 {
                        if m8 >> b & 1 != 0 {
                            m |= 0xff << (b * 8);
                        }
                    }
                    *word = (*word & !m) | (o.mem_req_data[w] & m);
                }
                self.writes_served += 1;
            } else {
                let due = (now + self.rng.range(self.lat.0, self.lat.1)).max(self.last_due);
                self.last_due = due;
                self.reads
                    .push_back((due, o.mem_req_addr, self.read_line(o.mem_req_addr)));
            }
        }
        if i.mem_rsp_valid && o.mem_rsp_ready {
            let (_, addr, data) = self.reads.pop_front().expect("drove a response");
            self.returned.push_back((addr, data));
            self.reads_served += 1;
        }
    }

    pub fn idle(&self) -> bool {
        self.reads.is_empty()
    }
}
