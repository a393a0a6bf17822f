//! A projection over all tokens, `y = x·W (+ b)`, forward and backward; the tied head reads `W` transposed.
//!
//! Shapes: `x: [n, in]`, `W: [in, out]` (or, transposed, `[out, in]` as the tied embedding is
//! stored), `b: [1, out]`. Backward: `dW = xᵀ·dy` (transposed: `dyᵀ·x`), `db = Σ_rows dy`,
//! `dx = dy·Wᵀ`.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;
use crate::core::params::{ParamKind, Params};
use crate::core::tensor::{matmul_into, sum_rows_into};

/// Segment indices of one projection in the model's [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    pub weight: usize,
    pub bias: Option<usize>,
    /// `W` is stored `[out, in]` (a tied embedding): `y = x·Wᵀ`.
    pub transposed: bool,
    /// Output features.
    pub fan_out: usize,
    /// The probe-order layer its op events are filed under (set by [`Linear::at`]).
    pub at: usize,
}

impl Linear {
    /// Registers a zero `[fan_in, fan_out]` weight (and a zero bias when `bias`) for `layer`.
    pub fn new<T: Real>(
        params: &mut Params<T>,
        layer: usize,
        fan_in: usize,
        fan_out: usize,
        bias: bool,
    ) -> Self {
        let weight = params.push(layer, ParamKind::Weight, fan_in, fan_out);
        let bias = bias.then(|| params.push(layer, ParamKind::Bias, 1, fan_out));
        Linear {
            weight,
            bias,
            transposed: false,
            fan_out,
            at: 0,
        }
    }

    /// Files this projection's op events under probe-order layer `at`.
    pub fn at(self, at: usize) -> Self {
        Linear { at, ..self }
    }

    /// `y = x·W + b`.
    pub fn forward<T: Real>(
        &self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        y: ArrayViewMut2<'_, T>,
    ) {
        let w = params.value(self.weight);
        let mut y = y;
        if self.transposed {
            matmul_into(T::one(), x, w.t(), T::zero(), y.view_mut());
        } else {
            matmul_into(T::one(), x, w, T::zero(), y.view_mut());
        }
        if let Some(b) = self.bias {
            let b = params.value(b);
            for mut row in y.rows_mut() {
                Zip::from(&mut row).and(b.row(0)).for_each(|y, &b| *y += b);
            }
        }
    }

    /// Writes `dW` (added to what is there when `accumulate_weight`, as a tied weight needs) and
    /// `db`, and `dx` with `dx = beta·dx + dy·Wᵀ` when given.
    pub fn backward<T: Real>(
        &self,
        params: &mut Params<T>,
        x: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        accumulate_weight: bool,
        dx: Option<(ArrayViewMut2<'_, T>, T)>,
    ) {
        let beta = if accumulate_weight {
            T::one()
        } else {
            T::zero()
        };
        {
            let (_, dw) = params.value_and_grad_mut(self.weight, self.weight);
            if self.transposed {
                matmul_into(T::one(), dy.t(), x, beta, dw);
            } else {
                matmul_into(T::one(), x.t(), dy, beta, dw);
            }
        }
        if let Some(b) = self.bias {
            sum_rows_into(dy, params.value_and_grad_mut(b, b).1);
        }
        if let Some((dx, beta)) = dx {
            let w = params.value(self.weight);
            if self.transposed {
                matmul_into(T::one(), dy, w, beta, dx);
            } else {
                matmul_into(T::one(), dy, w.t(), beta, dx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use ndarray::{Array2, array};

    fn filled(p: &mut Params<f64>) {
        for (i, v) in p.values.iter_mut().enumerate() {
            *v = ((i * 7 % 11) as f64 - 5.0) / 4.0;
        }
    }

    #[test]
    fn forward_matches_hand_computation_in_both_layouts() {
        let mut p = Params::new();
        let l = Linear::new(&mut p, 0, 2, 3, true);
        p.value_mut(l.weight)
            .assign(&array![[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]);
        p.value_mut(l.bias.unwrap())
            .assign(&array![[0.1, 0.2, 0.3]]);
        let mut y = Array2::zeros((1, 3));
        l.forward(&p, array![[1.0, 2.0]].view(), y.view_mut());
        assert_eq!(y, array![[3.6, -0.3, 0.8]]);
        // The same map with W stored [out, in].
        let mut q = Params::new();
        let t = Linear {
            transposed: true,
            ..Linear::new(&mut q, 0, 3, 2, false)
        };
        q.value_mut(t.weight)
            .assign(&array![[0.5, 1.5], [-1.0, 0.25], [2.0, -0.75]]);
        t.forward(&q, array![[1.0, 2.0]].view(), y.view_mut());
        assert_eq!(y, array![[3.5, -0.5, 0.5]]);
    }

    #[test]
    fn backward_matches_finite_differences_with_and_without_bias_and_transposed() {
        for (bias, transposed) in [(true, false), (false, false), (true, true)] {
            let mut p = Params::new();
            let (rows, cols) = if transposed { (3, 2) } else { (2, 3) };
            let weight = p.push(0, ParamKind::Weight, rows, cols);
            let bias = bias.then(|| p.push(0, ParamKind::Bias, 1, 3));
            check(
                &mut p,
                Linear {
                    weight,
                    bias,
                    transposed,
                    fan_out: 3,
                    at: 0,
                },
            );
        }
    }

    fn check(p: &mut Params<f64>, l: Linear) {
        filled(p);
        let x = array![[1.0, 2.0], [-0.5, 0.3], [0.7, -1.1]];
        let report = check_op(p, &x, (3, 3), &mut |p, x, out, back| {
            l.forward(p, x.view(), out.view_mut());
            if let Some((dy, dx)) = back {
                l.backward(p, x.view(), dy.view(), false, Some((dx.view_mut(), 0.0)));
            }
        });
        assert!(report.passed(Tolerance::GRADCHECK), "{l:?}: {report}");
    }
}
