//! The GPT under a 16-bit policy: which tensors its blocks, head and embeddings round (see
//! `core::precision::policy`). The blocks' chains round themselves; this file covers what the
//! model runs directly: the embedding sum, the final norm and the head.

use ndarray::{Array2, ArrayView2};

use super::Gpt;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite};
use crate::core::params::ParamKind;
use crate::core::part::cast::{copy_into, slice_mut};
use crate::core::precision::Half;
use crate::core::precision::policy::Policy;

/// The model-level roundings, set by [`Gpt::set_policy`].
#[derive(Debug, Clone)]
pub struct GptCast<T> {
    pub policy: Policy,
    /// The head's input cast to 16 bits (when it is f32: mixed).
    pub head_input: Option<Array2<T>>,
    /// The layers kept in f32, and whether the head is one.
    pub keep: Vec<usize>,
    pub head_kept: bool,
}

impl<T: Real> Gpt<T> {
    /// Rounds at op boundaries as `policy` says.
    /// The layers in `keep` stay f32.
    pub fn set_policy(&mut self, policy: Policy, keep: &[usize]) {
        let rows = self.spec.tokens();
        let (ln_f, head) = self.final_layers();
        let kept = |l: usize| keep.contains(&l);
        let mut in16 = policy.pure && !kept(0) && !kept(1);
        for block in &mut self.blocks {
            in16 = block.body.set_policy(policy, rows, in16, keep);
        }
        let head_in16 = match self.final_norm {
            Some(_) => policy.pure && !kept(ln_f),
            None => in16,
        };
        let copy = (!head_in16).then(|| Array2::zeros((rows, self.spec.d_model)));
        self.cast = Some(GptCast {
            policy,
            head_input: copy,
            keep: keep.to_vec(),
            head_kept: kept(head),
        });
    }

    /// The segments autocast reads as 16-bit copies: weights and biases of every matmul; the
    /// embedding tables only when the head reads the token table (tied).
    pub fn matmul_segments(&self) -> Vec<bool> {
        let tied = self.spec.tie_embeddings;
        (self.params.segments.iter().enumerate())
            .map(|(k, s)| {
                let table = k == self.embed.pos || (k == self.embed.tok && !tied);
                matches!(s.kind, ParamKind::Weight | ParamKind::Bias) && !table
            })
            .collect()
    }

    /// The 16-bit format of layer `layer`'s stored tensors under a pure policy (none when kept).
    pub(super) fn pure_half(&self, layer: usize) -> Option<Half> {
        let c = self.cast.as_ref()?;
        (c.policy.pure && !c.keep.contains(&layer)).then_some(c.policy.half)
    }

    /// Under a pure policy, rounds the embedding sum (the stream's first tensor).
    pub(super) fn round_embedding(&mut self, e: &mut Emit<'_, T>) {
        if let Some(h) = self.pure_half(0).and(self.pure_half(1)) {
            let info = (Some(0), CastOp::Embedding, CastSite::Forward);
            e.round(h, slice_mut(&mut self.stream[0]), info);
        }
    }

    /// Under a pure policy, rounds the final norm's output.
    pub(super) fn round_normed(&mut self, e: &mut Emit<'_, T>, layer: usize) {
        if let Some(h) = self.pure_half(layer) {
            let info = (Some(layer), CastOp::Norm, CastSite::Forward);
            e.round(h, slice_mut(&mut self.normed), info);
        }
    }

    /// The head's input as the matmul reads it: `x`, or its 16-bit copy.
    pub(super) fn head_input<'a>(
        cast: &'a mut Option<GptCast<T>>,
        x: ArrayView2<'a, T>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) -> ArrayView2<'a, T> {
        match cast {
            Some(GptCast {
                policy,
                head_input: Some(buf),
                ..
            }) => {
                let info = (Some(layer), CastOp::Matmul, CastSite::Forward);
                e.round(policy.half, copy_into(buf, x), info);
                buf.view()
            }
            _ => x,
        }
    }

    /// Rounds the logits (a matmul's output) under any policy.
    pub(super) fn round_logits(&mut self, e: &mut Emit<'_, T>, layer: usize, site: CastSite) {
        if let Some(c) = self.cast.as_ref().filter(|c| !c.head_kept) {
            let info = (Some(layer), CastOp::Matmul, site);
            let buf = match site {
                CastSite::Forward => &mut self.logits,
                _ => &mut self.d_logits,
            };
            e.round(c.policy.half, slice_mut(buf), info);
        }
    }
}
