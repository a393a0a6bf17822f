//! The finite-difference gradient checker: central differences in f64 against an analytic gradient.
//!
//! Written once and applied to every op, every loss and whole models. "Close" has one definition
//! ([`Tolerance::close`]): NaN is never close, and infinities are close only to an equal infinity.

use std::fmt;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::params::Params;

/// Relative step of the central difference: `h = STEP · max(1, |x|)`.
pub const STEP: f64 = 1e-5;

/// `|a − b| ≤ absolute + relative · max(|a|, |b|)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub relative: f64,
    pub absolute: f64,
}

impl Tolerance {
    /// For gradient checks of smooth f64 ops with `h = 1e-5`: the central difference's truncation
    /// error is O(h²) ≈ 1e-10 and its rounding error ≈ 1e-16/h ≈ 1e-11 (relative to the loss scale),
    /// so 1e-6 relative plus 1e-8 absolute leaves two orders of margin without hiding a wrong formula.
    pub const GRADCHECK: Tolerance = Tolerance {
        relative: 1e-6,
        absolute: 1e-8,
    };

    pub fn close(&self, a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return false;
        }
        if a.is_infinite() || b.is_infinite() {
            return a == b;
        }
        (a - b).abs() <= self.absolute + self.relative * a.abs().max(b.abs())
    }

    /// How far over the tolerance `a` and `b` are (≤ 1 means close).
    fn excess(&self, a: f64, b: f64) -> f64 {
        if !self.close(a, b) && !(a - b).is_finite() {
            return f64::INFINITY;
        }
        (a - b).abs() / (self.absolute + self.relative * a.abs().max(b.abs()))
    }
}

/// The outcome of one gradient check, with the worst element.
#[derive(Debug, Clone)]
pub struct GradCheck {
    pub analytic: Vec<f64>,
    pub numeric: Vec<f64>,
    /// Index of the element farthest over the tolerance (relative to `GRADCHECK`-style scaling).
    pub worst_index: usize,
}

impl GradCheck {
    pub fn passed(&self, tol: Tolerance) -> bool {
        !self.analytic.is_empty()
            && self
                .analytic
                .iter()
                .zip(&self.numeric)
                .all(|(&a, &n)| tol.close(a, n))
    }

    fn find_worst(&mut self, tol: Tolerance) {
        let mut worst = (0, -1.0);
        for (i, (&a, &n)) in self.analytic.iter().zip(&self.numeric).enumerate() {
            let e = tol.excess(a, n);
            if e > worst.1 || e.is_nan() {
                worst = (i, e);
            }
        }
        self.worst_index = worst.0;
    }
}

impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.worst_index;
        match (self.analytic.get(i), self.numeric.get(i)) {
            (Some(a), Some(n)) => write!(
                f,
                "{} elements checked; worst at index {i}: analytic {a:e}, numeric {n:e}, |diff| {:e}",
                self.analytic.len(),
                (a - n).abs()
            ),
            _ => write!(f, "no elements checked"),
        }
    }
}

/// Central-difference gradient of `f` at `x0`, compared with `analytic`.
pub fn check(mut f: impl FnMut(&[f64]) -> f64, x0: &[f64], analytic: &[f64]) -> GradCheck {
    let mut x = x0.to_vec();
    let numeric = (0..x.len())
        .map(|i| {
            let h = STEP * x0[i].abs().max(1.0);
            x[i] = x0[i] + h;
            let up = f(&x);
            x[i] = x0[i] - h;
            let down = f(&x);
            x[i] = x0[i];
            (up - down) / (2.0 * h)
        })
        .collect();
    let mut report = GradCheck {
        analytic: analytic.to_vec(),
        numeric,
        worst_index: 0,
    };
    report.find_worst(Tolerance::GRADCHECK);
    report
}

/// An op under test: `forward(params, x, out)`, and with `Some((dout, dx))` also its backward pass
/// (writing parameter gradients into `params.grads` and the input gradient into `dx`).
pub type OpUnderTest<'a> = dyn FnMut(
        &mut Params<f64>,
        &Array2<f64>,
        &mut Array2<f64>,
        Option<(&Array2<f64>, &mut Array2<f64>)>,
    ) + 'a;

/// Checks an op's gradients with respect to its input and all its parameters, through the scalar
/// `L = Σ r ⊙ op(x)` with fixed Gaussian weights `r`.
#[allow(clippy::expect_used)] // invariant: `v` is x0, whose first n_x values are x
pub fn check_op(
    params: &Params<f64>,
    x: &Array2<f64>,
    out_shape: (usize, usize),
    op: &mut OpUnderTest<'_>,
) -> GradCheck {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let r = Array2::from_shape_fn(out_shape, |_| StandardNormal.sample(&mut rng));
    let mut out = Array2::zeros(out_shape);
    let mut dx = Array2::zeros(x.dim());
    let mut p = params.clone();
    op(&mut p, x, &mut out, Some((&r, &mut dx)));
    let mut analytic: Vec<f64> = dx.iter().copied().collect();
    analytic.extend_from_slice(&p.grads);

    let n_x = x.len();
    let mut x0: Vec<f64> = x.iter().copied().collect();
    x0.extend_from_slice(&params.values);
    check(
        |v| {
            let xs = Array2::from_shape_vec(x.dim(), v[..n_x].to_vec()).expect("same length as x");
            let mut p = params.clone();
            p.values.copy_from_slice(&v[n_x..]);
            let mut out = Array2::zeros(out_shape);
            op(&mut p, &xs, &mut out, None);
            (&out * &r).sum()
        },
        &x0,
        &analytic,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_never_accepts_nan_and_infinities_only_when_equal() {
        let t = Tolerance::GRADCHECK;
        assert!(!t.close(f64::NAN, f64::NAN));
        assert!(t.close(f64::INFINITY, f64::INFINITY));
        assert!(!t.close(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!t.close(1e308, f64::INFINITY));
        assert!(t.close(1.0, 1.0 + 5e-7));
        assert!(!t.close(1.0, 1.0 + 5e-6));
    }

    #[test]
    fn checker_catches_a_wrong_gradient() {
        // f(x) = x0² · x1, ∇f = (2 x0 x1, x0²)
        let f = |x: &[f64]| x[0] * x[0] * x[1];
        let good = check(f, &[1.5, -2.0], &[-6.0, 2.25]);
        assert!(good.passed(Tolerance::GRADCHECK), "{good}");
        let bad = check(f, &[1.5, -2.0], &[-6.0, 2.2]);
        assert!(!bad.passed(Tolerance::GRADCHECK));
        assert_eq!(bad.worst_index, 1);
    }
}
