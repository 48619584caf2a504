//! Snoop filter: the inclusive set of lines the host may hold, with S or A state.
//!
//! Per cycle: one lookup of the message's set, and at the clock edge at most one
//! update of that set. The sets live in RAM read over two edges (`PipedRam`),
//! followed by a register: a set's read starts three edges before its lookup (from
//! `keep_set`, which takes `next_addr` the edge before; one RAM and one copy per
//! way), and the two updates the RAM's word does not have (the ones made in the two
//! cycles before the lookup's) are forwarded from a register, each with a select
//! decided in the cycle before. A miss in a full set replaces the way under the
//! global round-robin victim pointer; the evicted line goes to the snoop tracker for
//! a BISnpInv.

use crate::dirty_bitmap::LINE_BITS;
use crate::mem::PipedRam;
use linewatch_model::config::{Geometry, MAX_SF_SETS, MAX_SF_WAYS};
use linewatch_model::device::snoop_filter::{ENTRY_BITS, ENTRY_OWNED, ENTRY_TAG, ENTRY_VALID};
use linewatch_model::protocol::ADDR_BITS;
use rust_hdl::prelude::*;

const WAYS: usize = MAX_SF_WAYS as usize;
/// Set word: every way's entry side by side, way 0 in the low bits.
pub const WORD_BITS: usize = WAYS * ENTRY_BITS;
pub const SET_BITS: usize = MAX_SF_SETS.trailing_zeros() as usize;
const _: () = assert!(WAYS == 4, "the set word is assembled for four ways");
const _: () = assert!(ENTRY_TAG == (1 << ADDR_BITS) - 1);

/// Encodings of the `op` input (the model's `SfOp`; `owned` rides beside `SET`).
pub const SF_NONE: u64 = 0;
pub const SF_REMOVE: u64 = 1;
pub const SF_SET: u64 = 2;
pub const SF_DOWNGRADE: u64 = 3;

#[derive(LogicBlock)]
pub struct SnoopFilter {
    pub clock: Signal<In, Clock>,
    /// Line the message names (its set was read at the previous edge).
    pub addr: Signal<In, Bits<ADDR_BITS>>,
    /// Window-relative line of the message to look up in the next cycle (its set
    /// is leaving the RAM now): its tag matches are decided in this cycle.
    pub mid_line: Signal<In, Bits<LINE_BITS>>,
    /// Low line bits of the message to look up four cycles from now: its set's read
    /// starts at the next edge, from `keep_set`.
    pub next_addr: Signal<In, Bits<SET_BITS>>,
    /// What to do to that line at the edge (`SF_NONE` unless the message is accepted).
    pub op: Signal<In, Bits<2>>,
    pub owned: Signal<In, bool>,
    /// The lookup neither hits nor finds a free way (a `SET` then evicts).
    pub miss_full: Signal<Out, bool>,
    /// Window-relative line under the victim pointer: the one a `SET` that neither
    /// hits nor finds a free way evicts.
    pub victim_line: Signal<Out, Bits<LINE_BITS>>,
    /// One RAM per way, each read from its own copy of the set (`keep_set[w]`): the
    /// read address reaches a quarter of the LUT RAMs from each flip-flop, which
    /// the placer can put beside them (one register reached all 320, step 33).
    ram: [PipedRam<ENTRY_BITS, SET_BITS>; WAYS],
    /// The set whose read starts at this edge, once per way: `keep_*` flip-flops,
    /// synthesized as modules of their own so Yosys does not merge the copies.
    keep_set: [DFF<Bits<SET_BITS>>; WAYS],
    /// The set the RAMs finish reading at this edge (`keep_set` an edge later).
    pick_set: DFF<Bits<SET_BITS>>,
    /// The RAMs' words side by side, way 0 in the low bits.
    rd_data: Signal<Local, Bits<WORD_BITS>>,
    victim: DFF<Bits<2>>,
    /// The set word written at the previous edge.
    fwd_word: DFF<Bits<WORD_BITS>>,
    /// That write is to the set now leaving the RAM (which did not see it).
    fwd_sel_rd: DFF<bool>,
    /// The set whose read started three edges ago, with the write of the previous
    /// edge applied.
    rd_word: DFF<Bits<WORD_BITS>>,
    /// The write of the previous edge is to the set now looked up (`rd_word` lacks it).
    fwd_sel: DFF<bool>,
    /// Tag matches of the line now looked up, decided in the cycle before: against
    /// `rd_word` (`match_rd`) and against `fwd_word` (`match_fwd`).
    match_rd: [DFF<bool>; WAYS],
    match_fwd: [DFF<bool>; WAYS],
    /// The same way matches or is free, against each word: the miss-in-a-full-set
    /// answer (and the snoop queue's push behind it) is then one OR of flip-flops,
    /// not the end of the match and valid bits' chains.
    hf_rd: [DFF<bool>; WAYS],
    hf_fwd: [DFF<bool>; WAYS],
    line_mask: Constant<Bits<LINE_BITS>>,
    set_mask: Constant<Bits<SET_BITS>>,
    last_way: Constant<Bits<2>>,
    way_on: [Constant<bool>; WAYS],
    way_id: [Constant<Bits<2>>; WAYS],
    entry_valid: Constant<Bits<ENTRY_BITS>>,
    entry_owned: Constant<Bits<ENTRY_BITS>>,
    entry_not_owned: Constant<Bits<ENTRY_BITS>>,
    entry_none: Constant<Bits<ENTRY_BITS>>,
    /// Entry bits that can be non-zero: valid, owned and the window's line bits.
    /// Only in-window lines are ever tracked, so tags are kept window-relative and
    /// synthesis drops the rest of the 46-bit tag (most of the filter's flip-flops).
    entry_keep: Constant<Bits<ENTRY_BITS>>,
    tag_mask: Constant<Bits<ADDR_BITS>>,
    way_zero: Constant<Bits<2>>,
    way_one: Constant<Bits<2>>,
    line_zero: Constant<Bits<LINE_BITS>>,
    op_none: Constant<Bits<2>>,
    op_remove: Constant<Bits<2>>,
    op_set: Constant<Bits<2>>,
    op_downgrade: Constant<Bits<2>>,
    set_index: Signal<Local, Bits<SET_BITS>>,
    next_set: Signal<Local, Bits<SET_BITS>>,
    mid_set: Signal<Local, Bits<SET_BITS>>,
    word: Signal<Local, Bits<WORD_BITS>>,
    entry: [Signal<Local, Bits<ENTRY_BITS>>; WAYS],
    /// The lookup decided twice, once for each word the lookup may use (`_f`:
    /// `fwd_word` with `match_fwd`; `_r`: `rd_word` with `match_rd`), and picked by
    /// `fwd_sel` last, so the select is not in front of the priority chains.
    /// `hit_below_*[w]`: some way below `w` matches (so the lowest match wins).
    matches_f: [Signal<Local, bool>; WAYS],
    matches_r: [Signal<Local, bool>; WAYS],
    empty_f: [Signal<Local, bool>; WAYS],
    empty_r: [Signal<Local, bool>; WAYS],
    hit_below_f: [Signal<Local, bool>; 5],
    hit_below_r: [Signal<Local, bool>; 5],
    free_below_f: [Signal<Local, bool>; 5],
    free_below_r: [Signal<Local, bool>; 5],
    first_hit_f: [Signal<Local, bool>; WAYS],
    first_hit_r: [Signal<Local, bool>; WAYS],
    first_free_f: [Signal<Local, bool>; WAYS],
    first_free_r: [Signal<Local, bool>; WAYS],
    target_f: [Signal<Local, bool>; WAYS],
    target_r: [Signal<Local, bool>; WAYS],
    first_hit: [Signal<Local, bool>; WAYS],
    target: [Signal<Local, bool>; WAYS],
    take_new: [Signal<Local, bool>; WAYS],
    clear: [Signal<Local, bool>; WAYS],
    disown: [Signal<Local, bool>; WAYS],
    new_entry: Signal<Local, Bits<ENTRY_BITS>>,
    next: [Signal<Local, Bits<ENTRY_BITS>>; WAYS],
    evict: Signal<Local, bool>,
    line: Signal<Local, Bits<LINE_BITS>>,
    same_line: Signal<Local, bool>,
    /// Window-relative tags of the RAM's word and of `fwd_word`.
    rd_tag: [Signal<Local, Bits<LINE_BITS>>; WAYS],
    fw_tag: [Signal<Local, Bits<LINE_BITS>>; WAYS],
    /// Does the way of the RAM's word / of `fwd_word` / of this cycle's entry hold
    /// `mid_line`?
    rd_mid: [Signal<Local, bool>; WAYS],
    fw_mid: [Signal<Local, bool>; WAYS],
    entry_mid: [Signal<Local, bool>; WAYS],
}

impl SnoopFilter {
    pub fn new(g: &Geometry) -> Self {
        let c2 = |v: u64| Constant::new(Bits::<2>::from(v));
        let ce = |v: u64| Constant::new(Bits::<ENTRY_BITS>::from(v));
        Self {
            clock: Default::default(),
            addr: Default::default(),
            next_addr: Default::default(),
            mid_line: Default::default(),
            op: Default::default(),
            owned: Default::default(),
            miss_full: Default::default(),
            victim_line: Default::default(),
            ram: std::array::from_fn(|_| PipedRam::new(g.sf_sets as usize)),
            keep_set: Default::default(),
            pick_set: Default::default(),
            rd_data: Default::default(),
            victim: Default::default(),
            fwd_word: Default::default(),
            fwd_sel_rd: Default::default(),
            rd_word: Default::default(),
            fwd_sel: Default::default(),
            match_rd: Default::default(),
            match_fwd: Default::default(),
            hf_rd: Default::default(),
            hf_fwd: Default::default(),
            line_mask: Constant::new(g.window_mask.into()),
            set_mask: Constant::new((g.sf_sets - 1).into()),
            last_way: c2(g.sf_ways - 1),
            way_on: std::array::from_fn(|w| Constant::new((w as u64) < g.sf_ways)),
            way_id: std::array::from_fn(|w| c2(w as u64)),
            entry_valid: ce(ENTRY_VALID),
            entry_owned: ce(ENTRY_OWNED),
            entry_not_owned: ce(ENTRY_VALID | ENTRY_TAG),
            entry_none: ce(0),
            entry_keep: ce(ENTRY_VALID | ENTRY_OWNED | g.window_mask),
            tag_mask: Constant::new(g.window_mask.into()),
            way_zero: c2(0),
            way_one: c2(1),
            line_zero: Constant::new(0.into()),
            op_none: c2(SF_NONE),
            op_remove: c2(SF_REMOVE),
            op_set: c2(SF_SET),
            op_downgrade: c2(SF_DOWNGRADE),
            set_index: Default::default(),
            next_set: Default::default(),
            mid_set: Default::default(),
            word: Default::default(),
            entry: Default::default(),
            matches_f: Default::default(),
            matches_r: Default::default(),
            empty_f: Default::default(),
            empty_r: Default::default(),
            hit_below_f: Default::default(),
            hit_below_r: Default::default(),
            free_below_f: Default::default(),
            free_below_r: Default::default(),
            first_hit_f: Default::default(),
            first_hit_r: Default::default(),
            first_free_f: Default::default(),
            first_free_r: Default::default(),
            target_f: Default::default(),
            target_r: Default::default(),
            first_hit: Default::default(),
            target: Default::default(),
            take_new: Default::default(),
            clear: Default::default(),
            disown: Default::default(),
            new_entry: Default::default(),
            next: Default::default(),
            evict: Default::default(),
            line: Default::default(),
            same_line: Default::default(),
            rd_tag: Default::default(),
            fw_tag: Default::default(),
            rd_mid: Default::default(),
            fw_mid: Default::default(),
            entry_mid: Default::default(),
        }
    }
}

impl Logic for SnoopFilter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, victim, pick_set, fwd_word, fwd_sel_rd, rd_word, fwd_sel);
        for w in 0..4 {
            self.match_rd[w].clock.next = self.clock.val();
            self.match_fwd[w].clock.next = self.clock.val();
            self.hf_rd[w].clock.next = self.clock.val();
            self.hf_fwd[w].clock.next = self.clock.val();
            self.ram[w].clock.next = self.clock.val();
            self.keep_set[w].clock.next = self.clock.val();
            self.keep_set[w].d.next = self.next_addr.val();
        }
        self.set_index.next = self.addr.val().get_bits::<SET_BITS>(0) & self.set_mask.val();
        self.pick_set.d.next = self.keep_set[0].q.val();
        self.next_set.next = self.pick_set.q.val() & self.set_mask.val();
        self.mid_set.next = self.mid_line.val().get_bits::<SET_BITS>(0) & self.set_mask.val();
        self.line.next = self.addr.val().get_bits::<LINE_BITS>(0) & self.line_mask.val();
        self.same_line.next = self.line.val() == self.mid_line.val();
        self.rd_data.next = bit_cast::<WORD_BITS, ENTRY_BITS>(self.ram[0].ram_data.val())
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.ram[1].ram_data.val()) << 48u64)
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.ram[2].ram_data.val()) << 96u64)
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.ram[3].ram_data.val()) << 144u64);
        for w in 0..4 {
            self.ram[w].read_address.next = self.keep_set[w].q.val() & self.set_mask.val();
        }
        if self.fwd_sel_rd.q.val() {
            self.rd_word.d.next = self.fwd_word.q.val();
        } else {
            self.rd_word.d.next = self.rd_data.val();
        }
        if self.fwd_sel.q.val() {
            self.word.next = self.fwd_word.q.val();
        } else {
            self.word.next = self.rd_word.q.val();
        }

        // Lookup: lowest valid way whose tag matches, lowest invalid way; decided for
        // both words and picked by `fwd_sel` (the tag compares were made in the read
        // stage, see the end of `update`).
        self.hit_below_f[0].next = false;
        self.hit_below_r[0].next = false;
        self.free_below_f[0].next = false;
        self.free_below_r[0].next = false;
        for w in 0..4 {
            // Ways past `sf_ways` stay zero; masking them lets synthesis drop their bits.
            self.entry[w].next = self.entry_none.val();
            if self.way_on[w].val() {
                self.entry[w].next =
                    self.word.val().get_bits::<ENTRY_BITS>(w * 48) & self.entry_keep.val();
            }
            self.matches_f[w].next = self.way_on[w].val() && self.match_fwd[w].q.val();
            self.matches_r[w].next = self.way_on[w].val() && self.match_rd[w].q.val();
            self.empty_f[w].next =
                self.way_on[w].val() && !self.fwd_word.q.val().get_bit(w * 48 + 47);
            self.empty_r[w].next =
                self.way_on[w].val() && !self.rd_word.q.val().get_bit(w * 48 + 47);
            self.first_hit_f[w].next = self.matches_f[w].val() && !self.hit_below_f[w].val();
            self.first_hit_r[w].next = self.matches_r[w].val() && !self.hit_below_r[w].val();
            self.first_free_f[w].next = self.empty_f[w].val() && !self.free_below_f[w].val();
            self.first_free_r[w].next = self.empty_r[w].val() && !self.free_below_r[w].val();
            self.hit_below_f[w + 1].next = self.hit_below_f[w].val() || self.matches_f[w].val();
            self.hit_below_r[w + 1].next = self.hit_below_r[w].val() || self.matches_r[w].val();
            self.free_below_f[w + 1].next = self.free_below_f[w].val() || self.empty_f[w].val();
            self.free_below_r[w + 1].next = self.free_below_r[w].val() || self.empty_r[w].val();
        }
        for w in 0..4 {
            if self.hit_below_f[4].val() {
                self.target_f[w].next = self.first_hit_f[w].val();
            } else if self.free_below_f[4].val() {
                self.target_f[w].next = self.first_free_f[w].val();
            } else {
                self.target_f[w].next = self.victim.q.val() == self.way_id[w].val();
            }
            if self.hit_below_r[4].val() {
                self.target_r[w].next = self.first_hit_r[w].val();
            } else if self.free_below_r[4].val() {
                self.target_r[w].next = self.first_free_r[w].val();
            } else {
                self.target_r[w].next = self.victim.q.val() == self.way_id[w].val();
            }
        }
        if self.fwd_sel.q.val() {
            self.miss_full.next = !(self.hf_fwd[0].q.val()
                || self.hf_fwd[1].q.val()
                || self.hf_fwd[2].q.val()
                || self.hf_fwd[3].q.val());
            for w in 0..4 {
                self.first_hit[w].next = self.first_hit_f[w].val();
                self.target[w].next = self.target_f[w].val();
            }
        } else {
            self.miss_full.next = !(self.hf_rd[0].q.val()
                || self.hf_rd[1].q.val()
                || self.hf_rd[2].q.val()
                || self.hf_rd[3].q.val());
            for w in 0..4 {
                self.first_hit[w].next = self.first_hit_r[w].val();
                self.target[w].next = self.target_r[w].val();
            }
        }
        self.evict.next = self.op.val() == self.op_set.val() && self.miss_full.val();

        self.victim_line.next = self.line_zero.val();
        for w in 0..4 {
            if self.victim.q.val() == self.way_id[w].val() {
                self.victim_line.next = self.entry[w].val().get_bits::<LINE_BITS>(0);
            }
        }

        // Update: rewrite the whole set word.
        if self.owned.val() {
            self.new_entry.next =
                bit_cast::<ENTRY_BITS, ADDR_BITS>(self.addr.val() & self.tag_mask.val())
                    | self.entry_valid.val()
                    | self.entry_owned.val();
        } else {
            self.new_entry.next =
                bit_cast::<ENTRY_BITS, ADDR_BITS>(self.addr.val() & self.tag_mask.val())
                    | self.entry_valid.val();
        }
        // Each way's next entry is one of three per-way decisions applied to each bit
        // (take the new entry, clear it, clear its owned bit), so a bit's logic is one
        // LUT behind them rather than a chain of per-operation muxes.
        for w in 0..4 {
            self.take_new[w].next = self.op.val() == self.op_set.val() && self.target[w].val();
            self.clear[w].next = self.op.val() == self.op_remove.val() && self.first_hit[w].val();
            self.disown[w].next =
                self.op.val() == self.op_downgrade.val() && self.first_hit[w].val();
            if self.take_new[w].val() {
                self.next[w].next = self.new_entry.val();
            } else if self.clear[w].val() {
                self.next[w].next = self.entry_none.val();
            } else if self.disown[w].val() {
                self.next[w].next = self.entry[w].val() & self.entry_not_owned.val();
            } else {
                self.next[w].next = self.entry[w].val();
            }
        }

        self.fwd_sel_rd.d.next =
            self.op.val() != self.op_none.val() && self.set_index.val() == self.next_set.val();
        self.fwd_sel.d.next =
            self.op.val() != self.op_none.val() && self.set_index.val() == self.mid_set.val();
        for w in 0..4 {
            self.ram[w].write_address.next = self.set_index.val();
            self.ram[w].write_data.next = self.next[w].val();
            self.ram[w].write_enable.next = self.op.val() != self.op_none.val();
        }
        self.fwd_word.d.next = bit_cast::<WORD_BITS, ENTRY_BITS>(self.next[0].val())
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.next[1].val()) << 48u64)
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.next[2].val()) << 96u64)
            | (bit_cast::<WORD_BITS, ENTRY_BITS>(self.next[3].val()) << 144u64);

        // Tag matches of the message in the read stage (`mid_line`), one cycle ahead
        // of its lookup: against the word `rd_word` takes at this edge, and against
        // the word written at this edge (`next`), which its lookup uses instead when
        // `fwd_sel` is set. A way of `next` holds `mid_line` if it was set to this
        // cycle's line and that is `mid_line`, or was kept (or downgraded) and held it.
        for w in 0..4 {
            self.rd_tag[w].next =
                self.ram[w].ram_data.val().get_bits::<LINE_BITS>(0) & self.line_mask.val();
            self.fw_tag[w].next =
                self.fwd_word.q.val().get_bits::<LINE_BITS>(w * 48) & self.line_mask.val();
            self.rd_mid[w].next = self.ram[w].ram_data.val().get_bit(47)
                && self.rd_tag[w].val() == self.mid_line.val();
            self.fw_mid[w].next = self.fwd_word.q.val().get_bit(w * 48 + 47)
                && self.fw_tag[w].val() == self.mid_line.val();
            self.entry_mid[w].next = self.entry[w].val().get_bit(47)
                && self.entry[w].val().get_bits::<LINE_BITS>(0) == self.mid_line.val();
            if self.fwd_sel_rd.q.val() {
                self.match_rd[w].d.next = self.fw_mid[w].val();
                self.hf_rd[w].d.next = self.way_on[w].val()
                    && (self.fw_mid[w].val() || !self.fwd_word.q.val().get_bit(w * 48 + 47));
            } else {
                self.match_rd[w].d.next = self.rd_mid[w].val();
                self.hf_rd[w].d.next = self.way_on[w].val()
                    && (self.rd_mid[w].val() || !self.ram[w].ram_data.val().get_bit(47));
            }
            // `match_fwd`: `next[w]` holds `mid_line`; `hf_fwd`: it does, or is invalid.
            self.match_fwd[w].d.next = self.entry_mid[w].val();
            self.hf_fwd[w].d.next = self.way_on[w].val()
                && (self.entry_mid[w].val() || !self.entry[w].val().get_bit(47));
            if self.clear[w].val() {
                self.match_fwd[w].d.next = false;
                self.hf_fwd[w].d.next = self.way_on[w].val();
            }
            if self.take_new[w].val() {
                self.match_fwd[w].d.next = self.same_line.val();
                self.hf_fwd[w].d.next = self.way_on[w].val() && self.same_line.val();
            }
        }

        if self.evict.val() {
            if self.victim.q.val() == self.last_way.val() {
                self.victim.d.next = self.way_zero.val();
            } else {
                self.victim.d.next = self.victim.q.val() + self.way_one.val();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn snoop_filter_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/ice40-small.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = SnoopFilter::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_snoop_filter", &v).unwrap();
    }
}
