//! The memories' ECP5 branches (read with `LINEWATCH_ECP5`) answer as their
//! inferred branches (what Verilator and the iCE40 flow read), cycle by cycle,
//! under random writes and reads, in Icarus Verilog: `MaskedRam`'s DP16KD
//! instances with their output register, against a DP16KD model written from the
//! pin use of Yosys' own map (`brams_map_16kd.v`; Yosys ships DP16KD only as a
//! black box), the fast `BlockRam`'s late write from registers, `PipedRam`'s banks
//! of LUT RAM with its two writes from registers, and the snoop filter built on it
//! (the co-simulation runs the other branch). A wiring slip in the instances (a
//! lane, an address bit, a register too few) or a pending write a read misses shows
//! as a difference. The filter's two branches are also checked against the model's
//! filter, on lookups the co-simulation's host never makes (a line right after a
//! SET of it).

use linewatch_rtl::mem::{BlockRam, Ecp5Blocks, MaskedRam, PipedRam};
use linewatch_rtl::snoop_filter::SnoopFilter;
use rust_hdl::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const W: usize = 32;
const A: usize = 16;

/// The subset of DP16KD the instances use: x1 and x18 (byte enables on AD0-1),
/// port A writing, port B reading with `REGMODE_B` NOREG or OUTREG and, with
/// `WRITEMODE_B` READBEFOREWRITE, writing the word it reads (its read answers the
/// word before the write), all zero at start. Port B reading the word port A
/// writes answers x; anything else, and both ports writing one word, stops the
/// simulation.
fn dp16kd_model() -> String {
    let list = |p: &str, n: usize| {
        (0..n)
            .rev()
            .map(|i| format!("{p}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "module DP16KD(
  input {dia}, {ada}, CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0,
  output {doa},
  input {dib}, {adb}, CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,
  output {dob});
  parameter DATA_WIDTH_A = 18; parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = \"NOREG\"; parameter REGMODE_B = \"NOREG\";
  parameter WRITEMODE_A = \"NORMAL\"; parameter WRITEMODE_B = \"NORMAL\";
  parameter CSDECODE_A = \"0b000\"; parameter CSDECODE_B = \"0b000\";
  parameter RESETMODE = \"SYNC\"; parameter ASYNC_RESET_RELEASE = \"SYNC\";
  parameter GSR = \"ENABLED\";
  wire [13:0] ada = {{{ada}}};
  wire [13:0] adb = {{{adb}}};
  wire [17:0] dia = {{{dia}}};
  reg [17:0] mem [0:1023];
  reg bits [0:16383];
  reg [17:0] rd, rq;
  integer i;
  initial begin
    if (DATA_WIDTH_A != DATA_WIDTH_B || (DATA_WIDTH_A != 1 && DATA_WIDTH_A != 18)
        || REGMODE_A != \"NOREG\" || WRITEMODE_A != \"NORMAL\"
        || (WRITEMODE_B != \"NORMAL\" && WRITEMODE_B != \"READBEFOREWRITE\")) begin
      $display(\"DP16KD model: unsupported parameters\"); $finish;
    end
    for (i = 0; i < 1024; i = i + 1) mem[i] = 18'h0;
    for (i = 0; i < 16384; i = i + 1) bits[i] = 1'b0;
    rd = 18'h0; rq = 18'h0;
  end
  wire [17:0] dib = {{{dib}}};
  wire same = DATA_WIDTH_A == 1 ? ada == adb : ada[13:4] == adb[13:4];
  always @(posedge CLKA) if (CEA && WEA) begin
    if (CEB && WEB && same) begin
      $display(\"DP16KD model: both ports write one word\"); $finish;
    end
    if (DATA_WIDTH_A == 1) bits[ada] <= dia[0];
    else begin
      if (ada[0]) mem[ada[13:4]][8:0] <= dia[8:0];
      if (ada[1]) mem[ada[13:4]][17:9] <= dia[17:9];
    end
  end
  always @(posedge CLKB) if (CEB) begin
    if (CEA && WEA && same) rd <= 18'hx;
    else rd <= DATA_WIDTH_B == 1 ? {{17'h0, bits[adb]}} : mem[adb[13:4]];
    if (OCEB) rq <= rd;
    if (WEB) begin
      if (WRITEMODE_B != \"READBEFOREWRITE\") begin
        $display(\"DP16KD model: port B writes in an unsupported mode\"); $finish;
      end
      if (DATA_WIDTH_B == 1) bits[adb] <= dib[0];
      else begin
        if (adb[0]) mem[adb[13:4]][8:0] <= dib[8:0];
        if (adb[1]) mem[adb[13:4]][17:9] <= dib[17:9];
      end
    end
  end
  wire [17:0] q = REGMODE_B == \"OUTREG\" ? rq : rd;
  assign {{{dob}}} = q;
  assign {{{doa}}} = 18'h0;
endmodule
",
        dia = list("DIA", 18),
        ada = list("ADA", 14),
        doa = list("DOA", 18),
        dib = list("DIB", 18),
        adb = list("ADB", 14),
        dob = list("DOB", 18),
    )
}

/// Which memory a test bench drives.
#[derive(Clone, Copy, PartialEq)]
enum Ram {
    Masked,
    Block,
    Piped,
}

/// Random writes (random masks, for `Ram::Masked`) and reads for `cycles` cycles,
/// printing the read data each cycle. Addresses: random low 4 bits, each bit above
/// set one time in eight, so reads meet earlier writes and every address bit moves.
/// For `Ram::Masked` a write to the word being read is dropped (a zero mask) (`MaskedRam` leaves that
/// read undefined; `BlockRam` and `PipedRam` read the old word).
fn testbench(depth: usize, cycles: usize, seed: u32, ram: Ram) -> String {
    let abits = depth.trailing_zeros();
    // A masked RAM's write is its mask (no enable): no write is a zero mask. A
    // `BlockRam` gives the RAM's word and the late write's apart; the word read is
    // the late one when `late_sel` says so.
    let (ports, same_word, read) = match ram {
        Ram::Masked => (
            " .write_mask(wm));",
            " && wa != ra; if (!we) wm = 0",
            ".read_data(q)",
        ),
        Ram::Block => (
            " .write_enable(we));",
            "",
            ".ram_data(rq), .late_word(lw), .late_sel(ls)",
        ),
        Ram::Piped => (" .write_enable(we));", "", ".ram_data(q)"),
    };
    format!(
        "module tb;
  reg clock = 0;
  reg [{a1}:0] ra = 0, wa = 0;
  reg [{w1}:0] wd = 0, wm = 0;
  reg we = 0;
  wire [{w1}:0] q, rq, lw;
  wire ls;
{pick}
  integer c, j, seed;
  top dut(.clock(clock), .read_address(ra), {read}, .write_address(wa),
          .write_data(wd),{ports}
  function [{a1}:0] pick(input integer dummy);
    integer k;
    begin
      pick = $random(seed) & 15;
      for (k = 4; k < {abits}; k = k + 1) if (($random(seed) & 7) == 0) pick[k] = 1'b1;
    end
  endfunction
  initial begin
    seed = {seed};
    for (c = 0; c < {cycles}; c = c + 1) begin
      ra = pick(0); wa = pick(0);
      wd = $random(seed); wm = $random(seed) & $random(seed);
      we = ($random(seed) & 1){same_word};
      #1 clock = 1; #1 clock = 0;
      $display(\"%h\", q);
    end
    $finish;
  end
endmodule
",
        a1 = A - 1,
        w1 = W - 1,
        pick = if ram == Ram::Block {
            "  assign q = ls ? lw : rq;\n"
        } else {
            ""
        },
    )
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (ci/bootstrap.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn simulate(dir: &Path, defines: &[&str]) -> String {
    let exe = dir.join(format!("sim{}", defines.len()));
    run(Command::new("iverilog")
        .current_dir(dir)
        .args(defines)
        .args(["-g2005", "-o"])
        .arg(&exe)
        .args(["tb.v", "top.v", "dp16kd.v"]));
    run(Command::new("vvp").current_dir(dir).args(["-n"]).arg(&exe))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linewatch_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `verilog` as `top` under the test bench `tb`, simulated in its own directory
/// (`name`; tests run in parallel) without and with `LINEWATCH_ECP5`: the inferred
/// branch's output and the ECP5 branch's.
fn both_branches(name: &str, verilog: &str, tb: &str) -> (String, String) {
    let dir = scratch(name);
    std::fs::write(dir.join("top.v"), verilog).unwrap();
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    std::fs::write(dir.join("dp16kd.v"), dp16kd_model()).unwrap();
    let both = (simulate(&dir, &[]), simulate(&dir, &["-DLINEWATCH_ECP5"]));
    let _ = std::fs::remove_dir_all(&dir);
    both
}

fn same_answers(depth: usize, used: usize, blocks: Ecp5Blocks) {
    assert_eq!(Ecp5Blocks::for_depth(depth), blocks);
    let mut uut = MaskedRam::<W, A>::new(depth, used);
    uut.connect_all();
    let verilog = generate_verilog(&uut);
    assert!(verilog.contains("REGMODE_B(\"OUTREG\")"), "{verilog}");
    let (inferred, blocks) = both_branches(
        &format!("ecp5_blocks_{depth}_{used}"),
        &verilog,
        &testbench(depth, 3000, 7, Ram::Masked),
    );
    alike(&format!("{depth} words"), &inferred, &blocks);
}

/// 3000 cycles' output of the inferred branch and the ECP5 branch (`what` names
/// the block), equal line by line; a memory's stimulus read back written words.
fn alike(what: &str, inferred: &str, ecp5: &str) {
    let lines: Vec<&str> = inferred.lines().collect();
    assert_eq!(lines.len(), 3000, "{inferred}");
    assert!(
        lines
            .iter()
            .filter(|l| l.trim_start_matches('0').is_empty())
            .count()
            < 2900,
        "the stimulus reads back almost nothing written"
    );
    for (c, (a, b)) in lines.iter().zip(ecp5.lines()).enumerate() {
        assert_eq!(a, &b, "{what}, cycle {c}: inferred {a}, ECP5 branch {b}");
    }
    assert_eq!(lines.len(), ecp5.lines().count());
}

#[test]
fn two_lane_blocks_answer_as_the_inferred_ram() {
    same_answers(256, 32, Ecp5Blocks::TwoLanes);
}

#[test]
fn two_lane_blocks_with_an_odd_width_answer_as_the_inferred_ram() {
    same_answers(1024, 5, Ecp5Blocks::TwoLanes);
}

#[test]
fn one_bit_blocks_answer_as_the_inferred_ram() {
    same_answers(8192, 32, Ecp5Blocks::OneBit);
}

/// The checks above can fail: a DP16KD model whose output register is left out
/// answers a cycle early, and the comparison says so.
#[test]
fn a_register_too_few_is_caught() {
    let mut uut = MaskedRam::<W, A>::new(256, 8);
    uut.connect_all();
    let verilog = generate_verilog(&uut).replace("REGMODE_B(\"OUTREG\")", "REGMODE_B(\"NOREG\")");
    let (inferred, blocks) = both_branches(
        "ecp5_blocks_noreg",
        &verilog,
        &testbench(256, 500, 3, Ram::Masked),
    );
    assert_ne!(inferred, blocks);
}

/// A `BlockRam` or `PipedRam` of `depth` words as Verilog (its generated text,
/// maybe altered, which must still hold `mark`) under `testbench`: the inferred
/// branch's and the ECP5 branch's read data over `cycles` cycles.
fn write_enable_ram_answers(
    ram: Ram,
    verilog: String,
    mark: &str,
    depth: usize,
    cycles: usize,
    name: &str,
) -> (String, String) {
    assert!(verilog.contains(mark), "{verilog}");
    let (tag, seed) = match ram {
        Ram::Block => ("block_ram", 11),
        Ram::Piped => ("piped_ram", 13),
        Ram::Masked => unreachable!("a masked RAM has no write enable"),
    };
    both_branches(
        &format!("ecp5_{tag}_{name}_{depth}"),
        &verilog,
        &testbench(depth, cycles, seed, ram),
    )
}

/// The fast `BlockRam` of `depth` words, its Verilog altered by `alter`, over 3000
/// cycles.
fn block_ram_answers(
    depth: usize,
    name: &str,
    alter: impl Fn(String) -> String,
) -> (String, String) {
    let mut uut = BlockRam::<W, A>::fast_on_ecp5(depth);
    uut.connect_all();
    let verilog = alter(generate_verilog(&uut));
    write_enable_ram_answers(Ram::Block, verilog, "pend_data", depth, 3000, name)
}

#[test]
fn late_written_distributed_ram_answers_as_the_block_ram() {
    for depth in [1, 64, 256] {
        let (inferred, fast) = block_ram_answers(depth, "as_is", |v| v);
        alike(
            &format!("late-written RAM of {depth} words"),
            &inferred,
            &fast,
        );
    }
}

/// A read that ignores the write still in its registers answers differently, and
/// so does one answered from the copy of the wrong write (the one of this edge).
#[test]
fn a_missed_pending_write_is_caught() {
    for (k, (from, to)) in [
        ("late_hit <= pend_enable && ", "late_hit <= 1'b0 && "),
        ("late_data <= pend_data;", "late_data <= write_data;"),
    ]
    .into_iter()
    .enumerate()
    {
        let (inferred, fast) = block_ram_answers(64, &format!("plant{k}"), |v| {
            assert!(v.contains(from));
            v.replace(from, to)
        });
        assert_ne!(inferred, fast, "{from} -> {to}");
    }
}

/// `PipedRam` of `depth` words, its Verilog altered by `alter`, over `cycles` cycles.
fn piped_ram_answers(
    depth: usize,
    cycles: usize,
    name: &str,
    alter: impl Fn(String) -> String,
) -> (String, String) {
    let mut uut = PipedRam::<W, A>::new(depth);
    uut.connect_all();
    let verilog = alter(generate_verilog(&uut));
    write_enable_ram_answers(Ram::Piped, verilog, "new_hit", depth, cycles, name)
}

/// One bank (1 and 16 words) and four (64 and 256 words).
#[test]
fn banked_distributed_ram_answers_as_the_block_ram() {
    for depth in [1, 16, 64, 256] {
        let (inferred, fast) = piped_ram_answers(depth, 3000, "as_is", |v| v);
        alike(&format!("banked RAM of {depth} words"), &inferred, &fast);
    }
}

/// Each of the two writes the banks have not seen must be answered, newest first,
/// and each bank written only at its own addresses. (Two writes in a row to the
/// word read are rare in the stimulus: 30000 cycles hold a few.)
#[test]
fn a_banked_ram_missing_a_write_is_caught() {
    for (k, (from, to)) in [
        ("new_hit <= write_enable && ", "new_hit <= 1'b0 && "),
        ("late_hit <= pend_enable && ", "late_hit <= 1'b0 && "),
        ("late_data <= pend_data;", "late_data <= write_data;"),
        (
            "word_q <= new_hit ? pend_data : late_hit ? late_data :",
            "word_q <= late_hit ? late_data : new_hit ? pend_data :",
        ),
        ("pend_address[7:6] == 2'd1", "pend_address[7:6] == 2'd2"),
    ]
    .into_iter()
    .enumerate()
    {
        let (inferred, fast) = piped_ram_answers(256, 30000, &format!("plant{k}"), |v| {
            assert!(v.contains(from), "{from}");
            v.replace(from, to)
        });
        assert_ne!(inferred, fast, "{from} -> {to}");
    }
}

/// The geometry of `configs/<config>`.
fn geometry(config: &str) -> linewatch_model::config::Geometry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(config);
    linewatch_model::Config::load(&path).unwrap().geometry()
}

/// The snoop filter's Verilog for `config`, and a testbench driving it as the core
/// does: a message a cycle, its set at `next_addr`, its line at `mid_line` three
/// cycles later and at `addr` (with its operation) four cycles later; lines from
/// eight sets and six tags, so ways fill, hit, evict and meet the writes still
/// pending, and one message in four repeats the line before it, one in eight the
/// line two before (the lookups that use the previous lookups' writes). Prints
/// whether the lookup is a SET, whether it misses in a full set, the victim line,
/// and the message (address, operation, owned) each cycle.
fn filter_bench(
    config: &str,
    cycles: usize,
) -> (String, String, linewatch_model::config::Geometry) {
    let g = geometry(config);
    let mut uut = SnoopFilter::new(&g);
    uut.connect_all();
    let tb = format!(
        "module tb;
  reg clock = 0;
  reg [{a1}:0] addr = 0;
  reg [{l1}:0] mid_line = 0, l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0;
  reg [{s1}:0] next_addr = 0;
  reg [1:0] op = 0, o0 = 0, o1 = 0, o2 = 0, o3 = 0, o4 = 0;
  reg owned = 0, w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0;
  wire miss_full;
  wire [{l1}:0] victim_line;
  integer c, r, seed;
  top dut(.clock(clock), .addr(addr), .mid_line(mid_line), .next_addr(next_addr),
          .op(op), .owned(owned), .miss_full(miss_full), .victim_line(victim_line));
  initial begin
    seed = 5;
    for (c = 0; c < {cycles}; c = c + 1) begin
      // this cycle's message enters; the older ones move on
      l4 = l3; l3 = l2; l2 = l1; l1 = l0; o4 = o3; o3 = o2; o2 = o1; o1 = o0;
      w4 = w3; w3 = w2; w2 = w1; w1 = w0;
      r = $random(seed) & 7;
      if (r < 2) l0 = l1;
      else if (r == 2) l0 = l2;
      else begin
        r = $random(seed) & 7;
        l0 = ((r > 5 ? r - 3 : r) << {set_bits}) | ($random(seed) & 7);
      end
      r = $random(seed) & 15;
      o0 = r < 9 ? 2 : (r < 12 ? 1 : (r < 14 ? 3 : 0));
      w0 = $random(seed) & 1;
      next_addr = l0;
      mid_line = l3;
      addr = {a_bits}'d{base} | l4;
      op = o4;
      owned = w4;
      // the answers to this cycle's message, then its edge
      #1 $display(\"%b %b %h %h %h %b\", op == 2, miss_full, victim_line, addr, op, owned);
      clock = 1; #1 clock = 0;
    end
    $finish;
  end
endmodule
",
        a1 = linewatch_model::protocol::ADDR_BITS - 1,
        l1 = linewatch_rtl::dirty_bitmap::LINE_BITS - 1,
        s1 = linewatch_rtl::snoop_filter::SET_BITS - 1,
        set_bits = g.sf_sets.trailing_zeros(),
        a_bits = linewatch_model::protocol::ADDR_BITS,
        base = g.window_base_line,
    );
    (generate_verilog(&uut), tb, g)
}

/// The filter with its Verilog altered by `alter`: the block-RAM branch's and the
/// ECP5 branch's answers.
fn filter_answers(name: &str, alter: impl Fn(String) -> String) -> (String, String) {
    let (verilog, tb, _) = filter_bench("default.toml", 3000);
    both_branches(&format!("ecp5_filter_{name}"), &alter(verilog), &tb)
}

/// The co-simulation runs the block-RAM branch; this runs the filter's ECP5 branch
/// (banks of LUT RAM, each written an edge late) against it, cycle by cycle.
#[test]
fn snoop_filter_ecp5_branch_answers_as_its_block_ram_branch() {
    let (inferred, ecp5) = filter_answers("as_is", |v| v);
    let lines: Vec<&str> = inferred.lines().collect();
    // SETs that hit or find a free way, and SETs that evict.
    let placed = lines.iter().filter(|l| l.starts_with("1 0")).count();
    let evictions = lines.iter().filter(|l| l.starts_with("1 1")).count();
    println!("SETs placed {placed}, SETs evicting {evictions}");
    assert!(
        placed > 1000 && evictions > 150,
        "hits or free ways {placed}, full misses {evictions}"
    );
    alike("the snoop filter", &inferred, &ecp5);
}

/// Replays the bench's messages through the model's filter and returns the first
/// cycle whose answer differs from the RTL's (for a SET: whether it evicts, and
/// which line), with the count of SETs that set the line the lookup before set.
fn against_model(g: &linewatch_model::config::Geometry, out: &str) -> (Option<String>, usize) {
    use linewatch_model::device::snoop_filter::{SfOp, SnoopFilter as Model};
    let mut m = Model::new(g);
    let mut prev: Option<(u64, bool)> = None;
    let mut repeats = 0;
    for (c, line) in out.lines().enumerate() {
        let f: Vec<&str> = line.split(' ').collect();
        let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
        let (miss_full, victim, addr, op) = (f[1] == "1", hex(f[2]), hex(f[3]), hex(f[4]));
        let op = match op {
            1 => SfOp::Remove,
            2 => SfOp::Set { owned: f[5] == "1" },
            3 => SfOp::DowngradeIfHit,
            _ => SfOp::None,
        };
        let l = m.lookup(addr);
        let is_set = matches!(op, SfOp::Set { .. });
        if is_set && prev == Some((addr, true)) {
            repeats += 1;
        }
        prev = Some((addr, is_set));
        let evicted = m.apply(addr, &l, op);
        if is_set {
            let want = evicted.map(|v| v & g.window_mask);
            let got = miss_full.then_some(victim);
            if want != got {
                return (
                    Some(format!(
                        "cycle {c}: {line}: model evicts {want:x?}, RTL {got:x?}"
                    )),
                    repeats,
                );
            }
        }
    }
    (None, repeats)
}

/// The RTL filter (both branches) answers as the model's filter on the bench's
/// messages, for four ways (default) and two (ice40-small).
#[test]
fn snoop_filter_answers_as_the_model() {
    for config in ["default.toml", "ice40-small.toml"] {
        let (verilog, tb, g) = filter_bench(config, 3000);
        let (inferred, ecp5) =
            both_branches(&format!("model_filter_{}", &config[..5]), &verilog, &tb);
        for out in [&inferred, &ecp5] {
            assert_eq!(out.lines().count(), 3000);
            let (diff, repeats) = against_model(&g, out);
            assert_eq!(diff, None, "{config}");
            println!("{config}: {repeats} SETs of the line just set");
            assert!(
                repeats > 100,
                "{config}: {repeats} SETs of the line just set"
            );
        }
    }
}

/// The comparison with the model fails for a filter whose next lookup forgets
/// the line this one set in way 0 (a lookup of the same line right after a miss
/// that takes a way: the co-simulation's host does not send it), or that a way
/// this one freed is free.
#[test]
fn a_filter_unlike_the_model_is_caught() {
    let (verilog, tb, g) = filter_bench("default.toml", 3000);
    for (k, (from, to)) in [
        ("match_fwd$0$d = same_line;", "match_fwd$0$d = 1'b0;"),
        ("hf_fwd$1$d = way_on$1;", "hf_fwd$1$d = 1'b0;"),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(verilog.contains(from), "{from}");
        let (inferred, ecp5) = both_branches(
            &format!("model_filter_plant{k}"),
            &verilog.replace(from, to),
            &tb,
        );
        for out in [&inferred, &ecp5] {
            assert!(against_model(&g, out).0.is_some(), "{from} -> {to}");
        }
    }
}

/// A filter whose RAMs miss either write still in their registers answers
/// differently in the ECP5 branch.
#[test]
fn a_filter_missing_the_late_write_is_caught() {
    for (k, (from, to)) in [
        ("new_hit <= write_enable && ", "new_hit <= 1'b0 && "),
        ("late_hit <= pend_enable && ", "late_hit <= 1'b0 && "),
    ]
    .into_iter()
    .enumerate()
    {
        let (inferred, ecp5) = filter_answers(&format!("plant{k}"), |v| {
            assert!(v.contains(from), "{from}");
            v.replace(from, to)
        });
        assert_ne!(inferred, ecp5, "{from} -> {to}");
    }
}

/// The dirty bitmap of `config` under random sets and harvest operations:
/// lines from a pool of level-0 words (low word bits random, each higher bit
/// set one time in eight, so every address bit moves and harvests meet sets),
/// harvest reads of the pool's words at every level (and of a level the
/// configuration lacks), a swap one operation in eight. Prints the port's ready,
/// error and answer each cycle.
fn bitmap_bench(config: &str, cycles: usize) -> (String, String) {
    let g = geometry(config);
    let mut uut = linewatch_rtl::dirty_bitmap::DirtyBitmap::new(&g);
    uut.connect_all();
    let word_bits = (g.window_lines.trailing_zeros() - g.fanout_log2) as usize;
    let tb = format!(
        "module tb;
  reg clock = 0;
  reg set_valid = 0, hv_valid = 0, hv_op = 0;
  reg [{l1}:0] set_idx = 0;
  reg [{lv1}:0] hv_level = 0;
  reg [{i1}:0] hv_index = 0;
  wire hv_ready, hv_err, rsp_valid;
  wire [63:0] rsp_data;
  integer c, r, b, w, seed;
  top dut(.clock(clock), .set_valid(set_valid), .set_idx(set_idx), .hv_valid(hv_valid),
          .hv_op(hv_op), .hv_level(hv_level), .hv_index(hv_index), .hv_ready(hv_ready),
          .hv_err(hv_err), .rsp_valid(rsp_valid), .rsp_data(rsp_data));
  // A word of the pool: low 3 bits random, each bit above set one time in eight.
  function integer pool_word(input integer dummy);
    integer i, v;
    begin
      v = $random(seed) & 7;
      for (i = 3; i < {word_bits}; i = i + 1)
        if (($random(seed) & 7) == 0) v = v | (1 << i);
      pool_word = v;
    end
  endfunction
  initial begin
    seed = 11;
    for (c = 0; c < {cycles}; c = c + 1) begin
      set_valid = ($random(seed) & 3) != 0;
      w = pool_word(0);
      set_idx = (w << {shift}) | ($random(seed) & {fmask});
      hv_valid = ($random(seed) & 1) != 0;
      hv_op = (($random(seed) & 7) == 0) ? {swap} : !{swap};
      r = $random(seed) & 15;
      hv_level = r < 8 ? 0 : (r < 12 ? 1 : (r < 15 ? 2 : 3));
      w = pool_word(0);
      hv_index = w >> ({shift} * hv_level);
      #1 $display(\"%b %b %b %h\", hv_ready, hv_err, rsp_valid, rsp_data);
      clock = 1; #1 clock = 0;
    end
    $finish;
  end
endmodule
",
        l1 = linewatch_rtl::dirty_bitmap::LINE_BITS - 1,
        lv1 = linewatch_model::protocol::HV_LEVEL_BITS - 1,
        i1 = linewatch_model::protocol::HV_INDEX_BITS - 1,
        shift = g.fanout_log2,
        fmask = g.fanout - 1,
        swap = u8::from(linewatch_model::protocol::HV_SWAP != 0),
    );
    (generate_verilog(&uut), tb)
}

fn bitmap_answers(config: &str, name: &str, alter: impl Fn(String) -> String) -> (String, String) {
    let (verilog, tb) = bitmap_bench(config, 3000);
    both_branches(&format!("ecp5_bitmap_{name}"), &alter(verilog), &tb)
}

/// The co-simulation runs the bitmap's two RAMs per level; on ECP5 each level's
/// banks share DP16KDs (the sets on port A, the read and its clear on port B).
/// Cycle by cycle, the port answers alike. The default's levels 0 and 1 share
/// x1 and x18 blocks; ice40-small's level 0 shares x18 blocks, its level 1 is
/// distributed RAM.
#[test]
fn bitmap_with_shared_banks_answers_as_its_two_rams() {
    shared_banks_answer("default.toml", "default");
}

#[test]
fn small_bitmap_with_shared_banks_answers_as_its_two_rams() {
    shared_banks_answer("ice40-small.toml", "small");
}

fn shared_banks_answer(config: &str, name: &str) {
    let (verilog, _) = bitmap_bench(config, 1);
    assert!(verilog.contains("READBEFOREWRITE"), "no shared blocks");
    let (inferred, ecp5) = bitmap_answers(config, name, |v| v);
    let lines: Vec<&str> = inferred.lines().collect();
    let answers = lines
        .iter()
        .filter(|l| l.split(' ').nth(2) == Some("1"))
        .count();
    let marked = lines
        .iter()
        .filter(|l| l.split(' ').nth(2) == Some("1") && !l.ends_with(" 0000000000000000"))
        .count();
    println!("answers {answers}, with dirty bits {marked}");
    assert!(
        answers > 500 && marked > 200,
        "answers {answers}, marked {marked}"
    );
    alike("the dirty bitmap", &inferred, &ecp5);
}

/// Port B reading without its clear: the harvested words keep their bits.
#[test]
fn shared_banks_without_the_clear_are_caught() {
    let (inferred, ecp5) = bitmap_answers("default.toml", "no_clear", |v| {
        assert!(v.contains(".WEB(read_clear)"));
        v.replace(".WEB(read_clear)", ".WEB(1'b0)")
    });
    assert_ne!(inferred, ecp5);
}
