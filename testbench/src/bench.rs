//! Throughput of the model alone and the Verilated RTL alone on the same busy traffic:
//! the host agent records one input stream against the model, then each side replays
//! it with nothing else in the loop (the RTL through the batched run-N-cycles call).

use crate::host::HostAgent;
use crate::lockstep::{ModelSide, Side};
use crate::verilator::VerilatedDevice;
use linewatch_model::config::CosimConfig;
use linewatch_model::ports::{INPUT_WORDS, OUTPUT_WORDS};
use linewatch_model::{Device, Geometry, Inputs, Outputs};
use std::time::Instant;

/// Host settings that keep every channel as busy as the protocol allows.
pub fn busy(c: &CosimConfig) -> CosimConfig {
    CosimConfig {
        request_rate: 100,
        host_ready: 100,
        mem_ready: 100,
        mem_latency_min: 2,
        mem_latency_max: 8,
        snoop_delay_max: 2,
        violation_rate: 0,
        // The core's line rate: register traffic is the agent's, one at a time.
        register_rate: 0,
        ..c.clone()
    }
}

/// A recorded input stream, in both forms the two sides take.
pub struct Traffic {
    pub inputs: Vec<Inputs>,
    pub packed: Vec<u64>,
    pub requests: u64,
}

pub fn record(g: &Geometry, c: &CosimConfig, cycles: usize, seed: u64) -> Traffic {
    let mut host = HostAgent::new(g, c, seed);
    let mut dev = ModelSide(Device::new(g));
    let mut t = Traffic {
        inputs: Vec::with_capacity(cycles),
        packed: vec![0; cycles * INPUT_WORDS],
        requests: 0,
    };
    let mut i = Inputs::default();
    let mut o = Outputs::default();
    for now in 0..cycles {
        host.drive(now as u64, &mut i);
        dev.cycle(&i, &mut o);
        host.observe(now as u64, &i, &o);
        t.requests += (i.req_valid && o.req_ready) as u64 + (i.rwd_valid && o.rwd_ready) as u64;
        i.pack(&mut t.packed[now * INPUT_WORDS..(now + 1) * INPUT_WORDS]);
        t.inputs.push(i.clone());
    }
    t
}

#[derive(Clone, Debug)]
pub struct BenchResult {
    pub cycles: u64,
    pub requests: u64,
    pub model_cycles_per_s: f64,
    pub rtl_cycles_per_s: f64,
}

impl BenchResult {
    pub fn speedup(&self) -> f64 {
        self.model_cycles_per_s / self.rtl_cycles_per_s
    }
    pub fn requests_per_cycle(&self) -> f64 {
        self.requests as f64 / self.cycles as f64
    }
}

const CHUNK: usize = 4096;

/// Replay `t` on the model `reps` times; returns cycles/s. The outputs feed a checksum
/// so the work cannot be optimised away.
pub fn time_model(g: &Geometry, t: &Traffic, reps: usize) -> (f64, u64) {
    let mut sum = 0u64;
    let start = Instant::now();
    for _ in 0..reps {
        let mut d = Device::new(g);
        let mut o = Outputs::default();
        for i in &t.inputs {
            d.cycle(i, &mut o);
            sum = sum.wrapping_add(o.req_ready as u64 + o.ndr_tag + o.drs_data[0]);
        }
    }
    let n = (t.inputs.len() * reps) as f64;
    (n / start.elapsed().as_secs_f64(), sum)
}

/// Replay `t` on a fresh Verilated device `reps` times in batches; returns cycles/s.
pub fn time_rtl(dev: &mut dyn FnMut() -> VerilatedDevice, t: &Traffic, reps: usize) -> f64 {
    let cycles = t.inputs.len();
    let mut out = vec![0u64; CHUNK * OUTPUT_WORDS];
    let mut elapsed = 0.0;
    for _ in 0..reps {
        let mut d = dev();
        let start = Instant::now();
        let mut at = 0;
        while at < cycles {
            let n = CHUNK.min(cycles - at);
            d.run(
                n,
                &t.packed[at * INPUT_WORDS..(at + n) * INPUT_WORDS],
                &mut out[..n * OUTPUT_WORDS],
            );
            at += n;
        }
        elapsed += start.elapsed().as_secs_f64();
    }
    (cycles * reps) as f64 / elapsed
}

/// Check, untimed, that the RTL's outputs on `t` equal the model's, cycle for cycle.
pub fn agree(g: &Geometry, d: &mut VerilatedDevice, t: &Traffic) -> Result<(), String> {
    let mut m = Device::new(g);
    let mut o = Outputs::default();
    let mut packed = vec![0u64; OUTPUT_WORDS];
    let mut out = vec![0u64; CHUNK * OUTPUT_WORDS];
    let mut at = 0;
    while at < t.inputs.len() {
        let n = CHUNK.min(t.inputs.len() - at);
        d.run(
            n,
            &t.packed[at * INPUT_WORDS..(at + n) * INPUT_WORDS],
            &mut out[..n * OUTPUT_WORDS],
        );
        for k in 0..n {
            m.cycle(&t.inputs[at + k], &mut o);
            o.pack(&mut packed);
            if packed[..] != out[k * OUTPUT_WORDS..(k + 1) * OUTPUT_WORDS] {
                return Err(format!("replayed outputs differ at cycle {}", at + k));
            }
        }
        at += n;
    }
    Ok(())
}
