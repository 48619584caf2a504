//! Bridge tests against a hand-written `top` with the port table's exact ports
//! and outputs simple enough to predict, so they don't depend on the real RTL.

use std::path::PathBuf;
use std::time::Instant;

use linewatch_model::ports::{
    port_words, Inputs, Outputs, Port, INPUT_PORTS, INPUT_WORDS, OUTPUT_PORTS, OUTPUT_WORDS,
};
use linewatch_testbench::verilator::{port_declarations, verilator_version, VerilatedDevice};

/// Registered outputs: `out <= expr` on the rising edge.
const REGISTERED: &[(&str, &str)] = &[
    ("ndr_valid", "req_valid"),
    ("ndr_opcode", "req_opcode[2:0]"),
    ("ndr_tag", "req_tag"),
    ("drs_valid", "rwd_valid"),
    ("drs_opcode", "rwd_opcode[2:0]"),
    ("drs_meta", "rwd_meta"),
    ("drs_tag", "~rwd_tag"),
    ("drs_data", "{rwd_data[255:0], rwd_data[511:256]}"),
    ("bisnp_valid", "cmd_valid"),
    ("bisnp_opcode", "cmd_opcode"),
    ("bisnp_bitag", "birsp_bitag"),
    ("bisnp_addr", "req_addr ^ cmd_addr"),
    ("mem_req_valid", "mem_rsp_valid"),
    ("mem_req_write", "hv_op"),
    ("mem_req_addr", "~cmd_addr"),
    ("mem_req_mask", "rwd_mask"),
    ("mem_req_data", "mem_rsp_data + 512'd1"),
    ("hv_rsp_valid", "hv_valid"),
    ("hv_rsp_data", "cnt"),
    ("err_count", "cnt[15:0]"),
    ("err_code", "hv_index[23:20]"),
    ("fetch_valid", "fetch_rsp_valid"),
    ("fetch_frame", "~fetch_rsp_frame"),
];

/// Combinational `*_ready` outputs.
const COMB: &[(&str, &str)] = &[
    ("req_ready", "req_valid & ndr_ready"),
    ("rwd_ready", "~rwd_valid"),
    ("birsp_ready", "birsp_valid ^ drs_ready"),
    ("mem_rsp_ready", "mem_req_ready"),
    ("cmd_ready", "~cmd_valid"),
    ("hv_ready", "bisnp_ready | hv_valid"),
    ("fetch_rsp_ready", "fetch_ready ^ fetch_rsp_valid"),
];

const CNT_INIT: u64 = 100;

fn test_verilog() -> String {
    for p in OUTPUT_PORTS {
        assert!(
            REGISTERED.iter().chain(COMB).any(|(n, _)| *n == p.name),
            "output {} is new: give it an expression in the test design",
            p.name
        );
    }
    let mut v = format!(
        "module top(\n{});\n  reg [63:0] cnt;\n  initial begin\n    cnt = 64'd{CNT_INIT};\n",
        port_declarations()
    );
    for (name, _) in REGISTERED {
        v += &format!("    {name} = 0;\n");
    }
    v += "  end\n  always @(posedge clock) begin\n    cnt <= cnt + 64'd1;\n";
    for (name, expr) in REGISTERED {
        v += &format!("    {name} <= {expr};\n");
    }
    v += "  end\n";
    for (name, expr) in COMB {
        v += &format!("  assign {name} = {expr};\n");
    }
    v + "endmodule\n"
}

/// Rust twin of `test_verilog`: registered part from the previous inputs.
fn next_regs(i: &Inputs, cnt: u64, o: &mut Outputs) {
    o.ndr_valid = i.req_valid;
    o.ndr_opcode = i.req_opcode & 7;
    o.ndr_tag = i.req_tag;
    o.drs_valid = i.rwd_valid;
    o.drs_opcode = i.rwd_opcode & 7;
    o.drs_meta = i.rwd_meta;
    o.drs_tag = !i.rwd_tag & 0xffff;
    o.drs_data[..4].copy_from_slice(&i.rwd_data[4..]);
    o.drs_data[4..].copy_from_slice(&i.rwd_data[..4]);
    o.bisnp_valid = i.cmd_valid;
    o.bisnp_opcode = i.cmd_opcode;
    o.bisnp_bitag = i.birsp_bitag;
    o.bisnp_addr = i.req_addr ^ i.cmd_addr;
    o.mem_req_valid = i.mem_rsp_valid;
    o.mem_req_write = i.hv_op & 1 != 0;
    o.mem_req_addr = !i.cmd_addr & ((1 << 46) - 1);
    o.mem_req_mask = i.rwd_mask;
    let mut carry = true;
    for (d, s) in o.mem_req_data.iter_mut().zip(i.mem_rsp_data) {
        (*d, carry) = s.overflowing_add(carry as u64);
    }
    o.hv_rsp_valid = i.hv_valid;
    o.hv_rsp_data = cnt;
    o.err_count = cnt & 0xffff;
    o.err_code = (i.hv_index >> 20) & 0xf;
    o.fetch_valid = i.fetch_rsp_valid;
    o.fetch_frame = !i.fetch_rsp_frame & ((1 << 40) - 1);
}

fn comb(i: &Inputs, o: &mut Outputs) {
    o.req_ready = i.req_valid && i.ndr_ready;
    o.rwd_ready = !i.rwd_valid;
    o.birsp_ready = i.birsp_valid ^ i.drs_ready;
    o.mem_rsp_ready = i.mem_req_ready;
    o.cmd_ready = !i.cmd_valid;
    o.hv_ready = i.bisnp_ready || i.hv_valid;
    o.fetch_rsp_ready = i.fetch_ready ^ i.fetch_rsp_valid;
}

/// Expected packed output records for packed input records.
fn reference(inputs: &[u64]) -> Vec<u64> {
    let mut regs = Outputs::default();
    let mut out = vec![0; inputs.len() / INPUT_WORDS * OUTPUT_WORDS];
    let records = inputs.chunks(INPUT_WORDS).zip(out.chunks_mut(OUTPUT_WORDS));
    for (cnt, (rec, dst)) in (CNT_INIT..).zip(records) {
        let i = Inputs::unpack(&masked(INPUT_PORTS, rec));
        let mut o = regs.clone();
        comb(&i, &mut o);
        o.pack(dst);
        next_regs(&i, cnt, &mut regs);
    }
    out
}

/// Clear bits above each port's width (what the design sees of garbage input).
fn masked(table: &[Port], rec: &[u64]) -> Vec<u64> {
    let mut v = rec.to_vec();
    let mut at = 0;
    for p in table {
        at += p.words();
        if p.width % 64 != 0 {
            v[at - 1] &= (1 << (p.width % 64)) - 1;
        }
    }
    v
}

/// xorshift64*: garbage in every bit, including above port widths.
fn random_inputs(cycles: usize, mut seed: u64) -> Vec<u64> {
    (0..cycles * INPUT_WORDS)
        .map(|_| {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
        .collect()
}

fn cache_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verilator-cache")
}

fn device() -> VerilatedDevice {
    let t0 = Instant::now();
    let dev = VerilatedDevice::build(&test_verilog(), &cache_root(), &["WIDTH"])
        .unwrap_or_else(|e| panic!("{e:#}"));
    if !dev.from_cache() {
        eprintln!("test design built in {:.1}s", t0.elapsed().as_secs_f64());
    }
    dev
}

fn field<'a>(table: &[Port], buf: &'a [u64], name: &str) -> &'a [u64] {
    port_words(
        table,
        buf,
        table.iter().position(|p| p.name == name).unwrap(),
    )
}

fn field_mut<'a>(table: &[Port], buf: &'a mut [u64], name: &str) -> &'a mut [u64] {
    let idx = table.iter().position(|p| p.name == name).unwrap();
    let at: usize = table[..idx].iter().map(Port::words).sum();
    &mut buf[at..at + table[idx].words()]
}

fn assert_records_eq(got: &[u64], want: &[u64]) {
    for (c, (g, w)) in got
        .chunks(OUTPUT_WORDS)
        .zip(want.chunks(OUTPUT_WORDS))
        .enumerate()
    {
        assert_eq!(Outputs::unpack(g), Outputs::unpack(w), "cycle {c}");
        assert_eq!(g, w, "cycle {c}: packed words differ");
    }
}

#[test]
fn cycle_matches_reference() {
    let mut dev = device();
    let inputs = random_inputs(64, 1);
    let mut got = vec![0; 64 * OUTPUT_WORDS];
    for (i, o) in inputs.chunks(INPUT_WORDS).zip(got.chunks_mut(OUTPUT_WORDS)) {
        dev.cycle(i, o);
    }
    assert_records_eq(&got, &reference(&inputs));
}

#[test]
fn run_matches_reference_across_calls() {
    let mut dev = device();
    let inputs = random_inputs(100, 2);
    let mut got = vec![0; 100 * OUTPUT_WORDS];
    // Split so state must carry over between batched calls.
    dev.run(37, &inputs, &mut got);
    dev.run(
        63,
        &inputs[37 * INPUT_WORDS..],
        &mut got[37 * OUTPUT_WORDS..],
    );
    assert_records_eq(&got, &reference(&inputs));
}

#[test]
fn wide_ports_carry_bits_above_64() {
    let mut dev = device();
    let mut i = vec![0; INPUT_WORDS];
    let data: Vec<u64> = (1..=8).map(|k| k * 0x1111_1111_0000_0001).collect();
    field_mut(INPUT_PORTS, &mut i, "rwd_data").copy_from_slice(&data);
    // +1 must ripple through two all-ones words into word 2.
    field_mut(INPUT_PORTS, &mut i, "mem_rsp_data")[..3].copy_from_slice(&[u64::MAX, u64::MAX, 7]);
    let mut o = vec![0; OUTPUT_WORDS];
    dev.cycle(&i, &mut o);
    assert_eq!(
        field(OUTPUT_PORTS, &o, "drs_data"),
        &[0; 8],
        "registered, still initial"
    );
    dev.cycle(&vec![0; INPUT_WORDS], &mut o);
    let swapped: Vec<u64> = data[4..].iter().chain(&data[..4]).copied().collect();
    assert_eq!(field(OUTPUT_PORTS, &o, "drs_data"), swapped);
    assert_eq!(
        field(OUTPUT_PORTS, &o, "mem_req_data"),
        &[0, 0, 8, 0, 0, 0, 0, 0]
    );
}

#[test]
fn garbage_above_port_widths_is_masked() {
    let mut dev = device();
    let mut i = vec![0; INPUT_WORDS];
    field_mut(INPUT_PORTS, &mut i, "rwd_tag")[0] = 0xffff_ffff_ffff_0000; // 16-bit port sees 0
    field_mut(INPUT_PORTS, &mut i, "req_opcode")[0] = 0xffff_fff0; // 4-bit port sees 0
    field_mut(INPUT_PORTS, &mut i, "req_valid")[0] = 0xfe; // 1-bit port sees 0
    let mut o = vec![0; OUTPUT_WORDS];
    dev.cycle(&i, &mut o);
    dev.cycle(&i, &mut o);
    assert_eq!(field(OUTPUT_PORTS, &o, "drs_tag"), &[0xffff]);
    assert_eq!(field(OUTPUT_PORTS, &o, "ndr_opcode"), &[0]);
    assert_eq!(field(OUTPUT_PORTS, &o, "ndr_valid"), &[0]);
    assert_eq!(field(OUTPUT_PORTS, &o, "mem_req_addr"), &[(1 << 46) - 1]);
    assert_eq!(
        field(OUTPUT_PORTS, &o, "rwd_ready"),
        &[1],
        "~ of a 1-bit port"
    );
    // And generally: no output word ever carries bits above its port's width.
    let all_ones = vec![u64::MAX; 32 * INPUT_WORDS];
    let mut out = vec![0; 32 * OUTPUT_WORDS];
    dev.run(32, &all_ones, &mut out);
    for rec in out.chunks(OUTPUT_WORDS) {
        assert_eq!(rec, masked(OUTPUT_PORTS, rec), "high garbage in an output");
    }
}

#[test]
fn reset_restarts_from_power_on() {
    let mut dev = device();
    let inputs = random_inputs(10, 3);
    let mut got = vec![0; 10 * OUTPUT_WORDS];
    dev.run(10, &inputs, &mut got);
    dev.reset();
    dev.run(10, &inputs, &mut got);
    assert_records_eq(&got, &reference(&inputs));
}

#[test]
fn device_moves_between_threads() {
    let mut dev = device();
    let inputs = random_inputs(20, 4);
    let mut got = vec![0; 20 * OUTPUT_WORDS];
    dev.run(10, &inputs, &mut got);
    let (dev, got) = std::thread::spawn(move || {
        dev.run(
            10,
            &inputs[10 * INPUT_WORDS..],
            &mut got[10 * OUTPUT_WORDS..],
        );
        (dev, got)
    })
    .join()
    .unwrap();
    drop(dev);
    assert_records_eq(&got, &reference(&random_inputs(20, 4)));
}

#[test]
fn second_build_hits_cache() {
    let first = device();
    let t0 = Instant::now();
    let second = device();
    let took = t0.elapsed();
    assert!(second.from_cache());
    assert_eq!(first.library_path(), second.library_path());
    assert!(took.as_secs_f64() < 5.0, "cache hit took {took:?}");
}

#[test]
fn another_design_reuses_the_compiled_runtime() {
    let _warm = device();
    let variant = test_verilog() + "// variant: same logic, new cache entry\n";
    let dev = VerilatedDevice::build(&variant, &cache_root(), &["WIDTH"]).unwrap();
    if !dev.from_cache() {
        let log = dev.library_path().with_file_name("build.log");
        let text = std::fs::read_to_string(log).unwrap();
        assert!(
            text.contains("LW_RUNTIME="),
            "runtime was recompiled:\n{text}"
        );
    }
}

#[test]
fn broken_verilog_fails_on_one_line_naming_the_step() {
    let err = VerilatedDevice::build(
        "module top(input clock);\n  this is not verilog;\nendmodule\n",
        &cache_root(),
        &[],
    )
    .err()
    .expect("broken Verilog must not build");
    let msg = format!("{err:#}");
    assert!(!msg.contains('\n'), "multi-line error: {msg}");
    assert!(msg.contains("step `verilate`"), "{msg}");
    assert!(msg.contains("%Error"), "{msg}");
    let log = msg
        .split("(log: ")
        .nth(1)
        .and_then(|s| s.strip_suffix(')'))
        .expect(&msg);
    let text = std::fs::read_to_string(log).expect("log file exists");
    assert!(text.contains("syntax error"), "{text}");
}

#[test]
fn version_is_reported() {
    let v = verilator_version().unwrap();
    assert!(v.starts_with("Verilator 5."), "{v}");
}

/// `cargo test --release -p linewatch-testbench --test verilator_bridge -- --ignored --nocapture`
#[test]
#[ignore = "benchmark"]
fn throughput_run_vs_cycle() {
    let mut dev = device();
    const N: usize = 200_000;
    let inputs = random_inputs(N, 5);
    let mut out = vec![0; N * OUTPUT_WORDS];
    let t0 = Instant::now();
    for (i, o) in inputs.chunks(INPUT_WORDS).zip(out.chunks_mut(OUTPUT_WORDS)) {
        dev.cycle(i, o);
    }
    let per_cycle = N as f64 / t0.elapsed().as_secs_f64();
    dev.reset();
    let t0 = Instant::now();
    for (i, o) in inputs
        .chunks(1000 * INPUT_WORDS)
        .zip(out.chunks_mut(1000 * OUTPUT_WORDS))
    {
        dev.run(1000, i, o);
    }
    let batched = N as f64 / t0.elapsed().as_secs_f64();
    eprintln!("cycle(): {per_cycle:.0} cycles/s, run(1000): {batched:.0} cycles/s");
}
