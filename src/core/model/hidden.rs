//! One hidden block: dense → (norm) → activation → (dropout) → (+ residual skip), forward and backward.
//!
//! The skip `out = h + block(h)` exists only when the block's input and output widths are equal;
//! blocks of unequal width (e.g. the first, `inputs → width`) have none even with `residual = true`.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use rand_chacha::ChaCha8Rng;

use super::emit::Emit;
use super::op_events::{NormPart, dense_forward, dense_grad_events, norm_op};
pub use super::sums::BufferSums;
use crate::core::float::Real;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::layers::dense::Dense;
use crate::core::layers::dropout::Dropout;
use crate::core::layers::norm::Norm;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;

/// A hidden block and its preallocated `[batch, width]` buffers.
#[derive(Debug, Clone)]
pub struct Hidden<T> {
    pub index: usize,
    pub dense: Dense,
    pub norm: Option<Norm<T>>,
    pub activation: Activation,
    pub dropout: Option<Dropout<T>>,
    /// Whether this block has a skip connection (`residual` asked for and widths equal).
    pub residual: bool,
    /// Dense output `z = h·W + b`.
    pub z: Array2<T>,
    /// Normalized `z` (empty without a norm).
    pub normed: Array2<T>,
    /// Activation output.
    pub a: Array2<T>,
    /// Output after dropout / skip (empty when there is neither: the output is then `a`).
    pub out: Array2<T>,
    /// `∂L/∂output`, filled by the next layer's backward pass.
    pub grad_out: Array2<T>,
    grad_a: Array2<T>,
    /// Frozen ReLU-family slopes (1, 0 or the leaky slope per sample and unit), set by
    /// [`crate::core::model::Model::freeze_activation_pattern`]; empty (the usual case) when the
    /// activation is applied as itself.
    pub frozen_slopes: Array2<T>,
    /// `∂L/∂(activation input)`.
    pub grad_pre: Array2<T>,
    /// `∂L/∂z` (empty without a norm: it is then `grad_pre`).
    pub grad_z: Array2<T>,
    norm_scratch: Array2<T>,
    /// Fast sums of this step's buffers, taken when [`crate::core::model::Model::measure_buffers`].
    pub sums: BufferSums,
    /// Per-unit scratch of the dead-unit scan (allocated at build, so steps never allocate).
    pub(super) unit_flags: Vec<u32>,
}

/// Options shared by every hidden block of a model.
#[derive(Debug, Clone, Copy)]
pub struct BlockOptions {
    pub activation: Activation,
    pub norm: NormKind,
    pub norm_eps: f64,
    pub residual: bool,
    pub dropout: f64,
}

fn buf<T: Real>(on: bool, batch: usize, width: usize) -> Array2<T> {
    if on {
        Array2::zeros((batch, width))
    } else {
        Array2::zeros((0, 0))
    }
}

impl<T: Real> Hidden<T> {
    pub fn new(
        params: &mut Params<T>,
        index: usize,
        fan_in: usize,
        width: usize,
        batch: usize,
        o: BlockOptions,
    ) -> Self {
        let dense = Dense::new(params, index, fan_in, width);
        let has_norm = o.norm != NormKind::None;
        let norm = has_norm.then(|| Norm::new(o.norm, params, index, width, batch, o.norm_eps));
        let dropout = (o.dropout > 0.0).then(|| Dropout::new(o.dropout, batch, width));
        let residual = o.residual && fan_in == width;
        let has_out = dropout.is_some() || residual;
        Hidden {
            index,
            dense,
            norm,
            activation: o.activation,
            residual,
            z: Array2::zeros((batch, width)),
            normed: buf(has_norm, batch, width),
            a: Array2::zeros((batch, width)),
            out: buf(has_out, batch, width),
            grad_out: Array2::zeros((batch, width)),
            grad_a: buf(dropout.is_some(), batch, width),
            frozen_slopes: Array2::zeros((0, 0)),
            grad_pre: Array2::zeros((batch, width)),
            grad_z: buf(has_norm, batch, width),
            norm_scratch: buf(has_norm, batch, width),
            sums: BufferSums::default(),
            unit_flags: vec![0; width],
            dropout,
        }
    }

    /// The block's output (input of the next layer).
    pub fn output(&self) -> ArrayView2<'_, T> {
        if self.out.is_empty() {
            self.a.view()
        } else {
            self.out.view()
        }
    }

    /// The activation's input: `normed` with a norm, else `z`.
    pub fn pre_activation(&self) -> ArrayView2<'_, T> {
        if self.norm.is_some() {
            self.normed.view()
        } else {
            self.z.view()
        }
    }

    pub fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        rng: Option<&mut ChaCha8Rng>,
        e: &mut Emit<'_, T>,
    ) {
        let l = Some(self.index);
        dense_forward(&self.dense, params, h, self.z.view_mut(), e);
        self.forward_norm(params, e);
        let pre = if self.norm.is_some() {
            self.normed.view()
        } else {
            self.z.view()
        };
        if self.frozen_slopes.is_empty() {
            self.activation.forward(pre, self.a.view_mut());
        } else {
            Zip::from(&mut self.a)
                .and(&pre)
                .and(&self.frozen_slopes)
                .for_each(|a, &z, &s| *a = z * s);
        }
        e.op(
            l,
            Op::Activation(self.activation),
            Phase::Forward,
            &[pre],
            self.a.view(),
        );
        self.forward_tail(h, rng, e);
    }

    /// Normalization and its affine part, when the block has a norm: `z → x̂ → normed`.
    fn forward_norm(&mut self, params: &Params<T>, e: &mut Emit<'_, T>) {
        let l = Some(self.index);
        if let Some(norm) = &mut self.norm {
            norm.normalize(self.z.view());
            e.op(
                l,
                norm_op(norm, NormPart::Normalize),
                Phase::Forward,
                &[self.z.view()],
                norm.xhat.view(),
            );
            norm.affine(params, self.normed.view_mut());
            e.op(
                l,
                norm_op(norm, NormPart::Affine),
                Phase::Forward,
                &[norm.xhat.view()],
                self.normed.view(),
            );
        }
    }

    /// Dropout (with a fresh mask when `rng` is given) and the residual skip: `a → out`.
    fn forward_tail(
        &mut self,
        h: ArrayView2<'_, T>,
        rng: Option<&mut ChaCha8Rng>,
        e: &mut Emit<'_, T>,
    ) {
        let l = Some(self.index);
        if let Some(d) = &mut self.dropout {
            if let Some(rng) = rng {
                d.resample(rng);
            }
            d.forward(self.a.view(), self.out.view_mut());
            e.op(
                l,
                Op::Dropout,
                Phase::Forward,
                &[self.a.view()],
                self.out.view(),
            );
        }
        if self.residual {
            if self.dropout.is_none() {
                self.out.assign(&self.a);
            }
            self.out += &h;
            e.op(l, Op::ResidualAdd, Phase::Forward, &[h], self.out.view());
        }
    }

    /// From `grad_out`, writes parameter gradients and `∂L/∂h` into `dh` (when `Some`).
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        h: ArrayView2<'_, T>,
        dh: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let l = Some(self.index);
        let grad_a = match &self.dropout {
            Some(d) => {
                d.backward(self.grad_out.view(), self.grad_a.view_mut());
                e.op(
                    l,
                    Op::DropoutBackward,
                    Phase::Backward,
                    &[self.grad_out.view()],
                    self.grad_a.view(),
                );
                self.grad_a.view()
            }
            None => self.grad_out.view(),
        };
        let pre = if self.norm.is_some() {
            self.normed.view()
        } else {
            self.z.view()
        };
        if self.frozen_slopes.is_empty() {
            self.activation
                .backward(pre, self.a.view(), grad_a, self.grad_pre.view_mut());
        } else {
            Zip::from(&mut self.grad_pre)
                .and(&grad_a)
                .and(&self.frozen_slopes)
                .for_each(|d, &g, &s| *d = g * s);
        }
        e.op(
            l,
            Op::ActivationBackward(self.activation),
            Phase::Backward,
            &[grad_a],
            self.grad_pre.view(),
        );
        self.backward_norm(params, e);
        let dz = if self.norm.is_some() {
            self.grad_z.view()
        } else {
            self.grad_pre.view()
        };
        self.dense
            .backward(params, h, dz, dh.map(|dh| (dh, T::zero())));
        dense_grad_events(&self.dense, params, h, dz, e);
    }

    /// The norm's backward pass, when the block has a norm: `∂normed → ∂z`.
    fn backward_norm(&mut self, params: &mut Params<T>, e: &mut Emit<'_, T>) {
        let l = Some(self.index);
        if let Some(norm) = &self.norm {
            norm.backward(
                params,
                self.grad_pre.view(),
                self.norm_scratch.view_mut(),
                self.grad_z.view_mut(),
            );
            e.op(
                l,
                norm_op(norm, NormPart::Backward),
                Phase::Backward,
                &[self.grad_pre.view()],
                self.grad_z.view(),
            );
        }
    }

    /// Adds the skip path's gradient `grad_out` to `dh` (after `backward` wrote the dense path's).
    pub fn add_skip_gradient(&self, mut dh: ArrayViewMut2<'_, T>) {
        if self.residual {
            Zip::from(&mut dh)
                .and(&self.grad_out)
                .for_each(|d, &g| *d += g);
        }
    }
}

impl<T: Real> Hidden<T> {
    /// This block's output (read) and its `grad_out` (write) at once, for the next layer's backward pass.
    pub fn output_and_grad_mut(&mut self) -> (ArrayView2<'_, T>, Option<ArrayViewMut2<'_, T>>) {
        let out = if self.out.is_empty() {
            self.a.view()
        } else {
            self.out.view()
        };
        (out, Some(self.grad_out.view_mut()))
    }
}
