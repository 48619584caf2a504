//! Memory widgets whose depth is a runtime parameter.
//!
//! rust-hdl sizes are type-level, but the device's memory depths come from the
//! configuration file, so these widgets emit their own Verilog with the depth
//! written in. Addresses arrive at full structural width; only the low
//! `clog2(depth)` bits select a word (callers mask to `depth - 1`).

use rust_hdl::prelude::*;

/// Bits of a word index for `depth` words (0 for a single word).
fn index_bits(depth: usize) -> usize {
    assert!(
        depth.is_power_of_two(),
        "memory depth {depth} must be a power of two"
    );
    depth.trailing_zeros() as usize
}

/// `mem[addr]`, or `mem[0]` when there is a single word (a 0-bit index is not Verilog).
fn word(addr: &str, depth: usize) -> String {
    format!("mem[{}]", index(addr, depth))
}

/// The word-selecting bits of `addr` (`0` for a single word).
fn index(addr: &str, depth: usize) -> String {
    match index_bits(depth) {
        0 => "0".into(),
        1 => format!("{addr}[0]"),
        n => format!("{addr}[{}:0]", n - 1),
    }
}

/// Marks the address bits above the index as used (Verilator's `*unused*` naming
/// idiom): the ports keep their structural width whatever the depth.
fn spare_bits(width: usize, depth: usize) -> String {
    let n = index_bits(depth);
    if n == width {
        return String::new();
    }
    let hi = |p: &str| {
        if n == 0 {
            p.to_string()
        } else {
            format!("{p}[{}:{n}]", width - 1)
        }
    };
    format!(
        "wire unused_address_bits = &{{1'b0, {}, {}}};\n",
        hi("read_address"),
        hi("write_address")
    )
}

/// Zero every word. Chunked because Yosys unrolls one long initial loop in time
/// quadratic in its length (minutes at 8K words), while Verilator refuses generate
/// loops past 1024 iterations; 128-word loops under a generate loop suit both.
fn zero_init(width: usize, depth: usize) -> String {
    let chunk = depth.min(128);
    format!(
        "genvar c;\ngenerate for (c = 0; c < {blocks}; c = c + 1) begin : zero\n   integer i;\n   initial for (i = 0; i < {chunk}; i = i + 1) mem[c * {chunk} + i] = {width}'h0;\nend endgenerate\n",
        blocks = depth / chunk
    )
}

/// LUT RAM: combinational read, one synchronous write port. Starts all zero.
#[derive(LogicBlock)]
pub struct LutRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_data: Signal<Out, Bits<W>>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, Bits<W>>,
    pub write_enable: Signal<In, bool>,
    _sim: Vec<Bits<W>>,
}

impl<const W: usize, const A: usize> LutRam<W, A> {
    pub fn new(depth: usize) -> Self {
        assert!(index_bits(depth) <= A);
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            write_enable: Default::default(),
            _sim: vec![Bits::default(); depth],
        }
    }
    fn slot(&self, a: Bits<A>) -> usize {
        a.index() & (self._sim.len() - 1)
    }
}

impl<const W: usize, const A: usize> Logic for LutRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() && self.write_enable.val() {
            let s = self.slot(self.write_address.val());
            self._sim[s] = self.write_data.val();
        }
        self.read_data.next = self._sim[self.slot(self.read_address.val())];
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        Verilog::Custom(format!(
            "reg [{w1}:0] mem [0:{d1}];\n{spare}{init}\nalways @(*) begin\n   read_data = {rd};\nend\n\nalways @(posedge clock) begin\n   if (write_enable) begin\n      {wr} <= write_data;\n   end\nend\n",
            w1 = W - 1,
            d1 = depth - 1,
            spare = spare_bits(A, depth),
            init = zero_init(W, depth),
            rd = word("read_address", depth),
            wr = word("write_address", depth),
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "lutram_write".into(),
            clock: "clock".into(),
            inputs: vec![
                "write_address".into(),
                "write_data".into(),
                "write_enable".into(),
            ],
            outputs: vec![],
        }]
    }
}

/// Block RAM: registered read (read-old-data when the same word is written in the
/// same cycle), one synchronous write port. Starts all zero.
///
/// `fast_on_ecp5`: when the RTL is read with `LINEWATCH_ECP5` defined (the FPGA
/// flow's ECP5 synthesis), the memory asks for distributed RAM plus a register
/// instead of a DP16KD, whose read data comes 5.8 ns after the clock without its
/// output register; other readers (Verilator, iCE40) see the same behaviour in
/// block RAM.
#[derive(LogicBlock)]
pub struct BlockRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_data: Signal<Out, Bits<W>>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, Bits<W>>,
    pub write_enable: Signal<In, bool>,
    _fast_on_ecp5: bool,
    _sim: Vec<Bits<W>>,
}

impl<const W: usize, const A: usize> BlockRam<W, A> {
    pub fn new(depth: usize) -> Self {
        Self::with_style(depth, false)
    }
    /// See `fast_on_ecp5` above.
    pub fn fast_on_ecp5(depth: usize) -> Self {
        Self::with_style(depth, true)
    }
    fn with_style(depth: usize, fast_on_ecp5: bool) -> Self {
        assert!(index_bits(depth) <= A);
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            write_enable: Default::default(),
            _fast_on_ecp5: fast_on_ecp5,
            _sim: vec![Bits::default(); depth],
        }
    }
    fn slot(&self, a: Bits<A>) -> usize {
        a.index() & (self._sim.len() - 1)
    }
}

impl<const W: usize, const A: usize> Logic for BlockRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.read_data.next = self._sim[self.slot(self.read_address.val())];
            if self.write_enable.val() {
                let s = self.slot(self.write_address.val());
                self._sim[s] = self.write_data.val();
            }
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        let style = if self._fast_on_ecp5 {
            "`ifdef LINEWATCH_ECP5\n(* ram_style = \"distributed\" *)\n`endif\n"
        } else {
            ""
        };
        Verilog::Custom(format!(
            "{style}reg [{w1}:0] mem [0:{d1}];\n{spare}{init}initial begin\n   read_data = {w}'h0;\nend\n\nalways @(posedge clock) begin\n   read_data <= {rd};\n   if (write_enable) begin\n      {wr} <= write_data;\n   end\nend\n",
            w = W,
            w1 = W - 1,
            d1 = depth - 1,
            spare = spare_bits(A, depth),
            init = zero_init(W, depth),
            rd = word("read_address", depth),
            wr = word("write_address", depth),
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "bram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "write_address".into(),
                "write_data".into(),
                "write_enable".into(),
            ],
            outputs: vec!["read_data".into()],
        }]
    }
}

/// Block RAM with a per-bit write mask: registered read, one synchronous write port
/// that writes only the bits whose mask bit is set. Only the low `used` bits of a
/// word are stored (the rest read as 0), so a word narrower than the structural
/// width costs no RAM. Starts all zero.
///
/// A read of the word written at the same edge is undefined (`no_rw_check`: the
/// RAM's own behaviour, with no emulation logic, docs/fpga.md step 15 (f));
/// simulation returns that word inverted, so a reader that uses such a read diverges
/// from the model in co-simulation.
///
/// With a bit mask a set of one bit needs no read of the word first: this is what
/// keeps the dirty bitmap's set path free of the RAM's clock-to-out.
#[derive(LogicBlock)]
pub struct MaskedRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_data: Signal<Out, Bits<W>>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, Bits<W>>,
    pub write_mask: Signal<In, Bits<W>>,
    pub write_enable: Signal<In, bool>,
    _used: usize,
    _sim: Vec<Bits<W>>,
}

impl<const W: usize, const A: usize> MaskedRam<W, A> {
    pub fn new(depth: usize, used: usize) -> Self {
        assert!(index_bits(depth) <= A);
        assert!((1..=W).contains(&used));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            write_mask: Default::default(),
            write_enable: Default::default(),
            _used: used,
            _sim: vec![Bits::default(); depth],
        }
    }
    fn slot(&self, a: Bits<A>) -> usize {
        a.index() & (self._sim.len() - 1)
    }
}

impl<const W: usize, const A: usize> Logic for MaskedRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let r = self.slot(self.read_address.val());
            let mut used = Bits::<W>::default();
            for b in 0..self._used {
                used = used.replace_bit(b, true);
            }
            self.read_data.next = self._sim[r];
            if self.write_enable.val() {
                let s = self.slot(self.write_address.val());
                if s == r {
                    // Undefined in the hardware; inverted, as the Verilog's simulation.
                    self.read_data.next = !self._sim[r] & used;
                }
                let m = self.write_mask.val() & used;
                self._sim[s] = (self._sim[s] & !m) | (self.write_data.val() & m);
            }
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        let u = self._used;
        let pad = if u == W {
            String::new()
        } else {
            format!(
                "wire unused_write_bits = &{{1'b0, write_data[{w1}:{u}], write_mask[{w1}:{u}]}};
",
                w1 = W - 1
            )
        };
        Verilog::Custom(format!(
            "(* no_rw_check *)
reg [{u1}:0] mem [0:{d1}];
reg [{u1}:0] rd;
integer b;
{spare}{pad}{init}initial begin
   rd = {u}'h0;
end

always @(*) begin
   read_data = {w}'h0;
   read_data[{u1}:0] = rd;
end

always @(posedge clock) begin
`ifdef SYNTHESIS
   rd <= {rd};
`else
   rd <= (write_enable && {ri} == {wi}) ? ~{rd} : {rd};
`endif
   for (b = 0; b < {u}; b = b + 1) begin
      if (write_enable && write_mask[b]) begin
         {wr}[b] <= write_data[b];
      end
   end
end
",
            w = W,
            u1 = u - 1,
            d1 = depth - 1,
            spare = spare_bits(A, depth),
            init = zero_init(u, depth),
            rd = word("read_address", depth),
            wr = word("write_address", depth),
            ri = index("read_address", depth),
            wi = index("write_address", depth),
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "masked_bram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "write_address".into(),
                "write_data".into(),
                "write_mask".into(),
                "write_enable".into(),
            ],
            outputs: vec!["read_data".into()],
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(LogicBlock)]
    struct Both {
        pub clock: Signal<In, Clock>,
        pub ra: Signal<In, Bits<4>>,
        pub wa: Signal<In, Bits<4>>,
        pub wd: Signal<In, Bits<8>>,
        pub we: Signal<In, bool>,
        pub q_lut: Signal<Out, Bits<8>>,
        pub q_bram: Signal<Out, Bits<8>>,
        lut: LutRam<8, 4>,
        bram: BlockRam<8, 4>,
        one: LutRam<8, 4>,
    }

    impl Logic for Both {
        #[hdl_gen]
        fn update(&mut self) {
            self.lut.clock.next = self.clock.val();
            self.bram.clock.next = self.clock.val();
            self.one.clock.next = self.clock.val();
            self.lut.read_address.next = self.ra.val();
            self.bram.read_address.next = self.ra.val();
            self.one.read_address.next = self.ra.val();
            self.lut.write_address.next = self.wa.val();
            self.bram.write_address.next = self.wa.val();
            self.one.write_address.next = self.wa.val();
            self.lut.write_data.next = self.wd.val();
            self.bram.write_data.next = self.wd.val();
            self.one.write_data.next = self.wd.val();
            self.lut.write_enable.next = self.we.val();
            self.bram.write_enable.next = self.we.val();
            self.one.write_enable.next = self.we.val();
            self.q_lut.next = self.lut.read_data.val() ^ self.one.read_data.val();
            self.q_bram.next = self.bram.read_data.val();
        }
    }

    #[test]
    fn memories_synthesize() {
        let mut uut = Both {
            clock: Default::default(),
            ra: Default::default(),
            wa: Default::default(),
            wd: Default::default(),
            we: Default::default(),
            q_lut: Default::default(),
            q_bram: Default::default(),
            lut: LutRam::new(8),
            bram: BlockRam::new(16),
            one: LutRam::new(1),
        };
        uut.connect_all();
        let v = generate_verilog(&uut);
        assert!(v.contains("reg [7:0] mem [0:7];"), "{v}");
        assert!(v.contains("mem[read_address[2:0]]"), "{v}");
        assert!(v.contains("mem[0]"), "{v}");
        yosys_validate("linewatch_rtl_mem", &v).unwrap();
    }
}
