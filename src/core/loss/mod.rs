//! Losses, all means over the batch as PyTorch's `reduction="mean"`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    CrossEntropy,
    Mse,
    Bce,
}

pub mod bce;
pub mod mse;
pub mod xent;

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::core::float::Real;

/// What a batch's predictions are compared with.
#[derive(Debug, Clone, Copy)]
pub enum LossTarget<'a, T> {
    /// One class index per sample (one-hot for `mse` and `bce`).
    Classes(&'a [usize]),
    /// One row of target values per sample.
    Values(ArrayView2<'a, T>),
}

impl<T: Real> LossTarget<'_, T> {
    /// Target value of sample `i`, output `j`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> T {
        match self {
            LossTarget::Classes(labels) => {
                if labels[i] == j {
                    T::one()
                } else {
                    T::zero()
                }
            }
            LossTarget::Values(v) => v[(i, j)],
        }
    }
}

impl LossKind {
    /// Op name used in events and records.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::CrossEntropy => "softmax_xent",
            LossKind::Mse => "mse",
            LossKind::Bce => "bce",
        }
    }

    /// Mean loss of the batch (returned in f64) and `∂loss/∂logits` written into `grad`.
    pub fn forward_backward<T: Real>(
        self,
        logits: ArrayView2<'_, T>,
        target: &LossTarget<'_, T>,
        grad: ArrayViewMut2<'_, T>,
    ) -> f64 {
        match self {
            LossKind::CrossEntropy => xent::forward_backward(logits, target, grad),
            LossKind::Mse => mse::forward_backward(logits, target, grad),
            LossKind::Bce => bce::forward_backward(logits, target, grad),
        }
    }
}

#[cfg(test)]
pub(crate) mod check {
    //! Shared finite-difference check for the losses.
    use super::*;
    use crate::core::gradcheck::{Tolerance, check};
    use ndarray::Array2;

    pub fn assert_gradient(kind: LossKind, logits: &Array2<f64>, target: LossTarget<'_, f64>) {
        let mut grad = Array2::zeros(logits.dim());
        kind.forward_backward(logits.view(), &target, grad.view_mut());
        let x0: Vec<f64> = logits.iter().copied().collect();
        let analytic: Vec<f64> = grad.iter().copied().collect();
        let report = check(
            |v| {
                let z = Array2::from_shape_vec(logits.dim(), v.to_vec()).expect("same shape");
                let mut g = Array2::zeros(logits.dim());
                kind.forward_backward(z.view(), &target, g.view_mut())
            },
            &x0,
            &analytic,
        );
        assert!(report.passed(Tolerance::GRADCHECK), "{kind:?}: {report}");
    }
}
