//! A decoder-only transformer (GPT) in the reference core: its parts, each with forward and backward side by side.
//!
//! Activations are 2-D, `[batch·context, features]`, row `b·T + t` holding token `t` of sequence
//! `b`, so every projection is one GEMM over all tokens; attention alone sees the sequence axis.
//! Parameters live in one flat [`Params`](super::params::Params) buffer and carry PyTorch
//! state_dict names (`blocks.2.attn.qkv.weight`); weights are stored `[in, out]` (`y = x·W + b`),
//! the transpose of PyTorch's `nn.Linear.weight`.

pub mod attention;
pub mod attn_part;
pub mod block;
pub mod cast;
pub mod embed;
mod events;
pub mod linear;
pub mod mlp_act;
pub mod model;
pub mod parts;
pub mod qk_norm;
pub mod rownorm;
mod rownorm_rows;
pub mod size;
mod softmax;
pub mod state_dict;
pub mod sums;
pub mod token_loss;
pub mod train;
pub mod view;

#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::mlp_act::MlpActivation;
pub use self::model::Gpt;

/// Which normalization every norm of the model uses (final, per-block and qk-norm alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenNorm {
    /// `(x − μ)/sqrt(σ² + eps)·γ + β` (β only with biases).
    Layernorm,
    /// `x/sqrt(mean(x²) + eps)·γ` (Zhang & Sennrich 2019; no shift).
    Rmsnorm,
}

/// Where each block's norms sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NormPosition {
    /// `h += f(norm(h))`, plus a final norm before the head (GPT-2).
    Pre,
    /// `h = norm(h + f(h))`, no final norm (the original Transformer).
    Post,
}

/// The architecture and batch shape of a [`Gpt`]: validated by the scenario layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GptSpec {
    pub vocab: usize,
    /// Tokens per sequence `T`.
    pub context: usize,
    pub d_model: usize,
    pub heads: usize,
    pub blocks: usize,
    /// MLP hidden width = `mlp_ratio · d_model` (for SwiGLU too: `fc1` is then twice that wide).
    pub mlp_ratio: usize,
    pub mlp_activation: MlpActivation,
    pub norm: TokenNorm,
    pub norm_position: NormPosition,
    /// LayerNorm (or RMSNorm) on queries and keys, per head over the head dimension.
    pub qk_norm: bool,
    /// The head reuses `tok_emb.weight` (transposed): no `head.weight` of its own.
    pub tie_embeddings: bool,
    /// Biases on every projection and shifts on every LayerNorm.
    pub bias: bool,
    /// Std of the normal init; residual output projections get `init_std / sqrt(2·blocks)`.
    pub init_std: f64,
    /// The norms' epsilon (PyTorch's 1e-5).
    pub norm_eps: f64,
    /// Weight of PaLM's auxiliary `mean(log² Z)` term (0 disables it).
    pub z_loss: f64,
    /// Sequences per batch `B`.
    pub batch: usize,
}

impl GptSpec {
    /// The peers' `tiny-gpt` workload (../shared/peers/gpt_common.py): vocab 256, context 64,
    /// d_model 128, 4 heads, 4 pre-LN blocks, MLP ×4 with GELU-tanh, batch 16, untied, biases.
    pub fn tiny_gpt() -> Self {
        GptSpec {
            vocab: 256,
            context: 64,
            d_model: 128,
            heads: 4,
            blocks: 4,
            mlp_ratio: 4,
            mlp_activation: MlpActivation::GeluTanh,
            norm: TokenNorm::Layernorm,
            norm_position: NormPosition::Pre,
            qk_norm: false,
            tie_embeddings: false,
            bias: true,
            init_std: 0.02,
            norm_eps: 1e-5,
            z_loss: 0.0,
            batch: 16,
        }
    }

    /// A GPT small enough for unit tests (vocab 11, context 5, 2 blocks of 8 with 2 heads, one
    /// sequence per batch); tests change what they check from here.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        GptSpec {
            vocab: 11,
            context: 5,
            d_model: 8,
            heads: 2,
            blocks: 2,
            batch: 1,
            ..GptSpec::tiny_gpt()
        }
    }

    pub fn head_dim(&self) -> usize {
        self.d_model / self.heads
    }

    /// Width of the MLP's hidden activation (after SwiGLU's gating).
    pub fn hidden(&self) -> usize {
        self.mlp_ratio * self.d_model
    }

    /// Rows of every activation: `batch · context` tokens.
    pub fn tokens(&self) -> usize {
        self.batch * self.context
    }
}
