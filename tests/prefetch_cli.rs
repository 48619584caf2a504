//! `linewatch sim` with remote memory through the built binary: without
//! `[remote]` the report is byte-identical to the one before remote memory existed
//! (golden files captured at 71249db, before remote memory; regenerated once at its
//! merge, where only `device_cycles` moved: e965218 registers the harvest word, so
//! harvest reads take a device cycle more; and at the page-table trigger, where the
//! driver loads one more parameter word each time it opens the device: one more L1
//! hit and two device cycles per harvest, nothing else; and at the register
//! agent's inbox and the harvest word's register beside the bitmap RAMs, where a
//! command completes two device cycles later, so the driver polls COMPLETION once
//! more per command: more polls, L1 hits and cycles, nothing else; and when the
//! agent's swap came to complete a cycle after the core takes it: one more poll per
//! harvest and a few cycles, nothing else; and when the harvest port's answer came
//! to take three cycles: one device cycle more per harvest read, nothing else; and
//! four: one more device cycle per harvest read, and the driver's first poll of a
//! harvest read's completion now comes too early, so one more poll per harvest
//! read: more polls, L1 hits and host cycles, nothing else; and five (step 42):
//! one more device cycle per harvest read, nothing else); the prefetch fields;
//! one-line errors.
//! Regenerate them only for a deliberate change of the sim's results.
mod common;

use common::*;

/// The report without the fields that name the trace's path or measure wall time.
fn normalise(json: &str) -> String {
    let mut s = json.trim().to_string();
    if let Some(a) = s.find("\"traces\":[") {
        let b = a + s[a..].find("],").unwrap() + 2;
        s.replace_range(a..b, "");
    }
    if let Some(a) = s.find(",\"wall_s\":") {
        s.truncate(a);
    }
    assert!(
        s.contains("\"sim_cycles\":") && s.contains("\"epochs\":"),
        "{s}"
    );
    s
}

fn gen(args: &[&str], out: &str) {
    let mut v = vec!["trace", "gen"];
    v.extend_from_slice(args);
    v.extend_from_slice(&["--out", out, "--json"]);
    json_of(&run(&v));
}

#[test]
fn without_remote_the_report_is_unchanged() {
    let d = scratch("golden");
    let t = d.join("z.bin");
    let t = t.to_str().unwrap();
    gen(
        &[
            "--kind",
            "zipf",
            "--count",
            "50000",
            "--seed",
            "3",
            "--footprint",
            "4194304",
            "--write-pct",
            "30",
        ],
        t,
    );
    let golden = |f: &str| {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).unwrap()
    };
    let a = json_of(&run(&[
        "sim",
        "--config",
        "configs/sim.toml",
        "--trace",
        t,
        "--json",
    ]));
    assert_eq!(
        normalise(&a),
        normalise(&golden("tests/golden/sim-zipf.json"))
    );
    // --prefetch none is the default and changes nothing either.
    let b = json_of(&run(&[
        "sim",
        "--config",
        "configs/default.toml",
        "--trace",
        t,
        "--epoch",
        "10000",
        "--prefetch",
        "none",
        "--json",
    ]));
    assert_eq!(
        normalise(&b),
        normalise(&golden("tests/golden/sim-zipf-default-epoch.json"))
    );
    assert!(!a.contains("\"faults\""));
}

#[test]
fn remote_fields_and_their_arithmetic() {
    let d = scratch("remote");
    let t = d.join("seq.bin");
    let t = t.to_str().unwrap();
    gen(
        &[
            "--kind",
            "sequential",
            "--count",
            "60000",
            "--size",
            "64",
            "--footprint",
            "67108864",
        ],
        t,
    );
    let sim = |p: &str| {
        json_of(&run(&[
            "sim",
            "--config",
            "configs/sim-remote.toml",
            "--trace",
            t,
            "--prefetch",
            p,
            "--json",
        ]))
    };
    let none = sim("none");
    let ra = sim("readahead");
    assert!(field(&ra, "faults") * 10.0 < field(&none, "faults"), "{ra}");
    assert_eq!(field(&none, "prefetch_issued"), 0.0);
    let (issued, useful) = (field(&ra, "prefetch_issued"), field(&ra, "prefetch_useful"));
    assert!((field(&ra, "accuracy") - useful / issued).abs() < 1e-6);
    let cov = useful / (useful + field(&ra, "faults"));
    assert!((field(&ra, "coverage") - cov).abs() < 1e-6);
    assert_eq!(field(&ra, "wasted_bytes"), (issued - useful) * 4096.0);
    assert!(field(&ra, "late") <= useful);
    assert!(field(&ra, "amat_cycles") < field(&none, "amat_cycles"));
    // The amat covers every access: at least an L1 hit each.
    assert!(field(&none, "amat_cycles") >= 4.0);
}

#[test]
fn bad_prefetch_and_remote_input_is_one_line() {
    let d = scratch("prefetch-bad");
    let t = d.join("u.bin");
    let t = t.to_str().unwrap();
    gen(&["--kind", "uniform", "--count", "100"], t);
    for (config, flag, value, want) in [
        ("configs/sim.toml", "--prefetch", "pt", "[remote]"),
        (
            "configs/sim-remote.toml",
            "--prefetch",
            "leap",
            "--prefetch leap",
        ),
        ("configs/sim.toml", "--prefetch", "trend", "[remote]"),
        (
            "configs/sim-remote.toml",
            "--prefetch-depth",
            "0",
            "--prefetch-depth",
        ),
    ] {
        let e = error_of(&run(&[
            "sim", "--config", config, "--trace", t, flag, value,
        ]));
        assert!(e.contains(want), "{flag} {value}: {e}");
    }
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/sim-remote.toml"),
    )
    .unwrap();
    for (from, to, key) in [
        ("bandwidth = 4.0", "bandwidth = -4.0", "remote.bandwidth"),
        (
            "local_fraction = 0.25",
            "local_fraction = 2",
            "remote.local_fraction",
        ),
        ("hosts = []", "hosts = [\"ftp:x\"]", "remote.hosts"),
        ("seed = 1", "seed = 1\nprefetch = 3", "prefetch"),
        ("map_around = 1", "map_around = 6", "remote.map_around"),
        ("timer = 8192", "timer = 200000", "device.pt.timer"),
        ("frames = 4096", "frames = 70000", "device.pt.frames"),
        ("registry = 16", "registry = 17", "device.pt.registry"),
        ("inflight = 8 ", "inflight = 0 ", "device.pt.inflight"),
        ("registry = 16", "registry = 16\nwindow = 3", "window"),
    ] {
        let c = d.join("c.toml");
        std::fs::write(&c, text.replace(from, to)).unwrap();
        let e = error_of(&run(&[
            "sim",
            "--config",
            c.to_str().unwrap(),
            "--trace",
            t,
        ]));
        assert!(e.contains("c.toml") && e.contains(key), "{to}: {e}");
    }
    // pt on a device without the trigger: one line naming the section.
    let c = d.join("c.toml");
    let cut = text.find("[device.pt]").unwrap();
    let end = cut + text[cut..].find("\n\n").unwrap();
    std::fs::write(&c, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    let e = error_of(&run(&[
        "sim",
        "--config",
        c.to_str().unwrap(),
        "--trace",
        t,
        "--prefetch",
        "pt",
    ]));
    assert!(e.contains("[device.pt]"), "{e}");
}
