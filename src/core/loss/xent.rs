//! Softmax cross-entropy through log-sum-exp: `loss = mean_i (lse(z_i) − z_{i,y_i})`.
//!
//! `lse(z) = m + ln Σ_j exp(z_j − m)` with `m = max_j z_j`, so logits of 1e4 stay finite.
//! Gradient: `∂loss/∂z_ij = (softmax(z_i)_j − [j = y_i]) / batch`. A NaN logit makes the max NaN
//! and so the loss NaN: the max propagates NaN rather than skipping it.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use super::LossTarget;
use crate::core::float::Real;

pub fn forward_backward<T: Real>(
    logits: ArrayView2<'_, T>,
    target: &LossTarget<'_, T>,
    mut grad: ArrayViewMut2<'_, T>,
) -> f64 {
    let batch = logits.nrows();
    let inv_batch = T::of(1.0 / batch as f64);
    let mut total = 0.0;
    for (i, (z, mut g)) in logits.rows().into_iter().zip(grad.rows_mut()).enumerate() {
        let m = z.fold(
            T::neg_infinity(),
            |m, &v| if v > m || v.is_nan() { v } else { m },
        );
        // exp(z − m) into the gradient row, then normalize in place.
        Zip::from(&mut g)
            .and(&z)
            .for_each(|g, &z| *g = (z - m).exp());
        let sum: T = g.sum();
        let lse = m + sum.ln();
        let mut dot = T::zero();
        for (j, (g, &zj)) in g.iter_mut().zip(z.iter()).enumerate() {
            let y = target.at(i, j);
            // A zero target weight contributes nothing, even against a −inf logit (0·(−inf) would be NaN).
            if y != T::zero() {
                dot += y * zj;
            }
            *g = (*g / sum - y) * inv_batch;
        }
        total += (lse - dot).wide();
    }
    total / batch as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::loss::{LossKind, check::assert_gradient};
    use ndarray::{Array2, array};

    #[test]
    fn matches_hand_computed_value() {
        // z = [0, ln 3] → softmax = [1/4, 3/4]; label 1 → loss = −ln(3/4)
        let z = array![[0.0, 3f64.ln()]];
        let mut g = Array2::zeros((1, 2));
        let loss = forward_backward(z.view(), &LossTarget::Classes(&[1]), g.view_mut());
        assert!((loss - (4.0f64 / 3.0).ln()).abs() < 1e-15);
        assert!((g[(0, 0)] - 0.25).abs() < 1e-15 && (g[(0, 1)] + 0.25).abs() < 1e-15);
    }

    #[test]
    fn softmax_xent_numerical_stability() {
        let z = array![[1e4f32, 0.0], [0.0, 1e4]];
        let mut g = Array2::zeros((2, 2));
        let loss = forward_backward(z.view(), &LossTarget::Classes(&[1, 1]), g.view_mut());
        // sample 0 is wrong by 1e4, sample 1 right: mean loss 5e3
        assert_eq!(loss, 5e3);
        assert!(g.iter().all(|g| g.is_finite()));
    }

    #[test]
    fn minus_infinity_on_a_wrong_class_is_a_finite_loss() {
        // PyTorch gives loss 0 here: the wrong class has probability exactly 0.
        let z = array![[f32::NEG_INFINITY, 0.0]];
        let mut g = Array2::zeros((1, 2));
        let loss = forward_backward(z.view(), &LossTarget::Classes(&[1]), g.view_mut());
        assert_eq!(loss, 0.0);
        assert_eq!(g, array![[0.0, 0.0]]);
    }

    #[test]
    fn nan_logit_gives_nan_loss() {
        let z = array![[f32::NAN, 0.0]];
        let mut g = Array2::zeros((1, 2));
        assert!(forward_backward(z.view(), &LossTarget::Classes(&[0]), g.view_mut()).is_nan());
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = array![[0.3, -1.2, 2.0], [1.1, 0.4, -0.6]];
        assert_gradient(LossKind::CrossEntropy, &z, LossTarget::Classes(&[2, 0]));
        let soft = array![[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]];
        assert_gradient(LossKind::CrossEntropy, &z, LossTarget::Values(soft.view()));
    }
}
