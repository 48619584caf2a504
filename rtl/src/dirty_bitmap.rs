//! Dirty bitmap: hierarchical dirty-line bits in two banks (epochs), one RAM per
//! level and bank (each level's two in one `EpochRam`, which on ECP5 puts both in
//! one set of block RAMs), with epoch-swap plus read-and-clear harvest.
//!
//! Per cycle: stage A takes a line index; stage B (next cycle) decides the RAM
//! writes, and stage C (the cycle after) sets the line's bit (level 0) and the
//! summary bits above it in the bank that was active in stage A's cycle. The harvest
//! port either swaps the active bank or reads-and-clears one word of the inactive
//! bank; its data comes out `HV_LATENCY` (5) cycles later. A harvest read waits while
//! stage B or C still has a set for the bank it reads, so a line dirtied before a swap
//! is always in the bank that swap retires.
//!
//! The RAMs' read and write ports come from registers: the read's word index is
//! registered per level as the harvest port takes it (the harvest index comes from
//! the register agent or the pins, through the top's port select, and the level-0
//! address alone reaches 32 block RAMs across the chip), and the RAM is read from that
//! register a cycle later; stage C's set, or the clear decided in the cycle of its
//! read, reach the write ports straight from registers (each RAM's mask, its only
//! write enable: the set's bit, all bits for a clear): the RAMs spread over the
//! chip, and logic in front of them would add its routing to the long wires.
//!
//! The RAMs have per-bit write masks, so a set writes its one bit and never reads
//! the word: no read-modify-write, no forwarding, and the RAM's clock-to-out is on
//! no set path. The clear is written a cycle after its RAM read, from registers, so
//! no RAM word is read and written in one cycle (`MaskedRam` leaves that undefined);
//! a read of the word being cleared answers 0, what the clear leaves. The model reads
//! and clears at the harvest port's edge: no set reaches the read bank before the RAM
//! read or the clear (the read waited out sets in its bank; a swap after it sends new
//! sets through stages B and C first).
//!
//! On ECP5 a level's two banks share DP16KDs where both fit one block's depth (the
//! default's levels 0 and 1: 48 blocks, not 96; docs/fpga-steps.md step 53): the
//! set is written on port A from registers of its own (`set_*`, its bank the top
//! address bit), and port B reads the retired bank and clears the word it reads at
//! the same edge (`READBEFOREWRITE`), so there the clear's write-port registers and
//! the collision flag are not used; the answers are the same cycle by cycle
//! (`rtl/tests/ecp5_blocks.rs` runs both in Icarus Verilog).
//!
//! The word passes a register at each RAM's output (`MaskedRam`'s second edge; on
//! ECP5 the DP16KD's own output register): a reader far from the RAMs then starts
//! from flip-flops, not from the block RAM's clock-to-out (5.8 ns on a DP16KD); then
//! a plain register per RAM on the way back (a block's output register to the word
//! was one LUT behind about 7 ns of wire with the 16 MiB window's 96 blocks then,
//! docs/fpga-steps.md step 42). Then one register per level takes its two banks'
//! words through one gate (bank, and "this level answers", both flip-flops), between
//! those RAMs, and the answer is the OR of the three: the RAMs of one word bit lie
//! far apart, so no path gathers all six RAMs through the level and bank select in
//! one cycle.

use crate::mem::EpochRam;
use linewatch_model::config::{Geometry, MAX_LEVELS, MAX_WINDOW_LINES};
use linewatch_model::protocol::{HV_INDEX_BITS, HV_LATENCY, HV_LEVEL_BITS, HV_SWAP};
use rust_hdl::prelude::*;

const L: usize = MAX_LEVELS as usize;
/// Width of a line index inside the window.
pub const LINE_BITS: usize = MAX_WINDOW_LINES.trailing_zeros() as usize;
const WORD_BITS: usize = 64;
const SHIFT_BITS: usize = 5;
const _: () = assert!(L == 3, "the level loops below are written for three levels");
const _: () = assert!(HV_INDEX_BITS >= LINE_BITS);
const _: () = assert!(
    HV_LATENCY == 5,
    "address, RAM read, output and return registers, per-level bank pick"
);

#[derive(LogicBlock)]
pub struct DirtyBitmap {
    pub clock: Signal<In, Clock>,
    /// Line index entering stage A.
    pub set_valid: Signal<In, bool>,
    pub set_idx: Signal<In, Bits<LINE_BITS>>,
    pub hv_valid: Signal<In, bool>,
    pub hv_op: Signal<In, bool>,
    pub hv_level: Signal<In, Bits<HV_LEVEL_BITS>>,
    pub hv_index: Signal<In, Bits<HV_INDEX_BITS>>,
    pub hv_ready: Signal<Out, bool>,
    /// A harvest read of a level the configuration lacks fires this cycle.
    pub hv_err: Signal<Out, bool>,
    /// The word of the read fired `HV_LATENCY` cycles ago (0 when none was).
    pub rsp_valid: Signal<Out, bool>,
    pub rsp_data: Signal<Out, Bits<WORD_BITS>>,
    /// Level k's two banks; `fanout` bits of each word are stored. RAM `2 * k + b`
    /// below is level k, bank b.
    ram: [EpochRam<WORD_BITS, HV_INDEX_BITS>; L],
    epoch: DFF<bool>,
    sb_valid: DFF<bool>,
    sb_bank: DFF<bool>,
    /// The set's line. It loads what the core's stage-2 line register loads, so it
    /// is a `keep_*` copy: merged with that one, the core's stage-2 compares and the
    /// bitmap's write side shared a register that could sit by only one (step 43).
    keep_sb_idx: DFF<Bits<LINE_BITS>>,
    /// Stage B's / C's set is for the retired bank (for the harvest port's ready),
    /// decided at the edge before from the swap.
    sb_ret: DFF<bool>,
    sc_ret: DFF<bool>,
    /// Each RAM's write port, decided a cycle ahead: the bits written (the set's
    /// one bit, all for a clear, none; the RAM's only write enable), a set (else a
    /// clear), word. A mask register per RAM, not per level with a shared enable:
    /// each mask bit drives one block's write enable on ECP5 with no gate between.
    wr_mask: [DFF<Bits<WORD_BITS>>; 2 * L],
    wr_set: [DFF<bool>; 2 * L],
    wr_addr: [DFF<Bits<HV_INDEX_BITS>>; 2 * L],
    /// Stage C's set alone, per level (its bank, word, bit; a zero mask for none):
    /// the sets' port where the two banks share blocks (`EpochRam` on ECP5).
    set_bank: [DFF<bool>; L],
    set_addr: [DFF<Bits<HV_INDEX_BITS>>; L],
    set_bit: [DFF<Bits<WORD_BITS>>; L],
    /// The read taken at the last edge: level k's word index (the RAMs' read
    /// address this cycle) and whether it reads and clears level k.
    rd_addr: [DFF<Bits<HV_INDEX_BITS>>; L],
    rd_clr: [DFF<bool>; L],
    /// The retired bank, the one the read takes its word from: `!epoch` at the
    /// read's edge (no swap is taken with a read), a flip-flop for the RAMs' pins.
    rd_bank: [DFF<bool>; L],
    /// Its selection: taken, level present, level, bank.
    rsp_valid_r: DFF<bool>,
    rsp_ok_r: DFF<bool>,
    rsp_level_r: DFF<Bits<HV_LEVEL_BITS>>,
    rsp_bank_r: DFF<bool>,
    /// The selection a cycle on (the RAMs' read registers hold the word), again
    /// when the word leaves the output registers (`late_sel[k]`: level k answers),
    /// and when it leaves the return registers (`back_*`).
    mid_valid: DFF<bool>,
    mid_ok: DFF<bool>,
    mid_level: DFF<Bits<HV_LEVEL_BITS>>,
    mid_bank: DFF<bool>,
    late_valid: DFF<bool>,
    late_sel: [DFF<bool>; L],
    late_bank: DFF<bool>,
    back_valid: DFF<bool>,
    back_sel: [DFF<bool>; L],
    back_bank: DFF<bool>,
    /// Each RAM's word a cycle after its output register.
    ram_back: [DFF<Bits<WORD_BITS>>; 2 * L],
    /// Level k's word of the read, the bank picked (0 unless level k answers), and
    /// whether a read answers: the port's answer the cycle after.
    lvl_word: [DFF<Bits<WORD_BITS>>; L],
    fin_valid: DFF<bool>,
    /// The read-and-clear of level k whose RAM read was at the last edge, and its
    /// word: its clear is written at the next edge (from `wr_*`), so no RAM is read
    /// and written at one word in the same cycle (the RAMs' collision behaviour is
    /// undefined, `MaskedRam`) except by the next read of the word being cleared,
    /// whose answer `collide_r` forces to 0 (what the clear leaves: sets go to the
    /// other bank).
    clr_r: [DFF<bool>; L],
    clr_addr_r: [DFF<Bits<HV_INDEX_BITS>>; L],
    collide_r: DFF<bool>,
    same_word: [Signal<Local, bool>; L],
    level_on: [Constant<bool>; L],
    level_id: [Constant<Bits<HV_LEVEL_BITS>>; L],
    levels: Constant<Bits<HV_LEVEL_BITS>>,
    /// Level k's word of a line is `idx >> word_shift[k]`, its bit `(idx >> bit_shift[k]) & fmask`.
    word_shift: [Constant<Bits<SHIFT_BITS>>; L],
    bit_shift: [Constant<Bits<SHIFT_BITS>>; L],
    word_mask: [Constant<Bits<HV_INDEX_BITS>>; L],
    fmask: Constant<Bits<HV_INDEX_BITS>>,
    one: Constant<Bits<WORD_BITS>>,
    zero: Constant<Bits<WORD_BITS>>,
    swap: Constant<bool>,
    set_busy: Signal<Local, bool>,
    swap_fire: Signal<Local, bool>,
    /// Stage B's set / this cycle's clear is for RAM r.
    set_in: [Signal<Local, bool>; 2 * L],
    clear_in: [Signal<Local, bool>; 2 * L],
    hv_fire: Signal<Local, bool>,
    hv_read: Signal<Local, bool>,
    idx_b: Signal<Local, Bits<HV_INDEX_BITS>>,
    word_b: [Signal<Local, Bits<HV_INDEX_BITS>>; L],
    /// Full width, since all of it feeds the shift.
    bit_b: [Signal<Local, Bits<HV_INDEX_BITS>>; L],
    set_mask: [Signal<Local, Bits<WORD_BITS>>; L],
    ones: Constant<Bits<WORD_BITS>>,
    write_b: [Signal<Local, bool>; L],
    clear: [Signal<Local, bool>; L],
}

impl DirtyBitmap {
    pub fn new(g: &Geometry) -> Self {
        let on = |k: usize| (k as u64) < g.levels;
        let words = |k: usize| if on(k) { g.level_words(k as u64) } else { 1 };
        let log2 = g.fanout_log2 as u64;
        Self {
            clock: Default::default(),
            set_valid: Default::default(),
            set_idx: Default::default(),
            hv_valid: Default::default(),
            hv_op: Default::default(),
            hv_level: Default::default(),
            hv_index: Default::default(),
            hv_ready: Default::default(),
            hv_err: Default::default(),
            rsp_valid: Default::default(),
            rsp_data: Default::default(),
            ram: std::array::from_fn(|k| EpochRam::new(words(k) as usize, g.fanout as usize)),
            epoch: Default::default(),
            sb_valid: Default::default(),
            sb_bank: Default::default(),
            keep_sb_idx: Default::default(),
            sb_ret: Default::default(),
            sc_ret: Default::default(),
            wr_mask: Default::default(),
            wr_set: Default::default(),
            wr_addr: Default::default(),
            set_bank: Default::default(),
            set_addr: Default::default(),
            set_bit: Default::default(),
            rd_addr: Default::default(),
            rd_clr: Default::default(),
            rd_bank: Default::default(),
            rsp_valid_r: Default::default(),
            rsp_ok_r: Default::default(),
            rsp_level_r: Default::default(),
            rsp_bank_r: Default::default(),
            mid_valid: Default::default(),
            mid_ok: Default::default(),
            mid_level: Default::default(),
            mid_bank: Default::default(),
            late_valid: Default::default(),
            late_sel: Default::default(),
            late_bank: Default::default(),
            back_valid: Default::default(),
            back_sel: Default::default(),
            back_bank: Default::default(),
            ram_back: Default::default(),
            lvl_word: Default::default(),
            fin_valid: Default::default(),
            clr_r: Default::default(),
            clr_addr_r: Default::default(),
            collide_r: Default::default(),
            same_word: Default::default(),
            level_on: std::array::from_fn(|k| Constant::new(on(k))),
            level_id: std::array::from_fn(|k| Constant::new((k as u64).into())),
            levels: Constant::new(g.levels.into()),
            word_shift: std::array::from_fn(|k| Constant::new((log2 * (k as u64 + 1)).into())),
            bit_shift: std::array::from_fn(|k| Constant::new((log2 * k as u64).into())),
            word_mask: std::array::from_fn(|k| Constant::new((words(k) - 1).into())),
            fmask: Constant::new((g.fanout - 1).into()),
            one: Constant::new(1.into()),
            zero: Constant::new(0.into()),
            ones: Constant::new(Bits::<WORD_BITS>::mask()),
            swap: Constant::new(HV_SWAP != 0),
            set_busy: Default::default(),
            swap_fire: Default::default(),
            set_in: Default::default(),
            clear_in: Default::default(),
            hv_fire: Default::default(),
            hv_read: Default::default(),
            idx_b: Default::default(),
            word_b: Default::default(),
            bit_b: Default::default(),
            set_mask: Default::default(),
            write_b: Default::default(),
            clear: Default::default(),
        }
    }
}

impl Logic for DirtyBitmap {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            epoch,
            sb_valid,
            sb_bank,
            keep_sb_idx,
            sb_ret,
            sc_ret,
            rsp_valid_r,
            rsp_ok_r,
            rsp_level_r,
            rsp_bank_r,
            mid_valid,
            mid_ok,
            mid_level,
            mid_bank,
            late_valid,
            late_bank,
            back_valid,
            back_bank,
            fin_valid,
            collide_r
        );
        for r in 0..6 {
            self.wr_mask[r].clock.next = self.clock.val();
            self.wr_set[r].clock.next = self.clock.val();
            self.wr_addr[r].clock.next = self.clock.val();
            self.ram_back[r].clock.next = self.clock.val();
        }
        for k in 0..3 {
            self.ram[k].clock.next = self.clock.val();
            self.ram_back[2 * k].d.next = self.ram[k].read_data0.val();
            self.ram_back[2 * k + 1].d.next = self.ram[k].read_data1.val();
            self.ram[k].write_address0.next = self.wr_addr[2 * k].q.val();
            self.ram[k].write_mask0.next = self.wr_mask[2 * k].q.val();
            self.ram[k].write_data0.next = self.zero.val();
            if self.wr_set[2 * k].q.val() {
                self.ram[k].write_data0.next = self.ones.val();
            }
            self.ram[k].write_address1.next = self.wr_addr[2 * k + 1].q.val();
            self.ram[k].write_mask1.next = self.wr_mask[2 * k + 1].q.val();
            self.ram[k].write_data1.next = self.zero.val();
            if self.wr_set[2 * k + 1].q.val() {
                self.ram[k].write_data1.next = self.ones.val();
            }
            self.set_bank[k].clock.next = self.clock.val();
            self.set_addr[k].clock.next = self.clock.val();
            self.set_bit[k].clock.next = self.clock.val();
            self.ram[k].set_bank.next = self.set_bank[k].q.val();
            self.ram[k].set_address.next = self.set_addr[k].q.val();
            self.ram[k].set_mask.next = self.set_bit[k].q.val();
            self.rd_bank[k].clock.next = self.clock.val();
            self.ram[k].read_bank.next = self.rd_bank[k].q.val();
            self.ram[k].read_clear.next = self.rd_clr[k].q.val();
        }

        // Harvest port: a read waits while stage B or C has a set for the inactive bank.
        // A set is in the bank active in stage A, which is the retired one after a
        // swap; stage B's set stays retired into stage C unless a swap comes between.
        self.swap_fire.next = self.hv_valid.val() && self.hv_op.val() == self.swap.val();
        self.sb_ret.d.next = self.set_valid.val() && self.swap_fire.val();
        self.sc_ret.d.next = self.sb_valid.q.val()
            && ((self.sb_bank.q.val() != self.epoch.q.val()) != self.swap_fire.val());
        self.set_busy.next = self.sb_ret.q.val() || self.sc_ret.q.val();
        self.hv_ready.next = self.hv_op.val() == self.swap.val() || !self.set_busy.val();
        self.hv_fire.next =
            self.hv_valid.val() && (self.hv_op.val() == self.swap.val() || !self.set_busy.val());
        self.hv_read.next = self.hv_op.val() != self.swap.val();
        self.hv_err.next =
            self.hv_fire.val() && self.hv_read.val() && self.hv_level.val() >= self.levels.val();
        if self.hv_fire.val() && !self.hv_read.val() {
            self.epoch.d.next = !self.epoch.q.val();
        }
        self.rsp_valid_r.d.next = self.hv_fire.val() && self.hv_read.val();
        self.rsp_ok_r.d.next = self.hv_level.val() < self.levels.val();
        self.rsp_level_r.d.next = self.hv_level.val();
        self.rsp_bank_r.d.next = !self.epoch.q.val();

        // Stage A enters stage B in the bank active now.
        self.sb_valid.d.next = self.set_valid.val();
        self.sb_bank.d.next = self.epoch.q.val();
        self.keep_sb_idx.d.next = self.set_idx.val();

        self.idx_b.next = bit_cast::<HV_INDEX_BITS, LINE_BITS>(self.keep_sb_idx.q.val());
        self.collide_r.d.next = false;
        for k in 0..3 {
            self.clr_r[k].clock.next = self.clock.val();
            self.clr_addr_r[k].clock.next = self.clock.val();
            self.rd_addr[k].clock.next = self.clock.val();
            self.rd_clr[k].clock.next = self.clock.val();
            self.word_b[k].next =
                (self.idx_b.val() >> self.word_shift[k].val()) & self.word_mask[k].val();
            self.rd_addr[k].d.next = self.hv_index.val() & self.word_mask[k].val();
            self.rd_bank[k].d.next = !self.epoch.q.val();
            self.bit_b[k].next = (self.idx_b.val() >> self.bit_shift[k].val()) & self.fmask.val();
            self.set_mask[k].next = self.one.val() << self.bit_b[k].val();
            self.write_b[k].next = self.sb_valid.q.val() && self.level_on[k].val();
            self.clear[k].next = self.hv_fire.val()
                && self.hv_read.val()
                && self.hv_level.val() == self.level_id[k].val()
                && self.level_on[k].val();

            self.rd_clr[k].d.next = self.clear[k].val();
            self.clr_r[k].d.next = self.rd_clr[k].q.val();
            self.clr_addr_r[k].d.next = self.rd_addr[k].q.val();
            self.same_word[k].next = self.rd_addr[k].q.val() == self.clr_addr_r[k].q.val();
            // Only read by a taken read's answer (`late_sel`), so `rsp_valid_r` is left out.
            if self.rsp_level_r.q.val() == self.level_id[k].val()
                && self.clr_r[k].q.val()
                && self.same_word[k].val()
            {
                self.collide_r.d.next = true;
            }

            // Read port: the word of the read taken at the last edge (only the
            // retired bank's read is used). Write port, for the next cycle: stage B's
            // set in its bank, else the clear of the word read now in the retired
            // bank (never the bank with a set: stage B's set entered stage A when the
            // read was taken, into the active bank, and no swap was taken with it).
            self.ram[k].read_address.next = self.rd_addr[k].q.val();
            self.set_bank[k].d.next = self.sb_bank.q.val();
            self.set_addr[k].d.next = self.word_b[k].val();
            self.set_bit[k].d.next = self.zero.val();
            if self.write_b[k].val() {
                self.set_bit[k].d.next = self.set_mask[k].val();
            }
            // The word picks between the set and the clear by the set alone
            // (registers); only the enable looks at this cycle's harvest port.
            self.set_in[k * 2].next = self.write_b[k].val() && !self.sb_bank.q.val();
            self.set_in[k * 2 + 1].next = self.write_b[k].val() && self.sb_bank.q.val();
            self.clear_in[k * 2].next = self.rd_clr[k].q.val() && self.epoch.q.val();
            self.clear_in[k * 2 + 1].next = self.rd_clr[k].q.val() && !self.epoch.q.val();
            for b in 0..2 {
                if self.set_in[k * 2 + b].val() {
                    self.wr_mask[k * 2 + b].d.next = self.set_mask[k].val();
                } else if self.clear_in[k * 2 + b].val() {
                    self.wr_mask[k * 2 + b].d.next = self.ones.val();
                } else {
                    self.wr_mask[k * 2 + b].d.next = self.zero.val();
                }
                self.wr_set[k * 2 + b].d.next = self.set_in[k * 2 + b].val();
                if self.set_in[k * 2 + b].val() {
                    self.wr_addr[k * 2 + b].d.next = self.word_b[k].val();
                } else {
                    self.wr_addr[k * 2 + b].d.next = self.rd_addr[k].q.val();
                }
            }
        }

        // Harvest data: the read's selection follows its word down the RAMs' read,
        // output and return registers; the per-level registers pick the bank, and
        // the port answers with their OR, `HV_LATENCY` cycles after the read.
        self.mid_valid.d.next = self.rsp_valid_r.q.val();
        self.mid_ok.d.next = self.rsp_ok_r.q.val();
        self.mid_level.d.next = self.rsp_level_r.q.val();
        self.mid_bank.d.next = self.rsp_bank_r.q.val();
        self.late_valid.d.next = self.mid_valid.q.val();
        self.late_bank.d.next = self.mid_bank.q.val();
        self.back_valid.d.next = self.late_valid.q.val();
        self.back_bank.d.next = self.late_bank.q.val();
        self.fin_valid.d.next = self.back_valid.q.val();
        self.rsp_valid.next = self.fin_valid.q.val();
        for k in 0..3 {
            self.late_sel[k].clock.next = self.clock.val();
            self.late_sel[k].d.next = self.mid_valid.q.val()
                && self.mid_ok.q.val()
                && !self.collide_r.q.val()
                && self.mid_level.q.val() == self.level_id[k].val();
            self.back_sel[k].clock.next = self.clock.val();
            self.back_sel[k].d.next = self.late_sel[k].q.val();
            self.lvl_word[k].clock.next = self.clock.val();
            self.lvl_word[k].d.next = self.zero.val();
            if self.back_sel[k].q.val() {
                if self.back_bank.q.val() {
                    self.lvl_word[k].d.next = self.ram_back[k * 2 + 1].q.val();
                } else {
                    self.lvl_word[k].d.next = self.ram_back[k * 2].q.val();
                }
            }
        }
        self.rsp_data.next =
            self.lvl_word[0].q.val() | self.lvl_word[1].q.val() | self.lvl_word[2].q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linewatch_model::Config;

    #[test]
    fn dirty_bitmap_synthesizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/ice40-small.toml");
        let g = Config::load(path.as_ref()).unwrap().geometry();
        let mut uut = DirtyBitmap::new(&g);
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_dirty_bitmap", &v).unwrap();
    }
}
