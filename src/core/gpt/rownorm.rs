//! LayerNorm and RMSNorm over each row (one token's features), forward and backward side by side.
//!
//! LayerNorm: `x̂ = (x − μ)·s`, `s = 1/sqrt(σ² + eps)` (biased σ², as PyTorch); RMSNorm:
//! `x̂ = x·s`, `s = 1/sqrt(mean(x²) + eps)`. Then `y = γ ⊙ x̂ (+ β)`. Backward per row of width n,
//! with `g = dy ⊙ γ`: LayerNorm `dx = s·(g − mean(g) − x̂·mean(g ⊙ x̂))`, RMSNorm
//! `dx = s·(g − x̂·mean(g ⊙ x̂))`; `dγ = Σ_rows dy ⊙ x̂`, `dβ = Σ_rows dy`. `eps` may be 0 (a
//! constant row then gives 0/0 = NaN, the hazard to show), so nothing adds a hidden epsilon.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Zip};

use super::TokenNorm;
use super::rownorm_rows;
use crate::core::float::Real;
use crate::core::model::contiguous;
use crate::core::params::{ParamKind, Params};
use crate::core::simd::vectorized;

/// One norm with its cached `x̂` and `s` for `rows × width` inputs.
#[derive(Debug, Clone)]
pub struct RowNorm<T> {
    pub kind: TokenNorm,
    /// `γ`, `[1, width]`.
    pub gain: usize,
    /// `β`, `[1, width]` (LayerNorm with biases only).
    pub shift: Option<usize>,
    pub eps: T,
    pub xhat: Array2<T>,
    pub inv_std: Array1<T>,
    /// The probe-order layer its op events are filed under (set by [`RowNorm::at`]).
    pub at: usize,
}

impl<T: Real> RowNorm<T> {
    /// Registers `γ = 1` (and `β = 0` for a LayerNorm when `bias`) and sizes the caches.
    pub fn new(
        params: &mut Params<T>,
        layer: usize,
        kind: TokenNorm,
        bias: bool,
        (rows, width): (usize, usize),
        eps: f64,
    ) -> Self {
        let gain = params.push(layer, ParamKind::NormGain, 1, width);
        params.value_mut(gain).fill(T::one());
        let shift = (bias && kind == TokenNorm::Layernorm)
            .then(|| params.push(layer, ParamKind::NormShift, 1, width));
        RowNorm {
            kind,
            gain,
            shift,
            eps: T::of(eps),
            xhat: Array2::zeros((rows, width)),
            inv_std: Array1::zeros(rows),
            at: 0,
        }
    }

    /// Files this norm's op events under probe-order layer `at`.
    pub fn at(self, at: usize) -> Self {
        RowNorm { at, ..self }
    }

    /// `y = γ ⊙ x̂ + β`, caching `x̂` and `s` (row passes in [`rownorm_rows`]).
    ///
    /// # Panics
    /// If `x` or `y` is not in standard layout: every caller passes a buffer the model owns.
    #[allow(clippy::expect_used)] // invariant: see # Panics
    pub fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
    ) {
        let shift = self.shift.map(|b| params.value(b));
        vectorized(rownorm_rows::Forward {
            x: contiguous(x),
            xhat: self
                .xhat
                .as_slice_mut()
                .expect("xhat is an owned standard-layout array"),
            inv_std: self
                .inv_std
                .as_slice_mut()
                .expect("inv_std is an owned array"),
            y: y.as_slice_mut()
                .expect("the norm's output is a buffer the model owns"),
            gain: contiguous(params.value(self.gain)),
            shift: shift.map(contiguous),
            centre: self.kind == TokenNorm::Layernorm,
            eps: self.eps,
        });
    }

    /// Writes `dγ` (and `dβ`) and `dx` (added to `dx` when `accumulate`, as a residual needs).
    ///
    /// # Panics
    /// If `dy` or `dx` is not in standard layout: every caller passes a buffer the model owns.
    #[allow(clippy::expect_used)] // invariant: see # Panics
    pub fn backward(
        &self,
        params: &mut Params<T>,
        dy: ArrayView2<'_, T>,
        mut dx: ArrayViewMut2<'_, T>,
        accumulate: bool,
    ) {
        self.param_grads(params, dy);
        vectorized(rownorm_rows::Backward {
            dy: contiguous(dy),
            xhat: contiguous(self.xhat.view()),
            inv_std: self.inv_std.as_slice().expect("inv_std is an owned array"),
            gain: contiguous(params.value(self.gain)),
            dx: dx
                .as_slice_mut()
                .expect("the input gradient is a buffer the model owns"),
            centre: self.kind == TokenNorm::Layernorm,
            accumulate,
        });
    }

    fn param_grads(&self, params: &mut Params<T>, dy: ArrayView2<'_, T>) {
        let mut dgain = params.value_and_grad_mut(self.gain, self.gain).1;
        dgain.fill(T::zero());
        for (dy, xhat) in dy.rows().into_iter().zip(self.xhat.rows()) {
            Zip::from(dgain.row_mut(0))
                .and(&dy)
                .and(&xhat)
                .for_each(|g, &d, &h| *g += d * h);
        }
        if let Some(b) = self.shift {
            crate::core::tensor::sum_rows_into(dy, params.value_and_grad_mut(b, b).1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use ndarray::{Array2, array};

    #[test]
    fn forward_matches_hand_computed_values() {
        // Row [1, 3]: μ = 2, σ² = 1 → x̂ = [−1, 1]/sqrt(1 + eps); RMS: mean x² = 5 → x/sqrt(5).
        let x = array![[1.0, 3.0]];
        let mut y = Array2::zeros((1, 2));
        let mut p = Params::new();
        let mut ln = RowNorm::new(&mut p, 0, TokenNorm::Layernorm, true, (1, 2), 0.0);
        p.value_mut(ln.gain).assign(&array![[2.0, 3.0]]);
        p.value_mut(ln.shift.unwrap()).assign(&array![[0.5, -0.5]]);
        ln.forward(&p, x.view(), y.view_mut());
        assert_eq!(y, array![[-1.5, 2.5]]);
        let mut q = Params::new();
        let mut rms = RowNorm::new(&mut q, 0, TokenNorm::Rmsnorm, true, (1, 2), 0.0);
        assert!(rms.shift.is_none(), "RMSNorm has no shift");
        rms.forward(&q, x.view(), y.view_mut());
        let r = 5f64.sqrt();
        assert!((y[(0, 0)] - 1.0 / r).abs() < 1e-15 && (y[(0, 1)] - 3.0 / r).abs() < 1e-15);
    }

    #[test]
    fn zero_eps_on_a_constant_row_is_nan_not_hidden() {
        let mut p = Params::<f64>::new();
        let mut ln = RowNorm::new(&mut p, 0, TokenNorm::Layernorm, false, (1, 3), 0.0);
        let mut y = Array2::zeros((1, 3));
        ln.forward(&p, array![[2.0, 2.0, 2.0]].view(), y.view_mut());
        assert!(y.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn backward_matches_finite_differences_for_both_kinds() {
        let x = array![
            [1.0, 2.5, -0.3, 0.8],
            [-1.2, 0.4, 0.9, 2.2],
            [0.1, -0.7, 0.3, -2.0]
        ];
        for (kind, bias) in [
            (TokenNorm::Layernorm, true),
            (TokenNorm::Layernorm, false),
            (TokenNorm::Rmsnorm, true),
        ] {
            let mut p = Params::new();
            let mut norm = RowNorm::new(&mut p, 0, kind, bias, (3, 4), 1e-5);
            for (i, v) in p.values.iter_mut().enumerate() {
                *v = 1.0 + 0.3 * (i as f64).sin();
            }
            let report = check_op(&p, &x, (3, 4), &mut |p, x, out, back| {
                norm.forward(p, x.view(), out.view_mut());
                if let Some((dy, dx)) = back {
                    norm.backward(p, dy.view(), dx.view_mut(), false);
                }
            });
            assert!(
                report.passed(Tolerance::GRADCHECK),
                "{kind:?} bias {bias}: {report}"
            );
        }
    }
}
