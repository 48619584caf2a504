//! `linewatch trace ...` through the built binary: record a real program under
//! valgrind (skipped when valgrind is missing), generate, convert and summarise.
mod common;

use common::*;
use std::path::Path;

#[test]
fn record_a_real_program_then_stats() {
    if !has_valgrind() {
        eprintln!("valgrind not installed: skipping trace record");
        return;
    }
    let d = scratch("rec");
    let out = d.join("true.bin");
    let o = out.to_str().unwrap();
    let rec = json_of(&run(&[
        "trace",
        "record",
        "--out",
        o,
        "--keep-text",
        "--json",
        "--",
        "/bin/true",
        "--help", // after --: for /bin/true, not for linewatch
    ]));
    let n = field(&rec, "accesses");
    assert!(n > 1000.0, "{rec}");
    assert_eq!(field(&rec, "exit_status"), 0.0);
    // Kinds add up; a dynamically linked program loads, stores and fetches.
    let kinds: f64 = ["instrs", "loads", "stores", "modifies"]
        .iter()
        .map(|k| field(&rec, k))
        .sum();
    assert_eq!(kinds, n);
    assert!(field(&rec, "instrs") > 0.0 && field(&rec, "stores") > 0.0);
    // Compact: well under lackey's ~14 bytes per access.
    assert!(field(&rec, "bytes_per_access") < 4.0, "{rec}");

    let st = json_of(&run(&["trace", "stats", "--in", o, "--json"]));
    assert_eq!(field(&st, "accesses"), n);
    assert!(field(&st, "unique_lines") > 0.0);
    assert!(field(&st, "lines_written") > 0.0);
    assert!(field(&st, "unique_pages") <= field(&st, "unique_lines"));
    // The kept lackey text says the same.
    let text = format!("{o}.lackey");
    let st2 = json_of(&run(&["trace", "stats", "--in", &text, "--json"]));
    for k in ["accesses", "unique_lines", "lines_written", "pages_written"] {
        assert_eq!(field(&st2, k), field(&st, k), "{k}");
    }
    // Nothing but the two outputs is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["true.bin", "true.bin.lackey"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn record_of_a_missing_command_fails_cleanly() {
    if !has_valgrind() {
        return;
    }
    let d = scratch("miss");
    let out = d.join("x.bin");
    let o = run(&[
        "trace",
        "record",
        "--out",
        out.to_str().unwrap(),
        "--",
        "/nonexistent/program",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("linewatch:"))
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].contains("no accesses"), "{err}");
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "left a file");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn gen_convert_stats() {
    let d = scratch("gen");
    let p = |n: &str| d.join(n).to_str().unwrap().to_string();
    let bin = p("z.bin");
    let g = json_of(&run(&[
        "trace",
        "gen",
        "--kind",
        "zipf",
        "--count",
        "100000",
        "--seed",
        "7",
        "--footprint",
        "1048576",
        "--write-pct",
        "0",
        "--skew",
        "1.2",
        "--out",
        &bin,
        "--json",
    ]));
    assert_eq!(field(&g, "accesses"), 100000.0);
    let st = json_of(&run(&["trace", "stats", "--in", &bin, "--json"]));
    assert_eq!(field(&st, "accesses"), 100000.0);
    assert_eq!(field(&st, "lines_written"), 0.0);
    assert_eq!(field(&st, "stores"), 0.0);
    assert!(field(&st, "unique_lines") <= 16384.0);

    // bin -> lackey -> bin is byte-identical; the seed makes gen repeatable.
    let txt = p("z.txt");
    let back = p("z2.bin");
    json_of(&run(&[
        "trace", "convert", "--in", &bin, "--out", &txt, "--json",
    ]));
    json_of(&run(&[
        "trace", "convert", "--in", &txt, "--out", &back, "--format", "bin", "--json",
    ]));
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&back).unwrap());
    let again = p("again.bin");
    let args = [
        "trace",
        "gen",
        "--kind",
        "zipf",
        "--count",
        "100000",
        "--seed",
        "7",
        "--footprint",
        "1048576",
        "--write-pct",
        "0",
        "--skew",
        "1.2",
        "--out",
        &again,
    ];
    assert!(run(&args).status.success());
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&again).unwrap());

    // Bad input: one line naming the file and line, exit 1, no output file.
    let bad = p("bad.txt");
    std::fs::write(&bad, "I  0400,3\n L zz,8\n").unwrap();
    let o = run(&["trace", "convert", "--in", &bad, "--out", &p("bad.bin")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        format!("linewatch: {bad}:2: bad address 'zz'")
    );
    assert!(!Path::new(&p("bad.bin")).exists());
    let o = run(&["trace", "stats", "--in", &bad, "--skip-bad", "--json"]);
    assert_eq!(field(&json_of(&o), "skipped_lines"), 1.0);

    // A truncated binary trace names the byte offset.
    let bytes = std::fs::read(&bin).unwrap();
    let cut = p("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(&["trace", "stats", "--in", &cut]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with(&format!("linewatch: {cut}: byte ")), "{e}");
    assert!(e.contains("truncated"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
