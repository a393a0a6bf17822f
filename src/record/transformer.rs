//! A transformer's per-step instability statistics (Wortsman et al. 2023's small-scale proxies).
//!
//! Per block and head: the largest attention logit `q·k/√d_head` and the attention entropy; per
//! block, the residual stream's RMS; for the model, the output logits' largest value and `log Z`;
//! for an adaptive optimizer, each tensor's `RMS(∂L/∂θ)/ε` (updates vanish as it nears 1).

use serde::{Deserialize, Serialize};

/// One step's transformer statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerStats {
    /// Empty when the attention rows were not measured.
    pub blocks: Vec<BlockStats>,
    /// The entropy of uniform attention, `mean_{t ≥ 1} ln(t + 1)` over the positions the
    /// entropies average (position 0 attends only itself: its entropy is 0 by construction).
    #[serde(with = "crate::record::nonfinite")]
    pub uniform_entropy: f64,
    /// RMS of `h₀ = tok_emb[x] + pos_emb`.
    #[serde(with = "crate::record::nonfinite")]
    pub embed_rms: f64,
    /// Largest output logit, and mean and largest `log Z = logsumexp(logits)` over tokens.
    #[serde(with = "crate::record::nonfinite")]
    pub output_logit_max: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub log_z_mean: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub log_z_max: f64,
    /// Per parameter tensor (state_dict order): `RMS(∂L/∂θ)/ε`; empty unless the optimizer is
    /// adaptive.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::record::nonfinite::vec"
    )]
    pub grad_rms_over_eps: Vec<f64>,
}

/// One block: its heads, and the RMS of its output (the residual stream after it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockStats {
    pub heads: Vec<HeadStats>,
    #[serde(with = "crate::record::nonfinite")]
    pub residual_rms: f64,
}

/// One attention head over every sequence of the batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadStats {
    /// `max q·k/√d_head` over every visible (query, key) pair.
    #[serde(with = "crate::record::nonfinite")]
    pub logit_max: f64,
    /// Entropy of the attention distribution in nats, mean and minimum over positions `t ≥ 1`.
    #[serde(with = "crate::record::nonfinite")]
    pub entropy_mean: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub entropy_min: f64,
}
