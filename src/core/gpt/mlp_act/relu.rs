//! ReLU, `max(z, 0)`: the MLP core's own activation, with its dead-unit probe.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::MlpFn;
use crate::core::float::Real;
use crate::core::layers::activation::Activation;

/// ReLU as an MLP part (forward and backward are [`Activation::Relu`]'s).
#[derive(Debug, Clone, Copy)]
pub struct ReluFn;

impl MlpFn for ReluFn {
    /// A unit is dead when its output is 0 for every token of the batch.
    const UNITS: Option<Activation> = Some(Activation::Relu);

    fn forward<T: Real>(z: ArrayView2<'_, T>, a: ArrayViewMut2<'_, T>) {
        Activation::Relu.forward(z, a);
    }

    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        dz: ArrayViewMut2<'_, T>,
    ) {
        Activation::Relu.backward(z, a, da, dz);
    }
}
