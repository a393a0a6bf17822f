//! The closed set of `[gates]` keys, as records name them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every `[gates]` key. The declaration order is the order `[gates]` documents them (and
/// JUnit, the text summary and the report list them). Serialized as the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    Nonfinite,
    MaxGradNorm,
    MinGradNorm,
    MaxLayerGradRatio,
    MaxLossSpike,
    MaxLossGrowth,
    MaxLossOscillation,
    MaxFinalLossRatio,
    MaxDeadFraction,
    MaxSaturatedFraction,
    MaxUpdateRatio,
    MaxWeightGrowth,
    MaxSharpnessRatio,
    /// Largest attention logit of a transformer (listed only for transformers).
    MaxAttentionLogit,
    /// Smallest median `RMS(∂L/∂W)/ε` of a transformer's weight tensor under an adaptive
    /// optimizer (listed only for transformers trained with one).
    MinGradRmsOverEps,
    /// Largest `|mean log Z|` of a transformer's output softmax (listed only for transformers).
    MaxLogZ,
    /// Step-0 gradient RMS of a transformer's output layer over its blocks' median (listed only
    /// for transformers; fails only without warm-up and with harm done).
    MaxOutputGradImbalance,
    /// Values that overflowed to ±inf when stored in 16 bits (16-bit policies only).
    MaxCastOverflow,
    /// Share of nonzero gradient values flushed to zero by 16-bit rounding (16-bit policies).
    MaxGradFlushedFraction,
    /// Smallest loss scale of a dynamically scaled run (runs with loss scaling only).
    MinLossScale,
    /// Share of steps dynamic loss scaling skipped (runs with loss scaling only).
    MaxSkippedFraction,
    /// Share of weight updates a pure 16-bit policy's rounding undid (pure policies only).
    MaxLostUpdateFraction,
    /// `[robust] min_stable_fraction`, judged only by `stabcheck scenario --robust`.
    MinStableFraction,
    /// How far outside the baseline's noise band a statistic may go, judged only against a
    /// baseline (`scenario --baseline`, `diagnose --baseline`).
    MaxRegression,
}

impl Gate {
    /// The key as written in `[gates]` and in records.
    pub fn key(self) -> &'static str {
        match self {
            Gate::Nonfinite => "nonfinite",
            Gate::MaxGradNorm => "max_grad_norm",
            Gate::MinGradNorm => "min_grad_norm",
            Gate::MaxLayerGradRatio => "max_layer_grad_ratio",
            Gate::MaxLossSpike => "max_loss_spike",
            Gate::MaxLossGrowth => "max_loss_growth",
            Gate::MaxLossOscillation => "max_loss_oscillation",
            Gate::MaxFinalLossRatio => "max_final_loss_ratio",
            Gate::MaxDeadFraction => "max_dead_fraction",
            Gate::MaxSaturatedFraction => "max_saturated_fraction",
            Gate::MaxUpdateRatio => "max_update_ratio",
            Gate::MaxWeightGrowth => "max_weight_growth",
            Gate::MaxSharpnessRatio => "max_sharpness_ratio",
            Gate::MaxAttentionLogit => "max_attention_logit",
            Gate::MinGradRmsOverEps => "min_grad_rms_over_eps",
            Gate::MaxLogZ => "max_log_z",
            Gate::MaxOutputGradImbalance => "max_output_grad_imbalance",
            Gate::MaxCastOverflow => "max_cast_overflow",
            Gate::MaxGradFlushedFraction => "max_grad_flushed_fraction",
            Gate::MinLossScale => "min_loss_scale",
            Gate::MaxSkippedFraction => "max_skipped_fraction",
            Gate::MaxLostUpdateFraction => "max_lost_update_fraction",
            Gate::MinStableFraction => "min_stable_fraction",
            Gate::MaxRegression => "max_regression",
        }
    }

    /// Every gate, in documented order.
    pub const ALL: [Gate; 24] = [
        Gate::Nonfinite,
        Gate::MaxGradNorm,
        Gate::MinGradNorm,
        Gate::MaxLayerGradRatio,
        Gate::MaxLossSpike,
        Gate::MaxLossGrowth,
        Gate::MaxLossOscillation,
        Gate::MaxFinalLossRatio,
        Gate::MaxDeadFraction,
        Gate::MaxSaturatedFraction,
        Gate::MaxUpdateRatio,
        Gate::MaxWeightGrowth,
        Gate::MaxSharpnessRatio,
        Gate::MaxAttentionLogit,
        Gate::MinGradRmsOverEps,
        Gate::MaxLogZ,
        Gate::MaxOutputGradImbalance,
        Gate::MaxCastOverflow,
        Gate::MaxGradFlushedFraction,
        Gate::MinLossScale,
        Gate::MaxSkippedFraction,
        Gate::MaxLostUpdateFraction,
        Gate::MinStableFraction,
        Gate::MaxRegression,
    ];
}

// `ALL` lists every variant: the last one's discriminant is its length minus one.
const _: () = assert!(Gate::MaxRegression as usize + 1 == Gate::ALL.len());

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
