//! Causal multi-head scaled dot-product attention, forward and backward side by side.
//!
//! Per sequence b and head h, with `Q, K, V: [T, hd]` the head's columns of the sequence's rows:
//! `S = Q·Kᵀ/√hd`, `S_ij = −inf` for `j > i` (a token sees itself and the past), `P = softmax(S)`
//! row-wise from the row max (so large scores stay finite), `O = P·V`. Backward:
//! `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, `dQ = dS·K/√hd`,
//! `dK = dSᵀ·Q/√hd`. Masked entries have `P = 0` and so `dS = 0`. The full T×T square is
//! computed and half of it masked, as the peers' explicit attention does.

use std::ops::Range;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use crate::core::part::cast::slice_mut;

use super::softmax::{RowStats, masked_softmax, softmax_backward};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite, Op, Phase};
use crate::core::part::cast::round_view;
use crate::core::precision::Half;
use crate::core::tensor::matmul_into;

/// Attention over `batch` sequences of `context` tokens with `heads` heads, caching `P`.
#[derive(Debug, Clone)]
pub struct Attention<T> {
    pub heads: usize,
    pub context: usize,
    /// How many future tokens a position may see: 0 for a causal model. Tests set 1 to show that
    /// the causality check catches such a leak.
    pub(crate) future: usize,
    /// Softmax probabilities `P`, `[batch·heads·context, context]`: block `(b·heads + h)` is one
    /// head's `T × T` map, kept for backward and for probes (attention entropy, max logit).
    pub probs: Array2<T>,
    /// `dP` of one head, reused.
    dprobs: Array2<T>,
    /// The scores `S` of every head, shaped as `probs`: kept only while op events are reported
    /// (the replay), allocated on first use, since the softmax overwrites them in `probs`.
    scores: Array2<T>,
    /// Take each softmax row's largest score and entropy (set when an observer asks).
    pub measure: bool,
    /// Per row of `probs` (when `measure`): the largest visible score `max_j S_ij` and the
    /// entropy `−Σ_j P_ij ln P_ij` in nats.
    pub row_max: Vec<T>,
    pub row_entropy: Vec<T>,
    row_scratch: Vec<T>,
    /// Under a 16-bit policy: the format scores, probabilities (as `P·V` reads them) and the
    /// backward's `dP` and `dS` are rounded to (attention is a pair of batched matmuls).
    pub cast: Option<Half>,
}

impl<T: Real> Attention<T> {
    pub fn new(batch: usize, context: usize, heads: usize) -> Self {
        Attention {
            heads,
            context,
            future: 0,
            probs: Array2::zeros((batch * heads * context, context)),
            dprobs: Array2::zeros((context, context)),
            scores: Array2::zeros((0, 0)),
            measure: false,
            row_max: vec![T::zero(); batch * heads * context],
            row_entropy: vec![T::zero(); batch * heads * context],
            row_scratch: vec![T::zero(); context],
            cast: None,
        }
    }

    fn scale(&self, d: usize) -> T {
        T::of(1.0 / ((d / self.heads) as f64).sqrt())
    }

    /// Rows and columns of head `h` of sequence `b` in a `[tokens, d_model]` array.
    fn block(&self, b: usize, h: usize, d: usize) -> (Range<usize>, Range<usize>) {
        let (t, hd) = (self.context, d / self.heads);
        (b * t..(b + 1) * t, h * hd..(h + 1) * hd)
    }

    /// `o = attention(q, k, v)`; all four are `[batch·context, d_model]`.
    pub fn forward(
        &mut self,
        q: ArrayView2<'_, T>,
        k: ArrayView2<'_, T>,
        v: ArrayView2<'_, T>,
        o: ArrayViewMut2<'_, T>,
    ) {
        self.run_forward((q, k, v), o, false, None);
    }

    /// [`Attention::forward`], reported (filed under `layer`) as `attn.qk_matmul` (inputs `q, k`;
    /// output the scores of every head), `attn.softmax` (the scores; `P`) and `attn.av_matmul`
    /// (`P, v`; `o`): tensor-level ops in that order, as an unfused implementation runs them.
    pub fn forward_reported(
        &mut self,
        q: ArrayView2<'_, T>,
        k: ArrayView2<'_, T>,
        v: ArrayView2<'_, T>,
        mut o: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        if !e.on {
            return self.run_forward((q, k, v), o, false, Some((e, layer)));
        }
        if self.scores.dim() != self.probs.dim() {
            self.scores = Array2::zeros(self.probs.dim());
        }
        self.run_forward((q, k, v), o.view_mut(), true, Some((e, layer)));
        let (l, fwd) = (Some(layer), Phase::Forward);
        e.op(l, Op::AttnScores, fwd, &[q, k], self.scores.view());
        let (scores, probs) = (self.scores.view(), self.probs.view());
        e.op(l, Op::AttnSoftmax, fwd, &[scores], probs);
        e.op(l, Op::AttnValues, fwd, &[probs, v], o.view());
    }

    /// The forward pass, head by head; with `keep_scores`, each head's scores are copied to
    /// `scores` before the softmax overwrites them (the same arithmetic either way).
    fn run_forward(
        &mut self,
        (q, k, v): (ArrayView2<'_, T>, ArrayView2<'_, T>, ArrayView2<'_, T>),
        mut o: ArrayViewMut2<'_, T>,
        keep_scores: bool,
        mut e: Option<(&mut Emit<'_, T>, usize)>,
    ) {
        let (d, t) = (q.ncols(), self.context);
        let scale = self.scale(d);
        for b in 0..q.nrows() / t {
            for h in 0..self.heads {
                let (r, c) = self.block(b, h, d);
                let blk = s![r, c];
                let row = (b * self.heads + h) * t;
                let mut p = self.probs.slice_mut(s![row..row + t, ..]);
                matmul_into(
                    scale,
                    q.slice(blk),
                    k.slice(blk).t(),
                    T::zero(),
                    p.view_mut(),
                );
                round_block(self.cast, &mut e, p.view_mut(), CastOp::AttnScores);
                if keep_scores {
                    self.scores.slice_mut(s![row..row + t, ..]).assign(&p);
                }
                let stats = self.measure.then(|| RowStats {
                    max: &mut self.row_max[row..row + t],
                    entropy: &mut self.row_entropy[row..row + t],
                    scratch: &mut self.row_scratch,
                });
                masked_softmax(p.view_mut(), self.future, stats);
                round_block(self.cast, &mut e, p.view_mut(), CastOp::AttnProbs);
                matmul_into(
                    T::one(),
                    p.view(),
                    v.slice(blk),
                    T::zero(),
                    o.slice_mut(blk),
                );
            }
        }
    }

    /// `dq, dk, dv` (overwritten) from `d_o`, with the `q, k, v` of the forward pass.
    #[allow(clippy::too_many_arguments)] // the three inputs and their three gradients
    pub fn backward(
        &mut self,
        (q, k, v): (ArrayView2<'_, T>, ArrayView2<'_, T>, ArrayView2<'_, T>),
        d_o: ArrayView2<'_, T>,
        mut dq: ArrayViewMut2<'_, T>,
        mut dk: ArrayViewMut2<'_, T>,
        mut dv: ArrayViewMut2<'_, T>,
    ) {
        let (d, t) = (q.ncols(), self.context);
        let scale = self.scale(d);
        for b in 0..q.nrows() / t {
            for h in 0..self.heads {
                let (r, c) = self.block(b, h, d);
                let blk = s![r, c];
                let row = (b * self.heads + h) * t;
                let p = self.probs.slice(s![row..row + t, ..]);
                matmul_into(
                    T::one(),
                    p.t(),
                    d_o.slice(blk),
                    T::zero(),
                    dv.slice_mut(blk),
                );
                matmul_into(
                    T::one(),
                    d_o.slice(blk),
                    v.slice(blk).t(),
                    T::zero(),
                    self.dprobs.view_mut(),
                );
                if let Some(h) = self.cast {
                    T::round_half(h, slice_mut(&mut self.dprobs), false);
                    softmax_backward(p, self.dprobs.view_mut());
                    T::round_half(h, slice_mut(&mut self.dprobs), false);
                } else {
                    softmax_backward(p, self.dprobs.view_mut());
                }
                matmul_into(
                    scale,
                    self.dprobs.view(),
                    k.slice(blk),
                    T::zero(),
                    dq.slice_mut(blk),
                );
                matmul_into(
                    scale,
                    self.dprobs.t(),
                    q.slice(blk),
                    T::zero(),
                    dk.slice_mut(blk),
                );
            }
        }
    }
}

/// Rounds one head's block to `cast`, if any, counting it under `op` when an emitter is given.
fn round_block<T: Real>(
    cast: Option<Half>,
    e: &mut Option<(&mut Emit<'_, T>, usize)>,
    mut block: ArrayViewMut2<'_, T>,
    op: CastOp,
) {
    let Some(h) = cast else {
        return;
    };
    match e.as_mut() {
        Some((e, layer)) => round_view(e, h, block, (Some(*layer), op, CastSite::Forward)),
        None => block.iter_mut().for_each(|x| {
            T::round_half(h, std::slice::from_mut(x), false);
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use crate::core::params::Params;
    use ndarray::{Array2, array};

    #[test]
    fn one_head_matches_hand_computation() {
        // T = 2, hd = 1: token 0 sees only itself; token 1 mixes v0, v1 with softmax(q1·[k0, k1]).
        let (q, k, v) = (
            array![[1.0], [2.0]],
            array![[0.5], [1.5]],
            array![[3.0], [-1.0]],
        );
        let mut att = Attention::new(1, 2, 1);
        let mut o = Array2::zeros((2, 1));
        att.forward(q.view(), k.view(), v.view(), o.view_mut());
        let (a, b) = ((2.0f64 * 0.5).exp(), (2.0f64 * 1.5).exp());
        assert_eq!(o[(0, 0)], 3.0);
        assert!((o[(1, 0)] - (3.0 * a - b) / (a + b)).abs() < 1e-14);
        assert_eq!(att.probs[(0, 1)], 0.0, "the future is masked");
    }

    #[test]
    fn huge_scores_stay_finite() {
        let q = array![[1e4f32, 0.0], [1e4, 1.0]];
        let mut att = Attention::new(1, 2, 1);
        let mut o = Array2::zeros((2, 2));
        att.forward(q.view(), q.view(), q.view(), o.view_mut());
        assert!(o.iter().all(|x| x.is_finite()), "{o}");
    }

    #[test]
    fn backward_matches_finite_differences_over_q_k_v() {
        // 2 sequences × 3 tokens, d = 4 in 2 heads; x = [q | k | v] so one check covers all three.
        let x = Array2::from_shape_fn((6, 12), |(i, j)| ((i * 12 + j) as f64 * 0.61).sin());
        let mut att = Attention::new(2, 3, 2);
        let report = check_op(&Params::new(), &x, (6, 4), &mut |_, x, out, back| {
            let (q, k, v) = (
                x.slice(s![.., 0..4]),
                x.slice(s![.., 4..8]),
                x.slice(s![.., 8..12]),
            );
            att.forward(q, k, v, out.view_mut());
            if let Some((d_o, dx)) = back {
                let (dq, rest) = dx.view_mut().split_at(ndarray::Axis(1), 4);
                let (dk, dv) = rest.split_at(ndarray::Axis(1), 4);
                att.backward((q, k, v), d_o.view(), dq, dk, dv);
            }
        });
        assert!(report.passed(Tolerance::GRADCHECK), "{report}");
    }
}
