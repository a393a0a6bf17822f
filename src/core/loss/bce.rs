//! Binary cross-entropy with logits, mean over every element (PyTorch's `BCEWithLogitsLoss()`).
//!
//! `loss_ij = max(z, 0) − z·y + ln(1 + exp(−|z|))`, finite for any finite `z`.
//! Gradient: `∂loss/∂z_ij = (σ(z_ij) − y_ij) / (batch · outputs)`. Classification targets are one-hot.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::LossTarget;
use crate::core::float::Real;
use crate::core::layers::activation::{positive_part, sigmoid};

pub fn forward_backward<T: Real>(
    logits: ArrayView2<'_, T>,
    target: &LossTarget<'_, T>,
    mut grad: ArrayViewMut2<'_, T>,
) -> f64 {
    let count = logits.len() as f64;
    let scale = T::of(1.0 / count);
    let mut total = 0.0;
    for ((i, j), g) in grad.indexed_iter_mut() {
        let z = logits[(i, j)];
        let y = target.at(i, j);
        let loss = positive_part(z) - z * y + (-z.abs()).exp().ln_1p();
        total += loss.wide();
        *g = (sigmoid(z) - y) * scale;
    }
    total / count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::loss::{LossKind, check::assert_gradient};
    use ndarray::{Array2, array};

    #[test]
    fn matches_hand_computed_value() {
        // z = 0: loss ln 2 whatever y; gradient (1/2 − y)/n
        let z = array![[0.0, 0.0]];
        let mut g = Array2::zeros((1, 2));
        let loss = forward_backward(z.view(), &LossTarget::Classes(&[1]), g.view_mut());
        assert!((loss - 2f64.ln()).abs() < 1e-15);
        assert_eq!(g, array![[0.25, -0.25]]);
    }

    #[test]
    fn bce_with_large_logits_is_finite() {
        let z = array![[1e4f32, -1e4]];
        let mut g = Array2::zeros((1, 2));
        let loss = forward_backward(z.view(), &LossTarget::Classes(&[1]), g.view_mut());
        // element 0 is wrong by 1e4 (y = 0), element 1 wrong by 1e4 (y = 1): mean 1e4
        assert_eq!(loss, 1e4);
        assert!(g.iter().all(|g| g.is_finite()));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = array![[0.3, -1.2, 2.0], [1.1, 0.4, -0.6]];
        assert_gradient(LossKind::Bce, &z, LossTarget::Classes(&[2, 0]));
        let y = array![[0.0, 1.0, 0.5], [1.0, 0.2, 0.3]];
        assert_gradient(LossKind::Bce, &z, LossTarget::Values(y.view()));
    }
}
