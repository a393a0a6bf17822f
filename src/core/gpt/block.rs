//! One transformer block, pre-LN or post-LN, as a composition of parts registered under state_dict names.
//!
//! Pre-LN:  `m = h + proj(attn(qkv(ln1(h))))`, `out = m + fc2(act(fc1(ln2(m))))`: a chain of two
//! residual sublayers. Post-LN: `m = ln1(h + proj(attn(qkv(h))))`, `out = ln2(m + fc2(act(fc1(m))))`:
//! a chain of residual, norm, residual, norm. The parts ([`Linear`], [`RowNorm`],
//! [`SelfAttention`], [`MlpAct`]) and the containers ([`Sequential`], [`Residual`]) are the same
//! ones the MLP's blocks are made of. Every buffer is sized here, once: a step allocates nothing.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::attention::Attention;
use super::attn_part::SelfAttention;
use super::linear::Linear;
use super::parts::MlpAct;
use super::qk_norm::QkNorm;
use super::rownorm::RowNorm;
use super::view::BlockLayers;
use super::{GptSpec, MlpActivation, NormPosition};
use crate::core::blocked::MomentSums;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::params::Params;
use crate::core::part::{Downcast, Io, Layer, Part, Residual, Sequential};

/// A block: its composition, and handles on its projections' parameter segments.
#[derive(Debug, Clone)]
pub struct Block<T> {
    pub pre: bool,
    /// Where each module's op events are filed.
    pub layers: BlockLayers,
    pub act: MlpActivation,
    pub qkv: Linear,
    pub proj: Linear,
    pub fc1: Linear,
    pub fc2: Linear,
    pub body: Sequential<T>,
}

/// The part of type `P` at a place the block's construction fixed.
#[allow(clippy::expect_used)] // invariant: `Block::new` puts a `P` there
fn part<T, P>(layer: &Layer<T>) -> &P
where
    Layer<T>: Downcast<P>,
{
    layer
        .get()
        .expect("the block's layout is fixed at construction")
}

#[allow(clippy::expect_used)] // invariant: as for `part`
fn part_mut<T, P>(layer: &mut Layer<T>) -> &mut P
where
    Layer<T>: Downcast<P>,
{
    layer
        .get_mut()
        .expect("the block's layout is fixed at construction")
}

impl<T: Real> Block<T> {
    /// Registers the block's parameters as `layer`, in state_dict order, with `names(prefix)`
    /// called after each part so the caller can name the segments just pushed.
    pub fn new(
        spec: &GptSpec,
        params: &mut Params<T>,
        layer: usize,
        names: &mut dyn FnMut(&Params<T>, &str),
    ) -> Self {
        let (n, d, bias, eps) = (spec.tokens(), spec.d_model, spec.bias, spec.norm_eps);
        let at = BlockLayers::of(spec.qk_norm, layer - 1);
        let z_width = spec.mlp_activation.input_width(spec.hidden());
        let norm1 = RowNorm::new(params, layer, spec.norm, bias, (n, d), eps).at(at.ln1);
        names(params, "ln1");
        let qkv = Linear::new(params, layer, d, 3 * d, bias).at(at.qkv);
        names(params, "attn.qkv");
        let qk_norm = spec
            .qk_norm
            .then(|| QkNorm::new(spec, params, layer, names));
        let proj = Linear::new(params, layer, d, d, bias).at(at.proj);
        names(params, "attn.proj");
        let norm2 = RowNorm::new(params, layer, spec.norm, bias, (n, d), eps).at(at.ln2);
        names(params, "ln2");
        let fc1 = Linear::new(params, layer, d, z_width, bias).at(at.fc1);
        names(params, "mlp.fc1");
        let fc2 = Linear::new(params, layer, spec.hidden(), d, bias).at(at.fc2);
        names(params, "mlp.fc2");
        let attn = SelfAttention {
            attn: Attention::new(spec.batch, spec.context, spec.heads),
            qk_norm,
            at: (at.qkv, at.q_norm, at.k_norm),
        };
        let act = MlpAct::new(spec.mlp_activation, at.fc1, spec.hidden());
        let attn_parts = vec![qkv.into(), attn.into(), proj.into()];
        let mlp_parts = vec![fc1.into(), act.into(), fc2.into()];
        let pre = spec.norm_position == NormPosition::Pre;
        let sublayer = |norm: Option<RowNorm<T>>, parts: Vec<Layer<T>>, at| {
            let chain = norm.map(Layer::from).into_iter().chain(parts).collect();
            Layer::from(Box::new(Residual::new(
                n,
                d,
                Sequential::new(n, d, chain),
                at,
            )))
        };
        let body = match pre {
            true => vec![
                sublayer(Some(norm1), attn_parts, (at.proj, at.ln1)),
                sublayer(Some(norm2), mlp_parts, (at.fc2, at.ln2)),
            ],
            false => vec![
                sublayer(None, attn_parts, (at.proj, at.qkv)),
                norm1.into(),
                sublayer(None, mlp_parts, (at.fc2, at.fc1)),
                norm2.into(),
            ],
        };
        Block {
            pre,
            layers: at,
            act: spec.mlp_activation,
            qkv,
            proj,
            fc1,
            fc2,
            body: Sequential::new(n, d, body),
        }
    }

    /// `out = block(h)`, each op reported to `e`.
    pub fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        out: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        self.body.forward(params, h, out, e);
    }

    /// Writes every parameter gradient of the block and `dh` (overwritten) from `d_out`; `io` is
    /// the forward input and output. Each op is reported to `e`.
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        d_out: ArrayView2<'_, T>,
        dh: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        self.body.backward(params, io, d_out, Some(dh), e);
    }

    /// Freezes (`true`) or releases a ReLU MLP's pattern at the last forward pass (see
    /// [`MlpAct::freeze`]): for finite-difference Hessian-vector products, which would
    /// otherwise pick up the kinks crossed. Allocates only when freezing.
    pub fn freeze_activation_pattern(&mut self, freeze: bool) {
        let (k, act_at) = (self.mlp_index(), self.first() + 1);
        let mlp: &mut Box<Residual<T>> = part_mut(&mut self.body.parts[k]);
        if let Some((layer, z)) = mlp.branch.part_and_input_mut(act_at) {
            part_mut::<T, MlpAct<T>>(layer).freeze(z, freeze);
        }
    }

    /// Index of the first projection in each sublayer's chain (after the pre-LN norm).
    fn first(&self) -> usize {
        usize::from(self.pre)
    }

    fn mlp_index(&self) -> usize {
        if self.pre { 1 } else { 2 }
    }

    fn attn_sublayer(&self) -> &Residual<T> {
        part::<T, Box<Residual<T>>>(&self.body.parts[0])
    }

    fn mlp_sublayer(&self) -> &Residual<T> {
        part::<T, Box<Residual<T>>>(&self.body.parts[self.mlp_index()])
    }

    pub fn norm1(&self) -> &RowNorm<T> {
        match self.pre {
            true => part(&self.attn_sublayer().branch.parts[0]),
            false => part(&self.body.parts[1]),
        }
    }

    pub fn norm2(&self) -> &RowNorm<T> {
        match self.pre {
            true => part(&self.mlp_sublayer().branch.parts[0]),
            false => part(&self.body.parts[3]),
        }
    }

    pub fn attention(&self) -> &SelfAttention<T> {
        part(&self.attn_sublayer().branch.parts[self.first() + 1])
    }

    pub fn attention_mut(&mut self) -> &mut SelfAttention<T> {
        let k = self.first() + 1;
        let attn: &mut Box<Residual<T>> = part_mut(&mut self.body.parts[0]);
        part_mut(&mut attn.branch.parts[k])
    }

    /// Measures (`true`) or stops measuring the outputs probes read ([`Sequential::sums`]).
    pub fn set_measure(&mut self, on: bool) {
        let (pre, first) = (self.pre, self.first());
        for k in 0..self.body.parts.len() {
            // Post-LN, the norms are the body's parts 1 and 3; pre-LN, each branch's part 0.
            // The last part writes the block's output (the residual stream).
            let last = k + 1 == self.body.parts.len();
            self.body.measure[k] = on && (last || !pre && k % 2 == 1);
            let layer = &mut self.body.parts[k];
            let Some(r) = Downcast::<Box<Residual<T>>>::get_mut(layer) else {
                continue;
            };
            let chain = &mut r.branch;
            let last = chain.parts.len() - 1;
            for (i, m) in chain.measure.iter_mut().enumerate() {
                *m = on && (i <= first || i == last);
            }
        }
    }

    /// The sums of the block's output, when measured.
    pub fn out_sums(&self) -> Option<MomentSums> {
        self.body.sums.last().copied().flatten()
    }

    /// `[ln1, qkv, proj, ln2, fc1, fc2]`: the sums of each output, when measured.
    pub fn output_sums(&self) -> [Option<MomentSums>; 6] {
        let (attn, mlp) = (&self.attn_sublayer().branch, &self.mlp_sublayer().branch);
        let (first, last) = (self.first(), attn.parts.len() - 1);
        let (ln1, ln2) = match self.pre {
            true => (attn.sums[0], mlp.sums[0]),
            false => (self.body.sums[1], self.body.sums[3]),
        };
        let mlp_last = mlp.parts.len() - 1;
        [
            ln1,
            attn.sums[first],
            attn.sums[last],
            ln2,
            mlp.sums[first],
            mlp.sums[mlp_last],
        ]
    }

    /// `ln1`'s output: the attention's input pre-LN, the residual stream `m` post-LN.
    pub fn ln1_out(&self) -> ArrayView2<'_, T> {
        match self.pre {
            true => self.attn_sublayer().branch.outs[0].view(),
            false => self.body.outs[1].view(),
        }
    }

    /// `ln2`'s output pre-LN (the MLP's input); post-LN it is the block's output, `out`.
    pub fn ln2_out<'a>(&'a self, out: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        match self.pre {
            true => self.mlp_sublayer().branch.outs[0].view(),
            false => out,
        }
    }

    pub fn qkv_out(&self) -> ArrayView2<'_, T> {
        self.attn_sublayer().branch.outs[self.first()].view()
    }

    pub fn d_qkv(&self) -> ArrayView2<'_, T> {
        self.attn_sublayer().branch.grads[self.first()].view()
    }

    /// `proj(attn(..))`, the attention sublayer's branch output.
    pub fn proj_out(&self) -> ArrayView2<'_, T> {
        self.attn_sublayer().branch_out.view()
    }

    /// `∂L/∂proj_out` (the gradient reaching the attention sublayer's output).
    pub fn d_proj(&self) -> ArrayView2<'_, T> {
        self.body.grads[0].view()
    }

    pub fn fc1_out(&self) -> ArrayView2<'_, T> {
        self.mlp_sublayer().branch.outs[self.first()].view()
    }

    pub fn d_fc1(&self) -> ArrayView2<'_, T> {
        self.mlp_sublayer().branch.grads[self.first()].view()
    }

    pub fn act_out(&self) -> ArrayView2<'_, T> {
        self.mlp_sublayer().branch.outs[self.first() + 1].view()
    }

    /// `fc2(act(..))`, the MLP sublayer's branch output.
    pub fn fc2_out(&self) -> ArrayView2<'_, T> {
        self.mlp_sublayer().branch_out.view()
    }
}
