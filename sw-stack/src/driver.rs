//! The device driver: register access, command submission and bitmap harvest, all
//! through loads, stores and flushes on the window's register page
//! (docs/registers.md). It keeps no shadow of the device: every value it returns
//! was read through the window.

use crate::window::{Window, LINE};
use anyhow::{bail, Result};

pub use linewatch_model::regmap::*;

/// How a command reaches the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Store the command line, then flush it (the writeback executes it).
    Flush,
    /// Store the command line, then ring the doorbell: the device pulls the line.
    Doorbell,
}

/// What the device told discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub version: u64,
    pub window_base_line: u64,
    pub window_lines: u64,
    pub levels: u64,
    pub fanout: u64,
    /// The page-table trigger, when the device has one.
    pub pt: Option<PtInfo>,
}

/// The page-table trigger's parameters (parameters line word 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtInfo {
    pub registry: u64,
    pub inflight: u64,
    pub timer: u64,
    /// First frame and number of frames whose residency the device tracks: the
    /// window's last pages below the register page.
    pub first_frame: u64,
    pub frames: u64,
}

impl PtInfo {
    fn decode(w: u64, window_base_line: u64, window_lines: u64) -> Option<PtInfo> {
        let [registry, inflight, timer, frames] = pt_params_fields(w)?;
        Some(PtInfo {
            registry,
            inflight,
            timer,
            first_frame: pt_first_frame(window_base_line, window_lines, frames),
            frames,
        })
    }
}

impl Params {
    /// Words in bitmap level `k` (at least one).
    pub fn level_words(&self, k: u64) -> u64 {
        (self.window_lines >> (self.fanout.trailing_zeros() as u64 * (k + 1))).max(1)
    }
}

#[derive(Clone, Debug, Default)]
pub struct DriverStats {
    pub commands: u64,
    /// Completion-line loads while waiting for a command.
    pub polls: u64,
    pub harvests: u64,
    /// Host cycles from a command's first store to its completion being seen.
    pub command_cycles: u64,
    /// Event records read from the ring.
    pub events_consumed: u64,
}

pub struct Driver<W: Window> {
    pub w: W,
    page: u64,
    seq: u64,
    pub params: Params,
    /// Host cycles a command may take before `command` gives up.
    pub timeout: u64,
    pub delivery: Delivery,
    pub stats: DriverStats,
    /// The event ring's consumer index (records consumed since reset).
    cons: u64,
}

impl<W: Window> Driver<W> {
    /// Find the device: check the identity line's magic and major version, read the
    /// parameters, and take up the sequence number where the device left it.
    pub fn open(mut w: W) -> Result<Self> {
        if w.size() < 2 * PAGE_BYTES {
            bail!("window of {} bytes: no register page", w.size());
        }
        let page = w.base() + w.size() - PAGE_BYTES;
        let r = |k: u64, word: u64| page + k * LINE + word * 8;
        let magic = w.load_u64(r(LINE_IDENT, 0))?;
        if magic != MAGIC {
            bail!(
                "no Linewatch device at {:#x}: identity word {magic:#018x}",
                page
            );
        }
        let version = w.load_u64(r(LINE_IDENT, 1))?;
        if version >> 16 != VERSION_MAJOR {
            bail!(
                "device register map version {}.{}: this driver speaks {VERSION_MAJOR}.x",
                version >> 16,
                version & 0xffff
            );
        }
        let shape = w.load_u64(r(LINE_PARAMS, 6))?;
        let window_base_line = w.load_u64(r(LINE_PARAMS, 0))?;
        let window_lines = w.load_u64(r(LINE_PARAMS, 1))?;
        let pt_word = w.load_u64(r(LINE_PARAMS, 7))?;
        let params = Params {
            version,
            window_base_line,
            window_lines,
            levels: shape & 0xff,
            fanout: shape >> 8 & 0xff,
            pt: PtInfo::decode(pt_word, window_base_line, window_lines),
        };
        if params.window_base_line * LINE != w.base() || params.window_lines * LINE != w.size() {
            bail!("device reports a window that is not the one mapped");
        }
        let seq = w.load_u64(r(LINE_COMPLETION, 0))?;
        let cons = w.load_u64(r(LINE_EVENTS, 1))?;
        Ok(Driver {
            cons,
            w,
            page,
            seq,
            params,
            timeout: 1_000_000,
            delivery: Delivery::Flush,
            stats: DriverStats::default(),
        })
    }

    /// Byte address of word `word` of register line `k`.
    pub fn reg(&self, k: u64, word: u64) -> u64 {
        self.page + k * LINE + word * 8
    }

    /// Add (`set`) or drop a page-table page in the device's trigger registry.
    /// A full registry is an error naming it.
    pub fn pt_register(&mut self, frame: u64, set: bool) -> Result<()> {
        self.command(CMD_PT_REGISTER, frame, set as u64).map(|_| ())
    }

    /// Tell the trigger frame `frame` (of its window) is resident now, or not.
    pub fn pt_resident(&mut self, frame: u64, set: bool) -> Result<()> {
        self.command(CMD_PT_RESIDENT, frame, set as u64).map(|_| ())
    }

    /// Read one register word.
    pub fn read(&mut self, k: u64, word: u64) -> Result<u64> {
        let a = self.reg(k, word);
        self.w.load_u64(a)
    }

    /// Submit one command and wait for its completion; returns its result, or the
    /// device's status as an error, or a timeout.
    pub fn command(&mut self, op: u64, a0: u64, a1: u64) -> Result<u64> {
        let start = self.w.now();
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        for (word, v) in [op, seq, a0, a1].into_iter().enumerate() {
            let a = self.reg(LINE_COMMAND, word as u64);
            self.w.store_u64(a, v)?;
        }
        match self.delivery {
            Delivery::Flush => {
                let a = self.reg(LINE_COMMAND, 0);
                self.w.flush(a)?;
            }
            Delivery::Doorbell => {
                let a = self.reg(LINE_DOORBELL, 0);
                self.w.store_u64(a, 1)?;
                self.w.flush(a)?;
            }
        }
        self.w.fence()?;
        self.stats.commands += 1;
        loop {
            self.stats.polls += 1;
            if self.read(LINE_COMPLETION, 0)? == seq {
                break;
            }
            if self.w.now() - start > self.timeout {
                bail!(
                    "command {op} (sequence {seq}) not completed after {} host cycles",
                    self.timeout
                );
            }
        }
        self.stats.command_cycles += self.w.now() - start;
        let status = self.read(LINE_COMPLETION, 1)?;
        if status != 0 {
            let name = STATUS_NAMES
                .get(status as usize)
                .unwrap_or(&"unknown status");
            bail!("command {op} (sequence {seq}): {name} (status {status})");
        }
        self.read(LINE_COMPLETION, 2)
    }

    /// A NOP submitted like [`Self::command`] but polled MMIO-style: the completion
    /// line is flushed before every poll, so each poll is a read from the device
    /// (the uncached baseline the benchmark compares against).
    pub fn seq_command_uncached(&mut self) -> Result<()> {
        let start = self.w.now();
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        for (word, v) in [CMD_NOP, seq, 0, 0].into_iter().enumerate() {
            let a = self.reg(LINE_COMMAND, word as u64);
            self.w.store_u64(a, v)?;
        }
        let a = self.reg(LINE_COMMAND, 0);
        self.w.flush(a)?;
        self.stats.commands += 1;
        let c = self.reg(LINE_COMPLETION, 0);
        loop {
            self.stats.polls += 1;
            self.w.flush(c)?;
            if self.w.load_u64(c)? == seq {
                break;
            }
            if self.w.now() - start > self.timeout {
                bail!(
                    "command (sequence {seq}) not completed after {} host cycles",
                    self.timeout
                );
            }
        }
        self.w.flush(c)?;
        Ok(())
    }

    /// Event counters as the device shows them: (produced, consumer index, dropped).
    pub fn event_counts(&mut self) -> Result<(u64, u64, u64)> {
        Ok((
            self.read(LINE_EVENTS, 0)?,
            self.read(LINE_EVENTS, 1)?,
            self.read(LINE_EVENTS, 2)?,
        ))
    }

    /// Take every record the device has appended since the last call, in order,
    /// and hand the ring back (the consumer index, written back to the device).
    pub fn consume_events(&mut self) -> Result<Vec<u64>> {
        let prod = self.read(LINE_EVENTS, 0)?;
        let n = prod.wrapping_sub(self.cons);
        if n > RING_RECORDS {
            bail!(
                "event ring: producer {prod}, consumer {}: more records than the ring holds",
                self.cons
            );
        }
        let mut out = Vec::with_capacity(n as usize);
        for p in self.cons..prod {
            let slot = p % RING_RECORDS;
            out.push(self.read(RING_FIRST + slot / 8, slot % 8)?);
        }
        if n > 0 {
            self.cons = prod;
            let a = self.reg(LINE_EVENTS, 1);
            self.w.store_u64(a, prod)?;
            self.w.flush(a)?;
            self.stats.events_consumed += n;
        }
        Ok(out)
    }

    /// Swap the bitmap epoch and read the retired bank out: the window-relative
    /// lines marked dirty since the previous harvest, in scan order.
    pub fn harvest(&mut self) -> Result<Vec<u64>> {
        self.command(CMD_HARVEST_SWAP, 0, 0)?;
        self.stats.harvests += 1;
        let p = self.params;
        let shift = p.fanout.trailing_zeros() as u64;
        let top = p.levels - 1;
        let mut work: Vec<(u64, u64)> = (0..p.level_words(top)).rev().map(|w| (top, w)).collect();
        let mut lines = Vec::new();
        while let Some((k, w)) = work.pop() {
            let word = self.command(CMD_HARVEST_READ, k, w)?;
            let mut below = Vec::new();
            for b in 0..p.fanout {
                if word >> b & 1 != 0 {
                    below.push((w << shift) | b);
                }
            }
            if k == 0 {
                lines.extend(below);
            } else {
                work.extend(below.into_iter().rev().map(|x| (k - 1, x)));
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Plain memory behind the trait: enough for discovery's checks.
    struct Mem(HashMap<u64, u8>, u64);
    impl Window for Mem {
        fn base(&self) -> u64 {
            0x10_0000
        }
        fn size(&self) -> u64 {
            0x10_0000
        }
        fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<()> {
            for (k, b) in buf.iter_mut().enumerate() {
                *b = *self.0.get(&(addr + k as u64)).unwrap_or(&0);
            }
            self.1 += 1;
            Ok(())
        }
        fn store(&mut self, addr: u64, data: &[u8]) -> Result<()> {
            for (k, b) in data.iter().enumerate() {
                self.0.insert(addr + k as u64, *b);
            }
            self.1 += 1;
            Ok(())
        }
        fn flush(&mut self, _: u64) -> Result<()> {
            Ok(())
        }
        fn fence(&mut self) -> Result<()> {
            Ok(())
        }
        fn now(&self) -> u64 {
            self.1
        }
    }

    fn device(magic: u64, version: u64) -> Mem {
        let mut m = Mem(HashMap::new(), 0);
        let page = 0x20_0000 - PAGE_BYTES;
        m.store_u64(page, magic).unwrap();
        m.store_u64(page + 8, version).unwrap();
        m.store_u64(page + 64, 0x10_0000 / 64).unwrap();
        m.store_u64(page + 64 + 8, 0x10_0000 / 64).unwrap();
        m.store_u64(page + 64 + 48, 2 | 64 << 8).unwrap();
        m
    }

    #[test]
    fn discovery_checks_magic_and_version() {
        let d = Driver::open(device(MAGIC, 1 << 16 | 3)).unwrap();
        assert_eq!((d.params.levels, d.params.fanout), (2, 64));
        let e = Driver::open(device(MAGIC, 2 << 16)).err().unwrap();
        assert!(e.to_string().contains("version 2.0"), "{e}");
        let e = Driver::open(device(7, 1 << 16)).err().unwrap();
        assert!(e.to_string().contains("no Linewatch device"), "{e}");
    }

    #[test]
    fn a_command_that_never_completes_times_out() {
        let mut d = Driver::open(device(MAGIC, 1 << 16)).unwrap();
        d.timeout = 50;
        let e = d.command(CMD_NOP, 0, 0).unwrap_err();
        assert!(e.to_string().contains("not completed"), "{e}");
    }
}
