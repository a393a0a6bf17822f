//! The row passes of [`RowNorm`](super::rownorm::RowNorm) over contiguous `[rows, width]`
//! buffers, compiled for the CPU's SIMD level: each row's sums in [`LANES`] independent lanes
//! combined in a fixed order, so no add waits on the previous one (a serial fold was 3% of a
//! tiny-gpt step) and the bits do not depend on the vector width.

use crate::core::float::Real;
use crate::core::simd::Kernel;

/// Independent partial sums per row reduction.
pub const LANES: usize = 8;

/// `Σ f(i)` for `i < n`: element `i` goes to lane `i % LANES`; lanes are combined pairwise,
/// `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`.
#[inline(always)]
pub fn lane_sum<T: Real>(n: usize, f: impl Fn(usize) -> T) -> T {
    let mut acc = [T::zero(); LANES];
    let full = n - n % LANES;
    for base in (0..full).step_by(LANES) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(base + l);
        }
    }
    for i in full..n {
        acc[i % LANES] += f(i);
    }
    let pair = |a: T, b: T| a + b;
    pair(
        pair(pair(acc[0], acc[1]), pair(acc[2], acc[3])),
        pair(pair(acc[4], acc[5]), pair(acc[6], acc[7])),
    )
}

/// Forward of every row: `x̂ = (x − μ)·s`, `s = 1/sqrt(σ² + eps)` (μ = 0 without `centre`),
/// `y = γ ⊙ x̂ (+ β)`, caching `x̂` and `s`.
pub struct Forward<'a, T> {
    pub x: &'a [T],
    pub xhat: &'a mut [T],
    pub inv_std: &'a mut [T],
    pub y: &'a mut [T],
    pub gain: &'a [T],
    pub shift: Option<&'a [T]>,
    pub centre: bool,
    pub eps: T,
}

impl<T: Real> Kernel for Forward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let width = self.gain.len();
        let n = T::of(width as f64);
        let rows = self
            .x
            .chunks_exact(width)
            .zip(self.xhat.chunks_exact_mut(width));
        let rows = rows
            .zip(self.y.chunks_exact_mut(width))
            .zip(self.inv_std.iter_mut());
        for (((x, xhat), y), s) in rows {
            let mean = match self.centre {
                true => lane_sum(width, |i| x[i]) / n,
                false => T::zero(),
            };
            let var = lane_sum(width, |i| (x[i] - mean) * (x[i] - mean)) / n;
            *s = T::one() / (var + self.eps).sqrt();
            let s = *s;
            for i in 0..width {
                let h = (x[i] - mean) * s;
                xhat[i] = h;
                y[i] = self.gain[i] * h;
            }
            if let Some(b) = self.shift {
                y.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
            }
        }
    }
}

/// Input gradient of every row, `g = dy ⊙ γ`: `dx = s·(g − mean(g) − x̂·mean(g ⊙ x̂))` (no
/// `mean(g)` without `centre`), written or (with `accumulate`) added to `dx`.
pub struct Backward<'a, T> {
    pub dy: &'a [T],
    pub xhat: &'a [T],
    pub inv_std: &'a [T],
    pub gain: &'a [T],
    pub dx: &'a mut [T],
    pub centre: bool,
    pub accumulate: bool,
}

impl<T: Real> Kernel for Backward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (width, gain) = (self.gain.len(), self.gain);
        let n = T::of(width as f64);
        let rows = self
            .dy
            .chunks_exact(width)
            .zip(self.xhat.chunks_exact(width));
        let rows = rows.zip(self.dx.chunks_exact_mut(width)).zip(self.inv_std);
        for (((dy, xhat), dx), &s) in rows {
            let mean_g = match self.centre {
                true => lane_sum(width, |i| dy[i] * gain[i]) / n,
                false => T::zero(),
            };
            let mean_gx = lane_sum(width, |i| dy[i] * gain[i] * xhat[i]) / n;
            for i in 0..width {
                let v = s * (dy[i] * gain[i] - mean_g - xhat[i] * mean_gx);
                dx[i] = if self.accumulate { dx[i] + v } else { v };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sum_puts_element_i_in_lane_i_mod_8_and_pairs_the_lanes() {
        // f32, where the order shows. Element 8 joins lane 0: 1e8 + (−1e8) = 0 there, so the 1 in
        // lane 1 survives; a serial fold rounds 1e8 + 1 to 1e8 and ends at 0.
        let mut ys = [0f32; 9];
        (ys[0], ys[1], ys[8]) = (1e8, 1.0, -1e8);
        assert_eq!(ys.iter().sum::<f32>(), 0.0);
        assert_eq!(lane_sum(9, |i| ys[i]), 1.0);
        // Pairing ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): with l0 = 1e8, l1 = 1,
        // l2 = −1e8, l3 = 1 the left half is (1e8 + 1) + (−1e8 + 1) = 1e8 − 1e8 = 0 (each 1 is
        // lost to rounding), while pairing l0 with l2 first would keep both 1s (2).
        let zs = [1e8f32, 1.0, -1e8, 1.0];
        assert_eq!(lane_sum(4, |i| zs[i]), 0.0);
        assert_eq!((zs[0] + zs[2]) + (zs[1] + zs[3]), 2.0);
        assert!(
            lane_sum(2, |i| [f32::NAN, 1.0][i]).is_nan(),
            "NaN propagates"
        );
    }
}
