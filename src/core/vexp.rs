//! `exp` for vector loops: an inlinable f32 polynomial, and `exp` over a slice compiled for the CPU's SIMD level.
//!
//! libm's `expf` is a call per element that no loop can vectorize. [`exp_f32`] is Cephes'
//! `expf` (range reduction `x = n·ln 2 + r` with ln 2 split in two, a degree-5 polynomial in r,
//! then `2ⁿ` built from exponent bits in two halves so subnormal results come out right) written
//! branch-free, so LLVM vectorizes any loop it sits in. Plain `*` and `+` (Rust never fuses them)
//! give the same bits at every SIMD level: results do not depend on the machine's features.

use super::float::Real;
use super::simd::{Kernel, vectorized};

/// Above this, `exp` overflows f32 (ln f32::MAX).
const OVERFLOW: f32 = 88.722_84;
/// Below this, `exp` is under half the smallest subnormal and rounds to 0.
const UNDERFLOW: f32 = -103.972_08;

/// `exp(x)` in f32 to within 2 ulp; `exp(NaN) = NaN`, `exp(±inf) = inf / 0`.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = (x - n * 0.693_359_4) - n * -2.121_944_4e-4;
    let p = ((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let y = p * r * r + r + 1.0;
    // 2ⁿ as 2^(n/2) · 2^(n − n/2): each half stays a normal float for n in [−150, 128].
    let n = n.clamp(-150.0, 128.0) as i32;
    let half = n / 2;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = y * pow2(half) * pow2(n - half);
    if x > OVERFLOW {
        f32::INFINITY
    } else if x < UNDERFLOW {
        0.0
    } else {
        y
    }
}

/// `x ← exp(x)` for every element, through [`Real::exp_inline`] in a loop compiled for the
/// CPU's SIMD level.
pub fn exp_in_place<T: Real>(xs: &mut [T]) {
    vectorized(ExpAll(xs));
}

/// `x ← exp(x)` over a 1-D view: vectorized when it is contiguous (every row buffer is).
pub fn exp_view<T: Real>(mut x: ndarray::ArrayViewMut1<'_, T>) {
    match x.as_slice_mut() {
        Some(xs) => exp_in_place(xs),
        None => x.map_inplace(|v| *v = v.exp()),
    }
}

struct ExpAll<'a, T>(&'a mut [T]);

impl<T: Real> Kernel for ExpAll<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.0.iter_mut().for_each(|x| *x = x.exp_inline());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error in units of the f32 spacing at the exact value (the subnormal spacing below the
    /// normal range, where only absolute error can be judged).
    fn ulps(got: f32, exact: f64) -> f64 {
        let spacing =
            f64::from((exact as f32).abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
        (f64::from(got) - exact).abs() / spacing
    }

    #[test]
    fn f32_exp_is_within_two_ulps_over_the_whole_finite_range() {
        // 400k points from −103.9 (subnormal results) to 88.72 (near f32::MAX), through the slice path.
        let n = 400_003;
        let mut xs: Vec<f32> = (0..n)
            .map(|i| -103.9 + 192.62 * i as f32 / n as f32)
            .collect();
        let x0 = xs.clone();
        exp_in_place(&mut xs);
        let (worst, at) = x0
            .iter()
            .zip(&xs)
            .map(|(&x, &e)| (ulps(e, f64::from(x).exp()), x))
            .fold((0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w });
        assert!(worst <= 2.0, "exp({at}) is {worst} ulps off");
    }

    #[test]
    fn f32_exp_special_values() {
        let mut xs = [
            0.0f32,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
            89.0,
            -104.0,
            1.0,
            -87.0,
        ];
        exp_in_place(&mut xs);
        assert_eq!(&xs[..3], &[1.0, 0.0, f32::INFINITY]);
        assert!(xs[3].is_nan());
        assert_eq!((xs[4], xs[5]), (f32::INFINITY, 0.0));
        assert!((xs[6] - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
        assert!(xs[7] > 0.0 && xs[7] < 1e-37, "{}", xs[7]);
    }
}
