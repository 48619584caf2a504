//! valgrind lackey text traces (`valgrind --tool=lackey --trace-mem=yes`):
//!
//! ```text
//! ==1180== Command: /bin/true        valgrind's own messages: skipped
//! I  0401ab70,3                      instruction fetch, hex address, decimal size
//!  S 1fff000778,8                    store (also L load, M modify)
//! ```
//!
//! Lines starting with `==` or `--` (valgrind's `==PID==` and `--PID--` messages)
//! and blank lines are skipped. As a Linewatch extension an optional third field is
//! the core (` L 1000,8,3`); lackey never writes it.

use super::{Access, Kind, Pos, TraceError, TraceResult, TraceSink, TraceSource};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// Streaming lackey reader: one reused line buffer, so memory does not grow with
/// the trace.
pub struct LackeyReader<R> {
    r: R,
    name: String,
    line: Vec<u8>,
    line_no: u64,
    skip_bad: bool,
    bad: u64,
    first_bad: Option<String>,
}

impl LackeyReader<BufReader<File>> {
    pub fn open(path: &Path, skip_bad: bool) -> TraceResult<Self> {
        let name = path.display().to_string();
        let f = File::open(path).map_err(|e| TraceError::io(&name, None, &e))?;
        Ok(LackeyReader::new(
            BufReader::with_capacity(1 << 20, f),
            &name,
            skip_bad,
        ))
    }
}

impl<R: Read> LackeyReader<BufReader<R>> {
    /// Reads from any byte stream (a pipe, a FIFO); `name` is used in errors.
    pub fn from_reader(r: R, name: &str, skip_bad: bool) -> Self {
        LackeyReader::new(BufReader::with_capacity(1 << 20, r), name, skip_bad)
    }
}

impl<R: BufRead> LackeyReader<R> {
    /// With `skip_bad`, a malformed line is counted ([`Self::bad_lines`]) and
    /// skipped instead of ending the trace with an error.
    pub fn new(r: R, name: &str, skip_bad: bool) -> Self {
        LackeyReader {
            r,
            name: name.to_string(),
            line: Vec::with_capacity(256),
            line_no: 0,
            skip_bad,
            bad: 0,
            first_bad: None,
        }
    }
    /// Malformed lines skipped so far (always 0 without `skip_bad`).
    pub fn bad_lines(&self) -> u64 {
        self.bad
    }
    /// The first skipped line's error, for a warning.
    pub fn first_bad(&self) -> Option<&str> {
        self.first_bad.as_deref()
    }
    /// Text lines read so far, skipped ones included.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }
    pub fn into_inner(self) -> R {
        self.r
    }
}

impl<R: BufRead> TraceSource for LackeyReader<R> {
    fn skipped(&self) -> u64 {
        self.bad
    }
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        loop {
            // Parse lines in place in the reader's buffer; only a line split across
            // two buffer fills is copied.
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = Some(Pos::Line(self.line_no + 1));
                    return Err(TraceError::io(&self.name, at, &e));
                }
            };
            let (res, used) = match avail.iter().position(|&c| c == b'\n') {
                Some(k) if self.line.is_empty() => (parse_line(&avail[..k]), k + 1),
                Some(k) => {
                    self.line.extend_from_slice(&avail[..k]);
                    (parse_line(&self.line), k + 1)
                }
                None if avail.is_empty() && self.line.is_empty() => return Ok(None),
                // The last line has no newline.
                None if avail.is_empty() => (parse_line(&self.line), 0),
                None => {
                    self.line.extend_from_slice(avail);
                    let n = avail.len();
                    self.r.consume(n);
                    continue;
                }
            };
            self.r.consume(used);
            self.line.clear();
            self.line_no += 1;
            match res {
                Ok(Some(a)) => return Ok(Some(a)),
                Ok(None) => {}
                Err(msg) => {
                    let e = TraceError::new(&self.name, Some(Pos::Line(self.line_no)), msg);
                    if !self.skip_bad {
                        return Err(e);
                    }
                    self.bad += 1;
                    if self.first_bad.is_none() {
                        self.first_bad = Some(e.to_string());
                    }
                }
            }
        }
    }
}

fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
    if b.len() > 40 {
        s + "..."
    } else {
        s
    }
}

/// Hex digit values, 255 for anything else.
const HEX: [u8; 256] = {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses one line: `Ok(None)` for a line to skip, `Err` with the reason for a
/// malformed one.
pub fn parse_line(line: &[u8]) -> Result<Option<Access>, String> {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let line = &line[..end];
    if line.starts_with(b"==") || line.starts_with(b"--") {
        return Ok(None);
    }
    let mut i = 0;
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    if i == line.len() {
        return Ok(None);
    }
    let kind = match line[i] {
        b'I' => Kind::Instr,
        b'L' => Kind::Load,
        b'S' => Kind::Store,
        b'M' => Kind::Modify,
        _ => return Err(format!("not a lackey access line '{}'", shown(line))),
    };
    i += 1;
    let gap = i;
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    if i == gap {
        return Err(format!("not a lackey access line '{}'", shown(line)));
    }
    // Address: up to 16 hex digits, then a comma.
    let start = i;
    let mut addr: u64 = 0;
    while i < line.len() && line[i] != b',' {
        let d = HEX[line[i] as usize];
        if d == 255 || i - start >= 16 {
            let tok_end = line[start..]
                .iter()
                .position(|&c| c == b',')
                .map_or(line.len(), |p| start + p);
            return Err(format!("bad address '{}'", shown(&line[start..tok_end])));
        }
        addr = addr << 4 | d as u64;
        i += 1;
    }
    if i == start {
        return Err(format!("bad address '' in '{}'", shown(line)));
    }
    if i == line.len() {
        return Err(format!("missing ',size' in '{}'", shown(line)));
    }
    i += 1;
    let (size, j) = decimal(line, i, u32::MAX as u64).ok_or_else(|| bad_field("size", line, i))?;
    i = j;
    let mut core = None;
    if i < line.len() {
        i += 1; // a comma: `decimal` stops only there
        let (c, j) = decimal(line, i, 255).ok_or_else(|| bad_field("core", line, i))?;
        if j != line.len() {
            return Err(bad_field("core", line, i));
        }
        core = Some(c as u8);
    }
    Ok(Some(Access {
        kind,
        addr,
        size: size as u32,
        core,
    }))
}

fn bad_field(what: &str, line: &[u8], from: usize) -> String {
    format!("bad {what} '{}'", shown(&line[from..]))
}

/// Decimal digits from `i` up to a comma or the end; None if empty, not digits or
/// above `max`.
fn decimal(line: &[u8], mut i: usize, max: u64) -> Option<(u64, usize)> {
    let start = i;
    let mut v: u64 = 0;
    while i < line.len() && line[i] != b',' {
        let c = line[i];
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
        if v > max {
            return None;
        }
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// Writes lackey text (`I  %08x,%d`, ` L %08x,%d`), for inspection and for tools
/// that read lackey output; a known core is appended as a third field.
pub struct LackeyWriter<W: Write> {
    w: W,
    name: String,
    n: u64,
    buf: Vec<u8>,
}

impl<W: Write> LackeyWriter<W> {
    pub fn new(w: W, name: &str) -> Self {
        LackeyWriter {
            w,
            name: name.to_string(),
            n: 0,
            buf: Vec::with_capacity(64),
        }
    }
    pub fn into_inner(self) -> W {
        self.w
    }
}

impl<W: Write> TraceSink for LackeyWriter<W> {
    fn push(&mut self, a: &Access) -> TraceResult<()> {
        let b = &mut self.buf;
        b.clear();
        if a.kind == Kind::Instr {
            b.extend_from_slice(b"I  ");
        } else {
            b.extend_from_slice(&[b' ', a.kind.letter() as u8, b' ']);
        }
        let digits = (16 - a.addr.leading_zeros() as usize / 4).max(8);
        for k in (0..digits).rev() {
            b.push(b"0123456789abcdef"[(a.addr >> (4 * k)) as usize & 15]);
        }
        b.push(b',');
        push_decimal(b, a.size as u64);
        if let Some(c) = a.core {
            b.push(b',');
            push_decimal(b, c as u64);
        }
        b.push(b'\n');
        self.w
            .write_all(b)
            .map_err(|e| TraceError::io(&self.name, None, &e))?;
        self.n += 1;
        Ok(())
    }
    fn finish(&mut self) -> TraceResult<u64> {
        self.w
            .flush()
            .map_err(|e| TraceError::io(&self.name, None, &e))?;
        Ok(self.n)
    }
}

fn push_decimal(b: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut k = tmp.len();
    loop {
        k -= 1;
        tmp[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    b.extend_from_slice(&tmp[k..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::accesses;

    const SNIPPET: &str = "==1180== Lackey, an example Valgrind tool
==1180== Command: /bin/true

I  0401ab70,3
 S 1fff000778,8
 L 1ffefffd3c,8
 M 0403a0c0,4
I  0401ab73,5
--1180-- a valgrind warning
 L 7ff0003f0,32
==1180== Exit code:       0
";

    fn read(text: &str, skip: bool) -> (TraceResult<Vec<Access>>, u64) {
        let mut r = LackeyReader::new(text.as_bytes(), "t.txt", skip);
        let v = accesses(&mut r).collect::<TraceResult<Vec<_>>>();
        (v, r.bad_lines())
    }

    #[test]
    fn parses_a_snippet_exactly() {
        let (v, bad) = read(SNIPPET, false);
        let v = v.unwrap();
        assert_eq!(bad, 0);
        assert_eq!(
            v,
            vec![
                Access::new(Kind::Instr, 0x0401ab70, 3),
                Access::new(Kind::Store, 0x1fff000778, 8),
                Access::new(Kind::Load, 0x1ffefffd3c, 8),
                Access::new(Kind::Modify, 0x0403a0c0, 4),
                Access::new(Kind::Instr, 0x0401ab73, 5),
                Access::new(Kind::Load, 0x7ff0003f0, 32),
            ]
        );
        // The load at ...d3c crosses into the next line; the 32-byte load at
        // ...3f0 crosses too; the others stay in one line.
        let lines: Vec<Vec<u64>> = v.iter().map(|a| a.lines().collect()).collect();
        assert_eq!(lines[0], vec![0x0401ab70 >> 6]);
        assert_eq!(lines[1], vec![0x1fff000778 >> 6]);
        assert_eq!(lines[2], vec![0x1ffefffd3c >> 6, (0x1ffefffd3c >> 6) + 1]);
        assert_eq!(lines[5], vec![0x7ff0003f0 >> 6, 0x7ff000400 >> 6]);
        let total: usize = lines.iter().map(Vec::len).sum();
        assert_eq!(total, 8);
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let text = "I  0400,3\n L zz,8\n S 10,4\n";
        let e = read(text, false).0.unwrap_err();
        assert_eq!(e.to_string(), "t.txt:2: bad address 'zz'");
        for (line, want) in [
            (" L 10,x\n", "t.txt:1: bad size 'x'"),
            (" L 10\n", "t.txt:1: missing ',size' in ' L 10'"),
            (" Q 10,4\n", "t.txt:1: not a lackey access line ' Q 10,4'"),
            (" L10,4\n", "t.txt:1: not a lackey access line ' L10,4'"),
            (" L 10,4,300\n", "t.txt:1: bad core '300'"),
            (" L 10,99999999999\n", "t.txt:1: bad size '99999999999'"),
            (
                " L 11112222333344445,4\n",
                "t.txt:1: bad address '11112222333344445'",
            ),
        ] {
            assert_eq!(read(line, false).0.unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn skip_bad_counts_and_continues() {
        let text = "I  0400,3\n L zz,8\ngarbage\n S 10,4\n";
        let (v, bad) = read(text, true);
        assert_eq!(
            v.unwrap(),
            vec![
                Access::new(Kind::Instr, 0x400, 3),
                Access::new(Kind::Store, 0x10, 4)
            ]
        );
        assert_eq!(bad, 2);
    }

    #[test]
    fn lines_split_across_buffer_fills() {
        let want = read(SNIPPET, false).0.unwrap();
        for cap in 1..20 {
            let r = std::io::BufReader::with_capacity(cap, SNIPPET.as_bytes());
            let mut r = LackeyReader::new(r, "t.txt", false);
            let got = accesses(&mut r).collect::<TraceResult<Vec<_>>>().unwrap();
            assert_eq!(got, want, "buffer of {cap}");
            assert_eq!(r.lines_read(), 11);
        }
        let e = LackeyReader::new(
            std::io::BufReader::with_capacity(3, &b"I  10,1\n L 1x,2"[..]),
            "t",
            false,
        );
        let e = accesses(e).find_map(Result::err).unwrap();
        assert_eq!(e.to_string(), "t:2: bad address '1x'");
    }

    #[test]
    fn crlf_no_final_newline_and_core_field() {
        let (v, _) = read("I  0400,3\r\n L 10,4,2", false);
        let v = v.unwrap();
        assert_eq!(v[0], Access::new(Kind::Instr, 0x400, 3));
        assert_eq!(v[1].core, Some(2));
    }

    #[test]
    fn writer_round_trips_and_looks_like_lackey() {
        let (v, _) = read(SNIPPET, false);
        let mut v = v.unwrap();
        v.push(Access {
            kind: Kind::Store,
            addr: u64::MAX,
            size: 0,
            core: Some(255),
        });
        let mut w = LackeyWriter::new(Vec::new(), "out");
        for a in &v {
            w.push(a).unwrap();
        }
        assert_eq!(w.finish().unwrap(), v.len() as u64);
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert!(text.starts_with("I  0401ab70,3\n S 1fff000778,8\n"));
        assert!(text.ends_with(" S ffffffffffffffff,0,255\n"));
        assert_eq!(read(&text, false).0.unwrap(), v);
    }
}
