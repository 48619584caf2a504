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
    spare_bits_of(&["read_address", "write_address"], width, depth)
}

/// `spare_bits` for the address ports `names`.
fn spare_bits_of(names: &[&str], width: usize, depth: usize) -> String {
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
    let bits = names.iter().map(|p| hi(p)).collect::<Vec<_>>().join(", ");
    format!("wire unused_address_bits = &{{1'b0, {bits}}};\n")
}

/// Zero every word. Chunked because Yosys unrolls one long initial loop in time
/// quadratic in its length (minutes at 8K words), while Verilator refuses generate
/// loops past 1024 iterations; 128-word loops under a generate loop suit both.
fn zero_init(width: usize, depth: usize) -> String {
    zero_init_of("mem", "", width, depth)
}

/// `zero_init` for the array `name`, its generate names suffixed with `tag` (one
/// module may hold several arrays).
fn zero_init_of(name: &str, tag: &str, width: usize, depth: usize) -> String {
    let chunk = depth.min(128);
    format!(
        "genvar c{tag};\ngenerate for (c{tag} = 0; c{tag} < {blocks}; c{tag} = c{tag} + 1) begin : zero{tag}\n   integer i;\n   initial for (i = 0; i < {chunk}; i = i + 1) {name}[c{tag} * {chunk} + i] = {width}'h0;\nend endgenerate\n",
        blocks = depth / chunk
    )
}

/// Bits `[lo + n - 1:lo]` of `sig` (`0` when `n` is 0: a 0-bit select is not Verilog).
fn field(sig: &str, lo: usize, n: usize) -> String {
    match n {
        0 => "0".into(),
        1 => format!("{sig}[{lo}]"),
        n => format!("{sig}[{}:{lo}]", lo + n - 1),
    }
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
/// output register, and takes each write into registers first, writing the RAM an
/// edge later (a read of that word is answered from a copy of those registers,
/// `late_word`, when a flag set beside the read register says so, `late_sel`);
/// other readers (Verilator, iCE40) see the same behaviour in block RAM.
///
/// The word read is `late_sel ? late_word : ram_data`, all three from registers,
/// and the reader picks: one that decides something from the word decides it from
/// `ram_data` and from `late_word` apart and picks last, so the flag's fan-out is
/// not in front of the decision (docs/fpga-steps.md, step 33). In block RAM (no late
/// write) `late_sel` stays low.
#[derive(LogicBlock)]
pub struct BlockRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub ram_data: Signal<Out, Bits<W>>,
    pub late_word: Signal<Out, Bits<W>>,
    pub late_sel: Signal<Out, bool>,
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
            ram_data: Default::default(),
            late_word: Default::default(),
            late_sel: Default::default(),
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
            self.ram_data.next = self._sim[self.slot(self.read_address.val())];
            if self.write_enable.val() {
                let s = self.slot(self.write_address.val());
                self._sim[s] = self.write_data.val();
            }
        }
        self.late_word.next = Bits::default();
        self.late_sel.next = false;
    }

    fn connect(&mut self) {
        self.ram_data.connect();
        self.late_word.connect();
        self.late_sel.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        let mem = format!("reg [{}:0] mem [0:{}];\n", W - 1, depth - 1);
        let head = format!(
            "{spare}{init}",
            spare = spare_bits(A, depth),
            init = zero_init(W, depth),
        );
        let plain = format!(
            "initial begin\n   ram_data = {W}'h0;\n   late_word = {W}'h0;\n   late_sel = 1'b0;\nend\n\nalways @(posedge clock) begin\n   ram_data <= {rd};\n   late_word <= {W}'h0;\n   late_sel <= 1'b0;\n   if (write_enable) begin\n      {wr} <= write_data;\n   end\nend\n",
            rd = word("read_address", depth),
            wr = word("write_address", depth),
        );
        if !self._fast_on_ecp5 {
            return Verilog::Custom(format!("{mem}{head}{plain}"));
        }
        // ECP5: distributed RAM written an edge late from registers (the write
        // data's fan-out to the LUT RAMs starts at flops). A read of the word still
        // waiting is answered from a copy of it, picked after the read register by
        // a flag decided beside it, so the read register takes the LUT RAMs' word
        // alone (no address compare and multiplexer before it).
        let fast = format!(
            "reg [{w1}:0] pend_data;\nreg [{a1}:0] pend_address;\nreg pend_enable;\nreg [{w1}:0] word_q;\nreg [{w1}:0] late_data;\nreg late_hit;\ninitial begin\n   pend_data = {W}'h0;\n   pend_address = {A}'h0;\n   pend_enable = 1'b0;\n   word_q = {W}'h0;\n   late_data = {W}'h0;\n   late_hit = 1'b0;\nend\n\nalways @(posedge clock) begin\n   pend_enable <= write_enable;\n   pend_address <= write_address;\n   pend_data <= write_data;\n   if (pend_enable) begin\n      {pw} <= pend_data;\n   end\n   word_q <= {rd};\n   late_data <= pend_data;\n   late_hit <= pend_enable && {pi} == {ri};\nend\n\nalways @(*) begin\n   ram_data = word_q;\n   late_word = late_data;\n   late_sel = late_hit;\nend\n",
            w1 = W - 1,
            a1 = A - 1,
            pw = word("pend_address", depth),
            pi = index("pend_address", depth),
            ri = index("read_address", depth),
            rd = word("read_address", depth),
        );
        Verilog::Custom(format!(
            "`ifdef LINEWATCH_ECP5\n(* ram_style = \"distributed\" *)\n`endif\n{mem}{head}`ifdef LINEWATCH_ECP5\n{fast}`else\n{plain}`endif\n"
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
            outputs: vec!["ram_data".into(), "late_word".into(), "late_sel".into()],
        }]
    }
}

/// Block RAM read over two edges: a read's word comes out two edges after its
/// address (`ram_data`), with every write given up to the cycle of that address
/// applied; a write given in the next cycle is not (the reader forwards it), one
/// synchronous write port. Starts all zero.
///
/// In block RAM (Verilator, iCE40) the address is registered and the RAM read from
/// that register: the RAM's read register is `ram_data` and reads the old word
/// when the same word is written at the same edge. When the RTL is read with
/// `LINEWATCH_ECP5` defined (the FPGA flow's ECP5 synthesis), the words sit in
/// distributed RAM in up to four banks, each read into a register at the first edge
/// (a LUT-RAM read and a 4:1 multiplexer from the address register); at the second
/// edge the bank is picked into `ram_data`, or one of the two writes the banks did
/// not see: each write waits an edge in registers before it reaches its bank, so
/// that the write data's fan-out starts at flops (docs/fpga-steps.md, step 40).
#[derive(LogicBlock)]
pub struct PipedRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub ram_data: Signal<Out, Bits<W>>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, Bits<W>>,
    pub write_enable: Signal<In, bool>,
    _sim: Vec<Bits<W>>,
    /// The read address of the cycle before (the simulation's second edge).
    _addr: Bits<A>,
}

/// Banks of the ECP5 form of a `PipedRam` of `depth` words: four once each holds
/// a 16-word LUT RAM or more (so the first edge sees at most a quarter of the words).
fn piped_banks(depth: usize) -> usize {
    if depth >= 64 {
        4
    } else {
        1
    }
}

impl<const W: usize, const A: usize> PipedRam<W, A> {
    pub fn new(depth: usize) -> Self {
        assert!(index_bits(depth) <= A);
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            ram_data: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            write_enable: Default::default(),
            _sim: vec![Bits::default(); depth],
            _addr: Bits::default(),
        }
    }
    fn slot(&self, a: Bits<A>) -> usize {
        a.index() & (self._sim.len() - 1)
    }
}

impl<const W: usize, const A: usize> Logic for PipedRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.ram_data.next = self._sim[self.slot(self._addr)];
            self._addr = self.read_address.val();
            if self.write_enable.val() {
                let s = self.slot(self.write_address.val());
                self._sim[s] = self.write_data.val();
            }
        }
    }

    fn connect(&mut self) {
        self.ram_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        let n = index_bits(depth);
        let spare = spare_bits(A, depth);
        // Block RAM: the address register, then the RAM's own read register.
        let plain = if n == 0 {
            format!(
                "reg [{w1}:0] mem [0:0];\n{init}initial ram_data = {W}'h0;\n\nalways @(posedge clock) begin\n   ram_data <= mem[0];\n   if (write_enable) begin\n      mem[0] <= write_data;\n   end\nend\n",
                w1 = W - 1,
                init = zero_init(W, depth),
            )
        } else {
            format!(
                "reg [{w1}:0] mem [0:{d1}];\nreg [{n1}:0] addr_q;\n{init}initial begin\n   addr_q = {n}'h0;\n   ram_data = {W}'h0;\nend\n\nalways @(posedge clock) begin\n   addr_q <= {ri};\n   ram_data <= mem[addr_q];\n   if (write_enable) begin\n      {wr} <= write_data;\n   end\nend\n",
                w1 = W - 1,
                d1 = depth - 1,
                n1 = n - 1,
                init = zero_init(W, depth),
                ri = index("read_address", depth),
                wr = word("write_address", depth),
            )
        };
        // ECP5: banks of LUT RAM, each written an edge late from registers.
        let banks = piped_banks(depth);
        let hb = index_bits(banks);
        let bd = depth / banks;
        let lo = n - hb;
        let mut fast = String::new();
        for b in 0..banks {
            fast += &format!(
                "(* ram_style = \"distributed\" *) reg [{w1}:0] bank{b} [0:{bd1}];\nreg [{w1}:0] bank_q{b};\n",
                w1 = W - 1,
                bd1 = bd - 1
            );
            fast += &zero_init_of(&format!("bank{b}"), &format!("_{b}"), W, bd);
        }
        let idx_decl = |name: &str| {
            if n == 0 {
                String::new()
            } else {
                format!("reg [{}:0] {name};\n", n - 1)
            }
        };
        fast += &format!(
            "reg [{w1}:0] pend_data;\n{pa}reg pend_enable;\nreg [{w1}:0] late_data;\nreg late_hit;\nreg new_hit;\nreg [{w1}:0] word_q;\n",
            w1 = W - 1,
            pa = idx_decl("pend_address"),
        );
        if hb > 0 {
            fast += &format!("reg [{}:0] hi_q;\n", hb - 1);
        }
        fast += &format!(
            "initial begin\n   pend_data = {W}'h0;\n   pend_enable = 1'b0;\n   late_data = {W}'h0;\n   late_hit = 1'b0;\n   new_hit = 1'b0;\n   word_q = {W}'h0;\n"
        );
        if n > 0 {
            fast += &format!("   pend_address = {n}'h0;\n");
        }
        if hb > 0 {
            fast += &format!("   hi_q = {hb}'h0;\n");
        }
        for b in 0..banks {
            fast += &format!("   bank_q{b} = {W}'h0;\n");
        }
        fast += "end\n\nalways @(posedge clock) begin\n   pend_enable <= write_enable;\n   pend_data <= write_data;\n";
        let pend = if n == 0 {
            "0".to_string()
        } else {
            "pend_address".to_string()
        };
        if n > 0 {
            fast += &format!("   pend_address <= {};\n", index("write_address", depth));
        }
        for b in 0..banks {
            let at = if hb == 0 {
                String::new()
            } else {
                format!(" && {} == {hb}'d{b}", field(&pend, lo, hb))
            };
            fast += &format!(
                "   if (pend_enable{at}) begin\n      bank{b}[{pl}] <= pend_data;\n   end\n   bank_q{b} <= bank{b}[{rl}];\n",
                pl = field(&pend, 0, lo),
                rl = field("read_address", 0, lo),
            );
        }
        if hb > 0 {
            fast += &format!("   hi_q <= {};\n", field("read_address", lo, hb));
        }
        let ri = index("read_address", depth);
        let wi = index("write_address", depth);
        let mut pick = format!("bank_q{}", banks - 1);
        for b in (0..banks - 1).rev() {
            pick = format!("hi_q == {hb}'d{b} ? bank_q{b} : {pick}");
        }
        fast += &format!(
            "   late_data <= pend_data;\n   late_hit <= pend_enable && {pend} == {ri};\n   new_hit <= write_enable && {wi} == {ri};\n   word_q <= new_hit ? pend_data : late_hit ? late_data : {pick};\nend\n\nalways @(*) begin\n   ram_data = word_q;\nend\n",
        );
        Verilog::Custom(format!(
            "{spare}`ifdef LINEWATCH_ECP5\n{fast}`else\n{plain}`endif\n"
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "piped_ram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "write_address".into(),
                "write_data".into(),
                "write_enable".into(),
            ],
            outputs: vec!["ram_data".into()],
        }]
    }
}

/// Block RAM with a per-bit write mask: a read's word comes out two edges after its
/// address (the RAM's read register, then an output register), one synchronous
/// write port that writes only the bits whose mask bit is set. The mask is the
/// write's only enable: on ECP5 a one-bit block's write enable is its mask bit, so
/// the register driving that bit can sit beside the block (a shared enable ANDed
/// in front of each block took a long wire to every one, step 33). Only the low `used`
/// bits of a word are stored (the rest read as 0), so a word narrower than the
/// structural width costs no RAM. Starts all zero.
///
/// A read of the word written (any mask bit set) at the same edge is undefined (`no_rw_check`: the
/// RAM's own behaviour, with no emulation logic, docs/fpga-steps.md step 15 (f));
/// simulation returns that word inverted, so a reader that uses such a read diverges
/// from the model in co-simulation.
///
/// With a bit mask a set of one bit needs no read of the word first: this is what
/// keeps the dirty bitmap's set path free of the RAM's clock-to-out.
///
/// The output register is where a DP16KD has one of its own: read with
/// `LINEWATCH_ECP5` defined (the FPGA flow's ECP5 synthesis), at the depths
/// `Ecp5Blocks::for_depth` gives blocks for, the memory is written as DP16KD
/// instances with `REGMODE_B = "OUTREG"`, so a reader starts from that register, not
/// from the RAM array's 5.8 ns clock-to-out (Yosys does not infer the register).
/// Elsewhere, and for depths where distributed RAM or a cascade suits better, it is
/// an ordinary register after the RAM.
#[derive(LogicBlock)]
pub struct MaskedRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_data: Signal<Out, Bits<W>>,
    pub write_address: Signal<In, Bits<A>>,
    pub write_data: Signal<In, Bits<W>>,
    pub write_mask: Signal<In, Bits<W>>,
    _used: usize,
    _sim: Vec<Bits<W>>,
    /// The RAM's read register (the output register is `read_data`).
    _rd: Bits<W>,
}

/// How a `MaskedRam` of `depth` words maps onto ECP5 DP16KDs (16 Kib each) when
/// written as instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecp5Blocks {
    /// Left to Yosys: distributed RAM (too shallow for a block) or a cascade (deeper
    /// than one block holds), with the output register in the fabric.
    Inferred,
    /// 1024 x 18 with two byte lanes: one stored bit per lane, two bits per block.
    TwoLanes,
    /// 16384 x 1: one bit per block.
    OneBit,
}

/// Shallower than this, Yosys puts a masked RAM in distributed RAM (its choice for
/// the bitmap's top level, 8 words by default).
const ECP5_MIN_BLOCK_DEPTH: usize = 128;

impl Ecp5Blocks {
    pub fn for_depth(depth: usize) -> Self {
        match depth {
            d if d < ECP5_MIN_BLOCK_DEPTH => Self::Inferred,
            d if d <= 1024 => Self::TwoLanes,
            d if d <= 16384 => Self::OneBit,
            _ => Self::Inferred,
        }
    }
}

/// The signal names one masked memory's Verilog uses: its read address, write
/// port and read data, and a tag that keeps its arrays, registers and generate
/// blocks apart from another's in the same module.
struct MaskedPorts {
    read_address: &'static str,
    write_address: &'static str,
    write_data: &'static str,
    write_mask: &'static str,
    read_data: &'static str,
    tag: &'static str,
}

impl MaskedPorts {
    fn single() -> Self {
        Self {
            read_address: "read_address",
            write_address: "write_address",
            write_data: "write_data",
            write_mask: "write_mask",
            read_data: "read_data",
            tag: "",
        }
    }

    /// Bank `b` of an `EpochRam` (both banks share the read address).
    fn bank(b: usize) -> Self {
        const WA: [&str; 2] = ["write_address0", "write_address1"];
        const WD: [&str; 2] = ["write_data0", "write_data1"];
        const WM: [&str; 2] = ["write_mask0", "write_mask1"];
        const RD: [&str; 2] = ["read_data0", "read_data1"];
        const TAG: [&str; 2] = ["0", "1"];
        Self {
            read_address: "read_address",
            write_address: WA[b],
            write_data: WD[b],
            write_mask: WM[b],
            read_data: RD[b],
            tag: TAG[b],
        }
    }
}

/// Marks the write bits above the `used` ones as read (the ports keep the
/// structural width `w`).
fn unused_write_bits(ports: &[(&str, &str)], used: usize, w: usize) -> String {
    if used == w {
        return String::new();
    }
    let bits = ports
        .iter()
        .map(|(d, m)| format!("{d}[{w1}:{used}], {m}[{w1}:{used}]", w1 = w - 1))
        .collect::<Vec<_>>()
        .join(", ");
    format!("wire unused_write_bits = &{{1'b0, {bits}}};\n")
}

/// A masked memory as an inferred array with a read register and an output
/// register (what Verilator, the iCE40 flow and shallow ECP5 memories read).
fn masked_inferred(p: &MaskedPorts, depth: usize, u: usize, w: usize) -> String {
    let t = p.tag;
    let mem = format!("mem{t}");
    let ri = index(p.read_address, depth);
    let wi = index(p.write_address, depth);
    format!(
        "(* no_rw_check *)
reg [{u1}:0] {mem} [0:{d1}];
reg [{u1}:0] rd{t};
reg [{u1}:0] rq{t};
integer b{t};
{init}initial begin
   rd{t} = {u}'h0;
   rq{t} = {u}'h0;
end

always @(*) begin
   {q} = {w}'h0;
   {q}[{u1}:0] = rq{t};
end

always @(posedge clock) begin
`ifdef SYNTHESIS
   rd{t} <= {mem}[{ri}];
`else
   rd{t} <= ((|{wm}[{u1}:0]) && {ri} == {wi}) ? ~{mem}[{ri}] : {mem}[{ri}];
`endif
   rq{t} <= rd{t};
   for (b{t} = 0; b{t} < {u}; b{t} = b{t} + 1) begin
      if ({wm}[b{t}]) begin
         {mem}[{wi}][b{t}] <= {wd}[b{t}];
      end
   end
end
",
        u1 = u - 1,
        d1 = depth - 1,
        init = zero_init_of(&mem, t, u, depth),
        q = p.read_data,
        wm = p.write_mask,
        wd = p.write_data,
    )
}

/// The 14 address pins of a DP16KD port: `fields` from the top bit down, zeros
/// above them.
fn addr14(fields: &[String], widths: usize) -> String {
    let mut parts = Vec::new();
    if widths < 14 {
        parts.push(format!("{}'h0", 14 - widths));
    }
    parts.extend(fields.iter().cloned());
    format!("{{{}}}", parts.join(", "))
}

/// `.AD{port}0(bus[0]), ...` for the 14 address pins.
fn dp16kd_pins(port: &str, bus: &str) -> String {
    (0..14)
        .map(|i| format!(".AD{port}{i}({bus}[{i}])"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A width's blocks: (data width, blocks, lanes, address bits below the word index).
fn lanes_of(blocks: Ecp5Blocks, u: usize) -> (usize, usize, usize, usize) {
    match blocks {
        Ecp5Blocks::OneBit => (1, u, u, 0),
        Ecp5Blocks::TwoLanes => (18, u.div_ceil(2), 2 * u.div_ceil(2), 4),
        Ecp5Blocks::Inferred => unreachable!("an inferred memory has no instances"),
    }
}

/// One DP16KD per generate iteration `k`: port A writes (enable `we`, data
/// pins `dia`), port B reads into `q` (and with `READBEFOREWRITE` may write too).
#[allow(clippy::too_many_arguments)]
fn dp16kd_loop(
    tag: &str,
    count: usize,
    width: usize,
    wa: &str,
    ra: &str,
    we: &str,
    web: &str,
    writemode_b: &str,
    data: &str,
) -> String {
    format!(
        "genvar k{tag};
generate for (k{tag} = 0; k{tag} < {count}; k{tag} = k{tag} + 1) begin : block{tag}
   wire [13:0] wa = {wa};
   wire [13:0] ra = {ra};
   DP16KD #(
      .DATA_WIDTH_A({width}), .DATA_WIDTH_B({width}),
      .REGMODE_A(\"NOREG\"), .REGMODE_B(\"OUTREG\"),
      .WRITEMODE_A(\"NORMAL\"), .WRITEMODE_B(\"{writemode_b}\"),
      .CSDECODE_A(\"0b000\"), .CSDECODE_B(\"0b000\"),
      .RESETMODE(\"SYNC\"), .ASYNC_RESET_RELEASE(\"SYNC\"), .GSR(\"DISABLED\")
   ) ram (
      .CLKA(clock), .CEA(1'b1), .OCEA(1'b1), .RSTA(1'b0), .WEA({we}),
      .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0), {pa},
      .CLKB(clock), .CEB(1'b1), .OCEB(1'b1), .RSTB(1'b0), .WEB({web}),
      .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0), {pb},
      {data}
   );
end endgenerate
",
        pa = dp16kd_pins("A", "wa"),
        pb = dp16kd_pins("B", "ra"),
    )
}

/// The memory as DP16KD instances (a `generate` loop over the blocks), for the
/// `LINEWATCH_ECP5` branch. Pin use follows Yosys' own DP16KD map
/// (`brams_map_16kd.v`): x1 takes the word index on AD0-13; x18 on AD4-13, with
/// the two byte enables on AD0-1.
fn masked_instances(
    p: &MaskedPorts,
    blocks: Ecp5Blocks,
    depth: usize,
    u: usize,
    w: usize,
) -> String {
    let t = p.tag;
    let n = index_bits(depth);
    let (width, count, lanes, lsb) = lanes_of(blocks, u);
    let idx = |a: &str| if n > 0 { vec![index(a, depth)] } else { vec![] };
    let mut wa = idx(p.write_address);
    let mut ra = idx(p.read_address);
    let k = format!("k{t}");
    let (we, data) = match blocks {
        Ecp5Blocks::OneBit => (
            format!("wm{t}[{k}]"),
            format!(".DIA0(wd{t}[{k}]), .DOB0(q{t}[{k}])"),
        ),
        _ => {
            wa.push(format!("2'h0, wm{t}[2 * {k} + 1], wm{t}[2 * {k}]"));
            ra.push("4'h0".into());
            (
                format!("wm{t}[2 * {k}] | wm{t}[2 * {k} + 1]"),
                format!(
                    ".DIA0(wd{t}[2 * {k}]), .DIA9(wd{t}[2 * {k} + 1]), .DOB0(q{t}[2 * {k}]), .DOB9(q{t}[2 * {k} + 1])"
                ),
            )
        }
    };
    // An odd width's last lane is never written and reads as 0.
    let pad = lane_pad(lanes, u);
    format!(
        "wire [{l1}:0] q{t};
wire [{l1}:0] wd{t} = {{{pad}{wd}[{u1}:0]}};
wire [{l1}:0] wm{t} = {{{pad}{wm}[{u1}:0]}};
{unused}{loop}
{out}",
        l1 = lanes - 1,
        u1 = u - 1,
        wd = p.write_data,
        wm = p.write_mask,
        unused = unused_lanes(t, lanes, u),
        out = lanes_out(&[p.read_data], &format!("q{t}"), u, w),
        loop = dp16kd_loop(
            t,
            count,
            width,
            &addr14(&wa, lsb + n),
            &addr14(&ra, lsb + n),
            &we,
            "1'b0",
            "NORMAL",
            &data,
        ),
    )
}

/// Marks the lanes of `q{tag}` an odd width leaves unused as read.
fn unused_lanes(tag: &str, lanes: usize, u: usize) -> String {
    if lanes > u {
        format!(
            "wire unused_lanes{tag} = &{{1'b0, q{tag}[{}:{u}]}};\n",
            lanes - 1
        )
    } else {
        String::new()
    }
}

/// The read data outputs `outs` (width `w`) from the low `u` lanes of `q`.
fn lanes_out(outs: &[&str], q: &str, u: usize, w: usize) -> String {
    let lines: String = outs
        .iter()
        .map(|o| {
            format!(
                "   {o} = {w}'h0;\n   {o}[{u1}:0] = {q}[{u1}:0];\n",
                u1 = u - 1
            )
        })
        .collect();
    format!("always @(*) begin\n{lines}end\n")
}

/// `lanes - u` zero bits and a comma, for the lanes an odd width leaves unused.
fn lane_pad(lanes: usize, u: usize) -> String {
    if lanes > u {
        format!("{}'h0, ", lanes - u)
    } else {
        String::new()
    }
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
            _used: used,
            _sim: vec![Bits::default(); depth],
            _rd: Bits::default(),
        }
    }
}

/// One edge of a masked memory's simulation: the read register takes the word at
/// `read` (inverted when the write changes that word: undefined in the hardware,
/// inverted as in the Verilog's simulation), then the masked write lands. Only the
/// low `used` bits are stored; addresses wrap at the depth.
fn masked_edge<const W: usize>(
    sim: &mut [Bits<W>],
    rd: &mut Bits<W>,
    used: usize,
    read: usize,
    (write, data, mask): (usize, Bits<W>, Bits<W>),
) {
    let mut keep = Bits::<W>::default();
    for b in 0..used {
        keep = keep.replace_bit(b, true);
    }
    let r = read & (sim.len() - 1);
    *rd = sim[r];
    let m = mask & keep;
    if m.any() {
        let s = write & (sim.len() - 1);
        if s == r {
            *rd = !sim[r] & keep;
        }
        sim[s] = (sim[s] & !m) | (data & m);
    }
}

impl<const W: usize, const A: usize> Logic for MaskedRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.read_data.next = self._rd;
            masked_edge(
                &mut self._sim,
                &mut self._rd,
                self._used,
                self.read_address.val().index(),
                (
                    self.write_address.val().index(),
                    self.write_data.val(),
                    self.write_mask.val(),
                ),
            );
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim.len();
        let u = self._used;
        let ports = MaskedPorts::single();
        let inferred = masked_inferred(&ports, depth, u, W);
        let blocks = Ecp5Blocks::for_depth(depth);
        let body = if blocks == Ecp5Blocks::Inferred {
            inferred
        } else {
            format!(
                "`ifdef LINEWATCH_ECP5\n{}`else\n{inferred}`endif\n",
                masked_instances(&ports, blocks, depth, u, W)
            )
        };
        Verilog::Custom(format!(
            "{}{}{body}",
            spare_bits(A, depth),
            unused_write_bits(&[("write_data", "write_mask")], u, W)
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
            ],
            outputs: vec!["read_data".into()],
        }]
    }
}

/// One level of the dirty bitmap's two banks (epochs): per cycle, the word at the
/// read address is read in both banks (answered two edges later, through a read
/// and an output register, as `MaskedRam`), and each bank takes one masked
/// write. Where both banks fit one block's depth on ECP5 (`LINEWATCH_ECP5`), they
/// share DP16KDs, half as many: port A takes the sets (`set_*`, the bank in the
/// top address bit), port B reads the retired bank (`read_bank`) and, with
/// `READBEFOREWRITE`, clears the word it reads at the same edge (`read_clear`),
/// so the clear is not written from `write_*` a cycle later. Both banks' read data
/// are then that one word. Elsewhere it is two `MaskedRam`s on the `write_*`
/// ports, and `set_*`, `read_bank` and `read_clear` are not read.
///
/// The two branches answer alike when the user keeps to the dirty bitmap's use:
/// a set's `write_*` and `set_*` carry the same write, a clear's `write_*` write
/// all bits of the word read a cycle before with `read_clear`, in `read_bank`
/// (and no set goes to that bank between the read and the clear), and a read of
/// the word being cleared is not used.
#[derive(LogicBlock)]
pub struct EpochRam<const W: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<A>>,
    pub read_bank: Signal<In, bool>,
    pub read_clear: Signal<In, bool>,
    pub read_data0: Signal<Out, Bits<W>>,
    pub read_data1: Signal<Out, Bits<W>>,
    pub write_address0: Signal<In, Bits<A>>,
    pub write_data0: Signal<In, Bits<W>>,
    pub write_mask0: Signal<In, Bits<W>>,
    pub write_address1: Signal<In, Bits<A>>,
    pub write_data1: Signal<In, Bits<W>>,
    pub write_mask1: Signal<In, Bits<W>>,
    pub set_address: Signal<In, Bits<A>>,
    pub set_bank: Signal<In, bool>,
    pub set_mask: Signal<In, Bits<W>>,
    _used: usize,
    _sim: [Vec<Bits<W>>; 2],
    _rd: [Bits<W>; 2],
}

impl<const W: usize, const A: usize> EpochRam<W, A> {
    pub fn new(depth: usize, used: usize) -> Self {
        assert!(index_bits(depth) <= A);
        assert!((1..=W).contains(&used));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_bank: Default::default(),
            read_clear: Default::default(),
            read_data0: Default::default(),
            read_data1: Default::default(),
            write_address0: Default::default(),
            write_data0: Default::default(),
            write_mask0: Default::default(),
            write_address1: Default::default(),
            write_data1: Default::default(),
            write_mask1: Default::default(),
            set_address: Default::default(),
            set_bank: Default::default(),
            set_mask: Default::default(),
            _used: used,
            _sim: [vec![Bits::default(); depth], vec![Bits::default(); depth]],
            _rd: [Bits::default(); 2],
        }
    }

    /// Whether both banks share blocks on ECP5 (the bank one more address bit).
    pub fn shares_blocks(depth: usize) -> bool {
        match Ecp5Blocks::for_depth(depth) {
            Ecp5Blocks::OneBit => 2 * depth <= 16384,
            Ecp5Blocks::TwoLanes => 2 * depth <= 1024,
            Ecp5Blocks::Inferred => false,
        }
    }

    /// Both banks in one set of DP16KDs (`shares_blocks`).
    fn shared_instances(&self, blocks: Ecp5Blocks) -> String {
        let depth = self._sim[0].len();
        let u = self._used;
        let n = index_bits(depth);
        let (width, count, lanes, lsb) = lanes_of(blocks, u);
        let addr = |bank: &str, a: &str| {
            let mut f = vec![bank.to_string()];
            if n > 0 {
                f.push(index(a, depth));
            }
            f
        };
        let mut wa = addr("set_bank", "set_address");
        let mut ra = addr("read_bank", "read_address");
        // Port A writes ones where its mask says; port B writes zeros to the word
        // it reads (both byte lanes on x18).
        let (we, data) = match blocks {
            Ecp5Blocks::OneBit => (
                "sm[k]".to_string(),
                ".DIA0(1'b1), .DIB0(1'b0), .DOB0(q[k])".to_string(),
            ),
            _ => {
                wa.push("2'h0, sm[2 * k + 1], sm[2 * k]".into());
                ra.push("4'h3".into());
                (
                    "sm[2 * k] | sm[2 * k + 1]".to_string(),
                    ".DIA0(1'b1), .DIA9(1'b1), .DIB0(1'b0), .DIB9(1'b0), .DOB0(q[2 * k]), .DOB9(q[2 * k + 1])"
                        .to_string(),
                )
            }
        };
        format!(
            "wire [{l1}:0] q;
wire [{l1}:0] sm = {{{pad}set_mask[{u1}:0]}};
{unused}{loop}
{out}",
            l1 = lanes - 1,
            u1 = u - 1,
            pad = lane_pad(lanes, u),
            unused = unused_lanes("", lanes, u),
            out = lanes_out(&["read_data0", "read_data1"], "q", u, W),
            loop = dp16kd_loop(
                "",
                count,
                width,
                &addr14(&wa, lsb + n + 1),
                &addr14(&ra, lsb + n + 1),
                &we,
                "read_clear",
                "READBEFOREWRITE",
                &data,
            ),
        )
    }
}

impl<const W: usize, const A: usize> Logic for EpochRam<W, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.read_data0.next = self._rd[0];
            self.read_data1.next = self._rd[1];
            let writes = [
                (
                    self.write_address0.val().index(),
                    self.write_data0.val(),
                    self.write_mask0.val(),
                ),
                (
                    self.write_address1.val().index(),
                    self.write_data1.val(),
                    self.write_mask1.val(),
                ),
            ];
            let r = self.read_address.val().index();
            for (b, write) in writes.into_iter().enumerate() {
                masked_edge(&mut self._sim[b], &mut self._rd[b], self._used, r, write);
            }
        }
    }

    fn connect(&mut self) {
        self.read_data0.connect();
        self.read_data1.connect();
    }

    fn hdl(&self) -> Verilog {
        let depth = self._sim[0].len();
        let u = self._used;
        let banks = [MaskedPorts::bank(0), MaskedPorts::bank(1)];
        let inferred = format!(
            "wire unused_shared_ports = &{{1'b0, set_address, set_bank, set_mask, read_bank, read_clear}};\n{}{}",
            masked_inferred(&banks[0], depth, u, W),
            masked_inferred(&banks[1], depth, u, W)
        );
        let blocks = Ecp5Blocks::for_depth(depth);
        let body = if blocks == Ecp5Blocks::Inferred {
            inferred
        } else {
            let ecp5 = if Self::shares_blocks(depth) {
                self.shared_instances(blocks)
            } else {
                format!(
                    "{}{}",
                    masked_instances(&banks[0], blocks, depth, u, W),
                    masked_instances(&banks[1], blocks, depth, u, W)
                )
            };
            format!("`ifdef LINEWATCH_ECP5\n{ecp5}`else\n{inferred}`endif\n")
        };
        let spare = spare_bits_of(
            &["read_address", "write_address0", "write_address1"],
            A,
            depth,
        );
        Verilog::Custom(format!(
            "{spare}{}{body}",
            unused_write_bits(
                &[
                    ("write_data0", "write_mask0"),
                    ("write_data1", "write_mask1")
                ],
                u,
                W
            )
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "epoch_bram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "read_bank".into(),
                "read_clear".into(),
                "write_address0".into(),
                "write_data0".into(),
                "write_mask0".into(),
                "write_address1".into(),
                "write_data1".into(),
                "write_mask1".into(),
                "set_address".into(),
                "set_bank".into(),
                "set_mask".into(),
            ],
            outputs: vec!["read_data0".into(), "read_data1".into()],
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
            self.q_bram.next = self.bram.ram_data.val();
            if self.bram.late_sel.val() {
                self.q_bram.next = self.bram.late_word.val();
            }
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
