//! One hidden block, a composition of parts: `Dense → (Norm) → Activation → (Dropout)`, with a
//! residual skip around it when its input and output widths are equal.
//!
//! Blocks of unequal width (e.g. the first, `inputs → width`) have no skip even with
//! `residual = true`. The block owns its output and `∂L/∂output`; the chain owns the rest.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand_chacha::ChaCha8Rng;

use super::emit::Emit;
pub use super::sums::BufferSums;
use crate::core::float::Real;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::layers::dense::Dense;
use crate::core::layers::dropout::Dropout;
use crate::core::layers::norm::Norm;
use crate::core::layers::parts::Act;
use crate::core::observer::{CastOp, CastSite};
use crate::core::params::Params;
use crate::core::part::cast::slice_mut;
use crate::core::part::{Downcast, Io, Layer, Part, Residual, Sequential};
use crate::core::precision::Half;
use crate::core::precision::policy::{Policy, Role};

/// A block's composition: the chain alone, or the chain inside a skip connection.
#[derive(Debug, Clone)]
pub enum Body<T> {
    Chain(Sequential<T>),
    Skip(Residual<T>),
}

impl<T: Real> Body<T> {
    pub fn chain(&self) -> &Sequential<T> {
        match self {
            Body::Chain(c) => c,
            Body::Skip(r) => &r.branch,
        }
    }

    fn chain_mut(&mut self) -> &mut Sequential<T> {
        match self {
            Body::Chain(c) => c,
            Body::Skip(r) => &mut r.branch,
        }
    }

    fn as_part(&mut self) -> &mut dyn Part<T> {
        match self {
            Body::Chain(c) => c,
            Body::Skip(r) => r,
        }
    }
}

/// A hidden block, its output and the gradient flowing into it.
#[derive(Debug, Clone)]
pub struct Hidden<T> {
    pub index: usize,
    /// The block's dense part (segment indices; the part itself lives in `body`).
    pub dense: Dense,
    pub activation: Activation,
    /// Whether this block has a skip connection (`residual` asked for and widths equal).
    pub residual: bool,
    pub body: Body<T>,
    /// Where `Act` sits in the chain (after the dense part and the norm, if any).
    act_at: usize,
    /// The block's output, `[batch, width]`.
    pub out: Array2<T>,
    /// `∂L/∂output`, filled by the next layer's backward pass.
    pub grad_out: Array2<T>,
    /// Fast sums of this step's buffers, taken when [`crate::core::model::Model::measure_buffers`].
    pub sums: BufferSums,
    /// Per-unit scratch of the dead-unit scan (allocated at build, so steps never allocate).
    pub(super) unit_flags: Vec<u32>,
    /// Under a 16-bit policy, the format of a skip block's output (a chain rounds its own).
    skip_out16: Option<Half>,
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
        let mut parts: Vec<Layer<T>> = vec![dense.clone().into()];
        if o.norm != NormKind::None {
            parts.push(Norm::new(o.norm, params, index, width, batch, o.norm_eps).into());
        }
        let act_at = parts.len();
        parts.push(Act::new(o.activation, index).into());
        if o.dropout > 0.0 {
            parts.push(Dropout::new(o.dropout, index, batch, width).into());
        }
        let chain = Sequential::new(batch, fan_in, parts);
        let residual = o.residual && fan_in == width;
        let body = match residual {
            true => Body::Skip(Residual::new(batch, width, chain, (index, index))),
            false => Body::Chain(chain),
        };
        Hidden {
            index,
            dense,
            activation: o.activation,
            residual,
            body,
            act_at,
            out: Array2::zeros((batch, width)),
            grad_out: Array2::zeros((batch, width)),
            sums: BufferSums::default(),
            unit_flags: vec![0; width],
            skip_out16: None,
        }
    }

    /// Rounds as `policy` says for an input that is 16-bit when `input16`; returns whether the
    /// block's output is 16-bit (a skip's add runs in its inputs' format).
    pub fn set_policy(
        &mut self,
        policy: Policy,
        rows: usize,
        input16: bool,
        keep: &[usize],
    ) -> bool {
        match &mut self.body {
            Body::Chain(c) => c.set_policy(policy, rows, input16, keep),
            Body::Skip(r) => {
                r.branch.set_policy(policy, rows, input16, keep);
                let kept = keep.contains(&self.index);
                let out16 = !kept && policy.output16(Role::Elementwise, input16);
                self.skip_out16 = out16.then_some(policy.half);
                out16
            }
        }
    }

    /// The block's output (input of the next layer).
    pub fn output(&self) -> ArrayView2<'_, T> {
        self.out.view()
    }

    /// The activation's input: the norm's output with a norm, else `z = h·W + b`.
    pub fn pre_activation(&self) -> ArrayView2<'_, T> {
        self.body.chain().outs[self.act_at - 1].view()
    }

    /// The activation's output.
    pub fn post_activation(&self) -> ArrayView2<'_, T> {
        let end = match &self.body {
            Body::Chain(_) => self.out.view(),
            Body::Skip(r) => r.branch_out.view(),
        };
        self.body.chain().output(self.act_at, end)
    }

    /// `out = block(h)`, drawing a fresh dropout mask first when `rng` is given.
    pub fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        rng: Option<&mut ChaCha8Rng>,
        e: &mut Emit<'_, T>,
    ) {
        if let Some(rng) = rng {
            let chain = self.body.chain_mut();
            let dropout = chain
                .parts
                .iter_mut()
                .find_map(Downcast::<Dropout<T>>::get_mut);
            if let Some(d) = dropout {
                d.resample(rng);
            }
        }
        self.body
            .as_part()
            .forward(params, h, self.out.view_mut(), e);
        if let Some(half) = self.skip_out16 {
            let info = (Some(self.index), CastOp::ResidualAdd, CastSite::Forward);
            e.round(half, slice_mut(&mut self.out), info);
        }
    }

    /// From `grad_out`, writes parameter gradients and `∂L/∂h` (the skip's share included) into
    /// `dh` when given.
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        h: ArrayView2<'_, T>,
        dh: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        if let Some(half) = self.skip_out16 {
            let info = (Some(self.index), CastOp::ResidualAdd, CastSite::Backward);
            e.round(half, slice_mut(&mut self.grad_out), info);
        }
        let io = Io {
            x: h,
            y: self.out.view(),
        };
        let dy = self.grad_out.view();
        self.body.as_part().backward(params, io, dy, dh, e);
    }

    /// Freezes (`true`) or releases the activation's pattern at the last forward pass.
    pub fn freeze_activation_pattern(&mut self, freeze: bool) {
        let chain = self.body.chain_mut();
        if let Some((part, z)) = chain.part_and_input_mut(self.act_at)
            && let Some(act) = Downcast::<Act<T>>::get_mut(part)
        {
            act.freeze(z, freeze);
        }
    }

    /// This block's output (read) and its `grad_out` (write) at once, for the next layer's backward pass.
    pub fn output_and_grad_mut(&mut self) -> (ArrayView2<'_, T>, ArrayViewMut2<'_, T>) {
        (self.out.view(), self.grad_out.view_mut())
    }
}
