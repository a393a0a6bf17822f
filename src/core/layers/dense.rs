//! Dense (fully connected) layer: `z = x·W + b`, and its backward pass.
//!
//! # Shapes
//! `x: [batch, in]`, `W: [in, out]`, `b: [1, out]`, `z: [batch, out]`.
//! Backward: `dW = xᵀ·dz`, `db = Σ_batch dz`, `dx = dz·Wᵀ`.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;
use crate::core::params::{ParamKind, Params};
use crate::core::tensor::{matmul_into, sum_rows_into};

/// A dense layer: indices of its weight and bias segments in the model's [`Params`].
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub layer: usize,
    pub fan_in: usize,
    pub fan_out: usize,
    pub weight: usize,
    pub bias: usize,
}

impl Dense {
    /// Registers zero-filled `W` and `b` for `layer` in `params`.
    pub fn new<T: Real>(
        params: &mut Params<T>,
        layer: usize,
        fan_in: usize,
        fan_out: usize,
    ) -> Self {
        let weight = params.push(layer, ParamKind::Weight, fan_in, fan_out);
        let bias = params.push(layer, ParamKind::Bias, 1, fan_out);
        Dense {
            layer,
            fan_in,
            fan_out,
            weight,
            bias,
        }
    }

    /// `z = x·W` (the bias is added by [`Dense::add_bias`], a separate op so provenance can tell them apart).
    pub fn matmul<T: Real>(
        &self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        z: ArrayViewMut2<'_, T>,
    ) {
        matmul_into(T::one(), x, params.value(self.weight), T::zero(), z);
    }

    /// `z += b`, broadcast over the batch.
    pub fn add_bias<T: Real>(&self, params: &Params<T>, mut z: ArrayViewMut2<'_, T>) {
        let b = params.value(self.bias);
        let b = b.row(0);
        for mut row in z.rows_mut() {
            Zip::from(&mut row).and(&b).for_each(|z, &b| *z += b);
        }
    }

    /// Writes `dW` and `db` into `params.grads`, and `dx = dz·Wᵀ` into `dx` when given
    /// (`dx_beta = 1` accumulates, as a residual skip needs).
    pub fn backward<T: Real>(
        &self,
        params: &mut Params<T>,
        x: ArrayView2<'_, T>,
        dz: ArrayView2<'_, T>,
        dx: Option<(ArrayViewMut2<'_, T>, T)>,
    ) {
        {
            let (_, dw) = params.value_and_grad_mut(self.weight, self.weight);
            matmul_into(T::one(), x.t(), dz, T::zero(), dw);
        }
        {
            let (_, db) = params.value_and_grad_mut(self.bias, self.bias);
            sum_rows_into(dz, db);
        }
        if let Some((dx, beta)) = dx {
            matmul_into(T::one(), dz, params.value(self.weight).t(), beta, dx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use ndarray::{Array2, array};

    fn layer() -> (Params<f64>, Dense) {
        let mut p = Params::new();
        let d = Dense::new(&mut p, 0, 2, 3);
        p.value_mut(d.weight)
            .assign(&array![[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
        p.value_mut(d.bias).assign(&array![[0.1, 0.2, 0.3]]);
        (p, d)
    }

    #[test]
    fn forward_matches_hand_computation() {
        let (p, d) = layer();
        let x = array![[1.0, 2.0]];
        let mut z = Array2::zeros((1, 3));
        d.matmul(&p, x.view(), z.view_mut());
        d.add_bias(&p, z.view_mut());
        // [1·0.5 + 2·1.5, 1·(-1) + 2·0.25, 1·2 + 2·(-0.75)] + b
        assert_eq!(z, array![[3.6, -0.3, 0.8]]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (p, d) = layer();
        let x = array![[1.0, 2.0], [-0.5, 0.3], [0.7, -1.1]];
        let report = check_op(&p, &x, (3, 3), &mut |p, x, out, back| {
            d.matmul(p, x.view(), out.view_mut());
            d.add_bias(p, out.view_mut());
            if let Some((dz, dx)) = back {
                d.backward(p, x.view(), dz.view(), Some((dx.view_mut(), 0.0)));
            }
        });
        assert!(report.passed(Tolerance::GRADCHECK), "{report}");
    }
}
