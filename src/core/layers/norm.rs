//! Layer normalization and batch normalization: normalize, then scale and shift, forward and backward.
//!
//! Both compute, per lane, `x̂ = (z − μ) / sqrt(σ² + eps)` with the biased variance `σ²`, then
//! `y = γ ⊙ x̂ + β` with per-feature `γ, β`. Layernorm's lanes are the rows of `z` (one sample's
//! features); batchnorm's are its columns (one feature over the batch), so batchnorm runs the same
//! kernels on the transposed view. Backward, per lane of length n:
//! `dz = inv_std · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))` with `dx̂ = dy ⊙ γ`.
//! `eps` comes from the scenario and may be 0: a constant lane then gives 0/0 = NaN, the hazard
//! the tool exists to show, so nothing here adds a hidden epsilon.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use super::NormKind;
use crate::core::float::Real;
use crate::core::params::{ParamKind, Params};
use crate::core::tensor::sum_rows_into;

/// PyTorch's default running-statistics momentum for batchnorm.
pub const BATCHNORM_MOMENTUM: f64 = 0.1;

/// A normalization layer with its cached forward values.
#[derive(Debug, Clone)]
pub struct Norm<T> {
    pub kind: NormKind,
    /// The layer its op events are filed under.
    pub layer: usize,
    pub gain: usize,
    pub shift: usize,
    pub eps: T,
    /// Normalized values `x̂`, `[batch, width]`.
    pub xhat: Array2<T>,
    /// `1 / sqrt(σ² + eps)` per lane, and the biased variance `σ²` per lane.
    pub inv_std: Array1<T>,
    pub var: Array1<T>,
    /// Batchnorm's running mean and unbiased running variance (empty for layernorm).
    pub running_mean: Array1<T>,
    pub running_var: Array1<T>,
    /// `[batch, width]` scratch of the backward pass.
    pub(crate) scratch: Array2<T>,
}

impl<T: Real> Norm<T> {
    /// Registers `γ = 1`, `β = 0` for `layer` and allocates the caches for `batch × width`.
    pub fn new(
        kind: NormKind,
        params: &mut Params<T>,
        layer: usize,
        width: usize,
        batch: usize,
        eps: f64,
    ) -> Self {
        let gain = params.push(layer, ParamKind::NormGain, 1, width);
        params.value_mut(gain).fill(T::one());
        let shift = params.push(layer, ParamKind::NormShift, 1, width);
        let lanes = if kind == NormKind::Batchnorm {
            width
        } else {
            batch
        };
        let stats = if kind == NormKind::Batchnorm {
            width
        } else {
            0
        };
        Norm {
            kind,
            layer,
            scratch: Array2::zeros((batch, width)),
            gain,
            shift,
            eps: T::of(eps),
            xhat: Array2::zeros((batch, width)),
            inv_std: Array1::zeros(lanes),
            var: Array1::zeros(lanes),
            running_mean: Array1::zeros(stats),
            running_var: Array1::from_elem(stats, T::one()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            NormKind::Batchnorm => "batchnorm",
            _ => "layernorm",
        }
    }

    /// Computes `x̂` (cached) from `z`; batchnorm also updates its running statistics.
    pub fn normalize(&mut self, z: ArrayView2<'_, T>) {
        if self.kind == NormKind::Batchnorm {
            normalize_lanes(
                z.t(),
                self.eps,
                self.xhat.view_mut().reversed_axes(),
                &mut self.inv_std,
                &mut self.var,
            );
            self.update_running(z);
        } else {
            normalize_lanes(
                z,
                self.eps,
                self.xhat.view_mut(),
                &mut self.inv_std,
                &mut self.var,
            );
        }
    }

    /// `y = γ ⊙ x̂ + β`.
    pub fn affine(&self, params: &Params<T>, mut y: ArrayViewMut2<'_, T>) {
        let gain = params.value(self.gain);
        let shift = params.value(self.shift);
        for (mut y_row, x_row) in y.rows_mut().into_iter().zip(self.xhat.rows()) {
            Zip::from(&mut y_row)
                .and(&x_row)
                .and(gain.row(0))
                .and(shift.row(0))
                .for_each(|y, &x, &g, &b| *y = g * x + b);
        }
    }

    /// Writes `dγ`, `dβ` into `params.grads` and `dz` from `dy`. `scratch` is a `[batch, width]` buffer.
    pub fn backward(
        &self,
        params: &mut Params<T>,
        dy: ArrayView2<'_, T>,
        mut scratch: ArrayViewMut2<'_, T>,
        dz: ArrayViewMut2<'_, T>,
    ) {
        Zip::from(&mut scratch)
            .and(&dy)
            .and(&self.xhat)
            .for_each(|s, &d, &x| *s = d * x);
        sum_rows_into(
            scratch.view(),
            params.value_and_grad_mut(self.gain, self.gain).1,
        );
        sum_rows_into(dy, params.value_and_grad_mut(self.shift, self.shift).1);
        let gain = params.value(self.gain);
        for (mut s_row, d_row) in scratch.rows_mut().into_iter().zip(dy.rows()) {
            Zip::from(&mut s_row)
                .and(&d_row)
                .and(gain.row(0))
                .for_each(|s, &d, &g| *s = d * g);
        }
        if self.kind == NormKind::Batchnorm {
            normalize_lanes_backward(
                self.xhat.t(),
                &self.inv_std,
                scratch.view().reversed_axes(),
                dz.reversed_axes(),
            );
        } else {
            normalize_lanes_backward(self.xhat.view(), &self.inv_std, scratch.view(), dz);
        }
    }

    fn update_running(&mut self, z: ArrayView2<'_, T>) {
        let n = z.nrows();
        let m = T::of(BATCHNORM_MOMENTUM);
        let unbias = if n > 1 {
            T::of(n as f64 / (n as f64 - 1.0))
        } else {
            T::one()
        };
        for (j, col) in z.axis_iter(Axis(1)).enumerate() {
            let mean = col.sum() / T::of(n as f64);
            self.running_mean[j] = (T::one() - m) * self.running_mean[j] + m * mean;
            self.running_var[j] = (T::one() - m) * self.running_var[j] + m * self.var[j] * unbias;
        }
    }
}

/// Per row of `z`: `x̂ = (z − μ) · inv_std`, two-pass mean and biased variance.
fn normalize_lanes<T: Real>(
    z: ArrayView2<'_, T>,
    eps: T,
    mut xhat: ArrayViewMut2<'_, T>,
    inv_std: &mut Array1<T>,
    var: &mut Array1<T>,
) {
    let n = T::of(z.ncols() as f64);
    for (i, (z_row, mut x_row)) in z.rows().into_iter().zip(xhat.rows_mut()).enumerate() {
        let mean = z_row.sum() / n;
        let v = z_row.fold(T::zero(), |acc, &x| acc + (x - mean) * (x - mean)) / n;
        let s = T::one() / (v + eps).sqrt();
        var[i] = v;
        inv_std[i] = s;
        Zip::from(&mut x_row)
            .and(&z_row)
            .for_each(|x, &z| *x = (z - mean) * s);
    }
}

/// Per row: `dz = inv_std · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))`.
fn normalize_lanes_backward<T: Real>(
    xhat: ArrayView2<'_, T>,
    inv_std: &Array1<T>,
    dxhat: ArrayView2<'_, T>,
    mut dz: ArrayViewMut2<'_, T>,
) {
    let n = T::of(xhat.ncols() as f64);
    for (i, ((x_row, d_row), mut z_row)) in xhat
        .rows()
        .into_iter()
        .zip(dxhat.rows())
        .zip(dz.rows_mut())
        .enumerate()
    {
        let mean_d = d_row.sum() / n;
        let mean_dx = Zip::from(&d_row)
            .and(&x_row)
            .fold(T::zero(), |acc, &d, &x| acc + d * x)
            / n;
        let s = inv_std[i];
        Zip::from(&mut z_row)
            .and(&d_row)
            .and(&x_row)
            .for_each(|z, &d, &x| *z = s * (d - mean_d - x * mean_dx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use ndarray::array;

    fn check(kind: NormKind) {
        let x = array![
            [1.0, -2.0, 0.5, 3.0],
            [0.2, 0.1, -0.7, 1.4],
            [2.5, -1.0, 0.0, 0.3]
        ];
        let mut p = Params::new();
        let mut norm = Norm::new(kind, &mut p, 0, 4, 3, 1e-5);
        p.value_mut(norm.gain)
            .assign(&array![[1.5, 0.5, -1.0, 2.0]]);
        p.value_mut(norm.shift)
            .assign(&array![[0.1, 0.2, 0.3, 0.4]]);
        let mut scratch = Array2::zeros((3, 4));
        let report = check_op(&p, &x, (3, 4), &mut |p, x, out, back| {
            norm.normalize(x.view());
            norm.affine(p, out.view_mut());
            if let Some((dy, dz)) = back {
                norm.backward(p, dy.view(), scratch.view_mut(), dz.view_mut());
            }
        });
        assert!(report.passed(Tolerance::GRADCHECK), "{kind:?}: {report}");
    }

    #[test]
    fn layernorm_backward_matches_finite_differences() {
        check(NormKind::Layernorm);
    }

    #[test]
    fn batchnorm_backward_matches_finite_differences() {
        check(NormKind::Batchnorm);
    }

    #[test]
    fn layernorm_normalizes_rows_and_batchnorm_columns() {
        let z = array![[1.0, 3.0], [5.0, 11.0]];
        let mut p = Params::<f64>::new();
        let mut ln = Norm::new(NormKind::Layernorm, &mut p, 0, 2, 2, 0.0);
        ln.normalize(z.view());
        assert_eq!(ln.xhat, array![[-1.0, 1.0], [-1.0, 1.0]]);
        let mut bn = Norm::new(NormKind::Batchnorm, &mut p, 1, 2, 2, 0.0);
        bn.normalize(z.view());
        assert_eq!(bn.xhat, array![[-1.0, -1.0], [1.0, 1.0]]);
        // running mean = 0.1 · batch mean; running var = 0.9 · 1 + 0.1 · unbiased var (8, 32)
        assert!(
            (bn.running_mean[0] - 0.3).abs() < 1e-12 && (bn.running_mean[1] - 0.7).abs() < 1e-12
        );
        assert!((bn.running_var[0] - 1.7).abs() < 1e-12 && (bn.running_var[1] - 4.1).abs() < 1e-12);
    }

    #[test]
    fn layernorm_of_constant_input_with_zero_eps_is_nan_not_hidden() {
        let z = array![[2.0f32, 2.0, 2.0]];
        let mut p = Params::new();
        let mut ln = Norm::new(NormKind::Layernorm, &mut p, 0, 3, 1, 0.0);
        ln.normalize(z.view());
        assert!(ln.inv_std[0].is_infinite());
        assert!(ln.xhat.iter().all(|x| x.is_nan()));
    }
}
