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
/// `shift` its first value (0 if that is not finite), and `max |x|`, from [`shifted_sums`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MomentSums {
    pub shift: f64,
    pub sum: f64,
    pub sum_sq: f64,
    pub max_abs: f64,
}

/// [`MomentSums`] of `xs` by fast block sums (an empty buffer gives zeros); whether to trust
/// them is the caller's call (see `probe::stats::moments`).
pub fn moment_sums<T: Real>(xs: &[T]) -> MomentSums {
    let shift = match xs.first() {
        Some(&x) if x.is_finite() => x,
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
}
