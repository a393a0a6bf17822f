//! Fast buffer statistics for probes: partial sums in the run's precision over short blocks,
//! added in `f64`, trusted only when their error bound holds (else exact `f64` is used).
//!
//! The core takes them only when an observer asks ([`crate::core::observer::StatsWanted`]),
//! right after the op that writes each buffer, while it is still in cache: measured after the
//! step instead, each pass re-read its buffer from memory and cost twice as much.
//!
//! Why: an `f32` run's activation moments and `‖grad_out‖²` taken in `f64` cost a widening and
//! twice the vector width per value, the largest share of the recorder's per-step cost. Summing
//! [`ROUNDS`] values per lane in `f32` first halves the work. Each block's lanes are widened and
//! added into `f64` lanes in a fixed order, so results are deterministic and independent of the
//! SIMD level (products are fused with `mul_add`, which rounds once on every level).
//!
//! Error: each lane sums at most [`ROUNDS`] values of its block in `T`, so the partial sums of
//! positive terms carry a relative error of at most `ROUNDS · ε_T` (16 · 2⁻²⁴ ≈ 1e-6 for `f32`),
//! plus an absolute error of one subnormal spacing per term when squares underflow. [`trusted`]
//! checks that the second stays below 2⁻²⁰ of the sum; callers recompute in `f64` when it does not,
//! when a partial sum overflowed, or when the variance cancels (see `stats::moments`).

use crate::core::float::Real;
use crate::core::params::sq_norm;
use crate::core::simd::{Kernel, vectorized};

/// Shifted sums of a buffer, for its mean and variance: `Σ(x − shift)`, `Σ(x − shift)²`, with
/// `shift` the mean of its first [`SHIFT_PREFIX`] values (0 if that is not finite), and
/// `max |x|`, from [`shifted_sums`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentSums {
    pub shift: f64,
    pub sum: f64,
    pub sum_sq: f64,
    pub max_abs: f64,
}

impl MomentSums {
    /// `Σ x²` of the `n` values summed, as `Σ(x−s)² + 2s·Σ(x−s) + n·s²`, when the block sums are
    /// trusted ([`trusted`]) and the negative middle term cancels at most half of the others (so
    /// the sums' relative error grows at most 2×); `None` otherwise.
    pub fn sq_total<T: Real>(&self, n: usize) -> Option<f64> {
        let (s, n_s2) = (self.shift, n as f64 * self.shift * self.shift);
        let total = self.sum_sq + 2.0 * s * self.sum + n_s2;
        let kept = total.is_finite() && total >= 0.5 * (self.sum_sq + n_s2);
        (trusted::<T>(self.sum_sq, n) && self.sum.is_finite() && kept).then_some(total)
    }
}

/// [`MomentSums`] of `xs` by fast block sums (an empty buffer gives zeros); whether to trust
/// them is the caller's call (see `probe::stats::moments`).
pub fn moment_sums<T: Real>(xs: &[T]) -> MomentSums {
    let prefix = &xs[..xs.len().min(SHIFT_PREFIX)];
    let mean = prefix.iter().map(|x| x.wide()).sum::<f64>() / prefix.len().max(1) as f64;
    let shift = match T::of(mean) {
        s if s.is_finite() => s,
        _ => T::zero(),
    };
    let (sum, sum_sq, max_abs) = shifted_sums(xs, shift);
    MomentSums {
        shift: shift.wide(),
        sum,
        sum_sq,
        max_abs,
    }
}

/// `Σ x²` in `f64`: block sums in the run's precision when [`trusted`], else the exact
/// [`sq_norm`] (relative difference at most 2e-6 when fast).
pub fn fast_sq_norm<T: Real>(xs: &[T]) -> f64 {
    let sq = sq_sum(xs);
    if trusted::<T>(sq, xs.len()) {
        sq
    } else {
        sq_norm(xs)
    }
}

/// Values whose mean is the shift. Why not the first value alone: one outlier there (a logit
/// far from the rest) left the shifted variance under 1/16 of the mean square, and every such
/// buffer was summed again exactly (seen on tiny-gpt's logits from step 7 on).
pub const SHIFT_PREFIX: usize = 64;

/// Interleaved `T` lanes: four 8-lane `f32` vectors per accumulator, enough independent chains
/// to hide the add latency.
const WIDTH: usize = 32;

/// Values each lane sums in `T` before its partial sum is widened into `f64`.
pub const ROUNDS: usize = 16;

/// `Σ x²` over the block's values is trustworthy as the sum of `n` squares: finite, and large
/// enough that underflowed squares (each off by at most a subnormal spacing) cost under 2⁻²⁰ of it.
pub fn trusted<T: Real>(sq: f64, n: usize) -> bool {
    let spacing = T::min_positive_value().wide() * T::epsilon().wide();
    sq.is_finite() && sq >= n as f64 * spacing * 1_048_576.0
}

/// `(Σ(x − shift), Σ(x − shift)², max |x|)` of `xs` with the differences and block sums in `T`.
/// NaN propagates into both sums (the max ignores it, as the exact kernel's does).
pub fn shifted_sums<T: Real>(xs: &[T], shift: T) -> (f64, f64, f64) {
    let (sum, sq, max) = vectorized(Shifted { xs, shift });
    let (tail_sum, tail_sq, tail_max) = tail_sums(&xs[xs.len() - xs.len() % WIDTH..], shift);
    let max = if tail_max > max { tail_max } else { max };
    (sum + tail_sum, sq + tail_sq, max)
}

/// `Σ x²` of `xs` with block sums in `T` (see [`trusted`] before using it).
pub fn sq_sum<T: Real>(xs: &[T]) -> f64 {
    vectorized(Squares(xs))
}

/// Adds a block's `T` lanes into the `f64` lanes, lane by lane.
#[inline(always)]
fn widen_into<T: Real>(wide: &mut [f64; WIDTH], block: &[T; WIDTH]) {
    for k in 0..WIDTH {
        wide[k] += block[k].wide();
    }
}

/// Totals the `f64` lanes in a fixed order, lane 0 first.
#[inline(always)]
fn total(lanes: &[f64; WIDTH]) -> f64 {
    lanes.iter().fold(0.0, |s, &x| s + x)
}

struct Shifted<'a, T> {
    xs: &'a [T],
    shift: T,
}

impl<T: Real> Kernel for Shifted<'_, T> {
    type Output = (f64, f64, f64);

    #[inline(always)]
    fn run(self) -> (f64, f64, f64) {
        let shift = self.shift;
        let (mut sum, mut sq) = ([0.0f64; WIDTH], [0.0f64; WIDTH]);
        let mut max = [T::zero(); WIDTH];
        // Only the last block has a partial row, the buffer's tail: `chunks_exact` skips it and
        // `tail_sums` adds it. The widening is one loop for both sums: as two, it ran 1.5×
        // slower.
        for block in self.xs.chunks(WIDTH * ROUNDS) {
            let (mut bsum, mut bsq) = ([T::zero(); WIDTH], [T::zero(); WIDTH]);
            for row in block.chunks_exact(WIDTH) {
                for k in 0..WIDTH {
                    let d = row[k] - shift;
                    bsum[k] += d;
                    bsq[k] = d.mul_add(d, bsq[k]);
                    let a = row[k].abs();
                    max[k] = if a > max[k] { a } else { max[k] };
                }
            }
            for k in 0..WIDTH {
                sum[k] += bsum[k].wide();
                sq[k] += bsq[k].wide();
            }
        }
        let top = max
            .iter()
            .fold(T::zero(), |m, &a| if a > m { a } else { m });
        (total(&sum), total(&sq), top.wide())
    }
}

/// The sums of [`Shifted`] over the values after the last full row, in `f64` scalars: kept out
/// of the kernel, where indexing lanes by a loop counter or extra live values slow the main loop
/// (measured 1.5–2×).
fn tail_sums<T: Real>(tail: &[T], shift: T) -> (f64, f64, f64) {
    tail.iter().fold((0.0, 0.0, 0.0), |(s, q, m), &x| {
        let d = (x - shift).wide();
        (
            s + d,
            q + d * d,
            if x.wide().abs() > m {
                x.wide().abs()
            } else {
                m
            },
        )
    })
}

struct Squares<'a, T>(&'a [T]);

impl<T: Real> Kernel for Squares<'_, T> {
    type Output = f64;

    #[inline(always)]
    fn run(self) -> f64 {
        let mut sq = [0.0f64; WIDTH];
        let tail = &self.0[self.0.len() - self.0.len() % WIDTH..];
        for block in self.0.chunks(WIDTH * ROUNDS) {
            let mut bsq = [T::zero(); WIDTH];
            for row in block.chunks_exact(WIDTH) {
                for k in 0..WIDTH {
                    bsq[k] = row[k].mul_add(row[k], bsq[k]);
                }
            }
            widen_into(&mut sq, &bsq);
        }
        total(&sq) + tail.iter().map(|&x| x.wide() * x.wide()).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(xs: &[f32]) -> f64 {
        xs.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
    }

    #[test]
    fn block_sums_are_within_their_stated_bound_of_exact_f64_at_every_length() {
        for n in [1, 31, 32, 33, 511, 512, 513, 5000] {
            let xs: Vec<f32> = (0..n)
                .map(|i| (i as f32 * 0.37 + 0.5).sin() * 3.0)
                .collect();
            let want = exact(&xs);
            let got = sq_sum(&xs);
            assert!(trusted::<f32>(got, n), "n = {n}");
            assert!(
                (got - want).abs() <= 2e-6 * want,
                "n = {n}: {got} vs {want}"
            );
            let (sum, sq, max) = shifted_sums(&xs, 0.0);
            let plain: f64 = xs.iter().map(|&x| f64::from(x)).sum();
            let abs: f64 = xs.iter().map(|&x| f64::from(x).abs()).sum();
            assert!((sum - plain).abs() <= 2e-6 * abs, "n = {n}");
            assert!((sq - want).abs() <= 2e-6 * want, "n = {n}");
            assert_eq!(
                max,
                xs.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()))
            );
        }
    }

    #[test]
    fn underflowed_and_overflowed_squares_are_not_trusted() {
        // 1e-25² underflows f32 to 0 and 1e-21² = 1e-42 is a subnormal with a few bits: both
        // must send callers to f64. 1e-19² = 1e-38 is subnormal too, but 100 of them sum to
        // 1e-36, where a spacing of 1.4e-45 per term is 1.4e-7 of the sum: trusted.
        for tiny in [1e-25f32, 1e-21] {
            let xs = vec![tiny; 100];
            assert!(!trusted::<f32>(sq_sum(&xs), xs.len()), "{tiny}");
        }
        let xs = vec![1e-19f32; 100];
        let got = sq_sum(&xs);
        assert!(trusted::<f32>(got, xs.len()));
        assert!((got - exact(&xs)).abs() <= 2e-6 * exact(&xs));
        let xs = vec![1e20f32; 64];
        assert!(!trusted::<f32>(sq_sum(&xs), xs.len()));
    }

    #[test]
    fn nan_reaches_both_sums() {
        let mut xs = vec![1.0f32; 70];
        xs[40] = f32::NAN;
        let (sum, sq, _) = shifted_sums(&xs, 1.0);
        assert!(sum.is_nan() && sq.is_nan());
        assert!(sq_sum(&xs).is_nan());
    }

    #[test]
    fn the_sum_of_squares_from_shifted_sums_is_within_twice_their_bound_or_refused() {
        for (mean, spread) in [(0.0f32, 1.0f32), (5.0, 1.0), (-300.0, 0.01), (1e-3, 2.0)] {
            let xs: Vec<f32> = (0..4099)
                .map(|i| mean + spread * (i as f32 * 0.61).sin())
                .collect();
            let want = exact(&xs);
            let got = moment_sums(&xs).sq_total::<f32>(xs.len());
            let got = got.unwrap_or_else(|| panic!("({mean}, {spread}) refused"));
            assert!((got - want).abs() <= 4e-6 * want, "{got} vs {want}");
        }
        // Shift 2 (the first 64 values), the rest near −2: the middle term cancels all but
        // about 2% of the others.
        let mut xs = vec![-2.0f32; 5000];
        xs[..64].fill(2.0);
        assert_eq!(moment_sums(&xs).sq_total::<f32>(xs.len()), None);
        assert_eq!(moment_sums(&[1e-25f32; 100]).sq_total::<f32>(100), None);
        let mut xs = vec![1.0f32; 100];
        xs[7] = f32::INFINITY;
        assert_eq!(moment_sums(&xs).sq_total::<f32>(100), None);
    }
}
