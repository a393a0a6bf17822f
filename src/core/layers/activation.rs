//! Elementwise activations: forward `a = f(z)` and backward `dz = f'(z) ⊙ da`, side by side.
//!
//! Formulas (PyTorch defaults): relu `max(z, 0)`; leaky-relu slope 0.01 below zero; gelu the exact
//! erf form `z·Φ(z)`; tanh; sigmoid computed from `exp(-|z|)` so neither tail overflows; softplus
//! `max(z, 0) + ln(1 + exp(-|z|))` (exact everywhere, no PyTorch-style threshold); identity.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::float::Real;

/// Slope of leaky-relu for negative inputs (PyTorch's default).
pub const LEAKY_SLOPE: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    LeakyRelu,
    Gelu,
    Tanh,
    Sigmoid,
    Softplus,
    Identity,
}

impl Activation {
    /// Op name used in events and records.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky-relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
        }
    }

    /// Units of the ReLU family can die (output 0 for every input).
    pub fn is_relu_family(self) -> bool {
        matches!(self, Activation::Relu | Activation::LeakyRelu)
    }

    /// Units of tanh and sigmoid can saturate (local derivative near 0).
    pub fn can_saturate(self) -> bool {
        matches!(self, Activation::Tanh | Activation::Sigmoid)
    }

    #[inline]
    pub fn apply<T: Real>(self, z: T) -> T {
        match self {
            Activation::Relu => z.max(T::zero()),
            Activation::LeakyRelu => {
                if z > T::zero() {
                    z
                } else {
                    z * T::of(LEAKY_SLOPE)
                }
            }
            Activation::Gelu => T::of(gelu(z.wide())),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Softplus => z.max(T::zero()) + (-z.abs()).exp().ln_1p(),
            Activation::Identity => z,
        }
    }

    /// `f'(z)`, given `z` and `a = f(z)` (tanh and sigmoid reuse `a`).
    #[inline]
    pub fn derivative<T: Real>(self, z: T, a: T) -> T {
        match self {
            Activation::Relu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::of(LEAKY_SLOPE)
                }
            }
            Activation::Gelu => T::of(gelu_derivative(z.wide())),
            Activation::Tanh => T::one() - a * a,
            Activation::Sigmoid => a * (T::one() - a),
            Activation::Softplus => sigmoid(z),
            Activation::Identity => T::one(),
        }
    }

    /// `a = f(z)` elementwise.
    pub fn forward<T: Real>(self, z: ArrayView2<'_, T>, mut a: ArrayViewMut2<'_, T>) {
        Zip::from(&mut a)
            .and(&z)
            .for_each(|a, &z| *a = self.apply(z));
    }

    /// `dz = f'(z) ⊙ da` elementwise.
    pub fn backward<T: Real>(
        self,
        z: ArrayView2<'_, T>,
        a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        mut dz: ArrayViewMut2<'_, T>,
    ) {
        Zip::from(&mut dz)
            .and(&z)
            .and(&a)
            .and(&da)
            .for_each(|dz, &z, &a, &da| *dz = self.derivative(z, a) * da);
    }
}

/// Logistic function from `exp(-|z|)`: never overflows, and `sigmoid(±big)` is exactly 1 or 0.
#[inline]
pub fn sigmoid<T: Real>(z: T) -> T {
    let e = (-z.abs()).exp();
    if z >= T::zero() {
        T::one() / (T::one() + e)
    } else {
        e / (T::one() + e)
    }
}

/// Exact GELU. `libm::erf` (musl's, < 1 ulp) rather than statrs's, which is off by ~1e-11 at z = 1.
fn gelu(z: f64) -> f64 {
    0.5 * z * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

fn gelu_derivative(z: f64) -> f64 {
    let cdf = 0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2));
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    cdf + z * pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Identity,
    ];

    #[test]
    fn test_sigmoid_overflow() {
        assert_eq!(sigmoid(f32::MAX), 1.0);
        assert_eq!(sigmoid(f32::MIN), 0.0);
        assert_eq!(sigmoid(1e4f64), 1.0);
    }

    #[test]
    fn softplus_is_finite_and_exact_in_both_tails() {
        assert_eq!(Activation::Softplus.apply(1e4f32), 1e4);
        assert_eq!(Activation::Softplus.apply(-1e4f32), 0.0);
        let x = 0.3f64;
        assert!((Activation::Softplus.apply(x) - (1.0 + x.exp()).ln()).abs() < 1e-15);
    }

    #[test]
    fn known_values() {
        assert_eq!(Activation::Relu.apply(-2.0f64), 0.0);
        assert_eq!(Activation::LeakyRelu.apply(-2.0f64), -0.02);
        // GELU(1) = Φ(1) = 0.8413447460685429
        assert!((Activation::Gelu.apply(1.0f64) - 0.841_344_746_068_542_9).abs() < 1e-12);
        assert!((Activation::Tanh.derivative(0.0f64, 0.0) - 1.0).abs() < 1e-15);
        assert!((Activation::Sigmoid.derivative(0.0f64, 0.5) - 0.25).abs() < 1e-15);
    }

    #[test]
    fn derivative_matches_central_difference_in_f64() {
        // Points avoid the kinks of relu/leaky-relu at 0.
        let h = 1e-5;
        for act in ALL {
            for &z in &[-3.1f64, -0.7, -0.05, 0.05, 0.4, 2.2, 6.0] {
                let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let analytic = act.derivative(z, act.apply(z));
                let err = (numeric - analytic).abs() / analytic.abs().max(1e-3);
                assert!(err < 1e-8, "{act:?} at {z}: {analytic} vs {numeric}");
            }
        }
    }
}
