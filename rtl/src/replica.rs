//! Flip-flop replicas: a flip-flop that synthesis keeps beside its identical twins.
//!
//! Per cycle: `q` takes `d` at the clock edge, like rust-hdl's `DFF`. Yosys merges
//! flip-flops with the same input (`opt_merge`), which undoes a copy made to split a
//! wide net; the `keep` attribute on this one's process stops that, so each copy can
//! drive its own group of loads and the placer puts it beside them. The copies cost
//! a flip-flop each and change no behaviour.

use rust_hdl::prelude::*;

#[derive(Clone, Debug, LogicBlock)]
pub struct KeepDFF<T: Synth> {
    pub d: Signal<In, T>,
    pub q: Signal<Out, T>,
    pub clock: Signal<In, Clock>,
    /// Without it the copy is a plain flip-flop, which synthesis may merge or, when
    /// nothing reads it, remove (a copy for a way the configuration lacks).
    _keep: bool,
}

impl<T: Synth> Default for KeepDFF<T> {
    fn default() -> Self {
        Self::new(true)
    }
}

impl<T: Synth> KeepDFF<T> {
    pub fn new(keep: bool) -> Self {
        Self {
            d: Signal::default(),
            q: Signal::default(),
            clock: Signal::default(),
            _keep: keep,
        }
    }
}

impl<T: Synth> Logic for KeepDFF<T> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.q.next = self.d.val()
        }
    }
    fn connect(&mut self) {
        self.q.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "initial begin\n   q = {:x};\nend\n\n{}always @(posedge clock) begin\n   q <= d;\nend\n",
            T::default().verilog(),
            if self._keep { "(* keep *)\n" } else { "" }
        ))
    }
    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "keep_dff".into(),
            clock: "clock".into(),
            inputs: vec!["d".into()],
            outputs: vec!["q".into()],
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two copies of one flip-flop (`$f`: `KeepDFF` or rust-hdl's `DFF`), each
    /// loading its own 8-bit register.
    macro_rules! pair {
        ($name:ident, $f:ty) => {
            #[derive(LogicBlock, Default)]
            struct $name {
                clock: Signal<In, Clock>,
                a: Signal<In, bool>,
                data: Signal<In, Bits<8>>,
                q0: Signal<Out, Bits<8>>,
                q1: Signal<Out, Bits<8>>,
                e: [$f; 2],
                r: [DFF<Bits<8>>; 2],
            }

            impl Logic for $name {
                #[hdl_gen]
                fn update(&mut self) {
                    for i in 0..2 {
                        self.e[i].clock.next = self.clock.val();
                        self.e[i].d.next = self.a.val();
                        self.r[i].clock.next = self.clock.val();
                        self.r[i].d.next = self.r[i].q.val();
                        if self.e[i].q.val() {
                            self.r[i].d.next = self.data.val();
                        }
                    }
                    self.q0.next = self.r[0].q.val();
                    self.q1.next = self.r[1].q.val();
                }
            }
        };
    }
    pair!(KeepPair, KeepDFF<bool>);
    pair!(PlainPair, DFF<bool>);

    /// Yosys' cell count after a generic, flattened `synth` of `v` (as the FPGA flows flatten).
    fn cells(name: &str, v: &str) -> usize {
        let dir = std::env::temp_dir().join(format!("linewatch_rtl_{name}_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("top.v"), v).unwrap();
        let out = std::process::Command::new("yosys")
            .current_dir(&dir)
            .args(["-p", "read_verilog top.v; synth -flatten -top top; stat"])
            .output()
            .expect("yosys runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = String::from_utf8_lossy(&out.stdout).to_string();
        std::fs::remove_dir_all(&dir).ok();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("Number of cells:"))
            .unwrap();
        line.split(':').nth(1).unwrap().trim().parse().unwrap()
    }

    #[test]
    fn replicas_synthesize() {
        let mut uut = KeepPair::default();
        uut.connect_all();
        yosys_validate("linewatch_rtl_replica", &generate_verilog(&uut)).unwrap();
    }

    /// Yosys merges the plain copies into one flip-flop and keeps the replicas apart.
    #[test]
    fn synthesis_keeps_the_replicas_apart() {
        let mut keep = KeepPair::default();
        keep.connect_all();
        let mut plain = PlainPair::default();
        plain.connect_all();
        let (k, p) = (
            cells("replica_keep", &generate_verilog(&keep)),
            cells("replica_plain", &generate_verilog(&plain)),
        );
        // Plain: one enable flip-flop, and then one register (the two have the same
        // inputs). Replicas: both enables and both registers.
        assert_eq!((p, k), (1 + 8, 2 + 2 * 8));
    }
}
