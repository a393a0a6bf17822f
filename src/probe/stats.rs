//! The recorder's per-step kernels: buffer moments, per-unit dead/saturated scans, non-finite counts.
//!
//! Every kernel is one pass over a contiguous slice, compiled under [`vectorized`] and summed in
//! [`LANES`] interleaved `f64` accumulators combined in a fixed order, so results are deterministic.
//! Nothing here drops NaN: a reduction that meets NaN returns NaN.

use crate::core::float::Real;
use crate::core::params::{LANES, LaneSum};
use crate::core::simd::{Kernel, vectorized};

/// Mean, population standard deviation and `max |x|` of a buffer, and how many values were non-finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub mean: f64,
    pub std: f64,
    pub max_abs: f64,
    pub nonfinite: u64,
}

/// [`Moments`] of `xs` in one pass (an empty buffer gives all zeros).
///
/// Sums are of `x - shift` with `shift` the first (finite) value, the shifted one-pass variance,
/// which avoids most of the cancellation of `E[x²] - E[x]²` when the mean dwarfs the spread.
/// If any partial sum is non-finite, a second pass counts the non-finite values; any NaN makes
/// mean, std and `max |x|` NaN, and an infinity makes std NaN and `max |x|` infinite.
pub fn moments<T: Real>(xs: &[T]) -> Moments {
    let Some(first) = xs.first() else {
        return Moments {
            mean: 0.0,
            std: 0.0,
            max_abs: 0.0,
            nonfinite: 0,
        };
    };
    let shift = if first.is_finite() { first.wide() } else { 0.0 };
    let (sum, sum_sq, max_abs) = vectorized(ShiftedSums { xs, shift });
    let n = xs.len() as f64;
    let mean_shifted = sum / n;
    let var = sum_sq / n - mean_shifted * mean_shifted;
    // Rounding can make a zero variance slightly negative; NaN stays NaN.
    let var = if var < 0.0 { 0.0 } else { var };
    let mut m = Moments {
        mean: shift + mean_shifted,
        std: var.sqrt(),
        max_abs,
        nonfinite: 0,
    };
    if !(sum.is_finite() && sum_sq.is_finite()) {
        let (nonfinite, any_nan) = count_nonfinite(xs);
        m.nonfinite = nonfinite;
        if any_nan {
            (m.mean, m.std, m.max_abs) = (f64::NAN, f64::NAN, f64::NAN);
        } else if nonfinite > 0 {
            (m.std, m.max_abs) = (f64::NAN, f64::INFINITY);
        }
    }
    m
}

/// Interleaved accumulators of the kernels here: two [`LaneSum`]s' worth, whose two chains of
/// additions hide the add latency that bounds an 8-lane sum (measured 2× faster on a cached
/// 128×128 `f32` weight matrix).
const MID: usize = 2 * LANES;

/// Folds `N` interleaved lanes into a [`LaneSum`] (lane `k` takes `k, k + 8, k + 16, …` in that
/// order) and totals it: a fixed order, so the result is deterministic.
#[inline(always)]
fn fold_lanes<const N: usize>(acc: [f64; N]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    for (k, lane) in lanes.iter_mut().enumerate() {
        *lane = acc[k..].iter().step_by(LANES).fold(0.0, |s, &x| s + x);
    }
    LaneSum::from_lanes(lanes).total()
}

/// `Σ x²` in `f64`, shared with the core (same fixed lane order).
pub use crate::core::params::sq_norm;

/// `Σ(x - shift)`, `Σ(x - shift)²` and the NaN-ignoring `max |x|` (NaN is caught by the sums).
/// The max is taken in `T`, which is exact and twice as wide a vector for `f32`.
struct ShiftedSums<'a, T> {
    xs: &'a [T],
    shift: f64,
}

impl<T: Real> Kernel for ShiftedSums<'_, T> {
    type Output = (f64, f64, f64);

    #[inline(always)]
    fn run(self) -> (f64, f64, f64) {
        let (xs, shift) = (self.xs, self.shift);
        let (mut sum, mut sq) = ([0.0f64; MID], [0.0f64; MID]);
        let mut max = [T::zero(); MID];
        let full = xs.len() - xs.len() % MID;
        for block in xs[..full].chunks_exact(MID) {
            for k in 0..MID {
                let d = block[k].wide() - shift;
                sum[k] += d;
                sq[k] += d * d;
                let a = block[k].abs();
                max[k] = if a > max[k] { a } else { max[k] };
            }
        }
        for (k, &x) in xs[full..].iter().enumerate() {
            let d = x.wide() - shift;
            sum[k] += d;
            sq[k] += d * d;
            max[k] = if x.abs() > max[k] { x.abs() } else { max[k] };
        }
        let top = max
            .iter()
            .fold(T::zero(), |m, &a| if a > m { a } else { m });
        (fold_lanes(sum), fold_lanes(sq), top.wide())
    }
}

/// How many values of `xs` are NaN or infinite, and whether any is NaN. Only run once a sum
/// has shown that something is non-finite, so it need not be fast.
pub fn count_nonfinite<T: Real>(xs: &[T]) -> (u64, bool) {
    xs.iter().fold((0, false), |(n, nan), x| {
        (n + u64::from(!x.is_finite()), nan || x.is_nan())
    })
}

/// Non-finite values in `xs`, given `sq = Σ x²`: a finite `sq` proves there are none (the square
/// of a non-finite value is non-finite and so is any sum holding it), so only then is `xs` scanned.
pub fn nonfinite_given_sq_norm<T: Real>(xs: &[T], sq: f64) -> u64 {
    if sq.is_finite() {
        0
    } else {
        count_nonfinite(xs).0
    }
}

/// Fraction of units (columns of the row-major `[batch, width]` buffer `a`) for which `active(a)`
/// is false for every sample. `flags` is scratch of at least `width` entries.
pub fn units_never<T: Real>(
    a: &[T],
    width: usize,
    flags: &mut [u32],
    active: impl Fn(T) -> bool,
) -> f64 {
    let Some(flags) = cleared(flags, width) else {
        return 0.0;
    };
    vectorized(OneBufferScan { a, flags, active });
    zero_fraction(flags)
}

/// [`units_never`] for a test `active(z, a)` of two same-shaped buffers.
pub fn units_never_pair<T: Real>(
    z: &[T],
    a: &[T],
    width: usize,
    flags: &mut [u32],
    active: impl Fn(T, T) -> bool,
) -> f64 {
    let Some(flags) = cleared(flags, width) else {
        return 0.0;
    };
    vectorized(UnitScan {
        z,
        a,
        flags,
        active,
    });
    zero_fraction(flags)
}

fn cleared(flags: &mut [u32], width: usize) -> Option<&mut [u32]> {
    let flags = flags.get_mut(..width).filter(|f| !f.is_empty())?;
    flags.fill(0);
    Some(flags)
}

fn zero_fraction(flags: &[u32]) -> f64 {
    flags.iter().filter(|&&f| f == 0).count() as f64 / flags.len() as f64
}

struct OneBufferScan<'a, T, F> {
    a: &'a [T],
    flags: &'a mut [u32],
    active: F,
}

impl<T: Real, F: Fn(T) -> bool> Kernel for OneBufferScan<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.flags.len();
        for row in self.a.chunks_exact(width) {
            for (f, &a) in self.flags.iter_mut().zip(row) {
                *f |= u32::from((self.active)(a));
            }
        }
    }
}

struct UnitScan<'a, T, F> {
    z: &'a [T],
    a: &'a [T],
    flags: &'a mut [u32],
    active: F,
}

impl<T: Real, F: Fn(T, T) -> bool> Kernel for UnitScan<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.flags.len();
        for (z_row, a_row) in self.z.chunks_exact(width).zip(self.a.chunks_exact(width)) {
            for ((f, &z), &a) in self.flags.iter_mut().zip(z_row).zip(a_row) {
                *f |= u32::from((self.active)(z, a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_match_two_pass_formulas() {
        let xs: Vec<f64> = (0..37).map(|i| 1e6 + (i as f64 * 0.37).sin()).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let m = moments(&xs);
        assert!((m.mean - mean).abs() < 1e-9);
        assert!((m.std - var.sqrt()).abs() / var.sqrt() < 1e-9, "{m:?}");
        let max_abs = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert_eq!(m.max_abs, max_abs);
    }

    #[test]
    fn sums_match_plain_loops_for_every_length_around_the_lane_blocks() {
        for n in [1, 7, 15, 16, 17, 33, 100] {
            let xs: Vec<f32> = (0..n).map(|i| 3.0 + (i as f32 * 0.7).cos()).collect();
            let wide: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
            let plain: f64 = wide.iter().map(|x| x * x).sum();
            assert!((sq_norm(&xs) - plain).abs() <= 1e-12 * plain, "n = {n}");
            let mean = wide.iter().sum::<f64>() / n as f64;
            let var = wide.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let m = moments(&xs);
            assert!((m.mean - mean).abs() <= 1e-12 * mean, "n = {n}: {m:?}");
            assert!(
                (m.std - var.sqrt()).abs() <= 1e-9 * var.sqrt().max(1e-3),
                "n = {n}: {m:?}"
            );
            let max = wide.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            assert_eq!(m.max_abs, max, "n = {n}");
        }
        let mut xs = vec![1.0f64; 40];
        xs[21] = f64::NAN;
        assert!(sq_norm(&xs).is_nan());
    }

    #[test]
    fn nan_anywhere_makes_every_moment_nan_and_is_counted() {
        for at in [0, 5, 8, 16] {
            let mut xs = vec![1.0f32; 17];
            xs[at] = f32::NAN;
            let m = moments(&xs);
            assert!(
                m.mean.is_nan() && m.std.is_nan() && m.max_abs.is_nan(),
                "{at}: {m:?}"
            );
            assert_eq!(m.nonfinite, 1);
        }
        let m = moments(&[1.0f64, f64::INFINITY, -2.0]);
        assert_eq!((m.max_abs, m.nonfinite), (f64::INFINITY, 1));
        assert!(m.std.is_nan());
    }

    #[test]
    fn unit_scan_flags_only_columns_inactive_for_every_row() {
        let a = [0.0f64, 1.0, 0.0, 0.0, 0.0, 2.0];
        let mut flags = [9u32; 4];
        let dead = units_never(&a, 3, &mut flags, |a| a != 0.0);
        assert!((dead - 1.0 / 3.0).abs() < 1e-15);
    }
}
