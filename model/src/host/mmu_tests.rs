//! MMU and OS tests: walk addresses computed independently of the walker, frame
//! placement, TLB hits and misses against a reference LRU model, D bits, errors.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::mmu::{Mmu, MmuConfig, MmuError, PhysOp, PhysOpKind};
use crate::trace::rng::Rng;

/// Window at 4 GiB; its first frame is the root table.
const WB: u64 = 1 << 32;
const WPFN: u64 = WB >> 12;
/// P | W | U | A, what the OS writes into every new entry.
const NEW: u64 = 0x27;
const D: u64 = 0x40;

fn mmu(cfg: MmuConfig, cores: usize, window_frames: u64) -> Mmu {
    Mmu::new(cfg, cores, WB, window_frames << 12).unwrap()
}

/// Translates and returns the physical address and the ops.
fn tr(m: &mut Mmu, core: usize, v: u64, write: bool) -> (u64, Vec<PhysOp>) {
    let mut ops = Vec::new();
    let p = m.translate(core, v, write, &mut ops).unwrap();
    (p, ops)
}

/// Index into the level-`l` table (0 = PML4, 3 = PT): the 9 bits above the
/// page offset and the lower levels' bits.
fn idx(v: u64, l: u64) -> u64 {
    (v >> (12 + 9 * (3 - l))) % 512
}

fn rd(addr: u64) -> PhysOp {
    PhysOp {
        addr,
        write: false,
        kind: PhysOpKind::WalkRead,
    }
}
fn os(addr: u64) -> PhysOp {
    PhysOp {
        addr,
        write: true,
        kind: PhysOpKind::OsWrite,
    }
}
fn dirty(addr: u64) -> PhysOp {
    PhysOp {
        addr,
        write: true,
        kind: PhysOpKind::DirtyBit,
    }
}
fn zero(pfn: u64) -> impl Iterator<Item = PhysOp> {
    (0..64).map(move |l| os((pfn << 12) + l * 64))
}
/// The four reads of a walk through tables at frames `t[0..4]`.
fn walk(v: u64, t: [u64; 4]) -> Vec<PhysOp> {
    (0..4)
        .map(|l| rd((t[l] << 12) + idx(v, l as u64) * 8))
        .collect()
}

#[test]
fn first_touch_walks_and_os_writes_at_real_pte_addresses() {
    let mut m = mmu(MmuConfig::default(), 1, 64);
    assert_eq!(m.cr3(), WB);
    let (r, pdpt, pd, pt, data) = (WPFN, WPFN + 1, WPFN + 2, WPFN + 3, WPFN + 4);
    let v = 0x7fff_1234_5678;
    let (p, ops) = tr(&mut m, 0, v, false);
    assert_eq!(p, (data << 12) | 0x678);
    let mut want = vec![rd((r << 12) + idx(v, 0) * 8)];
    want.extend(zero(pdpt));
    want.push(os((r << 12) + idx(v, 0) * 8));
    want.extend(zero(pd));
    want.push(os((pdpt << 12) + idx(v, 1) * 8));
    want.extend(zero(pt));
    want.push(os((pd << 12) + idx(v, 2) * 8));
    want.push(os((pt << 12) + idx(v, 3) * 8));
    want.extend(walk(v, [r, pdpt, pd, pt]));
    assert_eq!(ops, want);

    // The entries hold real x86-64 values: next frame in bits 12..51, P|W|U|A.
    let entry = |l: u64, table: u64| m.read_pt_entry((table << 12) + idx(v, l) * 8);
    assert_eq!(entry(0, r), Some((pdpt << 12) | NEW));
    assert_eq!(entry(1, pdpt), Some((pd << 12) | NEW));
    assert_eq!(entry(2, pd), Some((pt << 12) | NEW));
    assert_eq!(entry(3, pt), Some((data << 12) | NEW));
    assert_eq!(m.read_pt_entry(data << 12), None);

    // Another page under the same PT: the faulting walk reads all four levels.
    let v2 = v + 0x3000;
    let (p2, ops) = tr(&mut m, 0, v2, false);
    assert_eq!(p2, (data + 1) << 12 | 0x678);
    let mut want = walk(v2, [r, pdpt, pd, pt]);
    want.push(os((pt << 12) + idx(v2, 3) * 8));
    want.extend(walk(v2, [r, pdpt, pd, pt]));
    assert_eq!(ops, want);

    // Another PML4 slot: three new tables after the two data frames.
    let v3 = 0x40_0000_1000;
    let (p3, ops) = tr(&mut m, 0, v3, true);
    assert_ne!(idx(v3, 0), idx(v, 0));
    let (pdpt3, pd3, pt3) = (WPFN + 6, WPFN + 7, WPFN + 8);
    assert_eq!(p3, (WPFN + 9) << 12);
    let mut want = vec![rd((r << 12) + idx(v3, 0) * 8)];
    want.extend(zero(pdpt3));
    want.push(os((r << 12) + idx(v3, 0) * 8));
    want.extend(zero(pd3));
    want.push(os((pdpt3 << 12) + idx(v3, 1) * 8));
    want.extend(zero(pt3));
    want.push(os((pd3 << 12) + idx(v3, 2) * 8));
    want.push(os((pt3 << 12) + idx(v3, 3) * 8));
    want.extend(walk(v3, [r, pdpt3, pd3, pt3]));
    want.push(dirty((pt3 << 12) + idx(v3, 3) * 8));
    assert_eq!(ops, want);

    let s = *m.stats();
    assert_eq!((s.tlb_misses, s.tlb_hits, s.walks), (3, 0, 6));
    assert_eq!(s.walk_reads, 1 + 4 + 4 + 4 + 1 + 4);
    assert_eq!((s.pages_local, s.pages_window, s.pt_pages), (0, 3, 7));
    assert_eq!(s.os_writes, 6 * 64 + 4 + 1 + 4);
    assert_eq!(s.dirty_bit_writes, 1);
    assert_eq!(
        m.pt_frames().collect::<Vec<_>>(),
        [r, pdpt, pd, pt, pdpt3, pd3, pt3]
    );
}

#[test]
fn canonical_high_half_walks_pml4_upper_entries() {
    let mut m = mmu(MmuConfig::default(), 1, 64);
    let v = 0xffff_ffff_ffff_f008u64;
    let (p, ops) = tr(&mut m, 0, v, false);
    assert_eq!(ops[0], rd(WB + 511 * 8));
    assert_eq!(p, (WPFN + 4) << 12 | 0x008);
    assert_eq!(*ops.last().unwrap(), rd(((WPFN + 3) << 12) + 511 * 8));
}

#[test]
fn data_pages_fill_local_dram_first_then_the_window() {
    let cfg = MmuConfig {
        local_bytes: 2 << 12,
        ..MmuConfig::default()
    };
    let mut m = mmu(cfg, 1, 64);
    let pages: Vec<u64> = (0..4)
        .map(|i| tr(&mut m, 0, 0x1000_0000 + i * 0x1000 + 8, false).0)
        .collect();
    // Root and three tables take window frames 0..4 first.
    assert_eq!(
        pages,
        [8, 0x1008, ((WPFN + 4) << 12) + 8, ((WPFN + 5) << 12) + 8]
    );
    let s = *m.stats();
    assert_eq!((s.pages_local, s.pages_window, s.pt_pages), (2, 2, 4));
    assert!(!m.is_pt_frame(0) && !m.is_pt_frame(1));
}

/// 65 pages cycled through a 64-entry TLB.
fn cycle_pages(cfg: MmuConfig, pages: u64, rounds: u64) -> Mmu {
    let mut m = mmu(cfg, 1, 1024);
    for _ in 0..rounds {
        for i in 0..pages {
            tr(&mut m, 0, 0x10_0000 + (i << 12), false);
        }
    }
    m
}

#[test]
fn tlb_hits_and_misses_on_a_cyclic_sequence() {
    // 16 sets x 4 ways; pages from vpn 0x100: set 0 gets 5 of the 65 and thrashes.
    let s = *cycle_pages(MmuConfig::default(), 65, 4).stats();
    assert_eq!((s.tlb_misses, s.tlb_hits), (65 + 3 * 5, 3 * 60));
    assert_eq!(s.walks, s.tlb_misses + 65);
    // Faulting walks: 1 read for the first page (empty PML4), 4 for the others.
    assert_eq!(s.walk_reads, 1 + 64 * 4 + 65 * 4 + 3 * 5 * 4);
    assert_eq!(s.pages_window, 65);

    let s = *cycle_pages(MmuConfig::default(), 64, 4).stats();
    assert_eq!((s.tlb_misses, s.tlb_hits), (64, 3 * 64));

    // Fully associative LRU: one page too many misses every time.
    let full = MmuConfig {
        tlb_ways: 64,
        ..MmuConfig::default()
    };
    let s = *cycle_pages(full, 65, 4).stats();
    assert_eq!((s.tlb_misses, s.tlb_hits), (65 * 4, 0));
    let s = *cycle_pages(full, 64, 4).stats();
    assert_eq!((s.tlb_misses, s.tlb_hits), (64, 3 * 64));
}

fn pte_addr(m: &Mmu, v: u64) -> u64 {
    // Follow the entries from CR3, as the hardware does.
    let mut table = m.cr3();
    for l in 0..3 {
        table = m.read_pt_entry(table + idx(v, l) * 8).unwrap() & 0x000f_ffff_ffff_f000;
    }
    table + idx(v, 3) * 8
}

#[test]
fn dirty_bit_written_once_per_tlb_fill_with_clean_d() {
    // One set of 4 ways: a fifth page evicts the LRU one.
    let cfg = MmuConfig {
        tlb_entries: 4,
        tlb_ways: 4,
        ..MmuConfig::default()
    };
    let mut m = mmu(cfg, 1, 64);
    let (a, b) = (0x1000, 0x2000);
    // Store first: the walk that fills the TLB sets D.
    let ops = tr(&mut m, 0, a, true).1;
    assert_eq!(*ops.last().unwrap(), dirty(pte_addr(&m, a)));
    assert_eq!(
        ops.iter()
            .filter(|o| o.kind == PhysOpKind::DirtyBit)
            .count(),
        1
    );
    assert_eq!(m.read_pt_entry(pte_addr(&m, a)).unwrap() & D, D);
    assert_eq!(tr(&mut m, 0, a, true).1, []);

    // Load first: clean; the first store through the entry sets D, once.
    let ops = tr(&mut m, 0, b, false).1;
    assert!(ops.iter().all(|o| o.kind != PhysOpKind::DirtyBit));
    assert_eq!(m.read_pt_entry(pte_addr(&m, b)).unwrap() & D, 0);
    assert_eq!(tr(&mut m, 0, b + 8, true).1, [dirty(pte_addr(&m, b))]);
    assert_eq!(tr(&mut m, 0, b + 16, true).1, []);
    assert_eq!(m.read_pt_entry(pte_addr(&m, b)).unwrap() & D, D);

    // Evict b; the refill reads D from the PTE and writes nothing.
    for i in 3..7 {
        tr(&mut m, 0, i << 12, false);
    }
    let ops = tr(&mut m, 0, b, true).1;
    assert_eq!(ops, walk(b, [WPFN, WPFN + 1, WPFN + 2, WPFN + 3]));
    assert_eq!(m.stats().dirty_bit_writes, 2);

    // Without D bits: no DirtyBit ops and the PTEs stay clean.
    let cfg = MmuConfig {
        set_dirty_bits: false,
        ..cfg
    };
    let mut m = mmu(cfg, 1, 64);
    tr(&mut m, 0, a, false);
    for v in [a, b, a] {
        let ops = tr(&mut m, 0, v, true).1;
        assert!(ops.iter().all(|o| o.kind != PhysOpKind::DirtyBit));
        assert_eq!(m.read_pt_entry(pte_addr(&m, v)).unwrap() & D, 0);
    }
    assert_eq!(m.stats().dirty_bit_writes, 0);
}

#[test]
fn cores_share_the_page_table_but_not_tlbs() {
    let cfg = MmuConfig {
        tlb_entries: 1,
        tlb_ways: 1,
        ..MmuConfig::default()
    };
    let mut m = mmu(cfg, 3, 64);
    let (a, b) = (0x5000, 0x6000);
    let tables = [WPFN, WPFN + 1, WPFN + 2, WPFN + 3];
    let (pa, _) = tr(&mut m, 0, a, false);
    // Core 1 misses, walks the tables core 0's fault built, allocates nothing.
    assert_eq!(tr(&mut m, 1, a, false), (pa, walk(a, tables)));
    assert_eq!(tr(&mut m, 0, a, false), (pa, vec![]));
    // Core 1 maps b, evicting a from its own TLB only.
    let (pb, _) = tr(&mut m, 1, b, false);
    assert_ne!(pa, pb);
    assert_eq!(tr(&mut m, 0, a, false), (pa, vec![]));
    assert_eq!(tr(&mut m, 1, a, false), (pa, walk(a, tables)));
    // Each core's TLB holds its own copy of D: core 1's clean entry costs a
    // second D store after core 0 set it; core 2 walks after and finds D set.
    let pte = pte_addr(&m, a);
    assert_eq!(tr(&mut m, 0, a, true).1, [dirty(pte)]);
    assert_eq!(tr(&mut m, 1, a, true).1, [dirty(pte)]);
    assert_eq!(tr(&mut m, 2, a, true), (pa, walk(a, tables)));
    let s = *m.stats();
    assert_eq!((s.pages_window, s.dirty_bit_writes, s.tlb_hits), (2, 2, 4));
    assert_eq!(s.tlb_misses, 5);
}

#[test]
fn window_full_names_the_trigger_reservation() {
    // Six frames, one reserved: root, 3 tables and one data page fill the rest.
    let mut m = mmu(MmuConfig::default(), 1, 7);
    m.reserve_top(1).unwrap();
    tr(&mut m, 0, 0x1000, true);
    let e = m.translate(0, 0x2000, false, &mut Vec::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "window full: the trace touches more than 1 pages (0 in local DRAM, 1 in the \
         window, whose 5 frames also hold 4 page-table pages, beside 1 frames reserved for \
         the page-table trigger); enlarge the window or local DRAM, or lower device.pt.frames"
    );
}

#[test]
fn window_full_is_an_error_that_changes_nothing() {
    // Root, 3 tables and 2 data pages (the seventh frame is the register page).
    let mut m = mmu(MmuConfig::default(), 1, 7);
    let (pa, _) = tr(&mut m, 0, 0x1000, true);
    tr(&mut m, 0, 0x2000, false);
    let before = m.pt_frames().count();
    let mut ops = Vec::new();
    let e = m.translate(0, 0x3000, false, &mut ops).unwrap_err();
    assert_eq!(
        e.to_string(),
        "window full: the trace touches more than 2 pages (0 in local DRAM, 2 in the \
         window, whose 6 frames also hold 4 page-table pages); enlarge the window or local DRAM"
    );
    assert_eq!(m.pt_frames().count(), before);
    assert_eq!(tr(&mut m, 0, 0x1000, false).0, pa);

    // Local DRAM has room but a new PT does not fit in the window.
    let cfg = MmuConfig {
        local_bytes: 4 << 12,
        ..MmuConfig::default()
    };
    let mut m = mmu(cfg, 1, 5);
    assert_eq!(tr(&mut m, 0, 0x1000, false).0, 0);
    let e = m.translate(0, 0x20_0000, false, &mut ops).unwrap_err();
    assert!(matches!(
        e,
        MmuError::WindowFull {
            pages_local: 1,
            pages_window: 0,
            window_frames: 4,
            pt_pages: 4,
            reserved: 0
        }
    ));
    // The same PT still has room for pages in local DRAM.
    assert_eq!(tr(&mut m, 0, 0x2000, false).0, 0x1000);
}

#[test]
fn non_canonical_addresses_and_bad_cores_are_errors() {
    let mut m = mmu(MmuConfig::default(), 2, 64);
    let mut ops = Vec::new();
    for v in [1 << 47, 0x0001_0000_0000_0000, 0x8000_0000_0000_0000] {
        let e = m.translate(0, v, false, &mut ops).unwrap_err();
        assert_eq!(e, MmuError::NonCanonical { vaddr: v });
    }
    assert_eq!(
        MmuError::NonCanonical { vaddr: 1 << 47 }.to_string(),
        "virtual address 0x800000000000 is not canonical (x86-64 4-level paging: bits 63..47 must be equal)"
    );
    assert!(ops.is_empty());
    assert_eq!(m.stats().tlb_misses, 0);
    for v in [(1 << 47) - 1, 0xffff_8000_0000_0000] {
        assert!(m.translate(1, v, false, &mut ops).is_ok());
    }
    assert_eq!(
        m.translate(2, 0, false, &mut ops).unwrap_err().to_string(),
        "core 2 out of range: the MMU has 2 cores"
    );
}

#[test]
fn bad_configurations_are_errors() {
    let bad = |f: fn(&mut MmuConfig)| {
        let mut c = MmuConfig::default();
        f(&mut c);
        c.check().unwrap_err()
    };
    assert_eq!(bad(|c| c.tlb_ways = 0), "tlb_ways must be above 0");
    assert_eq!(
        bad(|c| c.tlb_entries = 66),
        "tlb_entries 66 must be a positive multiple of tlb_ways (4)"
    );
    assert_eq!(
        bad(|c| c.tlb_entries = 12),
        "TLB sets (3) must be a power of two"
    );
    assert_eq!(
        bad(|c| c.local_bytes = 100),
        "local_bytes 0x64 is not a multiple of 4 KiB"
    );
    assert_eq!(MmuConfig::default().check(), Ok(()));

    let new = |cores, base, size| Mmu::new(MmuConfig::default(), cores, base, size).err();
    assert_eq!(new(0, WB, 4096).unwrap(), "the MMU needs at least one core");
    assert_eq!(
        new(1, WB + 8, 4096).unwrap(),
        "window 0x100000008+0x1000 is not 4 KiB aligned"
    );
    assert_eq!(
        new(1, WB, 0).unwrap(),
        "window is empty: page tables live in the window"
    );
    assert_eq!(
        new(1, WB, 4096).unwrap(),
        "window of 0x1000 bytes has no page for the tables: its last 4 KiB is the register page, so it needs at least 8 KiB"
    );
    assert_eq!(
        new(1, 1 << 52, 8192).unwrap(),
        "window 0x10000000000000+0x2000 ends above the 52-bit physical address space"
    );
    let cfg = MmuConfig {
        local_bytes: 2 << 12,
        ..MmuConfig::default()
    };
    assert_eq!(
        Mmu::new(cfg, 1, 4096, 8192).err().unwrap(),
        "window base 0x1000 overlaps local DRAM [0, 0x2000)"
    );
    assert!(new(1, 0, 8192).is_none());
}

/// A reference TLB: per core and set, the pages in LRU order (front = oldest),
/// each with its cached D bit.
struct RefTlb {
    sets: u64,
    ways: usize,
    lru: BTreeMap<(usize, u64), VecDeque<(u64, bool)>>,
}

impl RefTlb {
    /// Looks `vpn` up for `core`: `Some(d)` on a hit (made most recent).
    fn hit(&mut self, core: usize, vpn: u64) -> Option<&mut bool> {
        let set = self.lru.entry((core, vpn % self.sets)).or_default();
        let i = set.iter().position(|&(p, _)| p == vpn)?;
        let e = set.remove(i).unwrap();
        set.push_back(e);
        set.back_mut().map(|e| &mut e.1)
    }
    fn fill(&mut self, core: usize, vpn: u64, d: bool) {
        let set = self.lru.entry((core, vpn % self.sets)).or_default();
        if set.len() == self.ways {
            set.pop_front();
        }
        set.push_back((vpn, d));
    }
}

/// Random accesses on 3 cores over pages spread across both halves of the address
/// space: every translation checked against reference models of the TLBs, the
/// mapping and the D bits, and `is_pt_frame` against the frames walks read.
#[test]
fn random_accesses_match_reference_models() {
    let cfg = MmuConfig {
        tlb_entries: 16,
        tlb_ways: 2,
        local_bytes: 64 << 12,
        ..MmuConfig::default()
    };
    let (base, frames) = (1u64 << 30, 4096u64);
    let mut m = Mmu::new(cfg, 3, base, frames << 12).unwrap();
    let mut r = RefTlb {
        sets: 8,
        ways: 2,
        lru: BTreeMap::new(),
    };
    let mut rng = Rng::new(7);
    let pool: Vec<u64> = (0..400)
        .map(|_| {
            let v = rng.below(1 << 47) & !0xfff;
            // Cluster some pages so that tables are shared.
            let v = if rng.below(2) == 0 {
                v & 0xff_ffff_f000
            } else {
                v
            };
            if rng.below(8) == 0 {
                v | 0xffff_8000_0000_0000
            } else {
                v
            }
        })
        .collect();
    let mut map: BTreeMap<u64, u64> = BTreeMap::new(); // vpn -> pfn
    let mut pte_d: BTreeMap<u64, bool> = BTreeMap::new();
    let mut tables = BTreeSet::from([base >> 12]);
    let (mut hits, mut dirties) = (0, 0);
    let mut ops = Vec::new();
    for _ in 0..20_000 {
        let core = rng.below(3) as usize;
        let v = pool[rng.below(pool.len() as u64) as usize] | rng.below(4096);
        let write = rng.below(3) == 0;
        let vpn = v >> 12;
        ops.clear();
        let p = m.translate(core, v, write, &mut ops).unwrap();
        assert_eq!(p & 0xfff, v & 0xfff);
        let new_page = !map.contains_key(&vpn);
        let pfn = *map.entry(vpn).or_insert(p >> 12);
        assert_eq!(p >> 12, pfn, "page {vpn:#x} moved");
        assert!(pfn < 64 || (base >> 12..(base >> 12) + frames).contains(&pfn));
        let want_dirty = match r.hit(core, vpn) {
            Some(d) => {
                hits += 1;
                assert!(ops.iter().all(|o| o.kind == PhysOpKind::DirtyBit));
                let was = *d;
                *d |= write;
                write && !was
            }
            None => {
                let d = pte_d.get(&vpn).copied().unwrap_or(false);
                r.fill(core, vpn, d || write);
                // The walk that filled the TLB ends the ops (before any D store),
                // its last read at a PTE naming the frame returned.
                let end = ops.len() - usize::from(write && !d);
                let walk = &ops[end - 4..end];
                assert!(walk.iter().all(|o| o.kind == PhysOpKind::WalkRead));
                let pte = m.read_pt_entry(walk[3].addr).unwrap();
                assert_eq!(pte & 0x000f_ffff_ffff_f000, pfn << 12);
                let os_ops = ops.iter().any(|o| o.kind == PhysOpKind::OsWrite);
                assert_eq!(os_ops, new_page);
                write && !d
            }
        };
        let d_ops: Vec<&PhysOp> = ops
            .iter()
            .filter(|o| o.kind == PhysOpKind::DirtyBit)
            .collect();
        assert_eq!(d_ops.len(), usize::from(want_dirty));
        if want_dirty {
            dirties += 1;
            *pte_d.entry(vpn).or_default() = true;
            assert_eq!(m.read_pt_entry(d_ops[0].addr).unwrap() & D, D);
        }
        for o in &ops {
            assert_eq!(o.addr % 8, 0);
            if o.kind == PhysOpKind::WalkRead {
                tables.insert(o.addr >> 12);
            }
        }
    }
    let s = *m.stats();
    assert_eq!(s.tlb_hits, hits);
    assert_eq!(s.dirty_bit_writes, dirties);
    assert_eq!(s.pages_local + s.pages_window, map.len() as u64);
    assert_eq!((s.pages_local, s.pt_pages), (64, tables.len() as u64));
    // Injective, and no data page is a table page.
    let pfns: BTreeSet<u64> = map.values().copied().collect();
    assert_eq!(pfns.len(), map.len());
    assert!(pfns.is_disjoint(&tables));
    for pfn in 0..(base >> 12) + frames + 128 {
        assert_eq!(m.is_pt_frame(pfn), tables.contains(&pfn), "frame {pfn:#x}");
    }
    assert_eq!(m.pt_frames().collect::<BTreeSet<_>>(), tables);
}

/// Translations per second on a hit-heavy and a miss-heavy sequence; run with
/// `cargo test --release -p linewatch-model mmu_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn mmu_throughput() {
    let cores = 4;
    let mut rng = Rng::new(1);
    for (name, pages) in [
        ("hit-heavy, 32 pages", 32u64),
        ("miss-heavy, 1 M pages", 1 << 20),
    ] {
        let mut m = Mmu::new(MmuConfig::default(), cores, 1 << 40, 8 << 30).unwrap();
        let seq: Vec<u64> = (0..4_000_000)
            .map(|_| 0x5555_0000_0000 + (rng.below(pages) << 12) + rng.below(4096))
            .collect();
        let mut ops = Vec::with_capacity(512);
        let t = std::time::Instant::now();
        for p in 0..pages {
            ops.clear();
            m.translate(0, 0x5555_0000_0000 + (p << 12), true, &mut ops)
                .unwrap();
        }
        let first = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let mut sum = 0u64;
        for _ in 0..5 {
            for (i, &v) in seq.iter().enumerate() {
                ops.clear();
                sum = sum.wrapping_add(m.translate(i % cores, v, i % 3 == 0, &mut ops).unwrap());
                sum = sum.wrapping_add(ops.len() as u64);
            }
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: first touch {:.1} M pages/s; {:.1} M translations/s ({sum:x}), {:?}",
            pages as f64 / first / 1e6,
            5.0 * seq.len() as f64 / s / 1e6,
            m.stats()
        );
    }
}

/// Remote pages: the first touch maps a non-present entry with the remote bit and
/// faults; `make_present` sets P (one OS store) and the retry translates; PTEs
/// and residency agree throughout.
#[test]
fn remote_page_faults_until_made_present() {
    use super::remote::Residency;
    const REMOTE: u64 = 1 << 9;
    let mut m = mmu(MmuConfig::default(), 1, 64);
    m.set_remote(Residency::new(0.0, 1));
    let v = 0x7000_1000u64;
    let mut ops = Vec::new();
    let e = m.translate(0, v, false, &mut ops).unwrap_err();
    assert_eq!(e, MmuError::RemoteFault { vaddr: v });
    assert!(!e.to_string().contains('\n'));
    // Tables at WPFN+1..3 (zeroed and linked), the data frame at WPFN+4.
    let (r, pdpt, pd, pt) = (WPFN, WPFN + 1, WPFN + 2, WPFN + 3);
    let pte_addr = (pt << 12) + idx(v, 3) * 8;
    let pte = m.read_pt_entry(pte_addr).unwrap();
    assert_eq!(pte & 1, 0, "non-present");
    assert_eq!(pte & REMOTE, REMOTE);
    assert_eq!(pte >> 12, WPFN + 4);
    assert!(!m.is_resident(v >> 12));
    m.check_residency().unwrap();
    // Translating again faults again, without touching the tables.
    let mut again = Vec::new();
    assert!(m.translate(0, v, false, &mut again).is_err());
    assert_eq!(again, walk(v, [r, pdpt, pd, pt]));
    let mut fix = Vec::new();
    assert!(m.make_present(v, &mut fix));
    assert_eq!(fix, vec![os(pte_addr)]);
    assert!(
        !m.make_present(v, &mut fix),
        "only a remote entry is made present"
    );
    assert!(m.is_resident(v >> 12));
    let pte = m.read_pt_entry(pte_addr).unwrap();
    assert_eq!(pte & (NEW | REMOTE), NEW);
    m.check_residency().unwrap();
    let (pa, ops) = tr(&mut m, 0, v + 8, false);
    assert_eq!(pa, ((WPFN + 4) << 12) + 8);
    assert_eq!(ops, walk(v, [r, pdpt, pd, pt]));
}

/// With every page local, remote memory changes nothing: the same ops and
/// addresses as without it.
#[test]
fn all_local_remote_memory_is_invisible() {
    use super::remote::Residency;
    let mut a = mmu(MmuConfig::default(), 1, 16384);
    let mut b = mmu(MmuConfig::default(), 1, 16384);
    b.set_remote(Residency::new(1.0, 9));
    let mut rng = Rng::new(5);
    for _ in 0..5000 {
        let v = rng.below(1 << 30) & !7;
        let w = rng.below(2) == 1;
        assert_eq!(tr(&mut a, 0, v, w), tr(&mut b, 0, v, w));
    }
    b.check_residency().unwrap();
}

/// Random accesses with half the pages remote, each fault handled by
/// `make_present`: the residency check holds, and every page faulted exactly once.
#[test]
fn remote_faults_once_per_remote_page_and_ptes_stay_consistent() {
    use super::remote::Residency;
    let mut m = mmu(MmuConfig::default(), 2, 32768);
    let res = Residency::new(0.5, 3);
    m.set_remote(res.clone());
    let mut rng = Rng::new(11);
    let mut faulted = BTreeSet::new();
    let mut touched = BTreeSet::new();
    for k in 0..20_000 {
        let v = rng.below(1 << 27) & !7;
        touched.insert(v >> 12);
        let mut ops = Vec::new();
        loop {
            match m.translate(k % 2, v, rng.below(2) == 1, &mut ops) {
                Ok(_) => break,
                Err(MmuError::RemoteFault { vaddr }) => {
                    assert!(faulted.insert(vaddr >> 12), "{vaddr:#x} faulted twice");
                    assert!(m.make_present(vaddr, &mut ops));
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    m.check_residency().unwrap();
    let want: BTreeSet<u64> = touched
        .iter()
        .copied()
        .filter(|&p| res.starts_remote(p))
        .collect();
    assert_eq!(faulted, want);
    assert!(want.len() > 1000 && want.len() < touched.len());
}
