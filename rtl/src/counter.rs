//! 64-bit event counter: per cycle adds a step of 0-7 to its value.
//!
//! Kept as two 32-bit halves. The high half's carry is decided from registers (a
//! flag that the low half's top 29 bits are all ones, kept beside it) and the step
//! (the low half's low 3 bits plus the step reaching 8), not from the low half's
//! sum, so no 64-bit carry chain follows the step. The carry itself is registered
//! (`carry_r`) and lands in the high half an edge later: the high half is kept
//! beside its successor (`hi_p1`), the value shows `hi_p1` while a carry is pending,
//! and `carry_r` alone enables the high half's 64 flip-flops, so the step's decision
//! ends at one flip-flop instead of at 32 enables (docs/fpga-steps.md, step 43).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Count64 {
    pub clock: Signal<In, Clock>,
    /// Added at the edge.
    pub step: Signal<In, Bits<3>>,
    /// The count, from registers.
    pub value: Signal<Out, Bits<64>>,
    lo: DFF<Bits<32>>,
    /// The high half without the carry pending in `carry_r`.
    hi: DFF<Bits<32>>,
    /// Always `hi` + 1 (modulo 2^32).
    hi_p1: DFFWithInit<Bits<32>>,
    /// The low half carried out at the last edge; not yet in `hi`.
    carry_r: DFF<bool>,
    /// `lo`'s bits 31-3 are all ones.
    top_ones: DFF<bool>,
    /// `lo`'s bits 31-3 are all ones but bit 3 (one carry into bit 3 from `top_ones`).
    top_next: Signal<Local, bool>,
    low4: Signal<Local, Bits<4>>,
    c3: Signal<Local, bool>,
    carry: Signal<Local, bool>,
    seven: Constant<Bits<4>>,
    one: Constant<Bits<32>>,
    top_m1: Constant<Bits<29>>,
}

impl Default for Count64 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            step: Default::default(),
            value: Default::default(),
            lo: Default::default(),
            hi: Default::default(),
            hi_p1: DFFWithInit::new(1u64.into()),
            carry_r: Default::default(),
            low4: Default::default(),
            c3: Default::default(),
            carry: Default::default(),
            seven: Constant::new(7.into()),
            top_ones: Default::default(),
            top_next: Default::default(),
            top_m1: Constant::new(0x1fff_fffeu64.into()),
            one: Constant::new(1.into()),
        }
    }
}

impl Logic for Count64 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, lo, hi, hi_p1, carry_r, top_ones);
        self.low4.next =
            bit_cast::<4, 3>(self.lo.q.val().get_bits::<3>(0)) + bit_cast::<4, 3>(self.step.val());
        // The low 3 bits plus the step carry into bit 3 (reach 8).
        self.c3.next = self.low4.val() > self.seven.val();
        self.carry.next = self.top_ones.q.val() && self.c3.val();
        self.top_next.next = self.lo.q.val().get_bits::<29>(3) == self.top_m1.val();
        self.top_ones.d.next =
            (self.top_ones.q.val() && !self.c3.val()) || (self.top_next.val() && self.c3.val());
        self.lo.d.next = self.lo.q.val() + bit_cast::<32, 3>(self.step.val());
        self.carry_r.d.next = self.carry.val();
        if self.carry_r.q.val() {
            self.hi.d.next = self.hi_p1.q.val();
            self.hi_p1.d.next = self.hi_p1.q.val() + self.one.val();
        }
        if self.carry_r.q.val() {
            self.value.next = bit_cast::<64, 32>(self.lo.q.val())
                | (bit_cast::<64, 32>(self.hi_p1.q.val()) << 32u64);
        } else {
            self.value.next = bit_cast::<64, 32>(self.lo.q.val())
                | (bit_cast::<64, 32>(self.hi.q.val()) << 32u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps of 0-7 from values around the low half's wrap, against u64 addition.
    #[test]
    fn counts_across_the_halves() {
        let mut uut = Count64::default();
        uut.connect_all();
        let mut sim = Simulation::new();
        sim.add_clock(5, |x: &mut Box<Count64>| x.clock.next = !x.clock.val());
        sim.add_testbench(move |mut ep: Sim<Count64>| {
            let mut x = ep.init()?;
            let mut want: u64 = 0;
            let mut seed: u64 = 7;
            for start in [0u64, 0xffff_fff0, 0x1_ffff_fffa, 0xffff_ffff_ffff_fff9] {
                x.lo.q.next = (start & 0xffff_ffff).into();
                x.hi.q.next = (start >> 32).into();
                // `DFFWithInit` keeps its value XOR its initial 1.
                x.hi_p1.dff.q.next = ((((start >> 32) + 1) & 0xffff_ffff) ^ 1).into();
                x.carry_r.q.next = false;
                x.top_ones.q.next = (start & 0xffff_ffff) >> 3 == 0x1fff_ffff;
                x.step.next = 0.into();
                x = ep.wait(1, x)?;
                wait_clock_cycle!(ep, clock, x);
                // The forced value holds until the next edge writes d.
                want = start;
                for _ in 0..40 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let step = seed >> 61;
                    x.step.next = step.into();
                    wait_clock_cycle!(ep, clock, x);
                    want = want.wrapping_add(step);
                    sim_assert_eq!(ep, x.value.val(), Bits::<64>::from(want), x);
                }
            }
            let _ = want;
            ep.done(x)
        });
        sim.run(Box::new(uut), 100_000).unwrap();
    }

    #[test]
    fn count64_synthesizes() {
        let mut uut = Count64::default();
        uut.connect_all();
        let v = generate_verilog(&uut);
        yosys_validate("linewatch_rtl_count64", &v).unwrap();
    }
}
