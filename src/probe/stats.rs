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

/// `Σ(x - shift)`, `Σ(x - shift)²` and the NaN-ignoring `max |x|` (NaN is caught by the sums).
struct ShiftedSums<'a, T> {
    xs: &'a [T],
    shift: f64,
}

impl<T: Real> Kernel for ShiftedSums<'_, T> {
    type Output = (f64, f64, f64);

    #[inline(always)]
    fn run(self) -> (f64, f64, f64) {
        let (xs, shift) = (self.xs, self.shift);
        let (mut sum, mut sq, mut max) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
        let full = xs.len() - xs.len() % LANES;
        let mut add = |k: usize, x: T| {
            let x = x.wide();
            let d = x - shift;
            sum[k] += d;
            sq[k] += d * d;
            let a = x.abs();
            max[k] = if a > max[k] { a } else { max[k] };
        };
        for block in xs[..full].chunks_exact(LANES) {
            for (k, &x) in block.iter().enumerate() {
                add(k, x);
            }
        }
        for (k, &x) in xs[full..].iter().enumerate() {
            add(k, x);
        }
        let top = max.iter().fold(0.0f64, |m, &a| if a > m { a } else { m });
        (
            LaneSum::from_lanes(sum).total(),
            LaneSum::from_lanes(sq).total(),
            top,
        )
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

/// Fraction of units (columns of the row-major `[batch, width]` buffers) for which `active(z, a)`
/// is false for every sample. `flags` is scratch of at least `width` bytes.
pub fn inactive_unit_fraction<T: Real>(
    z: &[T],
    a: &[T],
    width: usize,
    flags: &mut [u8],
    active: impl Fn(T, T) -> bool,
) -> f64 {
    if width == 0 || flags.len() < width {
        return 0.0;
    }
    let flags = &mut flags[..width];
    flags.fill(0);
    vectorized(UnitScan {
        z,
        a,
        flags,
        active,
    });
    let inactive = flags.iter().filter(|&&f| f == 0).count();
    inactive as f64 / width as f64
}

struct UnitScan<'a, T, F> {
    z: &'a [T],
    a: &'a [T],
    flags: &'a mut [u8],
    active: F,
}

impl<T: Real, F: Fn(T, T) -> bool> Kernel for UnitScan<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.flags.len();
        for (z_row, a_row) in self.z.chunks_exact(width).zip(self.a.chunks_exact(width)) {
            for ((f, &z), &a) in self.flags.iter_mut().zip(z_row).zip(a_row) {
                *f |= u8::from((self.active)(z, a));
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
        let mut flags = [9u8; 4];
        let dead = inactive_unit_fraction(&a, &a, 3, &mut flags, |_, a| a != 0.0);
        assert!((dead - 1.0 / 3.0).abs() < 1e-15);
    }
}
