//! 16-bit floating-point emulation: rounding f32 values to bf16 or fp16 and back, in place, and
//! the census of what the rounding did (overflow, flush to zero, subnormals, dynamic range).
//!
//! Round to nearest, ties to even, exactly as the `half` crate converts (checked over every
//! 16-bit pattern, every tie and random f32 values in the tests below); fp16 keeps its
//! subnormals (down to 2^-24 ≈ 5.96e-8) as GPUs do, bf16 has f32's exponent range. The kernels
//! are bit manipulations on f32 rather than a call into `half` per value so that a whole buffer
//! rounds in one vectorizable pass; `half` is the reference they are tested against.
//!
//! Differences from a GPU, by design: NaN payloads are not preserved bit for bit (a NaN stays a
//! NaN); nothing here models a GPU's flush-to-zero modes (off by default in CUDA for fp16).

pub mod events;
pub mod policy;
pub mod scaler;
pub mod step;

use serde::{Deserialize, Serialize};

/// A 16-bit storage format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Half {
    /// bfloat16: 8 exponent bits (f32's range), 7 mantissa bits.
    Bf16,
    /// IEEE binary16: 5 exponent bits, 10 mantissa bits; largest finite 65504.
    Fp16,
}

/// fp16's largest finite value.
pub const FP16_MAX: f32 = 65504.0;
/// fp16's smallest normal value, 2^-14.
pub const FP16_MIN_NORMAL: f32 = 6.103_515_6e-5;
/// fp16's smallest subnormal value, 2^-24.
pub const FP16_MIN_SUBNORMAL: f32 = 5.960_464_5e-8;

impl Half {
    /// `x` rounded to the nearest value of this format (ties to even), as an f32.
    #[inline(always)]
    pub fn round(self, x: f32) -> f32 {
        match self {
            Half::Bf16 => round_bf16(x),
            Half::Fp16 => round_fp16(x),
        }
    }

    /// Rounds every value of `xs` in place.
    pub fn round_slice(self, xs: &mut [f32]) {
        match self {
            Half::Bf16 => xs.iter_mut().for_each(|x| *x = round_bf16(*x)),
            Half::Fp16 => xs.iter_mut().for_each(|x| *x = round_fp16(*x)),
        }
    }

    /// The format's name in records and messages.
    pub fn name(self) -> &'static str {
        match self {
            Half::Bf16 => "bf16",
            Half::Fp16 => "fp16",
        }
    }

    /// The format's smallest positive normal value.
    pub fn min_normal(self) -> f32 {
        match self {
            Half::Bf16 => f32::MIN_POSITIVE,
            Half::Fp16 => FP16_MIN_NORMAL,
        }
    }

    /// Mantissa bits after the point: an update smaller than half an ulp of its weight is lost,
    /// i.e. when `|w| / |Δw| ≥ 2^(bits+1)` (256 for bf16, 2048 for fp16).
    pub fn mantissa_bits(self) -> u32 {
        match self {
            Half::Bf16 => 7,
            Half::Fp16 => 10,
        }
    }
}

/// bf16: add half of the dropped 16 bits' range (minus one when the kept part is even) and
/// truncate; a carry into the exponent is the correct rounding, up to infinity.
#[inline(always)]
fn round_bf16(x: f32) -> f32 {
    let u = x.to_bits();
    if x.is_nan() {
        return x;
    }
    let bias = 0x7FFF + ((u >> 16) & 1);
    f32::from_bits(u.wrapping_add(bias) & 0xFFFF_0000)
}

/// fp16: normal magnitudes keep 10 mantissa bits (same trick over 13 dropped bits), anything
/// past 65504 after rounding is infinity; below 2^-14 the spacing is the fixed 2^-24, which
/// f32 addition to 0.5 (whose ulp is 2^-24) rounds to, ties to even.
#[inline(always)]
fn round_fp16(x: f32) -> f32 {
    let a = x.abs();
    let r = if a >= FP16_MIN_NORMAL {
        let u = a.to_bits();
        let bias = 0x0FFF + ((u >> 13) & 1);
        let r = f32::from_bits(u.wrapping_add(bias) & !0x1FFF);
        if r > FP16_MAX { f32::INFINITY } else { r }
    } else {
        (a + 0.5) - 0.5
    };
    // NaN fails both comparisons above and comes out of the subnormal branch as NaN.
    r.copysign(x)
}

/// What rounding a buffer to a 16-bit format did to it (counts over the buffer's values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Census {
    pub values: u64,
    /// Finite values that became ±infinity.
    pub overflow: u64,
    /// Nonzero finite values that became 0.
    pub flushed: u64,
    /// Values whose rounded result is a nonzero subnormal of the format.
    pub subnormal: u64,
    /// Largest finite |x| after rounding (0 when none).
    pub amax: f32,
    /// Smallest nonzero |x| after rounding (infinity when none).
    pub amin: f32,
    /// Values that are zero after rounding (flushed or zero before).
    #[serde(default)]
    pub zeros: u64,
    /// The largest finite |x| that rounded to infinity (0 when none overflowed).
    #[serde(default)]
    pub crossed: f32,
    /// Weights only: values a nonzero update moved that rounding put back where they were
    /// (the update was below half an ulp of the weight).
    #[serde(default)]
    pub lost: u64,
    /// Weights only: the total |Δw| of the lost updates, and of every update.
    #[serde(default)]
    pub lost_mass: f64,
    #[serde(default)]
    pub moved_mass: f64,
}

impl Census {
    /// `log2(amax) − log2(smallest nonzero)`: the range of magnitudes the tensor spans, in
    /// binades (NaN when it has no nonzero finite value).
    pub fn dynamic_range(&self) -> f64 {
        match self.amax > 0.0 && self.amin.is_finite() {
            true => f64::from(self.amax).log2() - f64::from(self.amin).log2(),
            false => f64::NAN,
        }
    }
}

/// Rounds an f64 buffer through f32 (a double rounding: only tests run a 16-bit policy in f64).
pub fn round_f64_slice(format: Half, xs: &mut [f64]) {
    xs.iter_mut()
        .for_each(|x| *x = f64::from(format.round(*x as f32)));
}

/// Rounds `xs` in place and counts what the rounding did.
pub fn round_counted(format: Half, xs: &mut [f32]) -> Census {
    crate::core::simd::vectorized(Count { format, xs })
}

/// [`round_counted`] as a SIMD kernel (compiled for the CPU's features, see `core::simd`).
struct Count<'a> {
    format: Half,
    xs: &'a mut [f32],
}

impl crate::core::simd::Kernel for Count<'_> {
    type Output = Census;
    #[inline(always)]
    fn run(self) -> Census {
        match self.format {
            Half::Bf16 => counted(self.xs, bits_bf16, f32::MIN_POSITIVE.to_bits()),
            Half::Fp16 => counted(self.xs, bits_fp16, FP16_MIN_NORMAL.to_bits()),
        }
    }
}

const INF_BITS: u32 = 0x7F80_0000;
const ABS: u32 = 0x7FFF_FFFF;

/// [`round_bf16`] on the bits, branch-free (a NaN keeps its bits).
#[inline(always)]
fn bits_bf16(u: u32) -> u32 {
    let r = u.wrapping_add(0x7FFF + ((u >> 16) & 1)) & 0xFFFF_0000;
    if u & ABS > INF_BITS { u } else { r }
}

/// [`round_fp16`] on the bits, branch-free: both paths computed, one selected.
#[inline(always)]
fn bits_fp16(u: u32) -> u32 {
    let (sign, a) = (u & !ABS, u & ABS);
    let normal = a.wrapping_add(0x0FFF + ((a >> 13) & 1)) & !0x1FFF;
    let normal = if normal > FP16_MAX.to_bits() {
        INF_BITS
    } else {
        normal
    };
    let sub = ((f32::from_bits(a) + 0.5) - 0.5).to_bits();
    let r = if a >= FP16_MIN_NORMAL.to_bits() {
        normal
    } else {
        sub
    };
    if a > INF_BITS { u } else { r | sign }
}

/// Rounds and counts on the bits in `u32` lanes, so the loop vectorizes: a probed 16-bit step
/// counts every value it rounds. Magnitudes compare as their bits (non-negative floats order
/// as integers). Equal to a value-by-value tally (tested).
#[inline(always)]
fn counted(xs: &mut [f32], round: impl Fn(u32) -> u32, normal: u32) -> Census {
    let mut c = Census {
        values: xs.len() as u64,
        amin: f32::INFINITY,
        ..Census::default()
    };
    for chunk in xs.chunks_mut(1 << 16) {
        let (mut overflow, mut zeros, mut flushed, mut subnormal) = (0u32, 0u32, 0u32, 0u32);
        let (mut crossed, mut amax, mut amin) = (0u32, 0u32, INF_BITS);
        for x in chunk.iter_mut() {
            let u = x.to_bits();
            let r = round(u);
            *x = f32::from_bits(r);
            let (a, b) = (r & ABS, u & ABS);
            let finite_before = b < INF_BITS;
            let over = finite_before & (a == INF_BITS);
            let zero = a == 0;
            overflow += u32::from(over);
            zeros += u32::from(zero);
            flushed += u32::from(zero & (b > 0) & finite_before);
            subnormal += u32::from((a > 0) & (a < normal));
            crossed = crossed.max(if over { b } else { 0 });
            let finite = a < INF_BITS;
            amax = amax.max(if finite { a } else { 0 });
            amin = amin.min(if finite & (a > 0) { a } else { INF_BITS });
        }
        c.overflow += u64::from(overflow);
        c.zeros += u64::from(zeros);
        c.flushed += u64::from(flushed);
        c.subnormal += u64::from(subnormal);
        c.crossed = c.crossed.max(f32::from_bits(crossed));
        c.amax = c.amax.max(f32::from_bits(amax));
        c.amin = c.amin.min(f32::from_bits(amin));
    }
    c
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trainer_tests;
