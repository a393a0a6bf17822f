//! Inverted dropout with a seeded mask: `y = x ⊙ m`, `m ∈ {0, 1/(1−p)}`, and `dx = dy ⊙ m`.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::core::float::Real;

#[derive(Debug, Clone)]
pub struct Dropout<T> {
    /// Probability of dropping a unit, in `[0, 1)`.
    pub p: f64,
    /// The current mask, `[batch, width]`.
    pub mask: Array2<T>,
    /// The layer its op events are filed under.
    pub layer: usize,
}

impl<T: Real> Dropout<T> {
    pub fn new(p: f64, layer: usize, batch: usize, width: usize) -> Self {
        Dropout {
            p,
            layer,
            mask: Array2::zeros((batch, width)),
        }
    }

    /// Draws a fresh mask: each unit kept with probability `1 − p`, scaled by `1/(1−p)`.
    pub fn resample(&mut self, rng: &mut ChaCha8Rng) {
        let keep = T::of(1.0 / (1.0 - self.p));
        for m in self.mask.iter_mut() {
            *m = if rng.random::<f64>() < self.p {
                T::zero()
            } else {
                keep
            };
        }
    }

    /// `y = x ⊙ m`
    pub fn forward(&self, x: ArrayView2<'_, T>, mut y: ArrayViewMut2<'_, T>) {
        Zip::from(&mut y)
            .and(&x)
            .and(&self.mask)
            .for_each(|y, &x, &m| *y = x * m);
    }

    /// `dx = dy ⊙ m`
    pub fn backward(&self, dy: ArrayView2<'_, T>, mut dx: ArrayViewMut2<'_, T>) {
        Zip::from(&mut dx)
            .and(&dy)
            .and(&self.mask)
            .for_each(|dx, &dy, &m| *dx = dy * m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use crate::core::params::Params;
    use crate::core::rng::{Stream, stream_rng};
    use ndarray::array;

    #[test]
    fn mask_keeps_about_one_minus_p_and_rescales() {
        let mut d = Dropout::<f64>::new(0.25, 0, 100, 100);
        d.resample(&mut stream_rng(1, Stream::Dropout));
        let kept = d.mask.iter().filter(|&&m| m > 0.0).count() as f64 / 1e4;
        // 10_000 Bernoulli(0.75) draws: std of the fraction is 0.0043, so ±0.02 is > 4 sigma.
        assert!((kept - 0.75).abs() < 0.02, "{kept}");
        assert!(
            d.mask
                .iter()
                .all(|&m| m == 0.0 || (m - 4.0 / 3.0).abs() < 1e-15)
        );
    }

    #[test]
    fn backward_with_fixed_mask_matches_finite_differences() {
        let mut d = Dropout::<f64>::new(0.5, 0, 2, 3);
        d.resample(&mut stream_rng(3, Stream::Dropout));
        let x = array![[1.0, -2.0, 0.5], [0.3, 0.9, -1.2]];
        let report = check_op(&Params::new(), &x, (2, 3), &mut |_, x, out, back| {
            d.forward(x.view(), out.view_mut());
            if let Some((dy, dx)) = back {
                d.backward(dy.view(), dx.view_mut());
            }
        });
        assert!(report.passed(Tolerance::GRADCHECK), "{report}");
    }
}
