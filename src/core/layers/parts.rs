//! The MLP's layers as [`Part`]s: dense, layernorm/batchnorm, activation, dropout.
//!
//! Each part reports the ops the NaN-origin replay names (`dense.matmul`, `layernorm.affine`,
//! ...) under its layer. A dense part's input gradient is reported by the model, which knows
//! when the skip path's share has been added (`dense.grad_input` is the whole of `∂L/∂h`).

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::activation::Activation;
use super::dense::Dense;
use super::dropout::Dropout;
use super::norm::Norm;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;
use crate::core::part::{Io, Part, frozen};

impl<T: Real> Part<T> for Dense {
    fn out_width(&self, _: usize) -> usize {
        self.fan_out
    }

    /// `z = h·W + b` as two ops, so provenance can tell the product from the bias.
    fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        mut z: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let l = Some(self.layer);
        self.matmul(params, h, z.view_mut());
        let w = params.value(self.weight);
        e.op(l, Op::DenseMatmul, Phase::Forward, &[h, w], z.view());
        self.add_bias(params, z.view_mut());
        let b = params.value(self.bias);
        e.op(l, Op::DenseBias, Phase::Forward, &[b], z.view());
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dz: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        Dense::backward(self, params, io.x, dz, dx.map(|d| (d, T::zero())));
        let (l, back) = (Some(self.layer), Phase::Backward);
        let dw = params.grad(self.weight);
        e.op(l, Op::DenseGradWeight, back, &[io.x, dz], dw);
        e.op(l, Op::DenseGradBias, back, &[dz], params.grad(self.bias));
    }
}

impl<T: Real> Part<T> for Norm<T> {
    fn out_width(&self, width: usize) -> usize {
        width
    }

    /// `z → x̂ → γ ⊙ x̂ + β`, reported as `<norm>.normalize` then `<norm>.affine`.
    fn forward(
        &mut self,
        params: &Params<T>,
        z: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let l = Some(self.layer);
        self.normalize(z);
        let op = Op::NormNormalize(self.kind);
        e.op(l, op, Phase::Forward, &[z], self.xhat.view());
        self.affine(params, y.view_mut());
        let op = Op::NormAffine(self.kind);
        e.op(l, op, Phase::Forward, &[self.xhat.view()], y.view());
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        _: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        // A norm first in a chain that needs no input gradient still owes its γ, β gradients;
        // no model builds one (a dense part always comes first), so this never allocates in a step.
        let mut own = Array2::zeros((0, 0));
        let mut dz = dx.unwrap_or_else(|| {
            own = Array2::zeros(dy.dim());
            own.view_mut()
        });
        let mut scratch = std::mem::take(&mut self.scratch);
        Norm::backward(self, params, dy, scratch.view_mut(), dz.view_mut());
        self.scratch = scratch;
        let op = Op::NormBackward(self.kind);
        e.op(Some(self.layer), op, Phase::Backward, &[dy], dz.view());
    }
}

/// An elementwise activation of an MLP block, which can be frozen at a point: frozen, it computes
/// `s ⊙ z` with the slopes `s = f'(z₀)` of the pre-activations `z₀` it was frozen at (see
/// [`crate::core::model::Model::freeze_activation_pattern`]).
#[derive(Debug, Clone)]
pub struct Act<T> {
    pub activation: Activation,
    pub layer: usize,
    /// Frozen slopes, `[batch, width]`; empty (the usual case) when applied as itself.
    pub frozen_slopes: Array2<T>,
}

impl<T: Real> Act<T> {
    pub fn new(activation: Activation, layer: usize) -> Self {
        Act {
            activation,
            layer,
            frozen_slopes: Array2::zeros((0, 0)),
        }
    }

    /// Freezes a ReLU-family activation at the pre-activations `z` (`freeze`), or releases it.
    /// Smooth activations stay as they are. Allocates only when freezing.
    pub fn freeze(&mut self, z: ArrayView2<'_, T>, freeze: bool) {
        let act = self.activation;
        self.frozen_slopes = match freeze && act.is_relu_family() {
            true => z.mapv(|z| act.derivative(z, z)),
            false => Array2::zeros((0, 0)),
        };
    }
}

impl<T: Real> Part<T> for Act<T> {
    fn out_width(&self, width: usize) -> usize {
        width
    }

    fn forward(
        &mut self,
        _: &Params<T>,
        z: ArrayView2<'_, T>,
        mut a: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let act = self.activation;
        frozen::forward(&self.frozen_slopes, z, a.view_mut(), |z, a| {
            act.forward(z, a)
        });
        let op = Op::Activation(self.activation);
        e.op(Some(self.layer), op, Phase::Forward, &[z], a.view());
    }

    fn backward(
        &mut self,
        _: &mut Params<T>,
        io: Io<'_, T>,
        da: ArrayView2<'_, T>,
        dz: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let Some(mut dz) = dz else {
            return;
        };
        let act = self.activation;
        let live = |da, dz| act.backward(io.x, io.y, da, dz);
        frozen::backward(&self.frozen_slopes, da, dz.view_mut(), live);
        let op = Op::ActivationBackward(self.activation);
        e.op(Some(self.layer), op, Phase::Backward, &[da], dz.view());
    }
}

impl<T: Real> Part<T> for Dropout<T> {
    fn out_width(&self, width: usize) -> usize {
        width
    }

    /// `y = x ⊙ m` with the current mask (drawn by the model before the forward pass).
    fn forward(
        &mut self,
        _: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        Dropout::forward(self, x, y.view_mut());
        e.op(
            Some(self.layer),
            Op::Dropout,
            Phase::Forward,
            &[x],
            y.view(),
        );
    }

    fn backward(
        &mut self,
        _: &mut Params<T>,
        _: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let Some(mut dx) = dx else {
            return;
        };
        Dropout::backward(self, dy, dx.view_mut());
        let op = Op::DropoutBackward;
        e.op(Some(self.layer), op, Phase::Backward, &[dy], dx.view());
    }
}
