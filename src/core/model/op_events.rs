//! How a block's ops are reported to the observer: the op names the NaN-origin replay
//! prints (`dense.matmul`, `layernorm.normalize`, ...) and the events of the dense layers.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::emit::Emit;
use crate::core::float::Real;
use crate::core::layers::dense::Dense;
use crate::core::layers::norm::Norm;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;

/// The part of a norm layer an event reports.
#[derive(Clone, Copy)]
pub(super) enum NormPart {
    Normalize,
    Affine,
    Backward,
}

pub(super) fn norm_op<T: Real>(norm: &Norm<T>, part: NormPart) -> Op {
    match part {
        NormPart::Normalize => Op::NormNormalize(norm.kind),
        NormPart::Affine => Op::NormAffine(norm.kind),
        NormPart::Backward => Op::NormBackward(norm.kind),
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
        Op::DenseMatmul,
        Phase::Forward,
        &[h, params.value(dense.weight)],
        z.view(),
    );
    dense.add_bias(params, z.view_mut());
    e.op(
        l,
        Op::DenseBias,
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
        Op::DenseGradWeight,
        Phase::Backward,
        &[h, dz],
        params.grad(dense.weight),
    );
    e.op(
        l,
        Op::DenseGradBias,
        Phase::Backward,
        &[dz],
        params.grad(dense.bias),
    );
}
