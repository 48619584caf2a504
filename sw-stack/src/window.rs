//! The one interface between host software and the device.

use anyhow::{bail, Result};

/// Bytes per cache line: the unit of coherence, of `flush`, and of a device register.
pub const LINE: u64 = 64;

/// Loads, stores, flushes and fences on physical addresses of the coherent window,
/// as a CPU executes them: cached, coherent, and costing time.
pub trait Window {
    /// Physical byte address of the window's first byte.
    fn base(&self) -> u64;
    /// Window size in bytes.
    fn size(&self) -> u64;
    /// Read `buf.len()` bytes at `addr`; the bytes lie within one line.
    fn load(&mut self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Write `data` at `addr`; the bytes lie within one line.
    fn store(&mut self, addr: u64, data: &[u8]) -> Result<()>;
    /// Write the line holding `addr` back if dirty and drop it from every cache
    /// (`clflush`): the device sees a MemWr or a MemClnEvct.
    fn flush(&mut self, addr: u64) -> Result<()>;
    /// Order earlier accesses before later ones (`mfence`).
    fn fence(&mut self) -> Result<()>;
    /// Time in host cycles, for timeouts.
    fn now(&self) -> u64;

    /// `load` of a little-endian u64 (8-byte aligned).
    fn load_u64(&mut self, addr: u64) -> Result<u64> {
        check_span(self.base(), self.size(), addr, 8)?;
        if !addr.is_multiple_of(8) {
            bail!("load_u64 at {addr:#x}: not 8-byte aligned");
        }
        let mut b = [0u8; 8];
        self.load(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// `store` of a little-endian u64 (8-byte aligned).
    fn store_u64(&mut self, addr: u64, v: u64) -> Result<()> {
        check_span(self.base(), self.size(), addr, 8)?;
        if !addr.is_multiple_of(8) {
            bail!("store_u64 at {addr:#x}: not 8-byte aligned");
        }
        self.store(addr, &v.to_le_bytes())
    }
}

/// `len` bytes at `addr` lie inside the window and within one line.
pub fn check_span(base: u64, size: u64, addr: u64, len: usize) -> Result<()> {
    let len = len as u64;
    if len == 0 || len > LINE {
        bail!("access of {len} bytes at {addr:#x}: 1 to 64 bytes, within one line");
    }
    if addr < base || addr - base >= size || addr - base + len > size {
        bail!(
            "access at {addr:#x}: outside the window [{base:#x}, {:#x})",
            base + size
        );
    }
    if addr / LINE != (addr + len - 1) / LINE {
        bail!("access of {len} bytes at {addr:#x}: crosses a line boundary");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_checked() {
        let (b, s) = (0x1000_0000, 0x10_0000);
        assert!(check_span(b, s, b, 64).is_ok());
        assert!(check_span(b, s, b + s - 8, 8).is_ok());
        for (addr, len, what) in [
            (b - 8, 8, "outside"),
            (b + s - 4, 8, "outside"),
            (b + 60, 8, "crosses"),
            (b, 65, "1 to 64"),
            (b, 0, "1 to 64"),
        ] {
            let e = check_span(b, s, addr, len).unwrap_err().to_string();
            assert!(e.contains(what), "{addr:#x}+{len}: {e}");
        }
    }
}
