//! Trace layer end to end through files: lackey text -> binary -> the same accesses,
//! damaged files, generators, statistics, and (ignored) reader speed.
use linewatch_model::trace::{
    self, accesses, Access, BinReader, BinWriter, Format, Kind, LackeyReader, LackeyWriter,
    OutFile, Pos, Stats, Synth, SynthKind, SynthSpec, TraceSink, TraceSource,
};
use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("linewatch-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LACKEY: &str = "==4242== Lackey, an example Valgrind tool
==4242== Command: ./a.out
==4242== 
I  04001000,3
I  04001003,5
 S 1ffefffd18,8
I  04001008,4
 L 1ffefffd3c,8
 M 0060103e,4
I  04001100,2
 L 00601000,64
 S 00601040,32
==4242== 
==4242== Exit code:       0
";

fn write_bin(path: &Path, v: &[Access]) {
    let mut w = BinWriter::new(OutFile::create(path).unwrap(), "t").unwrap();
    for a in v {
        w.push(a).unwrap();
    }
    assert_eq!(w.finish().unwrap(), v.len() as u64);
    w.into_inner().commit().unwrap();
}

fn read_all(src: impl TraceSource) -> Vec<Access> {
    accesses(src).collect::<Result<_, _>>().unwrap()
}

#[test]
fn lackey_to_bin_round_trip_through_files() {
    let d = TempDir::new("rt");
    let txt = d.join("t.txt");
    std::fs::write(&txt, LACKEY).unwrap();
    let parsed = read_all(LackeyReader::open(&txt, false).unwrap());
    let want = vec![
        Access::new(Kind::Instr, 0x0400_1000, 3),
        Access::new(Kind::Instr, 0x0400_1003, 5),
        Access::new(Kind::Store, 0x1f_feff_fd18, 8),
        Access::new(Kind::Instr, 0x0400_1008, 4),
        Access::new(Kind::Load, 0x1f_feff_fd3c, 8),
        Access::new(Kind::Modify, 0x0060_103e, 4),
        Access::new(Kind::Instr, 0x0400_1100, 2),
        Access::new(Kind::Load, 0x0060_1000, 64),
        Access::new(Kind::Store, 0x0060_1040, 32),
    ];
    assert_eq!(parsed, want);
    // Line splits: the load at ...d3c and the modify at ...03e straddle a line.
    let pieces: Vec<(u64, u32)> = parsed
        .iter()
        .flat_map(|a| a.split_lines())
        .map(|p| (p.addr, p.size))
        .collect();
    assert_eq!(pieces.len(), 11);
    assert!(pieces.contains(&(0x1f_feff_fd3c, 4)) && pieces.contains(&(0x1f_feff_fd40, 4)));
    assert!(pieces.contains(&(0x0060_103e, 2)) && pieces.contains(&(0x0060_1040, 2)));

    let bin = d.join("t.bin");
    write_bin(&bin, &parsed);
    assert_eq!(trace::sniff(&bin).unwrap(), Format::Bin);
    assert_eq!(trace::sniff(&txt).unwrap(), Format::Lackey);
    let (f, src) = trace::open(&bin, false).unwrap();
    assert_eq!(f, Format::Bin);
    assert_eq!(read_all(src), want);

    // Back to text: lackey's own layout, and it parses to the same accesses.
    let mut w = LackeyWriter::new(Vec::new(), "mem");
    trace::copy(&mut BinReader::open(&bin).unwrap(), &mut w).unwrap();
    w.finish().unwrap();
    let text = String::from_utf8(w.into_inner()).unwrap();
    let body: Vec<&str> = LACKEY.lines().filter(|l| !l.starts_with("==")).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), body);
}

#[test]
fn generated_trace_round_trips_and_stats_agree() {
    let d = TempDir::new("gen");
    let mut spec = SynthSpec::new(SynthKind::Zipf, 200_000, 17);
    spec.record = 100; // records straddle lines
    spec.footprint = 100 * 5000;
    let v: Vec<Access> = Synth::new(spec).unwrap().collect();
    let bin = d.join("z.bin");
    write_bin(&bin, &v);
    assert_eq!(read_all(BinReader::open(&bin).unwrap()), v);
    let mut s = Stats::new();
    s.add_all(&mut BinReader::open(&bin).unwrap()).unwrap();
    assert_eq!(s.accesses, 200_000);
    assert_eq!(s.loads + s.stores, 200_000);
    // 5000 records of 100 bytes cover 500,000 bytes = 7813 lines at most.
    assert!(s.unique_lines() <= 7813 && s.unique_lines() > 1000);
    assert!(s.lines_written() > 0 && s.lines_written() <= s.unique_lines());
}

#[test]
fn write_pct_zero_writes_no_line() {
    for kind in [
        SynthKind::Sequential,
        SynthKind::Uniform,
        SynthKind::Zipf,
        SynthKind::Strided,
    ] {
        let mut spec = SynthSpec::new(kind, 50_000, 1);
        spec.write_pct = 0.0;
        let mut s = Stats::new();
        s.add_all(&mut Synth::new(spec.clone()).unwrap()).unwrap();
        assert_eq!((s.lines_written(), s.pages_written(), s.stores), (0, 0, 0));
        assert!(s.unique_lines() > 0);
        spec.write_pct = 50.0;
        let mut s = Stats::new();
        s.add_all(&mut Synth::new(spec).unwrap()).unwrap();
        assert!(s.lines_written() > 0, "{kind:?}");
    }
}

#[test]
fn truncated_file_names_file_and_offset() {
    let d = TempDir::new("trunc");
    let v: Vec<Access> = Synth::new(SynthSpec::new(SynthKind::Uniform, 10_000, 2))
        .unwrap()
        .collect();
    let bin = d.join("whole.bin");
    write_bin(&bin, &v);
    let bytes = std::fs::read(&bin).unwrap();
    // Cut in the middle of the records, and just before the trailer's checksum.
    for cut in [bytes.len() / 2, bytes.len() - 3] {
        let p = d.join("cut.bin");
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let mut r = BinReader::open(&p).unwrap();
        let err = loop {
            match r.next_access() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("truncated file read to the end"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.file(), p.display().to_string());
        assert!(
            matches!(err.pos(), Some(Pos::Byte(b)) if b <= cut as u64),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }
    // A writer that never finished leaves no end marker.
    let p = d.join("unfinished.bin");
    {
        let mut w = BinWriter::new(std::fs::File::create(&p).unwrap(), "u").unwrap();
        for a in &v[..100] {
            w.push(a).unwrap();
        }
        w.flush().unwrap();
    }
    let e = accesses(BinReader::open(&p).unwrap())
        .find_map(Result::err)
        .unwrap();
    assert!(e.to_string().contains("no end marker"), "{e}");
    // Lackey text is not a binary trace.
    let t = d.join("t.txt");
    std::fs::write(&t, LACKEY).unwrap();
    let e = BinReader::open(&t).err().unwrap().to_string();
    assert!(
        e.contains("t.txt: byte 0: not a Linewatch binary trace"),
        "{e}"
    );
}

#[test]
fn malformed_lackey_in_a_file() {
    let d = TempDir::new("bad");
    let p = d.join("trace.txt");
    let mut text = String::from(LACKEY);
    text.push_str(" L zz,8\n S 10,4\n");
    std::fs::write(&p, &text).unwrap();
    let e = accesses(LackeyReader::open(&p, false).unwrap())
        .find_map(Result::err)
        .unwrap();
    assert_eq!(
        e.to_string(),
        format!("{}:15: bad address 'zz'", p.display())
    );
    let (_, mut src) = trace::open(&p, true).unwrap();
    let mut n = 0;
    while src.next_access().unwrap().is_some() {
        n += 1;
    }
    assert_eq!((n, src.skipped()), (10, 1));
}

/// Reader speeds: `cargo test --release -p linewatch-model --test traces -- --ignored
/// --nocapture`. LINEWATCH_TRACE=FILE (lackey or binary) measures a real trace
/// instead of a synthetic program-like mix.
#[test]
#[ignore]
fn reader_speed() {
    let d = TempDir::new("speed");
    let given = std::env::var("LINEWATCH_TRACE").ok().map(PathBuf::from);
    let (bin, txt) = match given {
        Some(p) if trace::sniff(&p).unwrap() == Format::Bin => (p, None),
        Some(p) => (d.join("t.bin"), Some(p)),
        None => (
            d.join("t.bin"),
            Some(program_like(&d.join("mix.txt"), 10_000_000)),
        ),
    };
    let rate = |n: u64, t: std::time::Instant| n as f64 / t.elapsed().as_secs_f64() / 1e6;
    if let Some(txt) = &txt {
        let t = std::time::Instant::now();
        let mut r = LackeyReader::open(txt, false).unwrap();
        let mut n = 0u64;
        while r.next_access().unwrap().is_some() {
            n += 1;
        }
        let tb = std::fs::metadata(txt).unwrap().len();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "lackey parse: {n} accesses, {:.1} M accesses/s, {:.0} MB/s, {:.2} bytes/access",
            rate(n, t),
            tb as f64 / secs / 1e6,
            tb as f64 / n as f64
        );
        let t = std::time::Instant::now();
        let mut w = BinWriter::new(OutFile::create(&bin).unwrap(), "t").unwrap();
        trace::copy(&mut LackeyReader::open(txt, false).unwrap(), &mut w).unwrap();
        w.finish().unwrap();
        w.into_inner().commit().unwrap();
        println!("lackey -> bin: {:.1} M accesses/s", rate(n, t));
    }
    for pass in 0..3 {
        let t = std::time::Instant::now();
        let mut r = BinReader::open(&bin).unwrap();
        let mut sum = 0u64;
        while let Some(a) = r.next_access().unwrap() {
            sum = sum.wrapping_add(a.addr ^ a.size as u64);
        }
        let n = r.count();
        let read = rate(n, t);
        let t = std::time::Instant::now();
        let mut buf = Vec::with_capacity(4096);
        let mut r = BinReader::open(&bin).unwrap();
        let mut sum2 = 0u64;
        while {
            buf.clear();
            r.fill(&mut buf, 4096).unwrap() > 0
        } {
            for a in &buf {
                sum2 = sum2.wrapping_add(a.addr ^ a.size as u64);
            }
        }
        assert_eq!(sum, sum2);
        let batched = rate(n, t);
        let t = std::time::Instant::now();
        let mut s = Stats::new();
        s.add_all(&mut BinReader::open(&bin).unwrap()).unwrap();
        println!(
            "pass {pass}: bin read {read:.1} M accesses/s, batched {batched:.1}, with stats {:.1}; {:.2} bytes/access",
            rate(n, t),
            std::fs::metadata(&bin).unwrap().len() as f64 / n as f64
        );
    }
}

/// Straight-line fetches with branches, stack and heap data, as lackey text.
fn program_like(p: &Path, n: u64) -> PathBuf {
    let mut w = LackeyWriter::new(
        std::io::BufWriter::new(std::fs::File::create(p).unwrap()),
        "mix",
    );
    let mut rng = trace::rng::Rng::new(1);
    let mut pc = 0x0400_0000u64;
    for _ in 0..n {
        let r = rng.next_u64();
        let a = match r % 100 {
            0..=69 => {
                let size = 1 + (r >> 8) as u32 % 7;
                if r >> 32 & 15 == 0 {
                    pc = 0x0400_0000 + (r >> 40) % 0x10_0000;
                }
                pc += size as u64;
                Access::new(Kind::Instr, pc - size as u64, size)
            }
            70..=89 => Access::new(Kind::Load, 0x1f_fefe_0000 + (r >> 20) % 4096 * 8, 8),
            90..=98 => Access::new(Kind::Store, 0x0060_0000 + (r >> 20) % 100_000 * 8, 8),
            _ => Access::new(Kind::Modify, 0x0060_0000 + (r >> 20) % 1000 * 4, 4),
        };
        w.push(&a).unwrap();
    }
    w.finish().unwrap();
    p.to_path_buf()
}
