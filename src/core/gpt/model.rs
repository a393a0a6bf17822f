//! The whole GPT: embeddings, blocks, final norm and head over one flat parameter buffer with state_dict names.
//!
//! `h₀ = tok_emb[x] + pos_emb`, `h_{l+1} = block_l(h_l)`, logits `= head(ln_f(h_L))` (pre-LN;
//! post-LN has no final norm), loss = next-token cross-entropy (+ z-loss). A tied head is
//! `h·tok_embᵀ (+ head.bias)`. Init: weights `N(0, init_std²)`, the residual output projections
//! (`attn.proj`, `mlp.fc2`) `N(0, init_std²/(2·blocks))` (GPT-2), biases 0, norm gains 1, each
//! tensor from its own seeded stream.

use ndarray::Array2;

use super::block::Block;
use super::cast::GptCast;
use super::embed::Embedding;
use super::linear::Linear;
use super::rownorm::RowNorm;
use super::state_dict::name_new;
use super::sums::GptSums;
use super::token_loss::{self, TokenLoss};
use super::{GptSpec, NormPosition};
use crate::core::float::Real;
use crate::core::init::gaussian_matrix;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite, NoopObserver, Op, Phase};
use crate::core::params::{ParamKind, Params, Segment};
use crate::core::part::Io;
use crate::core::part::cast::slice_mut;
use crate::core::rng::{Stream, stream_rng};

/// A GPT with every buffer of a training step allocated for `spec.batch × spec.context` tokens.
#[derive(Debug, Clone)]
pub struct Gpt<T> {
    pub spec: GptSpec,
    pub params: Params<T>,
    /// State_dict name of each segment of `params` (same order).
    pub names: Vec<String>,
    pub embed: Embedding,
    pub blocks: Vec<Block<T>>,
    pub final_norm: Option<RowNorm<T>>,
    pub head: Linear,
    /// The residual stream: `stream[l]` is block l's input, `stream[blocks]` the last output.
    pub stream: Vec<Array2<T>>,
    /// `ln_f(h_L)` (pre-LN only).
    pub normed: Array2<T>,
    pub logits: Array2<T>,
    pub(super) d_logits: Array2<T>,
    pub(super) d_normed: Array2<T>,
    d_stream: [Array2<T>; 2],
    /// The last forward pass's loss, with its log Z statistics.
    pub last_loss: Option<TokenLoss>,
    /// The loss scale the gradient of the logits is multiplied by (1 without loss scaling).
    pub grad_scale: T,
    /// Model-level roundings under a 16-bit policy ([`Gpt::set_policy`]).
    pub cast: Option<GptCast<T>>,
    pub sums: GptSums,
}

impl<T: Real> Gpt<T> {
    /// Builds the model and initializes it from `seed`.
    pub fn new(spec: GptSpec, seed: u64) -> Self {
        let mut params = Params::new();
        let mut names = Vec::new();
        let (n, d, v) = (spec.tokens(), spec.d_model, spec.vocab);
        let embed = Embedding::new(&mut params, v, spec.context, d);
        names.extend(["tok_emb.weight".to_string(), "pos_emb.weight".to_string()]);
        let blocks = (0..spec.blocks)
            .map(|l| {
                let prefix = format!("blocks.{l}");
                let mut namer = |p: &Params<T>, part: &str| {
                    name_new(p, &mut names, &format!("{prefix}.{part}"))
                };
                Block::new(&spec, &mut params, l + 1, &mut namer)
            })
            .collect();
        let last = spec.blocks + 1;
        let final_norm = (spec.norm_position == NormPosition::Pre).then(|| {
            let norm = RowNorm::new(
                &mut params,
                last,
                spec.norm,
                spec.bias,
                (n, d),
                spec.norm_eps,
            );
            name_new(&params, &mut names, "ln_f");
            norm
        });
        let head = if spec.tie_embeddings {
            let bias = spec.bias.then(|| params.push(last, ParamKind::Bias, 1, v));
            Linear {
                weight: embed.tok,
                bias,
                transposed: true,
                fan_out: v,
                at: 0,
            }
        } else {
            Linear::new(&mut params, last, d, v, spec.bias)
        };
        name_new(&params, &mut names, "head");
        let z = |cols| Array2::zeros((n, cols));
        let mut gpt = Gpt {
            spec,
            params,
            names,
            embed,
            blocks,
            final_norm,
            head,
            stream: (0..=spec.blocks).map(|_| z(d)).collect(),
            normed: z(d),
            logits: z(v),
            d_logits: z(v),
            d_normed: z(d),
            d_stream: [z(d), z(d)],
            last_loss: None,
            grad_scale: T::one(),
            cast: None,
            sums: GptSums::default(),
        };
        gpt.init(seed);
        gpt
    }

    fn init(&mut self, seed: u64) {
        let residual_std = self.spec.init_std / (2.0 * self.spec.blocks as f64).sqrt();
        for (i, seg) in self.params.segments.clone().iter().enumerate() {
            if seg.kind != ParamKind::Weight {
                continue;
            }
            let name = &self.names[i];
            let residual = name.ends_with("attn.proj.weight") || name.ends_with("mlp.fc2.weight");
            let std = if residual {
                residual_std
            } else {
                self.spec.init_std
            };
            let w = gaussian_matrix(
                seg.rows,
                seg.cols,
                std,
                &mut stream_rng(seed, Stream::Init(i)),
            );
            self.params.value_mut(i).assign(&w.mapv(T::of));
        }
    }

    /// Freezes (or releases) every block's ReLU pattern at the last forward pass (see
    /// [`Block::freeze_activation_pattern`](super::block::Block::freeze_activation_pattern)).
    pub fn freeze_activation_pattern(&mut self, freeze: bool) {
        for block in &mut self.blocks {
            block.freeze_activation_pattern(freeze);
        }
    }

    /// The segment named `name` (state_dict style), if any.
    pub fn segment(&self, name: &str) -> Option<(usize, Segment)> {
        let i = self.names.iter().position(|n| n == name)?;
        Some((i, self.params.segments[i]))
    }

    /// Forward pass over `tokens` (`[batch, context]` row-major), the loss against `targets`, and
    /// the gradient of every parameter in `params.grads`.
    pub fn forward_backward(&mut self, tokens: &[u32], targets: &[u32]) -> TokenLoss {
        self.forward_backward_reported(tokens, targets, &mut Emit::new(&mut NoopObserver, 0))
    }

    /// [`Gpt::forward_backward`], every op reported to `e` (the loss as `token_xent`, forward
    /// and backward, under no layer).
    pub fn forward_backward_reported(
        &mut self,
        tokens: &[u32],
        targets: &[u32],
        e: &mut Emit<'_, T>,
    ) -> TokenLoss {
        self.forward_reported(tokens, e);
        let loss = token_loss::forward_backward(
            self.logits.view(),
            targets,
            self.spec.z_loss,
            self.d_logits.view_mut(),
        );
        if self.grad_scale != T::one() {
            let scale = self.grad_scale;
            self.d_logits.mapv_inplace(|g| g * scale);
        }
        if e.on {
            let total = Array2::from_elem((1, 1), T::of(loss.total));
            let z = self.logits.view();
            e.op(None, Op::TokenLoss, Phase::Forward, &[z], total.view());
            e.op(
                None,
                Op::TokenLoss,
                Phase::Backward,
                &[z],
                self.d_logits.view(),
            );
        }
        self.backward(tokens, e);
        self.last_loss = Some(loss);
        loss
    }

    /// Takes (`true`) or stops taking each attention row's largest score and entropy in the
    /// softmax pass (`Attention::row_max`, `row_entropy`), for the attention probes.
    pub fn set_attention_stats(&mut self, on: bool) {
        for block in &mut self.blocks {
            block.attention_mut().attn.measure = on;
        }
    }

    /// Fills `logits` (and every cache) from `tokens`.
    pub fn forward(&mut self, tokens: &[u32]) {
        self.forward_reported(tokens, &mut Emit::new(&mut NoopObserver, 0));
    }

    fn forward_reported(&mut self, tokens: &[u32], e: &mut Emit<'_, T>) {
        let (ln_f, head) = self.final_layers();
        let p = &self.params;
        self.embed.forward(p, tokens, self.stream[0].view_mut());
        let (tok, pos) = (p.value(self.embed.tok), p.value(self.embed.pos));
        let h0 = self.stream[0].view();
        e.op(Some(0), Op::Embedding, Phase::Forward, &[tok, pos], h0);
        self.round_embedding(e);
        self.sums.h0 = self.sums.take(&self.stream[0]);
        let p = &self.params;
        for (l, block) in self.blocks.iter_mut().enumerate() {
            let (done, rest) = self.stream.split_at_mut(l + 1);
            block.forward(p, done[l].view(), rest[0].view_mut(), e);
        }
        let last = self.stream[self.spec.blocks].view();
        if let Some(norm) = &mut self.final_norm {
            norm.forward_reported(p, last, self.normed.view_mut(), e, ln_f);
            self.round_normed(e, ln_f);
        }
        self.sums.normed = self
            .sums
            .take(&self.normed)
            .filter(|_| self.final_norm.is_some());
        let x = match self.final_norm {
            Some(_) => self.normed.view(),
            None => self.stream[self.spec.blocks].view(),
        };
        let x = Self::head_input(&mut self.cast, x, e, head);
        let logits = self.logits.view_mut();
        self.head.forward_reported(&self.params, x, logits, e, head);
        self.round_logits(e, head, CastSite::Forward);
        self.sums.logits = self.sums.take(&self.logits);
    }

    /// Backward from `d_logits`, writing `params.grads`.
    fn backward(&mut self, tokens: &[u32], e: &mut Emit<'_, T>) {
        let (ln_f, head) = self.final_layers();
        self.round_logits(e, head, CastSite::Backward);
        let p = &mut self.params;
        let last = self.spec.blocks;
        let [mut cur, mut next] = std::mem::take(&mut self.d_stream);
        let dz = self.d_logits.view();
        let half = (self.cast.as_ref())
            .filter(|c| !c.head_kept)
            .map(|c| c.policy.half);
        let info = (Some(head), CastOp::Matmul, CastSite::Backward);
        let x = match (&self.cast, &self.final_norm) {
            (
                Some(GptCast {
                    head_input: Some(b),
                    ..
                }),
                _,
            ) => b.view(),
            (_, Some(_)) => self.normed.view(),
            (_, None) => self.stream[last].view(),
        };
        match &self.final_norm {
            Some(norm) => {
                let dx = Some((self.d_normed.view_mut(), T::zero()));
                self.head.backward_reported(p, x, dz, false, dx, e, head);
                if let Some(h) = half {
                    e.round(h, slice_mut(&mut self.d_normed), info);
                }
                let dn = self.d_normed.view();
                norm.backward_reported(p, dn, cur.view_mut(), false, e, ln_f);
            }
            None => {
                let dx = Some((cur.view_mut(), T::zero()));
                self.head.backward_reported(p, x, dz, false, dx, e, head);
                if let Some(h) = half {
                    e.round(h, slice_mut(&mut cur), info);
                }
            }
        }
        for (l, block) in self.blocks.iter_mut().enumerate().rev() {
            let (x, y) = (self.stream[l].view(), self.stream[l + 1].view());
            block.backward(p, Io { x, y }, cur.view(), next.view_mut(), e);
            std::mem::swap(&mut cur, &mut next);
        }
        if let Some(h) = self.pure_half(0).and(self.pure_half(1)) {
            let info = (Some(0), CastOp::Embedding, CastSite::Backward);
            e.round(h, slice_mut(&mut cur), info);
        }
        let p = &mut self.params;
        self.embed
            .backward(p, tokens, cur.view(), self.spec.tie_embeddings);
        let back = Phase::Backward;
        let (tok, pos) = (p.grad(self.embed.tok), p.grad(self.embed.pos));
        e.op(Some(0), Op::EmbeddingBackward, back, &[cur.view()], tok);
        e.op(Some(1), Op::EmbeddingBackward, back, &[cur.view()], pos);
        self.d_stream = [cur, next];
    }
}
