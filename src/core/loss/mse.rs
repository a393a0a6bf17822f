//! Mean squared error over every element, no ½ (PyTorch's `MSELoss()`): `loss = mean_ij (z_ij − y_ij)²`.
//!
//! Gradient: `∂loss/∂z_ij = 2 (z_ij − y_ij) / (batch · outputs)`.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::LossTarget;
use crate::core::float::Real;

pub fn forward_backward<T: Real>(
    pred: ArrayView2<'_, T>,
    target: &LossTarget<'_, T>,
    mut grad: ArrayViewMut2<'_, T>,
) -> f64 {
    let count = pred.len() as f64;
    let scale = T::of(2.0 / count);
    let mut total = 0.0;
    for ((i, j), g) in grad.indexed_iter_mut() {
        let diff = pred[(i, j)] - target.at(i, j);
        total += (diff * diff).wide();
        *g = diff * scale;
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
        // diffs [1, -2, 0, 3] → mean of squares 14/4
        let z = array![[2.0, 0.0], [1.0, 3.0]];
        let y = array![[1.0, 2.0], [1.0, 0.0]];
        let mut g = Array2::zeros((2, 2));
        let loss = forward_backward(z.view(), &LossTarget::Values(y.view()), g.view_mut());
        assert_eq!(loss, 3.5);
        assert_eq!(g, array![[0.5, -1.0], [0.0, 1.5]]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = array![[0.3, -1.2, 2.0], [1.1, 0.4, -0.6]];
        let y = array![[0.0, 1.0, 0.5], [-1.0, 0.2, 0.3]];
        assert_gradient(LossKind::Mse, &z, LossTarget::Values(y.view()));
        assert_gradient(LossKind::Mse, &z, LossTarget::Classes(&[1, 2]));
    }
}
