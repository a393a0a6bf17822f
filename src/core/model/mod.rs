//! The reference model: hidden blocks then a dense output layer, over one flat parameter buffer.
//!
//! Layer indices: hidden blocks are `0..depth`, the output layer is `depth`. All buffers are
//! allocated at construction for a fixed batch size, so a training step allocates nothing.

pub mod emit;
pub mod hidden;
pub mod shape;
pub mod sums;
pub mod view;

use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use self::emit::Emit;
use self::hidden::{BlockOptions, BufferSums, Hidden};
use super::blocked::fast_sq_norm;
use super::float::Real;
use super::layers::NormKind;
use super::layers::activation::Activation;
use super::layers::dense::Dense;
use super::observer::{CastOp, CastSite};
use super::observer::{NoopObserver, Op, Phase};
use super::params::Params;
use super::part::cast::{copy_into, round_view, slice_mut};
use super::part::{Io, Part};
use super::precision::Half;
use super::precision::policy::Policy;
use super::rng::{Stream, stream_rng};
use crate::core::loss::{LossKind, LossTarget};

/// A model buffer as a slice: every buffer is an owned standard-layout array.
#[allow(clippy::expect_used)] // invariant: see the doc comment above
pub fn contiguous<'a, T>(view: ArrayView2<'a, T>) -> &'a [T] {
    view.to_slice()
        .expect("model buffers are owned standard-layout arrays, so always contiguous")
}

/// Called by [`Model::backward_with`] once a layer's gradients are final: `(params, layer, emit)`.
pub type LayerHook<'a, T> = dyn FnMut(&mut Params<T>, usize, &mut Emit<'_, T>) + 'a;

/// The architecture, validated by the scenario layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub inputs: usize,
    /// Width of each hidden block (`[]` is a linear model).
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
    pub norm: NormKind,
    pub norm_eps: f64,
    pub residual: bool,
    pub dropout: f64,
}

#[derive(Debug, Clone)]
pub struct Model<T> {
    pub spec: ModelSpec,
    pub batch: usize,
    pub params: Params<T>,
    pub hidden: Vec<Hidden<T>>,
    pub output: Dense,
    pub logits: Array2<T>,
    pub grad_logits: Array2<T>,
    dropout_rng: ChaCha8Rng,
    /// Keep the current dropout masks instead of drawing new ones (for gradient checks).
    pub freeze_dropout: bool,
    /// Take each hidden block's [`BufferSums`] as its buffers are written (set by the train loop
    /// from [`crate::core::observer::StatsWanted::buffer_sums`]).
    pub measure_buffers: bool,
    /// Under a 16-bit policy: the output layer's format and its input's 16-bit copy (when the
    /// last block's output is f32).
    head_cast: Option<(Half, Option<Array2<T>>)>,
}

impl<T: Real> Model<T> {
    /// A model with zero parameters (and `γ = 1` in norms); initialize with [`Model::init_weights`].
    pub fn new(spec: ModelSpec, batch: usize, seed: u64) -> Self {
        let mut params = Params::new();
        let options = BlockOptions {
            activation: spec.activation,
            norm: spec.norm,
            norm_eps: spec.norm_eps,
            residual: spec.residual,
            dropout: spec.dropout,
        };
        let mut fan_in = spec.inputs;
        let mut hidden = Vec::with_capacity(spec.hidden.len());
        for (i, &width) in spec.hidden.iter().enumerate() {
            hidden.push(Hidden::new(&mut params, i, fan_in, width, batch, options));
            fan_in = width;
        }
        let output = Dense::new(&mut params, spec.hidden.len(), fan_in, spec.outputs);
        Model {
            batch,
            params,
            hidden,
            output,
            logits: Array2::zeros((batch, spec.outputs)),
            grad_logits: Array2::zeros((batch, spec.outputs)),
            dropout_rng: stream_rng(seed, Stream::Dropout),
            freeze_dropout: false,
            measure_buffers: false,
            head_cast: None,
            spec,
        }
    }

    /// Rounds at op boundaries as `policy` says (see `core::precision::policy`). The input batch
    /// is 16-bit under a pure policy (the trainer rounds it), f32 otherwise.
    /// The layers in `keep` stay f32.
    pub fn set_policy(&mut self, policy: Policy, keep: &[usize]) {
        let mut in16 = policy.pure;
        for h in &mut self.hidden {
            in16 = h.set_policy(policy, self.batch, in16, keep);
        }
        let copy = (!in16).then(|| Array2::zeros((self.batch, self.output.fan_in)));
        let kept = keep.contains(&self.depth());
        self.head_cast = (!kept).then_some((policy.half, copy));
    }

    /// Number of hidden blocks (the output layer's index).
    pub fn depth(&self) -> usize {
        self.hidden.len()
    }

    /// The dense layer of layer `index` (hidden or output).
    pub fn dense(&self, index: usize) -> &Dense {
        self.hidden.get(index).map_or(&self.output, |h| &h.dense)
    }

    /// Sets every dense layer's weights from `init(layer, fan_in, fan_out)` and hidden biases to
    /// `bias_init` (the output bias stays 0).
    pub fn init_weights(
        &mut self,
        bias_init: f64,
        mut init: impl FnMut(usize, usize, usize) -> Array2<T>,
    ) {
        for layer in 0..=self.depth() {
            let d = self.dense(layer).clone();
            let w = init(layer, d.fan_in, d.fan_out);
            self.params.value_mut(d.weight).assign(&w);
            let b = if layer < self.depth() { bias_init } else { 0.0 };
            self.params.value_mut(d.bias).fill(T::of(b));
        }
    }

    /// Forward pass of a batch `x: [batch, inputs]` into `self.logits`.
    pub fn forward(&mut self, x: ArrayView2<'_, T>, e: &mut Emit<'_, T>) {
        let mut rng = match self.freeze_dropout {
            true => None,
            false => Some(&mut self.dropout_rng),
        };
        for i in 0..self.hidden.len() {
            let (before, rest) = self.hidden.split_at_mut(i);
            let h = before.last().map_or(x, |p| p.output());
            let block = &mut rest[0];
            block.forward(&self.params, h, rng.as_deref_mut(), e);
            match self.measure_buffers {
                true => block.measure_forward(),
                false => block.sums = BufferSums::default(),
            }
        }
        let mut h = self.hidden.last().map_or(x, |p| p.output());
        let depth = Some(self.depth());
        if let Some((half, Some(buf))) = &mut self.head_cast {
            let info = (depth, CastOp::Matmul, CastSite::Forward);
            e.round(*half, copy_into(buf, h), info);
            h = buf.view();
        }
        Part::forward(&mut self.output, &self.params, h, self.logits.view_mut(), e);
        if let Some((half, _)) = &self.head_cast {
            let info = (depth, CastOp::Matmul, CastSite::Forward);
            e.round(*half, slice_mut(&mut self.logits), info);
        }
    }

    /// Backward pass from `self.grad_logits`: fills every parameter gradient and each hidden
    /// block's `grad_out` (the gradient back-propagated to the next layer's input).
    pub fn backward(&mut self, x: ArrayView2<'_, T>, e: &mut Emit<'_, T>) {
        self.backward_with(x, e, &mut |_, _, _| {});
    }

    /// [`Model::backward`], calling `after_layer(params, layer, e)` as soon as a layer's parameter
    /// gradients are final and its weights no longer needed (output layer first). The train loop
    /// updates each layer there while its gradients are still in cache.
    pub fn backward_with(
        &mut self,
        x: ArrayView2<'_, T>,
        e: &mut Emit<'_, T>,
        after_layer: &mut LayerHook<'_, T>,
    ) {
        let depth = self.depth();
        if let Some((half, _)) = &self.head_cast {
            // The loss ran in f32 on the 16-bit logits; its gradient enters them as 16 bits.
            let info = (Some(depth), CastOp::Matmul, CastSite::Backward);
            e.round(*half, slice_mut(&mut self.grad_logits), info);
        }
        {
            let (h, dh) = match self.hidden.last_mut() {
                Some(last) => {
                    let (h, dh) = last.output_and_grad_mut();
                    (h, Some(dh))
                }
                None => (x, None),
            };
            let h = match &self.head_cast {
                Some((_, Some(buf))) => buf.view(),
                _ => h,
            };
            let io = Io {
                x: h,
                y: self.logits.view(),
            };
            let dz = self.grad_logits.view();
            let mut dh = dh;
            let again = dh.as_mut().map(|d| d.view_mut());
            Part::backward(&mut self.output, &mut self.params, io, dz, again, e);
            if let (Some((half, _)), Some(dh)) = (&self.head_cast, dh) {
                let info = (Some(depth), CastOp::Matmul, CastSite::Backward);
                round_view(e, *half, dh, info);
            }
            if let Some(last) = self.hidden.last() {
                let (l, back) = (Some(depth), Phase::Backward);
                let dh = last.grad_out.view();
                e.op(l, Op::DenseGradInput, back, &[dz], dh);
            }
        }
        after_layer(&mut self.params, depth, e);
        for i in (0..depth).rev() {
            let (before, rest) = self.hidden.split_at_mut(i);
            let layer = &mut rest[0];
            // `grad_out` is complete: written just now by the layer above (and its skip path).
            if self.measure_buffers {
                layer.sums.grad_out_sq = Some(fast_sq_norm(contiguous(layer.grad_out.view())));
            }
            match before.last_mut() {
                Some(prev) => {
                    let (h, mut dh) = prev.output_and_grad_mut();
                    layer.backward(&mut self.params, h, Some(dh.view_mut()), e);
                    let (l, back) = (Some(i), Phase::Backward);
                    let dy = layer.grad_out.view();
                    e.op(l, Op::DenseGradInput, back, &[dy], dh.view());
                }
                None => layer.backward(&mut self.params, x, None, e),
            }
            after_layer(&mut self.params, i, e);
        }
    }

    /// Freezes (`true`) or releases each ReLU-family block's activation pattern. Frozen, a block
    /// computes `s ⊙ z` with the slopes `s = f'(z₀)` of the pre-activations `z₀` of the last
    /// forward pass: a smooth function equal to the network near that point, whose Hessian there
    /// is the one autodiff gives (`relu'' = 0`). For finite-difference Hessian-vector products,
    /// which would otherwise pick up the kinks crossed. Allocates only when freezing.
    pub fn freeze_activation_pattern(&mut self, freeze: bool) {
        for h in &mut self.hidden {
            h.freeze_activation_pattern(freeze);
        }
    }

    /// Mean loss of one batch with every gradient filled, watched by nobody (for gradient checks).
    pub fn loss_and_grad(
        &mut self,
        x: ArrayView2<'_, T>,
        target: &LossTarget<'_, T>,
        loss: LossKind,
    ) -> f64 {
        let mut noop = NoopObserver;
        let mut e = Emit::new(&mut noop, 0);
        self.forward(x, &mut e);
        let value = loss.forward_backward(self.logits.view(), target, self.grad_logits.view_mut());
        self.backward(x, &mut e);
        value
    }
}
