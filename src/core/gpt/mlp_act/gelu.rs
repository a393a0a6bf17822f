//! Exact GELU, `z·Φ(z)` (PyTorch's default `nn.GELU()`): the MLP core's own activation.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::MlpFn;
use crate::core::float::Real;
use crate::core::layers::activation::Activation;

/// Exact GELU as an MLP part (forward and backward are [`Activation::Gelu`]'s).
#[derive(Debug, Clone, Copy)]
pub struct GeluFn;

impl MlpFn for GeluFn {
    fn forward<T: Real>(z: ArrayView2<'_, T>, a: ArrayViewMut2<'_, T>) {
        Activation::Gelu.forward(z, a);
    }

    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        dz: ArrayViewMut2<'_, T>,
    ) {
        Activation::Gelu.backward(z, a, da, dz);
    }
}
