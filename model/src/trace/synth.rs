//! Deterministic synthetic traces: the same [`SynthSpec`] (seed included) always
//! yields the same accesses, on every machine.

use super::rng::Rng;
use super::{Access, Kind, TraceResult, TraceSource};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthKind {
    /// `size`-byte accesses walking the footprint in order, wrapping around.
    Sequential,
    /// `size`-byte accesses at uniformly random `size`-aligned addresses.
    Uniform,
    /// Key-value store: `footprint / record` keys of `record` bytes each; each access
    /// reads or writes one whole record, the key drawn from a zipf distribution
    /// with exponent `skew` (key popularity rank scattered over the footprint).
    Zipf,
    /// `size`-byte accesses `stride` bytes apart, wrapping around the footprint.
    Strided,
}

impl SynthKind {
    pub fn parse(s: &str) -> Option<SynthKind> {
        match s {
            "sequential" | "seq" => Some(SynthKind::Sequential),
            "uniform" => Some(SynthKind::Uniform),
            "zipf" => Some(SynthKind::Zipf),
            "strided" => Some(SynthKind::Strided),
            _ => None,
        }
    }
}

/// What to generate. Writes are stores, chosen independently per access with
/// probability `write_pct / 100`; the rest are loads.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSpec {
    pub kind: SynthKind,
    pub count: u64,
    pub seed: u64,
    /// Address of the first byte of the footprint.
    pub base: u64,
    /// Bytes of address space the trace stays within.
    pub footprint: u64,
    /// Access size (sequential, uniform, strided).
    pub size: u32,
    /// Distance between consecutive strided accesses.
    pub stride: u64,
    /// Record size (zipf).
    pub record: u32,
    /// Zipf exponent, > 0 (0.99 is the YCSB default).
    pub skew: f64,
    pub write_pct: f64,
}

impl SynthSpec {
    pub fn new(kind: SynthKind, count: u64, seed: u64) -> SynthSpec {
        SynthSpec {
            kind,
            count,
            seed,
            base: 0,
            footprint: 64 << 20,
            size: 8,
            stride: 64,
            record: 64,
            skew: 0.99,
            write_pct: 30.0,
        }
    }

    /// Checks the parameters; the message names the offending one.
    pub fn check(&self) -> Result<(), String> {
        let unit = match self.kind {
            SynthKind::Zipf => self.record as u64,
            _ => self.size as u64,
        };
        if unit == 0 {
            return Err(match self.kind {
                SynthKind::Zipf => "record size must be above 0".into(),
                _ => "access size must be above 0".into(),
            });
        }
        if self.footprint < unit {
            return Err(format!(
                "footprint {} is smaller than one {unit}-byte {}",
                self.footprint,
                if self.kind == SynthKind::Zipf {
                    "record"
                } else {
                    "access"
                }
            ));
        }
        if self.base.checked_add(self.footprint).is_none() {
            return Err("base + footprint overflows the address space".into());
        }
        if self.kind == SynthKind::Strided && self.stride == 0 {
            return Err("stride must be above 0".into());
        }
        if self.kind == SynthKind::Zipf && !(self.skew > 0.0 && self.skew.is_finite()) {
            return Err(format!("skew {} must be above 0", self.skew));
        }
        if !(0.0..=100.0).contains(&self.write_pct) {
            return Err(format!(
                "write percentage {} must be from 0 to 100",
                self.write_pct
            ));
        }
        Ok(())
    }
}

/// The generator: an `Iterator<Item = Access>` and a [`TraceSource`].
#[derive(Clone, Debug)]
pub struct Synth {
    spec: SynthSpec,
    rng: Rng,
    i: u64,
    /// Next offset within the footprint (sequential, strided).
    off: u64,
    /// Accesses that fit in the footprint (units of size or record).
    slots: u64,
    write_below: u64,
    zipf: Option<Zipf>,
    /// Multiplier scattering zipf ranks over the keys (coprime with the key count).
    scatter: u64,
}

impl Synth {
    pub fn new(spec: SynthSpec) -> Result<Synth, String> {
        spec.check()?;
        let unit = if spec.kind == SynthKind::Zipf {
            spec.record as u64
        } else {
            spec.size as u64
        };
        let slots = spec.footprint / unit;
        // write_pct 100 must write always: compare against 2^64 * p in u128.
        let write_below = ((spec.write_pct / 100.0) * 18_446_744_073_709_551_616.0) as u128;
        let zipf = (spec.kind == SynthKind::Zipf).then(|| Zipf::new(slots, spec.skew));
        let mut scatter = 0x9e37_79b9_7f4a_7c15 % slots.max(1);
        while gcd(scatter, slots) != 1 {
            scatter += 1;
        }
        Ok(Synth {
            rng: Rng::new(spec.seed),
            i: 0,
            off: 0,
            slots,
            write_below: write_below.min(u64::MAX as u128) as u64,
            zipf,
            scatter,
            spec,
        })
    }

    fn is_write(&mut self) -> bool {
        if self.spec.write_pct >= 100.0 {
            return true;
        }
        self.rng.next_u64() < self.write_below
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Iterator for Synth {
    type Item = Access;

    fn next(&mut self) -> Option<Access> {
        if self.i >= self.spec.count {
            return None;
        }
        self.i += 1;
        let s = &self.spec;
        let (offset, size) = match s.kind {
            SynthKind::Sequential => {
                let o = self.off;
                self.off += s.size as u64;
                if self.off + s.size as u64 > s.footprint {
                    self.off = 0;
                }
                (o, s.size)
            }
            SynthKind::Strided => {
                let o = self.off;
                // Wrap back to the start, shifted by one access, so repeated passes
                // touch new bytes until the stride is covered.
                self.off += s.stride;
                if self.off + s.size as u64 > s.footprint {
                    self.off = (self.off % s.stride + s.size as u64) % s.stride;
                    if self.off + s.size as u64 > s.footprint {
                        self.off = 0;
                    }
                }
                (o, s.size)
            }
            SynthKind::Uniform => (self.rng.below(self.slots) * s.size as u64, s.size),
            SynthKind::Zipf => {
                let rank = self.zipf.as_ref().expect("zipf").sample(&mut self.rng) - 1;
                let key = ((rank as u128 * self.scatter as u128) % self.slots as u128) as u64;
                (key * s.record as u64, s.record)
            }
        };
        let kind = if self.is_write() {
            Kind::Store
        } else {
            Kind::Load
        };
        Some(Access::new(kind, self.spec.base + offset, size))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.spec.count - self.i) as usize;
        (left, Some(left))
    }
}

impl TraceSource for Synth {
    fn next_access(&mut self) -> TraceResult<Option<Access>> {
        Ok(self.next())
    }
}

/// Zipf over ranks 1..=n with exponent s > 0: P(k) proportional to k^-s. Rejection
/// inversion (Hörmann and Derflinger 1996), O(1) memory and time per sample, so
/// a billion keys cost nothing to set up.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    cut: f64,
}

impl Zipf {
    pub fn new(n: u64, s: f64) -> Zipf {
        assert!(n >= 1 && s > 0.0);
        let mut z = Zipf {
            n: n as f64,
            s,
            h_x1: 0.0,
            h_n: 0.0,
            cut: 0.0,
        };
        z.h_x1 = z.h_integral(1.5) - 1.0;
        z.h_n = z.h_integral(n as f64 + 0.5);
        z.cut = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// A rank from 1 to n.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            let u = self.h_n + rng.unit_f64() * (self.h_x1 - self.h_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    /// Integral of h from 1 to x: (x^(1-s) - 1) / (1-s), ln x at s = 1.
    fn h_integral(&self, x: f64) -> f64 {
        let lx = x.ln();
        helper2((1.0 - self.s) * lx) * lx
    }

    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// ln(1+x)/x, stable near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (e^x - 1)/x, stable near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn gen(spec: SynthSpec) -> Vec<Access> {
        Synth::new(spec).unwrap().collect()
    }

    #[test]
    fn deterministic_from_the_seed() {
        for kind in [
            SynthKind::Sequential,
            SynthKind::Uniform,
            SynthKind::Zipf,
            SynthKind::Strided,
        ] {
            let a = gen(SynthSpec::new(kind, 1000, 5));
            assert_eq!(a.len(), 1000);
            assert_eq!(a, gen(SynthSpec::new(kind, 1000, 5)));
            assert_ne!(a, gen(SynthSpec::new(kind, 1000, 6)), "{kind:?}");
        }
        // Pinned values: a change to the RNG or a generator changes these.
        let u = gen(SynthSpec::new(SynthKind::Uniform, 6, 42));
        let pinned: Vec<(Kind, u64)> = u.iter().map(|a| (a.kind, a.addr)).collect();
        assert_eq!(pinned, PINNED_UNIFORM_42);
    }

    const PINNED_UNIFORM_42: [(Kind, u64); 6] = [
        (Kind::Load, 5627944),
        (Kind::Load, 45636936),
        (Kind::Load, 66558832),
        (Kind::Load, 48268624),
        (Kind::Load, 51094968),
        (Kind::Store, 45798632),
    ];

    #[test]
    fn sequential_and_strided_addresses() {
        let mut s = SynthSpec::new(SynthKind::Sequential, 10, 1);
        s.footprint = 32;
        s.base = 0x1000;
        let a: Vec<u64> = gen(s).iter().map(|a| a.addr).collect();
        assert_eq!(
            a,
            [0x1000, 0x1008, 0x1010, 0x1018, 0x1000, 0x1008, 0x1010, 0x1018, 0x1000, 0x1008]
        );
        let mut s = SynthSpec::new(SynthKind::Strided, 9, 1);
        s.footprint = 256;
        s.stride = 64;
        let a: Vec<u64> = gen(s).iter().map(|a| a.addr).collect();
        assert_eq!(a, [0, 64, 128, 192, 8, 72, 136, 200, 16]);
    }

    #[test]
    fn stays_in_footprint_and_respects_write_pct() {
        for kind in [
            SynthKind::Sequential,
            SynthKind::Uniform,
            SynthKind::Zipf,
            SynthKind::Strided,
        ] {
            let mut s = SynthSpec::new(kind, 20_000, 9);
            s.base = 1 << 30;
            s.footprint = 1 << 20;
            s.write_pct = 0.0;
            let v = gen(s.clone());
            assert!(v
                .iter()
                .all(|a| a.addr >= 1 << 30 && a.addr + a.size as u64 <= (1 << 30) + (1 << 20)));
            assert!(v.iter().all(|a| a.kind == Kind::Load), "{kind:?}");
            s.write_pct = 100.0;
            assert!(gen(s.clone()).iter().all(|a| a.kind == Kind::Store));
            s.write_pct = 25.0;
            let w = gen(s).iter().filter(|a| a.kind == Kind::Store).count();
            assert!((4_600..5_400).contains(&w), "{kind:?}: {w} writes");
        }
    }

    #[test]
    fn uniform_covers_the_footprint() {
        let mut s = SynthSpec::new(SynthKind::Uniform, 50_000, 1);
        s.footprint = 64 * 1024;
        let lines: HashSet<u64> = gen(s).iter().map(|a| a.addr >> 6).collect();
        assert_eq!(lines.len(), 1024);
    }

    #[test]
    fn zipf_matches_the_distribution() {
        // n = 100, s = 1: P(rank 1) = 1/H(100) = 0.19277, P(rank 2) = half that.
        for s in [1.0, 0.99, 0.5, 1.5] {
            let z = Zipf::new(100, s);
            let norm: f64 = (1..=100).map(|k| (k as f64).powf(-s)).sum();
            let mut rng = Rng::new(1);
            let mut hist = [0u32; 101];
            let draws = 400_000;
            for _ in 0..draws {
                let k = z.sample(&mut rng);
                assert!((1..=100).contains(&k));
                hist[k as usize] += 1;
            }
            for k in [1usize, 2, 10, 100] {
                let want = (k as f64).powf(-s) / norm * draws as f64;
                let got = hist[k] as f64;
                // Within 5 standard deviations.
                assert!(
                    (got - want).abs() < 5.0 * want.sqrt() + 1.0,
                    "s {s} k {k}: {got} vs {want}"
                );
            }
        }
        // One key: always rank 1.
        let mut rng = Rng::new(2);
        assert!((0..100).all(|_| Zipf::new(1, 0.99).sample(&mut rng) == 1));
    }

    #[test]
    fn zipf_records_are_whole_and_skewed() {
        let mut s = SynthSpec::new(SynthKind::Zipf, 100_000, 3);
        s.record = 256;
        s.footprint = 256 * 10_000;
        let v = gen(s);
        assert!(v.iter().all(|a| a.size == 256 && a.addr % 256 == 0));
        let mut counts = std::collections::HashMap::new();
        for a in &v {
            *counts.entry(a.addr).or_insert(0u32) += 1;
        }
        let mut c: Vec<u32> = counts.into_values().collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        // With s = 0.99 over 10^4 keys the hottest key takes ~10% of accesses,
        // far above the uniform 0.01%.
        assert!(c[0] > 8_000 && c[0] < 12_000, "hottest {}", c[0]);
    }

    #[test]
    fn bad_specs_are_refused() {
        let mut s = SynthSpec::new(SynthKind::Zipf, 1, 1);
        s.skew = 0.0;
        assert!(Synth::new(s).unwrap_err().contains("skew"));
        let mut s = SynthSpec::new(SynthKind::Strided, 1, 1);
        s.stride = 0;
        assert!(Synth::new(s).unwrap_err().contains("stride"));
        let mut s = SynthSpec::new(SynthKind::Uniform, 1, 1);
        s.footprint = 4;
        assert!(Synth::new(s).unwrap_err().contains("footprint"));
        let mut s = SynthSpec::new(SynthKind::Uniform, 1, 1);
        s.write_pct = 101.0;
        assert!(Synth::new(s).unwrap_err().contains("write"));
    }
}
