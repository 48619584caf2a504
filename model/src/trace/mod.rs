//! Memory-access traces: the input of the host model (issue #3).
//!
//! Everything here streams: a [`TraceSource`] hands out one [`Access`] at a time and
//! holds memory independent of the trace length, so 10^8-access traces replay in
//! constant space. Sources are the valgrind lackey text reader ([`lackey`]), our
//! compact binary format ([`binary`], described in docs/traces.md) and deterministic
//! synthetic generators ([`synth`]). Sinks ([`TraceSink`]) write either format.

pub mod binary;
pub mod lackey;
pub mod rng;
pub mod stats;
pub mod synth;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub use binary::{BinReader, BinWriter};
pub use lackey::{LackeyReader, LackeyWriter};
pub use stats::Stats;
pub use synth::{Synth, SynthKind, SynthSpec};

/// Cache-line size the traces are split into (the device's line size).
pub const LINE_BYTES: u64 = 64;
pub const LINE_SHIFT: u32 = 6;
/// 4 KiB pages, for footprint statistics.
pub const PAGE_SHIFT: u32 = 12;

/// What an access does; the names and meaning follow valgrind lackey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    Load = 0,
    Store = 1,
    /// Read-modify-write of the same bytes (e.g. `add [mem], 1`).
    Modify = 2,
    /// Instruction fetch.
    Instr = 3,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Load, Kind::Store, Kind::Modify, Kind::Instr];

    pub fn from_index(i: u8) -> Kind {
        Kind::ALL[(i & 3) as usize]
    }
    /// Lackey's letter for the kind.
    pub fn letter(self) -> char {
        ['L', 'S', 'M', 'I'][self as usize]
    }
    /// Stores and modifies leave the line dirty.
    pub fn writes(self) -> bool {
        matches!(self, Kind::Store | Kind::Modify)
    }
}

/// One memory access of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    pub kind: Kind,
    pub addr: u64,
    /// Bytes touched, starting at `addr`. Zero is allowed and touches `addr`'s line.
    pub size: u32,
    /// Issuing core, when the trace knows it (lackey traces do not).
    pub core: Option<u8>,
}

impl Access {
    pub fn new(kind: Kind, addr: u64, size: u32) -> Access {
        Access {
            kind,
            addr,
            size,
            core: None,
        }
    }

    /// Last byte touched; an access is clamped at the top of the address space.
    fn last_byte(&self) -> u64 {
        self.addr.saturating_add((self.size as u64).max(1) - 1)
    }

    /// Line number (`addr / 64`) of the first line touched.
    pub fn first_line(&self) -> u64 {
        self.addr >> LINE_SHIFT
    }

    /// The line numbers touched, in order: every line the access spans.
    pub fn lines(&self) -> std::ops::RangeInclusive<u64> {
        self.first_line()..=(self.last_byte() >> LINE_SHIFT)
    }

    /// True when the access spans more than one line.
    pub fn crosses_line(&self) -> bool {
        self.first_line() != self.last_byte() >> LINE_SHIFT
    }

    /// The access cut at line boundaries: one piece per line touched, each with the
    /// same kind and core and the bytes of that line.
    pub fn split_lines(&self) -> SplitLines {
        SplitLines {
            a: *self,
            end: self.last_byte(),
            done: false,
        }
    }
}

/// Iterator of [`Access::split_lines`].
#[derive(Clone, Debug)]
pub struct SplitLines {
    a: Access,
    end: u64,
    done: bool,
}

impl Iterator for SplitLines {
    type Item = Access;
    fn next(&mut self) -> Option<Access> {
        if self.done {
            return None;
        }
        let line_end = self.a.addr | (LINE_BYTES - 1);
        let mut piece = self.a;
        if line_end >= self.end {
            self.done = true;
            return Some(piece);
        }
        piece.size = (line_end - self.a.addr + 1) as u32;
        self.a.addr = line_end + 1;
        self.a.size -= piece.size;
        Some(piece)
    }
}

/// Where in its file an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pos {
    /// 1-based text line.
    Line(u64),
    /// Byte offset from the start of the file.
    Byte(u64),
}

/// A trace error naming the file and the line or byte offset, e.g.
/// `trace.txt:1234: bad address 'zz'`. Boxed: results stay small on the hot path.
#[derive(Debug)]
pub struct TraceError(Box<ErrorInner>);

#[derive(Debug)]
struct ErrorInner {
    file: String,
    pos: Option<Pos>,
    msg: String,
}

impl TraceError {
    pub fn new(file: &str, pos: Option<Pos>, msg: impl Into<String>) -> TraceError {
        TraceError(Box::new(ErrorInner {
            file: file.to_string(),
            pos,
            msg: msg.into(),
        }))
    }
    pub fn io(file: &str, pos: Option<Pos>, e: &io::Error) -> TraceError {
        TraceError::new(file, pos, e.to_string())
    }
    pub fn file(&self) -> &str {
        &self.0.file
    }
    pub fn pos(&self) -> Option<Pos> {
        self.0.pos
    }
    pub fn message(&self) -> &str {
        &self.0.msg
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let e = &self.0;
        match e.pos {
            Some(Pos::Line(n)) => write!(f, "{}:{n}: {}", e.file, e.msg),
            Some(Pos::Byte(n)) => write!(f, "{}: byte {n}: {}", e.file, e.msg),
            None => write!(f, "{}: {}", e.file, e.msg),
        }
    }
}

impl std::error::Error for TraceError {}

pub type TraceResult<T> = Result<T, TraceError>;

/// A stream of accesses. `next_access` returns `Ok(None)` at the end of the trace;
/// after an error the source should not be used again.
pub trait TraceSource {
    fn next_access(&mut self) -> TraceResult<Option<Access>>;

    /// Malformed records skipped so far (lackey text read with `skip_bad`).
    fn skipped(&self) -> u64 {
        0
    }

    /// Appends up to `max` accesses to `buf`; returns how many (0 at the end).
    /// Lets a consumer amortise its per-call work over a batch.
    fn fill(&mut self, buf: &mut Vec<Access>, max: usize) -> TraceResult<usize> {
        let mut n = 0;
        while n < max {
            match self.next_access()? {
                Some(a) => buf.push(a),
                None => break,
            }
            n += 1;
        }
        Ok(n)
    }
}

impl<T: TraceSource + ?Sized> TraceSource for Box<T> {
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        (**self).next_access()
    }
    fn skipped(&self) -> u64 {
        (**self).skipped()
    }
    fn fill(&mut self, buf: &mut Vec<Access>, max: usize) -> TraceResult<usize> {
        (**self).fill(buf, max)
    }
}

impl<T: TraceSource + ?Sized> TraceSource for &mut T {
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        (**self).next_access()
    }
    fn skipped(&self) -> u64 {
        (**self).skipped()
    }
    fn fill(&mut self, buf: &mut Vec<Access>, max: usize) -> TraceResult<usize> {
        (**self).fill(buf, max)
    }
}

/// Adapts any source into an `Iterator<Item = TraceResult<Access>>` that ends after
/// the first error.
pub struct Accesses<S> {
    src: S,
    failed: bool,
}

impl<S: TraceSource> Iterator for Accesses<S> {
    type Item = TraceResult<Access>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.src.next_access() {
            Ok(a) => a.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

pub fn accesses<S: TraceSource>(src: S) -> Accesses<S> {
    Accesses { src, failed: false }
}

/// Receives accesses and writes them somewhere. `finish` must be called: it writes
/// the end of the trace (the binary format's end marker) and flushes.
pub trait TraceSink {
    fn push(&mut self, a: &Access) -> TraceResult<()>;
    /// Completes the trace; returns the number of accesses written.
    fn finish(&mut self) -> TraceResult<u64>;
}

impl<T: TraceSink + ?Sized> TraceSink for Box<T> {
    fn push(&mut self, a: &Access) -> TraceResult<()> {
        (**self).push(a)
    }
    fn finish(&mut self) -> TraceResult<u64> {
        (**self).finish()
    }
}

/// Copies every access of `src` into `sink` (without finishing it); returns the count.
pub fn copy<S: TraceSource + ?Sized, K: TraceSink + ?Sized>(
    src: &mut S,
    sink: &mut K,
) -> TraceResult<u64> {
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0;
    loop {
        buf.clear();
        if src.fill(&mut buf, 4096)? == 0 {
            return Ok(n);
        }
        for a in &buf {
            sink.push(a)?;
        }
        n += buf.len() as u64;
    }
}

/// The two on-disk formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Lackey,
    Bin,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "lackey" | "text" | "txt" => Some(Format::Lackey),
            "bin" | "binary" => Some(Format::Bin),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Format::Lackey => "lackey",
            Format::Bin => "bin",
        }
    }
}

/// Tells the format of a trace file by its first bytes (the binary magic or not).
pub fn sniff(path: &Path) -> TraceResult<Format> {
    let name = path.display().to_string();
    let mut f = File::open(path).map_err(|e| TraceError::io(&name, None, &e))?;
    let mut head = [0u8; binary::MAGIC.len()];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TraceError::io(&name, None, &e)),
        }
    }
    Ok(if got == head.len() && head == binary::MAGIC {
        Format::Bin
    } else {
        Format::Lackey
    })
}

/// Opens a trace file of either format (sniffed). `skip_bad` applies to lackey text.
pub fn open(path: &Path, skip_bad: bool) -> TraceResult<(Format, Box<dyn TraceSource>)> {
    Ok(match sniff(path)? {
        Format::Bin => (Format::Bin, Box::new(BinReader::open(path)?)),
        Format::Lackey => (
            Format::Lackey,
            Box::new(LackeyReader::open(path, skip_bad)?),
        ),
    })
}

/// An output file written under a temporary name and renamed into place by
/// [`OutFile::commit`], so a failure never leaves a partial file that looks complete.
/// Dropped uncommitted, it removes the temporary.
pub struct OutFile {
    path: PathBuf,
    tmp: PathBuf,
    w: Option<BufWriter<File>>,
}

impl OutFile {
    pub fn create(path: &Path) -> TraceResult<OutFile> {
        remove_stale_partials(path);
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".partial-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let f =
            File::create(&tmp).map_err(|e| TraceError::io(&tmp.display().to_string(), None, &e))?;
        Ok(OutFile {
            path: path.to_path_buf(),
            tmp,
            w: Some(BufWriter::with_capacity(1 << 20, f)),
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> TraceResult<()> {
        let name = self.path.display().to_string();
        let w = self.w.take().expect("committed once");
        let f = w
            .into_inner()
            .map_err(|e| TraceError::io(&name, None, e.error()))?;
        f.sync_all().map_err(|e| TraceError::io(&name, None, &e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| TraceError::io(&name, None, &e))
    }
}

/// Temporaries of `path` left by writers that were killed (`<name>.partial-<pid>`
/// whose process no longer exists, judged by /proc): removed, so a SIGKILL's
/// leftovers do not pile up beside the output. Best effort, Linux only.
fn remove_stale_partials(path: &Path) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!("{name}.partial-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let f = e.file_name();
        let Some(pid) = f.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.as_mut().expect("not committed").write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.as_mut().expect("not committed").write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.as_mut().expect("not committed").flush()
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if self.w.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_writers_temporary_is_removed_and_a_live_ones_kept() {
        let d = std::env::temp_dir().join(format!("lw_partials_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let out = d.join("t.bin");
        // PID 4294967295 is above any pid_max; PID 1 always runs.
        let dead = d.join("t.bin.partial-4294967295");
        let live = d.join("t.bin.partial-1");
        let other = d.join("u.bin.partial-4294967295");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let mut f = OutFile::create(&out).unwrap();
        f.write_all(b"data").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"data");
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "a dead writer's temporary is removed");
        }
        assert!(live.exists() && other.exists(), "others are left alone");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn lines_of_an_access() {
        let a = Access::new(Kind::Load, 0x1000, 8);
        assert_eq!(a.lines(), 0x40..=0x40);
        assert!(!a.crosses_line());
        // 8 bytes from 0x103c: 4 in line 0x40, 4 in line 0x41.
        let b = Access::new(Kind::Store, 0x103c, 8);
        assert_eq!(b.lines().collect::<Vec<_>>(), vec![0x40, 0x41]);
        assert!(b.crosses_line());
        let pieces: Vec<_> = b.split_lines().collect();
        assert_eq!(
            pieces,
            vec![
                Access::new(Kind::Store, 0x103c, 4),
                Access::new(Kind::Store, 0x1040, 4)
            ]
        );
        // Exactly one full line, and a line-aligned end.
        let c = Access::new(Kind::Load, 0x1040, 64);
        assert_eq!(c.lines().count(), 1);
        assert_eq!(c.split_lines().count(), 1);
        // 200 bytes from 0x1030 span 0x1030..=0x10f7: lines 0x40..=0x43.
        let d = Access::new(Kind::Modify, 0x1030, 200);
        assert_eq!(d.lines(), 0x40..=0x43);
        let p: Vec<_> = d.split_lines().map(|x| (x.addr, x.size)).collect();
        assert_eq!(
            p,
            vec![(0x1030, 16), (0x1040, 64), (0x1080, 64), (0x10c0, 56)]
        );
        assert_eq!(p.iter().map(|x| x.1).sum::<u32>(), 200);
        // Size zero touches its own line; the top of memory does not wrap.
        assert_eq!(Access::new(Kind::Instr, 0x7f, 0).lines(), 1..=1);
        let top = Access::new(Kind::Load, u64::MAX - 3, 8);
        assert_eq!(top.lines().count(), 1);
        assert_eq!(top.split_lines().count(), 1);
    }

    #[test]
    fn error_names_file_and_place() {
        let e = TraceError::new("t.txt", Some(Pos::Line(1234)), "bad address 'zz'");
        assert_eq!(e.to_string(), "t.txt:1234: bad address 'zz'");
        let e = TraceError::new("t.bin", Some(Pos::Byte(77)), "truncated");
        assert_eq!(e.to_string(), "t.bin: byte 77: truncated");
    }

    #[test]
    fn out_file_leaves_nothing_unless_committed() {
        let dir = std::env::temp_dir().join(format!("lw-outfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.bin");
        {
            let mut o = OutFile::create(&p).unwrap();
            o.write_all(b"half").unwrap();
        }
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let mut o = OutFile::create(&p).unwrap();
        o.write_all(b"whole").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
