//! `linewatch sim` through the built binary: a real program recorded under valgrind
//! replays with dirty counts equal to the trace's own count of written lines and
//! pages, identically on the model and in lockstep with the Verilated RTL; bad
//! input stops with one line naming the file and line.
mod common;

use common::*;

#[test]
fn recorded_program_dirty_set_matches_the_trace_on_model_and_rtl() {
    if !has_valgrind() {
        eprintln!("valgrind not installed: skipping");
        return;
    }
    let d = scratch("rec");
    let input = d.join("words.txt");
    let words: String = (0..3000u64)
        .map(|k| format!("{}\n", k.wrapping_mul(0x9e37_79b9) % 100_000))
        .collect();
    std::fs::write(&input, words).unwrap();
    let t = d.join("sort.bin");
    let t = t.to_str().unwrap();
    json_of(&run(&[
        "trace",
        "record",
        "--out",
        t,
        "--json",
        "--",
        "sort",
        "-n",
        input.to_str().unwrap(),
    ]));
    let st = json_of(&run(&["trace", "stats", "--in", t, "--json"]));
    let sim = json_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
        "--json",
    ]));
    assert_eq!(field(&sim, "accesses"), field(&st, "accesses"));
    assert!(field(&st, "lines_written") > 100.0, "{st}");
    assert_eq!(
        field(&sim, "dirty_lines"),
        field(&st, "lines_written"),
        "{sim}\n{st}"
    );
    assert_eq!(
        field(&sim, "dirty_pages"),
        field(&st, "pages_written"),
        "{sim}\n{st}"
    );
    assert_eq!(
        field(&sim, "dirty_bytes_line"),
        64.0 * field(&st, "lines_written")
    );
    assert_eq!(
        field(&sim, "dirty_bytes_page"),
        4096.0 * field(&st, "pages_written")
    );
    assert!(field(&sim, "amplification") >= 1.0);
    assert!(field(&sim, "dirty_pt_lines") > 0.0);
    assert!(field(&sim, "accesses_per_s") > 0.0);
    assert!(field(&sim, "sim_cycles") > field(&sim, "accesses"));
    // The same run with the Verilated RTL beside the model, compared every cycle.
    let lock = json_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
        "--lockstep",
        "--json",
    ]));
    for k in [
        "dirty_lines",
        "dirty_pages",
        "dirty_pt_lines",
        "sim_cycles",
        "device_cycles",
        "requests",
        "snoops",
    ] {
        assert_eq!(field(&lock, k), field(&sim, k), "{k}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_input_is_one_line_naming_file_and_line() {
    let d = scratch("bad");
    let t = d.join("bad.lackey");
    std::fs::write(&t, " L 1000,8\n S 1040,8\n X what\n L 2000,4\n").unwrap();
    let t = t.to_str().unwrap();
    let e = error_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
    ]));
    assert!(e.contains("bad.lackey") && e.contains(":3"), "{e}");
    // With --skip-bad the line is counted and the run completes.
    let ok = json_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
        "--skip-bad",
        "--json",
    ]));
    assert_eq!(field(&ok, "skipped_lines"), 1.0);
    assert_eq!(field(&ok, "accesses"), 3.0);
    assert_eq!(field(&ok, "dirty_lines"), 1.0);
    let e = error_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
        "--epoch",
        "0",
    ]));
    assert!(e.contains("--epoch"), "{e}");
    let e = error_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        &format!("{t},{t}"),
    ]));
    assert!(e.contains("2 traces for 1 cores"), "{e}");
    let e = error_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        "/nonexistent/x.bin",
    ]));
    assert!(e.contains("/nonexistent/x.bin"), "{e}");
    let cfg = d.join("c.toml");
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.toml"))
            .unwrap();
    std::fs::write(&cfg, format!("{base}\n[host]\ncores = 2\ncache = 3\n")).unwrap();
    let e = error_of(&run(&[
        "sim",
        "--config",
        cfg.to_str().unwrap(),
        "--trace",
        t,
    ]));
    assert!(e.contains("c.toml") && e.contains("cache"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `synth`'s seed, job and tool options are checked before any tool runs.
#[test]
fn synth_seed_options_are_one_line_errors() {
    let synth = |extra: &[&str]| {
        let mut args = vec![
            "synth",
            "--config",
            "configs/ice40-small.toml",
            "--target",
            "ice40-up5k",
        ];
        args.extend_from_slice(extra);
        error_of(&run(&args))
    };
    let e = synth(&["--seeds", "0"]);
    assert!(e.contains("--seeds 0: from 1 to 64"), "{e}");
    let e = synth(&["--seeds", "65"]);
    assert!(e.contains("--seeds 65"), "{e}");
    let e = synth(&["--seed", "1", "--seeds", "2"]);
    assert!(e.contains("--seed and --seeds"), "{e}");
    let e = synth(&["--seed", "x"]);
    assert!(e.contains("--seed x: not a whole number"), "{e}");
    let e = synth(&["--seeds", "2", "--jobs", "0"]);
    assert!(e.contains("--jobs 0: from 1 to 64"), "{e}");
    let e = synth(&["--jobs", "2"]);
    assert!(e.contains("--jobs") && e.contains("--seeds"), "{e}");
    let e = synth(&["--nextpnr-args", "--seed 3"]);
    assert!(e.contains("--seed is the flow's own"), "{e}");
    let e = synth(&["--yosys-args", "-abc9; stat"]);
    assert!(e.contains("synth.ys"), "{e}");
}
