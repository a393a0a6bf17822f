//! L1 and L2 penalties on weight matrices, added to the loss and its gradient before clipping.
//!
//! Over the `Weight` segments only (biases and normalization gains/shifts are never penalized):
//! - value `l1·Σ|w| + (l2/2)·Σw²`, accumulated in `f64`
//! - gradient `g ← g + l1·sign(w) + l2·w`, with `sign(0) = 0` (the subgradient PyTorch's `sign` gives)
//!
//! A term whose coefficient is zero is skipped entirely, so `0·inf` never turns an infinite weight
//! into a NaN penalty; NaN weights propagate into both the value and the gradient.

use serde::{Deserialize, Serialize};

use super::float::Real;
use super::params::{ParamKind, Params, Segment};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Penalties {
    /// `l1 · Σ|w|`
    pub l1: f64,
    /// `(l2 / 2) · Σw²`, so its gradient is `l2 · w` (PyTorch's coupled weight decay).
    pub l2: f64,
}

impl Penalties {
    /// Adds the penalty gradients to the weight segments' gradients and returns the penalty value
    /// to add to the loss (`0` when both coefficients are zero).
    pub fn apply<T: Real>(&self, params: &mut Params<T>) -> f64 {
        let mut total = 0.0;
        for k in 0..params.segments.len() {
            let seg = params.segments[k];
            let r = seg.range();
            total += self.apply_segment(&seg, &params.values[r.clone()], &mut params.grads[r]);
        }
        total
    }

    /// [`Penalties::apply`] for one segment: nothing unless it is a weight matrix.
    pub fn apply_segment<T: Real>(&self, seg: &Segment, values: &[T], grads: &mut [T]) -> f64 {
        if seg.kind != ParamKind::Weight || (self.l1 == 0.0 && self.l2 == 0.0) {
            return 0.0;
        }
        let (l1, l2) = (T::of(self.l1), T::of(self.l2));
        let (mut abs_sum, mut sq_sum) = (0.0, 0.0);
        for (&w, g) in values.iter().zip(grads) {
            if self.l1 != 0.0 {
                abs_sum += w.wide().abs();
                *g += l1 * sign(w);
            }
            if self.l2 != 0.0 {
                sq_sum += w.wide() * w.wide();
                *g += l2 * w;
            }
        }
        let l1_value = if self.l1 != 0.0 {
            self.l1 * abs_sum
        } else {
            0.0
        };
        let l2_value = if self.l2 != 0.0 {
            self.l2 / 2.0 * sq_sum
        } else {
            0.0
        };
        l1_value + l2_value
    }
}

#[inline]
fn sign<T: Real>(w: T) -> T {
    if w > T::zero() {
        T::one()
    } else if w < T::zero() {
        -T::one()
    } else if w.is_nan() {
        w
    } else {
        T::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights `[0.5, −2, 0]` (one `Weight` segment) and bias `[4]`, with gradients `[1, 1, 1 | 1]`.
    fn example() -> Params<f64> {
        let mut p = Params::new();
        p.push(0, ParamKind::Weight, 1, 3);
        p.push(0, ParamKind::Bias, 1, 1);
        p.values.copy_from_slice(&[0.5, -2.0, 0.0, 4.0]);
        p.grads.fill(1.0);
        p
    }

    #[test]
    fn penalties_match_hand_computation_and_skip_the_bias() {
        // l1 = 0.1, l2 = 0.2. Value: 0.1·(0.5 + 2 + 0) + 0.1·(0.25 + 4 + 0) = 0.25 + 0.425 = 0.675.
        // Gradient: 1 + 0.1·sign(w) + 0.2·w = [1 + 0.1 + 0.1, 1 − 0.1 − 0.4, 1 + 0 + 0] = [1.2, 0.5, 1];
        // the bias gradient stays 1.
        let mut p = example();
        let value = Penalties { l1: 0.1, l2: 0.2 }.apply(&mut p);
        assert!((value - 0.675).abs() < 1e-15, "got {value}");
        let expected = [1.2, 0.5, 1.0, 1.0];
        for (i, (g, e)) in p.grads.iter().zip(expected).enumerate() {
            assert!((g - e).abs() < 1e-15, "grad {i}: got {g}, expected {e}");
        }
    }

    #[test]
    fn zero_coefficients_change_nothing() {
        let mut p = example();
        p.values[0] = f64::INFINITY;
        assert_eq!(Penalties::default().apply(&mut p), 0.0);
        assert_eq!(p.grads, [1.0; 4]);
        // l2 alone must not form 0·|inf| for the absent l1 term.
        assert_eq!(Penalties { l1: 0.0, l2: 0.2 }.apply(&mut p), f64::INFINITY);
    }

    #[test]
    fn nan_weight_propagates_into_value_and_gradient() {
        let mut p = example();
        p.values[1] = f64::NAN;
        assert!(Penalties { l1: 0.1, l2: 0.0 }.apply(&mut p).is_nan());
        assert!(p.grads[1].is_nan());
    }

    #[test]
    fn penalty_gradient_matches_central_difference_in_f64() {
        // Central differences with h = 1e-5 on weights away from the kink at 0; the penalty is
        // quadratic plus piecewise linear there, so the only error is rounding: relative
        // tolerance 1e-8, absolute 1e-10.
        let penalties = Penalties { l1: 0.3, l2: 0.7 };
        let mut p = example();
        p.values[2] = 0.25;
        p.grads.fill(0.0);
        let mut analytic = p.clone();
        penalties.apply(&mut analytic);
        let h = 1e-5;
        for i in 0..p.len() {
            let value_at = |x: f64| {
                let mut q = p.clone();
                q.values[i] = x;
                penalties.apply(&mut q)
            };
            let numeric = (value_at(p.values[i] + h) - value_at(p.values[i] - h)) / (2.0 * h);
            let a = analytic.grads[i];
            let tol = 1e-10 + 1e-8 * a.abs().max(numeric.abs());
            assert!(
                (a - numeric).abs() <= tol,
                "param {i}: analytic {a}, numeric {numeric}"
            );
        }
    }
}
