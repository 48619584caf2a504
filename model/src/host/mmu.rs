//! Address translation: per-core TLBs and an x86-64 4-level page walker over the
//! page tables the OS layer ([`super::os`]) keeps in the coherent window.
//!
//! `translate` does not touch the caches itself: it appends the physical memory
//! operations it performed (walk reads, the OS's stores on a page fault, D-bit
//! updates) to a caller-owned list, which the caller runs through the issuing core's
//! caches, in order, before the access itself. Walks therefore reach the device only
//! when they miss the caches, as on real hardware.
//!
//! Simplifications (docs/host-model.md, "MMU and OS"): 4 KiB pages only, no
//! page-walk caches, no TLB shootdowns (mappings never change once made).

use std::fmt;

use super::os::{self, Os, LEVELS, PAGE_BYTES, PAGE_SHIFT, PTE_D, PTE_FRAME, PTE_P, PTE_REMOTE};
use super::remote::Residency;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmuConfig {
    /// Entries of each core's TLB (4 KiB pages only).
    pub tlb_entries: usize,
    /// Associativity; `tlb_entries / tlb_ways` sets, a power of two.
    pub tlb_ways: usize,
    /// Local DRAM at physical `[0, local_bytes)`; data pages go there first.
    pub local_bytes: u64,
    /// The walker sets the PTE's D bit on the first store through a TLB entry whose
    /// D is clear (a `DirtyBit` op), as x86 does.
    pub set_dirty_bits: bool,
    /// Cycles per walk step on top of the cache latency of its read; the caller adds
    /// it per `WalkRead` op (see [`Mmu::extra_cycles`]).
    pub walk_latency: u32,
}

impl Default for MmuConfig {
    /// 64-entry 4-way TLB (a typical L1 DTLB), no local DRAM, D bits set.
    fn default() -> Self {
        MmuConfig {
            tlb_entries: 64,
            tlb_ways: 4,
            local_bytes: 0,
            set_dirty_bits: true,
            walk_latency: 0,
        }
    }
}

impl MmuConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.tlb_ways == 0 {
            return Err("tlb_ways must be above 0".into());
        }
        if self.tlb_entries == 0 || !self.tlb_entries.is_multiple_of(self.tlb_ways) {
            return Err(format!(
                "tlb_entries {} must be a positive multiple of tlb_ways ({})",
                self.tlb_entries, self.tlb_ways
            ));
        }
        let sets = self.tlb_entries / self.tlb_ways;
        if !sets.is_power_of_two() {
            return Err(format!("TLB sets ({sets}) must be a power of two"));
        }
        if !self.local_bytes.is_multiple_of(PAGE_BYTES) {
            return Err(format!(
                "local_bytes {:#x} is not a multiple of 4 KiB",
                self.local_bytes
            ));
        }
        Ok(())
    }
}

/// One physical memory operation the MMU or the OS performed; the caller pushes it
/// through the core's caches (in order) before the data access itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysOp {
    /// Physical byte address, 8-byte aligned.
    pub addr: u64,
    pub write: bool,
    pub kind: PhysOpKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhysOpKind {
    /// The walker reads a PML4E, PDPTE, PDE or PTE.
    WalkRead,
    /// The OS writes an entry, or zeroes a line of a new table page.
    OsWrite,
    /// The walker sets a PTE's D bit.
    DirtyBit,
}

/// Why a translation failed. Displays as one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmuError {
    /// The window has no frame left for a new data page or page-table page.
    WindowFull {
        pages_local: u64,
        pages_window: u64,
        window_frames: u64,
        pt_pages: u64,
        /// Frames reserved for the page-table trigger's window (`device.pt.frames`).
        reserved: u64,
    },
    /// Bits 63..47 of the address are not all equal.
    NonCanonical {
        vaddr: u64,
    },
    BadCore {
        core: usize,
        cores: usize,
    },
    /// Not an error of the input: the page's entry is non-present with
    /// `PTE_REMOTE`. The caller (the OS's fault handler) fetches the page, calls
    /// [`Mmu::make_present`] and translates again.
    RemoteFault {
        vaddr: u64,
    },
}

impl fmt::Display for MmuError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            MmuError::WindowFull {
                pages_local,
                pages_window,
                window_frames,
                pt_pages,
                reserved,
            } => {
                write!(
                    f,
                    "window full: the trace touches more than {} pages ({pages_local} in local \
                     DRAM, {pages_window} in the window, whose {window_frames} frames also hold \
                     {pt_pages} page-table pages",
                    pages_local + pages_window
                )?;
                if reserved > 0 {
                    write!(
                        f,
                        ", beside {reserved} frames reserved for the page-table trigger); \
                         enlarge the window or local DRAM, or lower device.pt.frames"
                    )
                } else {
                    write!(f, "); enlarge the window or local DRAM")
                }
            }
            MmuError::NonCanonical { vaddr } => write!(
                f,
                "virtual address {vaddr:#x} is not canonical (x86-64 4-level paging: bits 63..47 must be equal)"
            ),
            MmuError::BadCore { core, cores } => {
                write!(f, "core {core} out of range: the MMU has {cores} cores")
            }
            MmuError::RemoteFault { vaddr } => write!(
                f,
                "page fault at {vaddr:#x}: the page is in remote memory and nothing handled the fault"
            ),
        }
    }
}

impl std::error::Error for MmuError {}

/// Event counts since construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmuStats {
    pub tlb_hits: u64,
    pub tlb_misses: u64,
    /// Page walks; a page fault costs two (the faulting walk and the retry), a
    /// remote page's first touch three (map, fault, retry).
    pub walks: u64,
    /// `WalkRead` ops.
    pub walk_reads: u64,
    /// Data pages allocated in local DRAM and in the window (one per page fault).
    pub pages_local: u64,
    pub pages_window: u64,
    /// Page-table pages, the root included.
    pub pt_pages: u64,
    /// `OsWrite` ops: entry writes and the 64 line-zeroing stores per new table.
    pub os_writes: u64,
    pub dirty_bit_writes: u64,
}

const INVALID: u64 = u64::MAX;
/// Bit 0 of a TLB value: the cached D bit (the frame address has its low 12 bits free).
const TLB_D: u64 = 1;

/// One core's TLB: set-associative, true LRU by last-use stamp, flat storage.
#[derive(Clone, Debug)]
struct Tlb {
    set_mask: u64,
    ways: usize,
    /// Virtual page number per way, `INVALID` when empty.
    tags: Vec<u64>,
    /// Frame base address | `TLB_D`.
    vals: Vec<u64>,
    /// Physical address of the PTE, for the D-bit store.
    ptes: Vec<u64>,
    stamps: Vec<u64>,
    clock: u64,
}

impl Tlb {
    fn new(cfg: &MmuConfig) -> Tlb {
        let n = cfg.tlb_entries;
        Tlb {
            set_mask: (n / cfg.tlb_ways) as u64 - 1,
            ways: cfg.tlb_ways,
            tags: vec![INVALID; n],
            vals: vec![0; n],
            ptes: vec![0; n],
            stamps: vec![0; n],
            clock: 0,
        }
    }

    #[inline]
    fn lookup(&mut self, vpn: u64) -> Option<usize> {
        let base = (vpn & self.set_mask) as usize * self.ways;
        let w = self.tags[base..base + self.ways]
            .iter()
            .position(|&t| t == vpn)?;
        self.clock += 1;
        self.stamps[base + w] = self.clock;
        Some(base + w)
    }

    fn fill(&mut self, vpn: u64, val: u64, pte: u64) {
        let base = (vpn & self.set_mask) as usize * self.ways;
        // Empty ways have stamp 0, so the LRU choice takes them first.
        let s = (base..base + self.ways)
            .min_by_key(|&s| self.stamps[s])
            .unwrap_or(base);
        self.clock += 1;
        self.tags[s] = vpn;
        self.vals[s] = val;
        self.ptes[s] = pte;
        self.stamps[s] = self.clock;
    }
}

/// The MMUs of all cores and the OS: one address space (one page-table tree, shared
/// by every core like the threads of one process), a TLB per core.
#[derive(Clone, Debug)]
pub struct Mmu {
    cfg: MmuConfig,
    tlbs: Vec<Tlb>,
    os: Os,
    stats: MmuStats,
    /// Remote memory: which pages start remote and which are fetched. `None`:
    /// every page is resident.
    remote: Option<Residency>,
    /// Remote pages whose PTE is present although their contents are not local
    /// yet: the device's page-table trigger fetches them when a walk reads the line.
    device_pages: std::collections::HashSet<u64>,
}

/// What a walk found at the leaf.
enum Walk {
    Present(u64, u64),
    /// A non-present entry at some level (not mapped yet).
    Missing,
    /// A non-present leaf entry with `PTE_REMOTE`.
    Remote,
}

impl Mmu {
    /// `window_base` and `window_size` place the coherent window in physical memory
    /// (4 KiB aligned, above local DRAM). The root table is allocated in the window.
    pub fn new(
        cfg: MmuConfig,
        cores: usize,
        window_base: u64,
        window_size: u64,
    ) -> Result<Mmu, String> {
        cfg.check()?;
        if cores == 0 {
            return Err("the MMU needs at least one core".into());
        }
        let os = Os::new(cfg.local_bytes, window_base, window_size)?;
        Ok(Mmu {
            tlbs: (0..cores).map(|_| Tlb::new(&cfg)).collect(),
            stats: MmuStats {
                pt_pages: os.pt_pages(),
                ..MmuStats::default()
            },
            os,
            cfg,
            remote: None,
            device_pages: Default::default(),
        })
    }

    /// Turn remote memory on: data pages start remote unless chosen local.
    pub fn set_remote(&mut self, r: Residency) {
        self.remote = Some(r);
    }

    pub fn residency(&self) -> Option<&Residency> {
        self.remote.as_ref()
    }

    /// Is virtual page `vpn`'s content local (always, without remote memory)?
    pub fn is_resident(&self, vpn: u64) -> bool {
        self.remote.as_ref().is_none_or(|r| r.is_resident(vpn))
    }

    /// The fault handler fetched the remote page of `vaddr`: mark it resident and
    /// set its PTE present (an `OsWrite` op). Returns false when `vaddr` has no
    /// non-present remote entry.
    pub fn make_present(&mut self, vaddr: u64, ops: &mut Vec<PhysOp>) -> bool {
        if !self.os.make_present(vaddr, ops) {
            return false;
        }
        if let Some(r) = &mut self.remote {
            r.mark_fetched(vaddr >> PAGE_SHIFT);
        }
        self.stats.os_writes = self.os.os_writes;
        true
    }

    /// Reserve the window's last `frames` frames for the page-table trigger's
    /// residency window; returns its first frame. Before any page is mapped.
    pub fn reserve_top(&mut self, frames: u64) -> Result<u64, String> {
        self.os.reserve_top(frames)
    }

    /// Map the page of `vaddr` before the trace starts (no ops). A page that starts
    /// remote gets a non-present `PTE_REMOTE` entry, or with `device` a present one
    /// (the trigger fetches it) at frame `at`.
    pub fn premap(&mut self, vaddr: u64, at: Option<u64>, device: bool) -> Result<(), MmuError> {
        let vpn = vaddr >> PAGE_SHIFT;
        let resident = self.is_resident(vpn);
        self.os.premap(vaddr, at, resident || device)?;
        if device && !resident {
            self.device_pages.insert(vpn);
        }
        self.stats.pages_local = self.os.pages_local;
        self.stats.pages_window = self.os.pages_window;
        self.stats.pt_pages = self.os.pt_pages();
        Ok(())
    }

    /// Is `vpn` a remote page the device's trigger fetches (present PTE)?
    #[inline]
    pub fn is_device_page(&self, vpn: u64) -> bool {
        self.device_pages.contains(&vpn)
    }

    /// A device page's contents arrived (the trigger's fetch or the fault handler's).
    pub fn mark_fetched(&mut self, vpn: u64) {
        if let Some(r) = &mut self.remote {
            r.mark_fetched(vpn);
        }
    }

    /// Frame of the leaf table mapping `vaddr`, when it exists.
    pub fn leaf_table(&self, vaddr: u64) -> Option<u64> {
        self.os.leaf(vaddr).map(|(_, a)| a >> PAGE_SHIFT)
    }

    /// Every page-table page: its frame and its 512 entries.
    pub fn tables(&self) -> impl Iterator<Item = (u64, &[u64; 512])> + '_ {
        self.os.tables()
    }

    /// Checks that every mapped data page's PTE is present exactly when the
    /// page is resident (and non-present ones carry `PTE_REMOTE`). O(mapped pages).
    pub fn check_residency(&self) -> Result<(), String> {
        let mut bad = None;
        self.os.for_each_leaf(|vaddr, e| {
            let resident = self.is_resident(vaddr >> PAGE_SHIFT);
            let ok = if e & PTE_P != 0 {
                (resident || self.device_pages.contains(&(vaddr >> PAGE_SHIFT)))
                    && e & PTE_REMOTE == 0
            } else {
                !resident && e & PTE_REMOTE != 0
            };
            if !ok && bad.is_none() {
                bad = Some(format!(
                    "page {vaddr:#x}: PTE {e:#x} but resident = {resident}"
                ));
            }
        });
        bad.map_or(Ok(()), Err)
    }

    pub fn config(&self) -> &MmuConfig {
        &self.cfg
    }
    pub fn stats(&self) -> &MmuStats {
        &self.stats
    }

    /// Translates `vaddr` for `core` and returns the physical address.
    ///
    /// On a TLB miss the walker reads the four levels (`WalkRead`). When the page is
    /// not mapped, the walk stops at the first non-present entry and the OS handles
    /// the fault: it allocates the missing table pages in the window (each zeroed,
    /// then linked from its parent) and a data frame (local DRAM while it has room,
    /// then the window), appending its stores (`OsWrite`); the walk is then retried
    /// from the root. A store through a TLB entry (or a walked PTE) whose D bit is
    /// clear appends a `DirtyBit` store to the PTE. Ops are appended to `ops`, which
    /// the caller clears.
    #[inline]
    pub fn translate(
        &mut self,
        core: usize,
        vaddr: u64,
        write: bool,
        ops: &mut Vec<PhysOp>,
    ) -> Result<u64, MmuError> {
        let cores = self.tlbs.len();
        let Some(tlb) = self.tlbs.get_mut(core) else {
            return Err(MmuError::BadCore { core, cores });
        };
        // Non-canonical addresses never enter a TLB, so the hit path needs no check.
        let vpn = vaddr >> PAGE_SHIFT;
        if let Some(s) = tlb.lookup(vpn) {
            self.stats.tlb_hits += 1;
            let v = tlb.vals[s];
            if write && v & TLB_D == 0 {
                tlb.vals[s] |= TLB_D;
                let pte = tlb.ptes[s];
                self.set_dirty(pte, ops);
            }
            return Ok((v & !(PAGE_BYTES - 1)) | (vaddr & (PAGE_BYTES - 1)));
        }
        self.miss(core, vaddr, write, ops)
    }

    #[cold]
    fn miss(
        &mut self,
        core: usize,
        vaddr: u64,
        write: bool,
        ops: &mut Vec<PhysOp>,
    ) -> Result<u64, MmuError> {
        if ((vaddr as i64) << 16 >> 16) as u64 != vaddr {
            return Err(MmuError::NonCanonical { vaddr });
        }
        self.stats.tlb_misses += 1;
        let (pte, pte_addr) = match self.walk(vaddr, ops) {
            Walk::Present(e, a) => (e, a),
            Walk::Remote => return Err(MmuError::RemoteFault { vaddr }),
            Walk::Missing => {
                let resident = self.is_resident(vaddr >> PAGE_SHIFT);
                self.os.fault(vaddr, resident, ops)?;
                self.stats.pages_local = self.os.pages_local;
                self.stats.pages_window = self.os.pages_window;
                self.stats.pt_pages = self.os.pt_pages();
                self.stats.os_writes = self.os.os_writes;
                match self.walk(vaddr, ops) {
                    Walk::Present(e, a) => (e, a),
                    Walk::Remote => return Err(MmuError::RemoteFault { vaddr }),
                    Walk::Missing => unreachable!("the fault handler mapped the page"),
                }
            }
        };
        let mut val = pte & PTE_FRAME;
        if pte & PTE_D != 0 || !self.cfg.set_dirty_bits {
            val |= TLB_D;
        } else if write {
            val |= TLB_D;
            self.set_dirty(pte_addr, ops);
        }
        self.tlbs[core].fill(vaddr >> PAGE_SHIFT, val, pte_addr);
        Ok((pte & PTE_FRAME) | (vaddr & (PAGE_BYTES - 1)))
    }

    /// Walks the four levels from the root, appending a `WalkRead` per entry read.
    /// Returns the PTE and its address, or what stopped it at the first
    /// non-present entry.
    fn walk(&mut self, vaddr: u64, ops: &mut Vec<PhysOp>) -> Walk {
        self.stats.walks += 1;
        let mut slot = 0;
        let mut level = 0;
        loop {
            let (e, addr) = self.os.entry(slot, os::level_index(vaddr, level));
            self.stats.walk_reads += 1;
            ops.push(PhysOp {
                addr,
                write: false,
                kind: PhysOpKind::WalkRead,
            });
            if e & PTE_P == 0 {
                if level == LEVELS - 1 && e & PTE_REMOTE != 0 {
                    return Walk::Remote;
                }
                return Walk::Missing;
            }
            if level == LEVELS - 1 {
                return Walk::Present(e, addr);
            }
            slot = self
                .os
                .table_slot((e & PTE_FRAME) >> PAGE_SHIFT)
                .expect("present upper-level entry points at a table page");
            level += 1;
        }
    }

    fn set_dirty(&mut self, pte_addr: u64, ops: &mut Vec<PhysOp>) {
        self.os.set_entry_bits(pte_addr, PTE_D);
        self.stats.dirty_bit_writes += 1;
        ops.push(PhysOp {
            addr: pte_addr,
            write: true,
            kind: PhysOpKind::DirtyBit,
        });
    }

    /// Cycles an op costs beyond its cache access: `walk_latency` for a walk step.
    pub fn extra_cycles(&self, op: &PhysOp) -> u32 {
        match op.kind {
            PhysOpKind::WalkRead => self.cfg.walk_latency,
            PhysOpKind::OsWrite | PhysOpKind::DirtyBit => 0,
        }
    }

    /// Is physical frame `pfn` (address >> 12) a page-table page? O(1).
    #[inline]
    pub fn is_pt_frame(&self, pfn: u64) -> bool {
        self.os.is_pt_frame(pfn)
    }

    /// Page-table frames in allocation order, the root first.
    pub fn pt_frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.os.pt_frames()
    }

    /// Physical address of the root table (CR3).
    pub fn cr3(&self) -> u64 {
        self.os.root_pfn() << PAGE_SHIFT
    }

    /// The 8-byte page-table entry at physical address `paddr`, or `None` when
    /// `paddr` is not in a page-table page.
    pub fn read_pt_entry(&self, paddr: u64) -> Option<u64> {
        self.os.read_entry(paddr)
    }
}
