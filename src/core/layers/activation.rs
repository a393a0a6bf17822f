//! Elementwise activations: forward `a = f(z)` and backward `dz = f'(z) ⊙ da`, side by side.
//!
//! Formulas (PyTorch defaults): relu `max(z, 0)`; leaky-relu slope 0.01 below zero; gelu the exact
//! erf form `z·Φ(z)`; tanh; sigmoid computed from `exp(-|z|)` so neither tail overflows; softplus
//! `max(z, 0) + ln(1 + exp(-|z|))` (exact everywhere, no PyTorch-style threshold); identity.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::float::Real;
use crate::core::simd::{Kernel, vectorized};

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
    /// Every activation, for tests and sweeps that go through them all.
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Identity,
    ];

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

    #[inline]
    pub fn apply<T: Real>(self, z: T) -> T {
        match self {
            Activation::Relu => positive_part(z),
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
            Activation::Softplus => positive_part(z) + (-z.abs()).exp().ln_1p(),
            Activation::Identity => z,
        }
    }

    /// `f'(z)`, given `z` and `a = f(z)` (tanh and sigmoid reuse `a`).
    #[inline]
    pub fn derivative<T: Real>(self, z: T, a: T) -> T {
        match self {
            // PyTorch's threshold_backward: only `z <= 0` blocks, so a NaN input passes its gradient.
            Activation::Relu => {
                if z <= T::zero() {
                    T::zero()
                } else {
                    T::one()
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
        match (z.as_slice(), a.as_slice_mut()) {
            (Some(z), Some(a)) => vectorized(Forward { act: self, z, a }),
            _ => Zip::from(&mut a)
                .and(&z)
                .for_each(|a, &z| *a = self.apply(z)),
        }
    }

    /// `dz = f'(z) ⊙ da` elementwise.
    pub fn backward<T: Real>(
        self,
        z: ArrayView2<'_, T>,
        a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        mut dz: ArrayViewMut2<'_, T>,
    ) {
        match (z.as_slice(), a.as_slice(), da.as_slice(), dz.as_slice_mut()) {
            (Some(z), Some(a), Some(da), Some(dz)) => vectorized(Backward {
                act: self,
                z,
                a,
                da,
                dz,
            }),
            _ => Zip::from(&mut dz)
                .and(&z)
                .and(&a)
                .and(&da)
                .for_each(|dz, &z, &a, &da| *dz = self.derivative(z, a) * da),
        }
    }
}

/// `max(z, 0)` that keeps NaN (`f32::max` would turn `max(NaN, 0)` into 0 and hide it).
#[inline(always)]
pub fn positive_part<T: Real>(z: T) -> T {
    if z <= T::zero() { T::zero() } else { z }
}

/// The forward loop, one specialised loop per activation so the cheap ones vectorize and none
/// branches per element on the activation kind (a per-element match cost 5 ns/element).
struct Forward<'a, T> {
    act: Activation,
    z: &'a [T],
    a: &'a mut [T],
}

impl<T: Real> Kernel for Forward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Forward { act, z, a } = self;
        let slope = T::of(LEAKY_SLOPE);
        let each =
            |f: &dyn Fn(T) -> T, a: &mut [T]| a.iter_mut().zip(z).for_each(|(a, &z)| *a = f(z));
        match act {
            Activation::Relu => a
                .iter_mut()
                .zip(z)
                .for_each(|(a, &z)| *a = positive_part(z)),
            Activation::LeakyRelu => a
                .iter_mut()
                .zip(z)
                .for_each(|(a, &z)| *a = if z > T::zero() { z } else { z * slope }),
            Activation::Identity => a.copy_from_slice(z),
            other => each(&|z| other.apply(z), a),
        }
    }
}

struct Backward<'a, T> {
    act: Activation,
    z: &'a [T],
    a: &'a [T],
    da: &'a [T],
    dz: &'a mut [T],
}

impl<T: Real> Kernel for Backward<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Backward { act, z, a, da, dz } = self;
        let slope = T::of(LEAKY_SLOPE);
        let zs = z.iter().zip(da);
        match act {
            Activation::Relu => dz
                .iter_mut()
                .zip(zs)
                .for_each(|(dz, (&z, &d))| *dz = if z <= T::zero() { T::zero() } else { d }),
            Activation::LeakyRelu => dz
                .iter_mut()
                .zip(zs)
                .for_each(|(dz, (&z, &d))| *dz = if z > T::zero() { d } else { d * slope }),
            Activation::Identity => dz.copy_from_slice(da),
            Activation::Tanh => dz
                .iter_mut()
                .zip(a.iter().zip(da))
                .for_each(|(dz, (&a, &d))| *dz = (T::one() - a * a) * d),
            Activation::Sigmoid => dz
                .iter_mut()
                .zip(a.iter().zip(da))
                .for_each(|(dz, (&a, &d))| *dz = a * (T::one() - a) * d),
            other => dz
                .iter_mut()
                .zip(zs.zip(a))
                .for_each(|(dz, ((&z, &d), &a))| *dz = other.derivative(z, a) * d),
        }
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
#[path = "activation_tests.rs"]
mod tests;
