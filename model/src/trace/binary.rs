//! Linewatch binary trace format, version 1 (full description in docs/traces.md).
//!
//! ```text
//! header   8-byte magic 89 'L' 'W' 'T' 0d 0a 1a 0a, u16 LE version = 1, u16 LE flags = 0
//! record   tag byte, then [size varint] [core byte] [address delta varint]
//!   tag bits 0-1  kind (0 load, 1 store, 2 modify, 3 instr)
//!       bits 2-5  size code: 1..=12 size 1..=12, 13 = 16, 14 = 32, 15 = 64,
//!                 0 = size+1 follows as a varint
//!       bit  6    a core byte follows
//!       bit  7    the address is the predicted one (no delta follows)
//! end      tag 0x00 with size field 0, then varint access count, u64 LE checksum
//! ```
//!
//! The prediction for an access is the end (`addr + size`) of the previous access
//! of the same core and kind, so straight-line instruction fetches cost one byte,
//! and the delta is a zigzag LEB128 varint. The end marker and checksum make a
//! truncated or damaged file an error instead of a silently shorter trace.

use super::{Access, Kind, Pos, TraceError, TraceResult, TraceSink, TraceSource};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"\x89LWT\r\n\x1a\n";
pub const VERSION: u16 = 1;
const HEADER_LEN: usize = 12;

const SIZE_OF_CODE: [u32; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 32, 64];
const CORE_BIT: u8 = 0x40;
const PREDICTED_BIT: u8 = 0x80;
/// One prediction per (core, kind); a trace without cores uses core 0's.
const SLOTS: usize = 256 * 4;

fn size_code(size: u32) -> u8 {
    match size {
        1..=12 => size as u8,
        16 => 13,
        32 => 14,
        64 => 15,
        _ => 0,
    }
}

fn slot(kind: Kind, core: Option<u8>) -> usize {
    core.unwrap_or(0) as usize * 4 + kind as usize
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over two 64-bit words per access (see docs/traces.md).
#[inline]
fn checksum(h: u64, a: &Access) -> u64 {
    let core = a.core.map_or(0, |c| 0x100 | c as u64);
    let w0 = a.kind as u64 | core << 8 | (a.size as u64) << 32;
    let h = (h ^ w0).wrapping_mul(FNV_PRIME);
    (h ^ a.addr).wrapping_mul(FNV_PRIME)
}

fn put_varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push(v as u8 | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// Streaming writer. Call [`TraceSink::finish`] to write the end marker; a file
/// whose writer never finished reads back as truncated.
pub struct BinWriter<W: Write> {
    w: W,
    name: String,
    buf: Vec<u8>,
    pred: Box<[u64; SLOTS]>,
    n: u64,
    hash: u64,
    finished: bool,
}

const FLUSH_AT: usize = 1 << 16;

impl BinWriter<File> {
    pub fn create(path: &Path) -> TraceResult<BinWriter<io::BufWriter<File>>> {
        let name = path.display().to_string();
        let f = File::create(path).map_err(|e| TraceError::io(&name, None, &e))?;
        BinWriter::new(io::BufWriter::new(f), &name)
    }
}

impl<W: Write> BinWriter<W> {
    /// Writes the header at once; `name` is used in errors.
    pub fn new(w: W, name: &str) -> TraceResult<Self> {
        let mut buf = Vec::with_capacity(FLUSH_AT + 64);
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        Ok(BinWriter {
            w,
            name: name.to_string(),
            buf,
            pred: Box::new([0; SLOTS]),
            n: 0,
            hash: FNV_BASIS,
            finished: false,
        })
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    /// The underlying writer; call after [`TraceSink::finish`] (records still in
    /// the staging buffer are otherwise lost, as a crash would lose them).
    pub fn into_inner(self) -> W {
        self.w
    }

    /// Writes out buffered records without ending the trace.
    pub fn flush(&mut self) -> TraceResult<()> {
        self.drain()?;
        self.w
            .flush()
            .map_err(|e| TraceError::io(&self.name, None, &e))
    }

    fn drain(&mut self) -> TraceResult<()> {
        self.w
            .write_all(&self.buf)
            .map_err(|e| TraceError::io(&self.name, None, &e))?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write> TraceSink for BinWriter<W> {
    #[inline]
    fn push(&mut self, a: &Access) -> TraceResult<()> {
        assert!(!self.finished, "push after finish");
        let s = slot(a.kind, a.core);
        let delta = a.addr.wrapping_sub(self.pred[s]) as i64;
        self.pred[s] = a.addr.wrapping_add(a.size as u64);
        let code = size_code(a.size);
        let mut tag = a.kind as u8 | code << 2;
        if a.core.is_some() {
            tag |= CORE_BIT;
        }
        if delta == 0 {
            tag |= PREDICTED_BIT;
        }
        self.buf.push(tag);
        if code == 0 {
            put_varint(&mut self.buf, a.size as u64 + 1);
        }
        if let Some(c) = a.core {
            self.buf.push(c);
        }
        if delta != 0 {
            put_varint(&mut self.buf, ((delta << 1) ^ (delta >> 63)) as u64);
        }
        self.n += 1;
        self.hash = checksum(self.hash, a);
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> TraceResult<u64> {
        if !self.finished {
            self.finished = true;
            self.buf.extend_from_slice(&[0, 0]);
            put_varint(&mut self.buf, self.n);
            self.buf.extend_from_slice(&self.hash.to_le_bytes());
            self.drain()?;
            self.w
                .flush()
                .map_err(|e| TraceError::io(&self.name, None, &e))?;
        }
        Ok(self.n)
    }
}

/// Longest record: tag, size varint (5), core, delta varint (10).
const MAX_RECORD: usize = 17;
const READ_BUF: usize = 1 << 20;

/// Streaming reader over its own buffer (decoding from a slice is what makes it
/// fast); memory is a fixed 1 MiB plus the prediction table.
pub struct BinReader<R> {
    r: R,
    name: String,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    pred: Box<[u64; SLOTS]>,
    n: u64,
    hash: u64,
    done: bool,
}

impl BinReader<File> {
    pub fn open(path: &Path) -> TraceResult<BinReader<File>> {
        let name = path.display().to_string();
        let f = File::open(path).map_err(|e| TraceError::io(&name, None, &e))?;
        BinReader::new(f, &name)
    }
}

enum Short {
    /// Ran out of bytes inside a record.
    End,
    /// A varint longer than 64 bits.
    Long,
}

#[inline]
fn get_varint(b: &[u8], i: &mut usize) -> Result<u64, Short> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = *b.get(*i).ok_or(Short::End)?;
        *i += 1;
        if shift == 63 && byte > 1 {
            // Bits past 64: a damaged varint, not a value.
            return Err(Short::Long);
        }
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err(Short::Long);
        }
    }
}

impl<R: Read> BinReader<R> {
    /// Reads and checks the header. `r` need not be buffered.
    pub fn new(r: R, name: &str) -> TraceResult<Self> {
        let mut me = BinReader {
            r,
            name: name.to_string(),
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            pred: Box::new([0; SLOTS]),
            n: 0,
            hash: FNV_BASIS,
            done: false,
        };
        me.refill()?;
        let h = &me.buf[..me.len.min(HEADER_LEN)];
        if h.len() < MAGIC.len() || h[..MAGIC.len()] != MAGIC {
            return Err(me.err(0, "not a Linewatch binary trace (bad magic)"));
        }
        if h.len() < HEADER_LEN {
            return Err(me.err(h.len() as u64, "truncated header"));
        }
        let version = u16::from_le_bytes([h[8], h[9]]);
        let flags = u16::from_le_bytes([h[10], h[11]]);
        if version != VERSION {
            return Err(me.err(
                8,
                format!("unsupported format version {version} (this build reads {VERSION})"),
            ));
        }
        if flags != 0 {
            return Err(me.err(10, format!("unknown header flags {flags:#x}")));
        }
        me.pos = HEADER_LEN;
        Ok(me)
    }

    /// Accesses read so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn err(&self, at: u64, msg: impl Into<String>) -> TraceError {
        TraceError::new(&self.name, Some(Pos::Byte(at)), msg)
    }

    fn refill(&mut self) -> TraceResult<()> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.base += self.pos as u64;
        self.len -= self.pos;
        self.pos = 0;
        while self.len < self.buf.len() {
            match self.r.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.len += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = self.base + self.len as u64;
                    return Err(TraceError::io(&self.name, Some(Pos::Byte(at)), &e));
                }
            }
        }
        Ok(())
    }

    fn short(&self, at: u64, s: Short) -> TraceError {
        match s {
            Short::End => self.err(
                self.base + self.len as u64,
                format!(
                    "truncated: the file ends inside the record at byte {at} ({} accesses read)",
                    self.n
                ),
            ),
            Short::Long => self.err(at, "corrupt: varint longer than 64 bits"),
        }
    }

    /// The end marker has been read up to `i`: check the trailer and that nothing
    /// follows it.
    fn end(&mut self, start: u64, mut i: usize) -> TraceResult<Option<Access>> {
        let b = &self.buf[..self.len];
        let count = get_varint(b, &mut i).map_err(|s| self.short(start, s))?;
        let Some(sum) = b.get(i..i + 8) else {
            return Err(self.short(start, Short::End));
        };
        let sum = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
        if count != self.n {
            return Err(self.err(
                start,
                format!(
                    "corrupt: the end marker counts {count} accesses but {} were read",
                    self.n
                ),
            ));
        }
        if sum != self.hash {
            return Err(self.err(
                start,
                "corrupt: checksum mismatch (the records were damaged)",
            ));
        }
        self.pos = i + 8;
        if self.pos == self.len && !self.eof {
            self.refill()?;
        }
        if self.pos < self.len {
            return Err(self.err(self.offset(), "corrupt: data after the end marker"));
        }
        self.done = true;
        Ok(None)
    }
}

impl<R> BinReader<R> {
    /// The rest of a record whose tag and size were read and whose core byte (if
    /// any) starts at `i`: core, address, then the reader moves past it. Nothing
    /// changes on an error.
    #[inline]
    fn record(&mut self, tag: u8, size: u32, mut i: usize) -> Result<Access, Short> {
        let b = &self.buf[..self.len];
        let core = if tag & CORE_BIT != 0 {
            let c = *b.get(i).ok_or(Short::End)?;
            i += 1;
            Some(c)
        } else {
            None
        };
        let kind = Kind::from_index(tag);
        let s = slot(kind, core);
        let addr = if tag & PREDICTED_BIT != 0 {
            self.pred[s]
        } else {
            let z = get_varint(b, &mut i)?;
            let delta = (z >> 1) as i64 ^ -((z & 1) as i64);
            self.pred[s].wrapping_add(delta as u64)
        };
        self.pred[s] = addr.wrapping_add(size as u64);
        self.pos = i;
        let a = Access {
            kind,
            addr,
            size,
            core,
        };
        self.n += 1;
        self.hash = checksum(self.hash, &a);
        Ok(a)
    }
}

impl<R: Read> TraceSource for BinReader<R> {
    /// Decodes straight from the buffer while a whole record surely fits and its
    /// size is a code; anything else (refill, varint size, end marker, errors) goes
    /// through `next_access`.
    fn fill(&mut self, out: &mut Vec<Access>, max: usize) -> TraceResult<usize> {
        out.reserve(max);
        let mut n = 0;
        while n < max {
            let fast = self.len - self.pos >= MAX_RECORD + 16 && !self.done;
            let tag = if fast { self.buf[self.pos] } else { 0 };
            let code = (tag >> 2) & 15;
            if code != 0 {
                // A damaged varint falls through to `next_access`, which reports it.
                if let Ok(a) = self.record(tag, SIZE_OF_CODE[code as usize], self.pos + 1) {
                    out.push(a);
                    n += 1;
                    continue;
                }
            }
            match self.next_access()? {
                Some(a) => {
                    out.push(a);
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }

    #[inline]
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        if self.done {
            return Ok(None);
        }
        if self.len - self.pos < MAX_RECORD + 16 && !self.eof {
            self.refill()?;
        }
        let start = self.base + self.pos as u64;
        let b = &self.buf[..self.len];
        let mut i = self.pos;
        let Some(&tag) = b.get(i) else {
            return Err(self.err(
                start,
                format!(
                    "truncated: no end marker after {} accesses (the writer did not finish)",
                    self.n
                ),
            ));
        };
        i += 1;
        let code = (tag >> 2) & 15;
        let size = if code == 0 {
            let v = get_varint(b, &mut i).map_err(|s| self.short(start, s))?;
            if v == 0 {
                if tag == 0 {
                    return self.end(start, i);
                }
                return Err(self.err(start, format!("corrupt: tag {tag:#04x} with size 0")));
            }
            if v - 1 > u32::MAX as u64 {
                return Err(self.err(start, format!("corrupt: size {} too large", v - 1)));
            }
            (v - 1) as u32
        } else {
            SIZE_OF_CODE[code as usize]
        };
        let a = self
            .record(tag, size, i)
            .map_err(|e| self.short(start, e))?;
        Ok(Some(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::accesses;

    fn encode(v: &[Access]) -> Vec<u8> {
        let mut w = BinWriter::new(Vec::new(), "mem").unwrap();
        for a in v {
            w.push(a).unwrap();
        }
        assert_eq!(w.finish().unwrap(), v.len() as u64);
        w.into_inner()
    }

    fn decode(b: &[u8]) -> TraceResult<Vec<Access>> {
        let r = BinReader::new(b, "t.bin")?;
        accesses(r).collect()
    }

    /// Decode through `fill` in batches, as `linewatch sim` does.
    fn decode_batched(b: &[u8], batch: usize) -> TraceResult<Vec<Access>> {
        let mut r = BinReader::new(b, "t.bin")?;
        let mut v = Vec::new();
        while r.fill(&mut v, batch)? > 0 {}
        Ok(v)
    }

    #[test]
    fn batched_fill_equals_one_by_one_across_refills_and_damage() {
        // Over 1 MiB of records, so the buffer refills mid-batch; every record shape.
        let mut rng = crate::trace::rng::Rng::new(5);
        let mut v = sample();
        let mut addr = 0x4000u64;
        for _ in 0..400_000 {
            let r = rng.next_u64();
            addr = match r % 4 {
                0 => addr + 4,
                1 => r >> 20,
                _ => addr.wrapping_add(r % 4096),
            };
            let kind = Kind::ALL[(r >> 8) as usize % 4];
            let size = [1u32, 4, 8, 16, 64, 13, 200][(r >> 12) as usize % 7];
            let mut a = Access::new(kind, addr, size);
            if r >> 16 & 7 == 0 {
                a.core = Some((r >> 24) as u8 % 3);
            }
            v.push(a);
        }
        let bytes = encode(&v);
        assert!(bytes.len() > READ_BUF, "{}", bytes.len());
        for batch in [1, 7, 4096] {
            assert_eq!(decode_batched(&bytes, batch).unwrap(), v, "batch {batch}");
        }
        // Damage: a cut and a flipped byte give the same error both ways.
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            let a = decode(&bytes[..cut]).unwrap_err().to_string();
            assert_eq!(
                decode_batched(&bytes[..cut], 4096).unwrap_err().to_string(),
                a
            );
        }
        let mut bad = bytes.clone();
        bad[bytes.len() / 3] ^= 0x20;
        let a = decode(&bad).unwrap_err().to_string();
        assert_eq!(decode_batched(&bad, 4096).unwrap_err().to_string(), a);
        let mut long = bytes.clone();
        // A run of continuation bytes: a varint longer than 64 bits.
        long.splice(2000..2000, [0xffu8; 12]);
        let a = decode(&long).unwrap_err().to_string();
        assert_eq!(decode_batched(&long, 4096).unwrap_err().to_string(), a);
    }

    fn sample() -> Vec<Access> {
        let mut v = vec![
            Access::new(Kind::Instr, 0x0401_ab70, 3),
            Access::new(Kind::Instr, 0x0401_ab73, 5),
            Access::new(Kind::Store, 0x1f_ff00_0778, 8),
            Access::new(Kind::Store, 0x1f_ff00_0770, 8),
            Access::new(Kind::Load, 0x1f_feff_fd3c, 8),
            Access::new(Kind::Modify, 0x0403_a0c0, 4),
            Access::new(Kind::Load, 0, 0),
            Access::new(Kind::Load, u64::MAX, 512),
            Access::new(Kind::Store, 0x10, u32::MAX),
            Access::new(Kind::Instr, 0x8000_0000_0000_0000, 15),
            Access::new(Kind::Load, 0x40, 64),
        ];
        for c in [0u8, 1, 255] {
            v.push(Access {
                core: Some(c),
                ..Access::new(Kind::Store, 0x1000 + c as u64, 16)
            });
        }
        v
    }

    #[test]
    fn round_trip_and_compact() {
        let v = sample();
        let b = encode(&v);
        assert_eq!(decode(&b).unwrap(), v);
        // Header, then the second fetch is predicted: one byte.
        assert_eq!(&b[..8], &MAGIC);
        assert_eq!(b[12 + 1 + 4], 0x80 | 5 << 2 | 3);
        // Empty trace.
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
        // Sequential fetches cost one byte each.
        let seq: Vec<Access> = (0..1000)
            .map(|i| Access::new(Kind::Instr, 0x400000 + 4 * i, 4))
            .collect();
        assert!(encode(&seq).len() < 12 + 1000 + 5 + 20);
    }

    #[test]
    fn every_truncation_is_an_error_naming_the_offset() {
        let b = encode(&sample());
        for cut in 0..b.len() {
            let e = match decode(&b[..cut]) {
                Err(e) => e,
                Ok(v) => panic!("cut at {cut} read {} accesses without error", v.len()),
            };
            assert_eq!(e.file(), "t.bin");
            let Some(Pos::Byte(at)) = e.pos() else {
                panic!("no offset: {e}")
            };
            assert!(at <= cut as u64, "{e}");
        }
        let e = decode(&b[..b.len() - 12]).unwrap_err().to_string();
        assert!(e.starts_with("t.bin: byte "), "{e}");
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn damage_is_detected() {
        let b = encode(&sample());
        // Any single flipped bit after the header is an error or at least a
        // different trace; the checksum catches the ones that still parse.
        let mut silent = 0;
        for i in HEADER_LEN..b.len() {
            for bit in 0..8 {
                let mut c = b.clone();
                c[i] ^= 1 << bit;
                if decode(&c).is_ok() {
                    silent += 1;
                }
            }
        }
        assert_eq!(silent, 0);
        let mut c = b.clone();
        c.push(0);
        assert!(decode(&c)
            .unwrap_err()
            .to_string()
            .contains("after the end marker"));
        let mut c = b.clone();
        c[0] = b'X';
        assert!(decode(&c).unwrap_err().to_string().contains("bad magic"));
        let mut c = b;
        c[8] = 9;
        assert!(decode(&c).unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn reads_across_buffer_refills() {
        // Several MiB of records, so records straddle the 1 MiB buffer edge.
        let v: Vec<Access> = (0..2_000_000u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                Access::new(Kind::from_index(x as u8), x >> 20, (i % 70) as u32)
            })
            .collect();
        let b = encode(&v);
        assert!(b.len() > 3 * READ_BUF);
        assert_eq!(decode(&b).unwrap(), v);
    }
}
