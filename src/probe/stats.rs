//! The recorder's per-step kernels: buffer moments, per-unit dead/saturated scans, non-finite counts.
//!
//! Every kernel is one pass over a contiguous slice, compiled under [`vectorized`] and summed in
//! [`LANES`] interleaved `f64` accumulators combined in a fixed order, so results are deterministic.
//! Nothing here drops NaN: a reduction that meets NaN returns NaN.

use crate::core::blocked;
use crate::core::float::Real;
use crate::core::model::contiguous;
use crate::core::observer::StepEvent;
use crate::core::params::{LANES, LaneSum, Segment};
use crate::core::simd::{Kernel, vectorized};
use crate::core::units::units_never_pair;
use ndarray::ArrayView2;

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
/// Sums are of `x - shift` with `shift` the mean of the first values ([`blocked::SHIFT_PREFIX`]),
/// the shifted one-pass variance,
/// which avoids most of the cancellation of `E[x²] - E[x]²` when the mean dwarfs the spread.
/// They are first taken with block sums in the run's precision ([`blocked`]); the exact `f64`
/// pass replaces them when squares underflowed or overflowed, or when the variance keeps less than
/// 1/16 of the mean square (a shift far from the mean), so a fast result's std is within about
/// 3e-5 relative of the exact one and its mean within 1e-6 of the rms of `x - shift`.
/// If any exact partial sum is non-finite, a second pass counts the non-finite values; any NaN
/// makes mean, std and `max |x|` NaN, and an infinity makes std NaN and `max |x|` infinite.
pub fn moments<T: Real>(xs: &[T]) -> Moments {
    moments_from(xs, blocked::moment_sums(xs))
}

/// [`moments`] of `xs` given its fast sums, taken by the core while the buffer was hot (or just
/// now): they are checked here, and recomputed exactly from `xs` when they cannot be trusted.
pub fn moments_from<T: Real>(xs: &[T], fast: blocked::MomentSums) -> Moments {
    if xs.is_empty() {
        return Moments {
            mean: 0.0,
            std: 0.0,
            max_abs: 0.0,
            nonfinite: 0,
        };
    }
    let blocked::MomentSums {
        shift,
        mut sum,
        mut sum_sq,
        max_abs,
    } = fast;
    let n = xs.len() as f64;
    let (mean, mean_sq) = (sum / n, sum_sq / n);
    let trusted = blocked::trusted::<T>(sum_sq, xs.len())
        && sum.is_finite()
        && mean * mean <= mean_sq * (15.0 / 16.0);
    if !trusted {
        (sum, sum_sq, _) = vectorized(ShiftedSums { xs, shift });
    }
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

pub use crate::core::blocked::fast_sq_norm;

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

/// `‖θ‖²` of segment `k` after the update: the core's measurement from the update pass when it
/// made one (bit-identical to [`sq_norm`]), else a pass over the values.
pub fn value_sq<T: Real>(event: &StepEvent<'_, T>, k: usize) -> f64 {
    let params = event.model.params();
    match event.param_sq_norms.get(k) {
        Some(&sq) => sq,
        None => sq_norm(segment(&params.values, &params.segments[k])),
    }
}

/// Non-finite values of segment `k`'s values (whose `‖θ‖²` is `value_sq`) and gradient.
pub fn segment_nonfinite<T: Real>(event: &StepEvent<'_, T>, k: usize, value_sq: f64) -> u64 {
    let params = event.model.params();
    let seg = &params.segments[k];
    nonfinite_given_sq_norm(segment(&params.values, seg), value_sq)
        + nonfinite_given_sq_norm(segment(&params.grads, seg), event.grad_sq_norms[k])
}

/// A segment's slice of a flat parameter buffer.
pub fn segment<'a, T>(buffer: &'a [T], seg: &Segment) -> &'a [T] {
    &buffer[seg.range()]
}

/// Fraction of units whose `derivative(z, a)` is below [`SATURATION_DERIVATIVE`] for every sample.
pub(super) fn saturated<T: Real>(
    z: ArrayView2<'_, T>,
    a: &[T],
    width: usize,
    flags: &mut [u32],
    derivative: impl Fn(T, T) -> T,
) -> f64 {
    let threshold = T::of(super::recorder::SATURATION_DERIVATIVE);
    units_never_pair(contiguous(z), a, width, flags, |z, a| {
        let d = derivative(z, a);
        d >= threshold || d.is_nan()
    })
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
            // f32 buffers take the fast block sums: the bounds `moments` documents.
            let m = moments(&xs);
            let rms = (wide.iter().map(|x| (x - wide[0]).powi(2)).sum::<f64>() / n as f64).sqrt();
            assert!((m.mean - mean).abs() <= 1e-6 * rms, "n = {n}: {m:?}");
            assert!(
                (m.std - var.sqrt()).abs() <= 3e-5 * var.sqrt(),
                "n = {n}: {m:?}"
            );
            let max = wide.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            assert_eq!(m.max_abs, max, "n = {n}");
        }
        let mut xs = vec![1.0f64; 40];
        xs[21] = f64::NAN;
        assert!(sq_norm(&xs).is_nan());
    }

    /// The exact `f64` moments of an `f32` buffer, for the fast path's fallbacks.
    fn exact_std(xs: &[f32]) -> f64 {
        let wide: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
        let mean = wide.iter().sum::<f64>() / wide.len() as f64;
        (wide.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / wide.len() as f64).sqrt()
    }

    #[test]
    fn f32_moments_stay_exact_where_f32_block_sums_would_underflow_overflow_or_cancel() {
        let spread = |scale: f32, first: f32| -> Vec<f32> {
            let mut xs: Vec<f32> = (0..300).map(|i| scale * (1.0 + (i as f32).sin())).collect();
            xs[0] = first;
            xs
        };
        // Squares of 1e-25 vanish in f32 and squares of 1e20 overflow it; a shift (the mean of
        // the first 64 values) 1000 spreads of the rest away from their mean leaves a variance
        // that cancels.
        let mut cancels: Vec<f32> = (0..64_000).map(|i| 1.0 + 1e-3 * (i as f32).sin()).collect();
        cancels[..64].fill(2.0);
        for xs in [spread(1e-25, 1e-25), spread(1e20, 1e20), cancels] {
            let m = moments(&xs);
            let want = exact_std(&xs);
            assert!((m.std - want).abs() <= 1e-9 * want, "{m:?} vs {want:e}");
            assert_eq!(m.nonfinite, 0);
        }
        let dead = vec![0.0f32; 64];
        let m = moments(&dead);
        assert_eq!((m.mean, m.std, m.max_abs), (0.0, 0.0, 0.0));
    }

    #[test]
    fn fast_sq_norm_matches_exact_within_its_bound_and_falls_back_when_squares_underflow() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).cos()).collect();
        let (fast, exact) = (fast_sq_norm(&xs), sq_norm(&xs));
        assert!((fast - exact).abs() <= 2e-6 * exact);
        let tiny = vec![1e-30f32; 1000];
        assert_eq!(fast_sq_norm(&tiny), sq_norm(&tiny));
        assert!(fast_sq_norm(&tiny) > 0.0);
        let huge = vec![1e25f32; 10];
        assert_eq!(fast_sq_norm(&huge), sq_norm(&huge));
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
}
