//! How a block's ops are named and reported to the observer: the op names the NaN-origin replay
//! prints (`dense.matmul`, `layernorm.normalize`, ...) and the events of the dense layers.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::emit::Emit;
use crate::core::float::Real;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::layers::dense::Dense;
use crate::core::layers::norm::Norm;
use crate::core::observer::Phase;
use crate::core::params::Params;

pub(super) fn norm_op<T: Real>(norm: &Norm<T>, part: &str) -> &'static str {
    match (norm.kind, part) {
        (NormKind::Batchnorm, "normalize") => "batchnorm.normalize",
        (NormKind::Batchnorm, "affine") => "batchnorm.affine",
        (NormKind::Batchnorm, _) => "batchnorm.backward",
        (_, "normalize") => "layernorm.normalize",
        (_, "affine") => "layernorm.affine",
        _ => "layernorm.backward",
    }
}

pub(super) fn activation_backward_op(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu.backward",
        Activation::LeakyRelu => "leaky-relu.backward",
        Activation::Gelu => "gelu.backward",
        Activation::Tanh => "tanh.backward",
        Activation::Sigmoid => "sigmoid.backward",
        Activation::Softplus => "softplus.backward",
        Activation::Identity => "identity.backward",
    }
}

/// `z = h·W + b` as two ops, each reported to the observer.
pub(super) fn dense_forward<T: Real>(
    dense: &Dense,
    params: &Params<T>,
    h: ArrayView2<'_, T>,
    mut z: ArrayViewMut2<'_, T>,
    e: &mut Emit<'_, T>,
) {
    let l = Some(dense.layer);
    dense.matmul(params, h, z.view_mut());
    e.op(
        l,
        "dense.matmul",
        Phase::Forward,
        &[h, params.value(dense.weight)],
        z.view(),
    );
    dense.add_bias(params, z.view_mut());
    e.op(
        l,
        "dense.bias",
        Phase::Forward,
        &[params.value(dense.bias)],
        z.view(),
    );
}

/// Reports a dense layer's weight and bias gradients (computed by [`Dense::backward`]).
pub(super) fn dense_grad_events<T: Real>(
    dense: &Dense,
    params: &Params<T>,
    h: ArrayView2<'_, T>,
    dz: ArrayView2<'_, T>,
    e: &mut Emit<'_, T>,
) {
    let l = Some(dense.layer);
    e.op(
        l,
        "dense.grad_weight",
        Phase::Backward,
        &[h, dz],
        params.grad(dense.weight),
    );
    e.op(
        l,
        "dense.grad_bias",
        Phase::Backward,
        &[dz],
        params.grad(dense.bias),
    );
}
