//! The OS side of address translation: physical memory layout, first-touch frame
//! allocation and the x86-64 page tables, whose contents the model holds so that the
//! walker reads real entries at their real physical addresses.
//!
//! Physical layout: local DRAM is `[0, local_bytes)` (host-homed, never seen by the
//! device); the coherent window is `[window_base, window_base + window_size)`
//! (device-homed). Both are allocated by bumping a pointer, in first-touch order.
//! Data pages go to local DRAM while it has room, then to the window; page-table
//! pages always go to the window.

use super::mmu::{MmuError, PhysOp, PhysOpKind};

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_BYTES: u64 = 1 << PAGE_SHIFT;
/// Entries per table page (9 bits of virtual address per level).
pub const ENTRIES: usize = 512;
/// Levels of the walk: PML4, PDPT, PD, PT.
pub const LEVELS: usize = 4;

pub const PTE_P: u64 = 1 << 0;
pub const PTE_W: u64 = 1 << 1;
pub const PTE_U: u64 = 1 << 2;
pub const PTE_A: u64 = 1 << 5;
pub const PTE_D: u64 = 1 << 6;
/// Software bit (one of x86's AVL bits 9..11) of a non-present leaf entry: the
/// page's contents are in remote memory and a fault fetches them.
pub const PTE_REMOTE: u64 = 1 << 9;
/// Frame number field, bits 12..51 (52-bit physical addresses).
pub const PTE_FRAME: u64 = ((1 << 52) - 1) & !(PAGE_BYTES - 1);
/// Physical addresses the entry format can hold.
pub const PHYS_LIMIT: u64 = 1 << 52;

/// What the OS writes into a new entry at any level: the access that faulted
/// follows at once, so A is set now and the walker never has to set it.
const NEW_ENTRY: u64 = PTE_P | PTE_W | PTE_U | PTE_A;

/// Marks a window frame that is not a page-table page in `Os::slot_of`.
const NOT_TABLE: u32 = u32::MAX;

/// Index into the table at `level` (0 = PML4) for a virtual address.
#[inline]
pub fn level_index(vaddr: u64, level: usize) -> usize {
    ((vaddr >> (39 - 9 * level as u32)) & (ENTRIES as u64 - 1)) as usize
}

/// Physical memory and the page tables of the one address space. Crate-internal:
/// [`super::Mmu`] is the interface.
#[derive(Clone, Debug)]
pub(crate) struct Os {
    local_frames: u64,
    local_used: u64,
    window_pfn: u64,
    window_frames: u64,
    window_used: u64,
    /// Frames [`Os::reserve_top`] took for the page-table trigger's window.
    reserved: u64,
    /// Contents of each table page, in allocation order (slot 0 is the root).
    tables: Vec<[u64; ENTRIES]>,
    /// Frame number of each table slot.
    table_pfn: Vec<u64>,
    /// Per allocated window frame (index from `window_pfn`): its table slot, or
    /// `NOT_TABLE`. Lets the walk go from an entry's frame to the table's contents.
    slot_of: Vec<u32>,
    /// Per allocated window frame: is it a page-table page. Dense, for `is_pt_frame`.
    pt_bits: Vec<u64>,
    pub(super) pages_local: u64,
    pub(super) pages_window: u64,
    pub(super) os_writes: u64,
}

impl Os {
    /// Lays out physical memory and allocates the root table (CR3) in the window.
    /// The root is zeroed before the trace starts, so it costs no ops.
    pub fn new(local_bytes: u64, window_base: u64, window_size: u64) -> Result<Os, String> {
        if !local_bytes.is_multiple_of(PAGE_BYTES) {
            return Err(format!(
                "local DRAM size {local_bytes:#x} is not a multiple of 4 KiB"
            ));
        }
        if !window_base.is_multiple_of(PAGE_BYTES) || !window_size.is_multiple_of(PAGE_BYTES) {
            return Err(format!(
                "window {window_base:#x}+{window_size:#x} is not 4 KiB aligned"
            ));
        }
        if window_size == 0 {
            return Err("window is empty: page tables live in the window".into());
        }
        // The window's last page is the device's register page: never allocated.
        if window_size < 2 * PAGE_BYTES {
            return Err(format!(
                "window of {window_size:#x} bytes has no page for the tables: its last 4 KiB is the register page, so it needs at least 8 KiB"
            ));
        }
        if window_base < local_bytes {
            return Err(format!(
                "window base {window_base:#x} overlaps local DRAM [0, {local_bytes:#x})"
            ));
        }
        if window_base
            .checked_add(window_size)
            .is_none_or(|end| end > PHYS_LIMIT)
        {
            return Err(format!(
                "window {window_base:#x}+{window_size:#x} ends above the 52-bit physical address space"
            ));
        }
        let mut os = Os {
            local_frames: local_bytes >> PAGE_SHIFT,
            local_used: 0,
            window_pfn: window_base >> PAGE_SHIFT,
            // The window's last page is the device's register page: never allocated.
            window_frames: (window_size >> PAGE_SHIFT) - 1,
            window_used: 0,
            reserved: 0,
            tables: Vec::new(),
            table_pfn: Vec::new(),
            slot_of: Vec::new(),
            pt_bits: Vec::new(),
            pages_local: 0,
            pages_window: 0,
            os_writes: 0,
        };
        os.alloc_table();
        Ok(os)
    }

    /// Frame of the root table (CR3 >> 12).
    pub fn root_pfn(&self) -> u64 {
        self.table_pfn[0]
    }

    /// Entry `idx` of the table in `slot`, and its physical address.
    #[inline]
    pub fn entry(&self, slot: usize, idx: usize) -> (u64, u64) {
        let addr = (self.table_pfn[slot] << PAGE_SHIFT) | (idx as u64 * 8);
        (self.tables[slot][idx], addr)
    }

    /// Table slot of the page-table page at frame `pfn`, if it is one.
    #[inline]
    pub fn table_slot(&self, pfn: u64) -> Option<usize> {
        let i = pfn.wrapping_sub(self.window_pfn);
        match self.slot_of.get(i as usize) {
            Some(&s) if s != NOT_TABLE => Some(s as usize),
            _ => None,
        }
    }

    /// The 8-byte entry at physical address `paddr`, when it lies in a table page.
    pub fn read_entry(&self, paddr: u64) -> Option<u64> {
        let slot = self.table_slot(paddr >> PAGE_SHIFT)?;
        Some(self.tables[slot][((paddr & (PAGE_BYTES - 1)) / 8) as usize])
    }

    /// Sets `bits` in the entry at physical address `paddr` (a table page).
    pub fn set_entry_bits(&mut self, paddr: u64, bits: u64) {
        let slot = self
            .table_slot(paddr >> PAGE_SHIFT)
            .expect("PTE address lies in a table page");
        self.tables[slot][((paddr & (PAGE_BYTES - 1)) / 8) as usize] |= bits;
    }

    #[inline]
    pub fn is_pt_frame(&self, pfn: u64) -> bool {
        let i = pfn.wrapping_sub(self.window_pfn);
        self.pt_bits
            .get((i >> 6) as usize)
            .is_some_and(|w| w >> (i & 63) & 1 == 1)
    }

    /// Page-table frames in allocation order (the root first).
    pub fn pt_frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.table_pfn.iter().copied()
    }

    pub fn pt_pages(&self) -> u64 {
        self.tables.len() as u64
    }

    /// Page fault on `vaddr` (canonical; not mapped): creates the missing tables
    /// top-down (each zeroed, then linked from its parent) and the PTE, appending the
    /// OS's stores as `OsWrite` ops. Checks for room first, so a full window leaves
    /// the tables unchanged.
    /// A page whose contents are remote (`resident` false) gets a non-present leaf
    /// entry with `PTE_REMOTE` and its frame; [`Os::make_present`] sets P later.
    pub fn fault(
        &mut self,
        vaddr: u64,
        resident: bool,
        ops: &mut Vec<PhysOp>,
    ) -> Result<(), MmuError> {
        let mut slot = 0;
        let mut level = 0;
        while level < LEVELS - 1 {
            let (e, _) = self.entry(slot, level_index(vaddr, level));
            if e & PTE_P == 0 {
                break;
            }
            slot = self
                .table_slot((e & PTE_FRAME) >> PAGE_SHIFT)
                .expect("present upper-level entry points at a table page");
            level += 1;
        }
        let new_tables = (LEVELS - 1 - level) as u64;
        let local = self.local_used < self.local_frames;
        let window_need = new_tables + u64::from(!local);
        if self.window_frames - self.window_used < window_need {
            return Err(self.full());
        }
        while level < LEVELS - 1 {
            let child = self.alloc_table();
            let child_pfn = self.table_pfn[child];
            for line in 0..PAGE_BYTES / 64 {
                self.os_write(ops, (child_pfn << PAGE_SHIFT) | (line * 64));
            }
            self.link(slot, level_index(vaddr, level), child_pfn, ops);
            slot = child;
            level += 1;
        }
        let pfn = if local {
            self.local_used += 1;
            self.pages_local += 1;
            self.local_used - 1
        } else {
            self.pages_window += 1;
            self.alloc_window()
        };
        if resident {
            self.link(slot, level_index(vaddr, level), pfn, ops);
        } else {
            let idx = level_index(vaddr, level);
            debug_assert_eq!(self.tables[slot][idx] & PTE_P, 0);
            self.tables[slot][idx] = (pfn << PAGE_SHIFT) | PTE_W | PTE_U | PTE_REMOTE;
            let (_, addr) = self.entry(slot, idx);
            self.os_write(ops, addr);
        }
        Ok(())
    }

    /// Takes the window's last `frames` frames (below the register page) out of the
    /// bump allocator: the page-table trigger's residency window, whose frames the
    /// OS hands out itself ([`Os::premap`]). Call before any data page is mapped.
    pub fn reserve_top(&mut self, frames: u64) -> Result<u64, String> {
        if frames + self.window_used >= self.window_frames {
            return Err(format!(
                "the window has {} free frames: too few for a {frames}-frame trigger window",
                self.window_frames - self.window_used
            ));
        }
        self.window_frames -= frames;
        self.reserved += frames;
        Ok(self.window_pfn + self.window_frames)
    }

    /// Maps `vaddr` before the trace starts (no ops: the tables are set up in
    /// memory beforehand). Tables come from the bump allocator; the data frame is
    /// `at` when given (a frame of the reserved top), else local DRAM while it has
    /// room, else the window. A `remote` page gets a non-present `PTE_REMOTE` entry
    /// unless `present`.
    pub fn premap(&mut self, vaddr: u64, at: Option<u64>, present: bool) -> Result<(), MmuError> {
        if self.leaf(vaddr).is_some_and(|(e, _)| e != 0) {
            return Ok(());
        }
        let mut slot = 0;
        for level in 0..LEVELS - 1 {
            let idx = level_index(vaddr, level);
            let (e, _) = self.entry(slot, idx);
            slot = if e & PTE_P != 0 {
                self.table_slot((e & PTE_FRAME) >> PAGE_SHIFT)
                    .expect("present upper-level entry points at a table page")
            } else {
                if self.window_used >= self.window_frames {
                    return Err(self.full());
                }
                let child = self.alloc_table();
                let pfn = self.table_pfn[child];
                self.set_link(slot, idx, pfn);
                child
            };
        }
        let pfn = match at {
            Some(f) => f,
            None if self.local_used < self.local_frames => {
                self.local_used += 1;
                self.pages_local += 1;
                self.local_used - 1
            }
            None => {
                if self.window_used >= self.window_frames {
                    return Err(self.full());
                }
                self.pages_window += 1;
                self.alloc_window()
            }
        };
        if at.is_some() {
            self.pages_window += 1;
        }
        let idx = level_index(vaddr, LEVELS - 1);
        self.tables[slot][idx] = if present {
            (pfn << PAGE_SHIFT) | NEW_ENTRY
        } else {
            (pfn << PAGE_SHIFT) | PTE_W | PTE_U | PTE_REMOTE
        };
        Ok(())
    }

    fn full(&self) -> MmuError {
        MmuError::WindowFull {
            pages_local: self.pages_local,
            pages_window: self.pages_window,
            window_frames: self.window_frames,
            pt_pages: self.pt_pages(),
            reserved: self.reserved,
        }
    }

    /// Table frames and their 512 entries, for laying the tables into memory.
    pub fn tables(&self) -> impl Iterator<Item = (u64, &[u64; ENTRIES])> + '_ {
        self.table_pfn.iter().copied().zip(self.tables.iter())
    }

    /// Calls `f(vaddr, entry)` for every non-zero leaf entry (lower half of the
    /// address space as 48-bit addresses, sign-extended).
    pub fn for_each_leaf(&self, mut f: impl FnMut(u64, u64)) {
        fn rec(os: &Os, slot: usize, level: usize, va: u64, f: &mut dyn FnMut(u64, u64)) {
            for (i, &e) in os.tables[slot].iter().enumerate() {
                if e == 0 {
                    continue;
                }
                let va = va | ((i as u64) << (39 - 9 * level as u32));
                if level == LEVELS - 1 {
                    f(((va as i64) << 16 >> 16) as u64, e);
                } else if e & PTE_P != 0 {
                    if let Some(s) = os.table_slot((e & PTE_FRAME) >> PAGE_SHIFT) {
                        rec(os, s, level + 1, va, f);
                    }
                }
            }
        }
        rec(self, 0, 0, 0, &mut f);
    }

    /// Leaf entry of `vaddr` and its address, when every level above is present.
    pub fn leaf(&self, vaddr: u64) -> Option<(u64, u64)> {
        let mut slot = 0;
        for level in 0..LEVELS - 1 {
            let (e, _) = self.entry(slot, level_index(vaddr, level));
            if e & PTE_P == 0 {
                return None;
            }
            slot = self.table_slot((e & PTE_FRAME) >> PAGE_SHIFT)?;
        }
        Some(self.entry(slot, level_index(vaddr, LEVELS - 1)))
    }

    /// The fetch of a remote page is done: its leaf entry becomes present (with A,
    /// the faulting access follows) and loses `PTE_REMOTE`. Returns false when
    /// `vaddr` has no remote entry.
    pub fn make_present(&mut self, vaddr: u64, ops: &mut Vec<PhysOp>) -> bool {
        let Some((e, addr)) = self.leaf(vaddr) else {
            return false;
        };
        if e & (PTE_P | PTE_REMOTE) != PTE_REMOTE {
            return false;
        }
        let slot = self.table_slot(addr >> PAGE_SHIFT).expect("leaf table");
        self.tables[slot][((addr & (PAGE_BYTES - 1)) / 8) as usize] =
            (e & !PTE_REMOTE) | PTE_P | PTE_A;
        self.os_write(ops, addr);
        true
    }

    /// Writes a new entry pointing at `pfn` into `slot[idx]`.
    fn link(&mut self, slot: usize, idx: usize, pfn: u64, ops: &mut Vec<PhysOp>) {
        let addr = self.set_link(slot, idx, pfn);
        self.os_write(ops, addr);
    }

    /// [`Os::link`] without the store (tables set up before the trace); returns the
    /// entry's address.
    fn set_link(&mut self, slot: usize, idx: usize, pfn: u64) -> u64 {
        debug_assert_eq!(self.tables[slot][idx] & PTE_P, 0);
        self.tables[slot][idx] = (pfn << PAGE_SHIFT) | NEW_ENTRY;
        self.entry(slot, idx).1
    }

    fn os_write(&mut self, ops: &mut Vec<PhysOp>, addr: u64) {
        self.os_writes += 1;
        ops.push(PhysOp {
            addr,
            write: true,
            kind: PhysOpKind::OsWrite,
        });
    }

    /// Next window frame (the caller checked there is one).
    fn alloc_window(&mut self) -> u64 {
        debug_assert!(self.window_used < self.window_frames);
        let i = self.window_used;
        self.window_used += 1;
        self.slot_of.push(NOT_TABLE);
        if i.is_multiple_of(64) {
            self.pt_bits.push(0);
        }
        self.window_pfn + i
    }

    fn alloc_table(&mut self) -> usize {
        let pfn = self.alloc_window();
        let i = (pfn - self.window_pfn) as usize;
        let slot = self.tables.len();
        self.tables.push([0; ENTRIES]);
        self.table_pfn.push(pfn);
        self.slot_of[i] = slot as u32;
        self.pt_bits[i >> 6] |= 1 << (i & 63);
        slot
    }
}
