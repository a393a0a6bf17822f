//! The GPT's projection, norm and MLP activation as [`Part`]s, each reporting under its own layer.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::MlpActivation;
use super::linear::Linear;
use super::rownorm::RowNorm;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;
use crate::core::part::{Io, Part, frozen};

impl<T: Real> Part<T> for Linear {
    fn out_width(&self, _: usize) -> usize {
        self.fan_out
    }

    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        self.forward_reported(params, x, y, e, self.at);
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let dx = dx.map(|d| (d, T::zero()));
        self.backward_reported(params, io.x, dy, false, dx, e, self.at);
    }
}

impl<T: Real> Part<T> for RowNorm<T> {
    fn out_width(&self, width: usize) -> usize {
        width
    }

    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        self.forward_reported(params, x, y, e, self.at);
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        _: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        // Every GPT norm's input gradient is needed; a norm asked for none still owes dγ, dβ.
        let mut own = Array2::zeros((0, 0));
        let dx = dx.unwrap_or_else(|| {
            own = Array2::zeros(dy.dim());
            own.view_mut()
        });
        self.backward_reported(params, dy, dx, false, e, self.at);
    }
}

/// The MLP's activation (`act(fc1(x))`), which can be frozen at a point for finite-difference
/// Hessian-vector products (see [`super::Gpt::freeze_activation_pattern`]).
#[derive(Debug, Clone)]
pub struct MlpAct<T> {
    pub act: MlpActivation,
    /// Reported under `mlp.fc1`, whose units these are.
    pub at: usize,
    /// The output width (SwiGLU's input is twice it).
    pub hidden: usize,
    /// ReLU slopes (1 or 0 per token and unit); empty (the usual case) when applied as itself.
    pub frozen_slopes: Array2<T>,
}

impl<T: Real> MlpAct<T> {
    pub fn new(act: MlpActivation, at: usize, hidden: usize) -> Self {
        MlpAct {
            act,
            at,
            hidden,
            frozen_slopes: Array2::zeros((0, 0)),
        }
    }

    /// Freezes (`true`) a ReLU MLP's pattern at the pre-activations `z`, or releases it. Other
    /// activations are smooth (relu2 is C¹) and stay as they are. Allocates only when freezing.
    pub fn freeze(&mut self, z: ArrayView2<'_, T>, freeze: bool) {
        self.frozen_slopes = match freeze && self.act == MlpActivation::Relu {
            true => z.mapv(|z| if z > T::zero() { T::one() } else { T::zero() }),
            false => Array2::zeros((0, 0)),
        };
    }
}

impl<T: Real> Part<T> for MlpAct<T> {
    fn out_width(&self, _: usize) -> usize {
        self.hidden
    }

    fn forward(
        &mut self,
        _: &Params<T>,
        z: ArrayView2<'_, T>,
        mut a: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let act = self.act;
        frozen::forward(&self.frozen_slopes, z, a.view_mut(), |z, a| {
            act.forward(z, a)
        });
        let op = Op::MlpActivation(self.act);
        e.op(Some(self.at), op, Phase::Forward, &[z], a.view());
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
        let act = self.act;
        let live = |da, dz| act.backward(io.x, io.y, da, dz);
        frozen::backward(&self.frozen_slopes, da, dz.view_mut(), live);
        let op = Op::MlpActivationBackward(self.act);
        e.op(Some(self.at), op, Phase::Backward, &[da], dz.view());
    }
}
