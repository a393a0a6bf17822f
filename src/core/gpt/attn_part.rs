//! Self-attention as a part: from the fused projection `qkv = [Q | K | V]` to the heads' output,
//! with the optional qk-layernorm on queries and keys in between.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, s};

use super::attention::Attention;
use super::qk_norm::QkNorm;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite, Op, Phase};
use crate::core::params::Params;
use crate::core::part::cast::slice_mut;
use crate::core::part::{Io, Part};
use crate::core::precision::Half;

/// `o = attention(norm_q(Q), norm_k(K), V)`; input `[tokens, 3·d_model]`, output `[tokens, d_model]`.
#[derive(Debug, Clone)]
pub struct SelfAttention<T> {
    pub attn: Attention<T>,
    pub qk_norm: Option<QkNorm<T>>,
    /// Where attention's events (`qkv`'s layer), q_norm's and k_norm's are filed.
    pub at: (usize, usize, usize),
}

impl<T: Real> SelfAttention<T> {
    /// Rounds scores, probabilities and the qk-norm's outputs (the bmm's inputs) to `half`.
    pub fn set_cast(&mut self, half: Option<Half>) {
        self.attn.cast = half;
    }
}

impl<T: Real> Part<T> for SelfAttention<T> {
    fn out_width(&self, width: usize) -> usize {
        width / 3
    }

    fn forward(
        &mut self,
        params: &Params<T>,
        qkv: ArrayView2<'_, T>,
        o: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let (d, (at, q_at, k_at)) = (qkv.ncols() / 3, self.at);
        let v = qkv.slice(s![.., 2 * d..]);
        match &mut self.qk_norm {
            Some(qk) => {
                qk.forward(params, qkv, e, (q_at, k_at));
                if let Some(h) = self.attn.cast {
                    let info = (Some(at), CastOp::Matmul, CastSite::Forward);
                    e.round(h, slice_mut(&mut qk.q), info);
                    e.round(h, slice_mut(&mut qk.k), info);
                }
                let (q, k) = (qk.q.view(), qk.k.view());
                self.attn.forward_reported(q, k, v, o, e, at);
            }
            None => {
                let (q, k) = (qkv.slice(s![.., ..d]), qkv.slice(s![.., d..2 * d]));
                self.attn.forward_reported(q, k, v, o, e, at);
            }
        }
    }

    /// Reported as `attn.backward` for `dQ`, `dK`, `dV` in that order, then the q/k norms'
    /// backward.
    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        d_o: ArrayView2<'_, T>,
        d_qkv: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let Some(d_qkv) = d_qkv else {
            return; // no parameters of its own but the q/k norms', which a model always trains
        };
        let (d, (at, q_at, k_at)) = (io.y.ncols(), self.at);
        let (dq, rest) = d_qkv.split_at(Axis(1), d);
        let (dk, mut dv) = rest.split_at(Axis(1), d);
        let v = io.x.slice(s![.., 2 * d..]);
        let (l, back) = (Some(at), Phase::Backward);
        match &mut self.qk_norm {
            Some(qk) => {
                let (q, k) = (qk.q.view(), qk.k.view());
                let (gq, gk) = (qk.dq.view_mut(), qk.dk.view_mut());
                self.attn.backward((q, k, v), d_o, gq, gk, dv.view_mut());
                for g in [qk.dq.view(), qk.dk.view(), dv.view()] {
                    e.op(l, Op::AttnBackward, back, &[d_o], g);
                }
                if let Some(h) = self.attn.cast {
                    let info = (Some(at), CastOp::Matmul, CastSite::Backward);
                    e.round(h, slice_mut(&mut qk.dq), info);
                    e.round(h, slice_mut(&mut qk.dk), info);
                }
                qk.backward(params, dq, dk, e, (q_at, k_at));
            }
            None => {
                let (q, k) = (io.x.slice(s![.., ..d]), io.x.slice(s![.., d..2 * d]));
                let (mut dq, mut dk) = (dq, dk);
                let (gq, gk) = (dq.view_mut(), dk.view_mut());
                self.attn.backward((q, k, v), d_o, gq, gk, dv.view_mut());
                for g in [dq.view(), dk.view(), dv.view()] {
                    e.op(l, Op::AttnBackward, back, &[d_o], g);
                }
            }
        }
    }
}
