//! The checking tables as written: `[probe]`, `[gates]` and `[robust]`.
//!
//! `Gates` holds only choices and floats, so the validated scenario uses it as is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

/// Whether a non-finite loss, gradient or weight fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NonfinitePolicy {
    /// Any NaN or infinity is an error-severity finding.
    Forbid,
    /// NaN and infinities are reported but do not fail the gate.
    Allow,
}

/// `[probe]`: how often the costlier probes run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeTable {
    /// Gradient histograms at step 0, the last step, and every N steps, >= 0 (0 = only those
    /// two). Defaults to `50`.
    #[serde(default = "defaults::histogram_every")]
    #[schemars(range(min = 0))]
    pub histogram_every: i64,
    /// Checkpoints for the deterministic NaN-origin replay every N steps, >= 0 (0 = replay from
    /// the start). Defaults to `100`.
    #[serde(default = "defaults::checkpoint_every")]
    #[schemars(range(min = 0))]
    pub checkpoint_every: i64,
    /// Hessian top-eigenvalue estimate every N steps, >= 0 (0 = off). Defaults to `0`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub sharpness_every: i64,
}

/// `[gates]`: thresholds of the error-severity findings that fail the CI gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// Whether non-finite values fail the gate. Defaults to `"forbid"`.
    #[serde(default = "defaults::nonfinite")]
    pub nonfinite: NonfinitePolicy,
    /// Largest allowed global gradient norm, finite and > 0. Defaults to `1e3`.
    #[serde(default = "defaults::max_grad_norm")]
    pub max_grad_norm: f64,
    /// Smallest allowed global gradient norm while the loss is still high, finite, >= 0 and
    /// below `max_grad_norm` (0 turns the vanishing gate off). Defaults to `1e-7`.
    #[serde(default = "defaults::min_grad_norm")]
    pub min_grad_norm: f64,
    /// Largest allowed ratio of the largest to the smallest per-layer gradient norm, finite and
    /// >= 1. Defaults to `1e4`.
    #[serde(default = "defaults::max_layer_grad_ratio")]
    pub max_layer_grad_ratio: f64,
    /// Largest allowed loss / running median of the loss, finite and >= 1. Defaults to `5.0`.
    #[serde(default = "defaults::max_loss_spike")]
    pub max_loss_spike: f64,
    /// Final loss / initial loss must fall below this, finite and > 0 (a value above 1 only
    /// forbids growth). Defaults to `0.9`.
    #[serde(default = "defaults::max_final_loss_ratio")]
    pub max_final_loss_ratio: f64,
    /// Largest allowed fraction of dead (never active) units in a layer, in [0, 1] (1 turns the
    /// gate off). Defaults to `0.5`.
    #[serde(default = "defaults::max_dead_fraction")]
    pub max_dead_fraction: f64,
    /// Largest allowed fraction of saturated tanh/sigmoid units (local derivative below 1e-3 for
    /// every sample) in a layer, in [0, 1] (1 turns the gate off). Defaults to `0.5`.
    #[serde(default = "defaults::max_saturated_fraction")]
    pub max_saturated_fraction: f64,
    /// Largest allowed update-to-weight ratio `‖ΔW‖ / ‖W‖` of any layer at any step, finite and
    /// > 0 (healthy training sits near 1e-3). Defaults to `1.0`.
    #[serde(default = "defaults::max_update_ratio")]
    pub max_update_ratio: f64,
    /// Largest allowed growth of a layer's weight norm over the run, `‖W_t‖ / ‖W_0‖`, finite and
    /// >= 1. Defaults to `100.0`.
    #[serde(default = "defaults::max_weight_growth")]
    pub max_weight_growth: f64,
    /// The loss diverges when its running median rises above this multiple of the initial loss,
    /// finite and >= 1. Defaults to `2.0`.
    #[serde(default = "defaults::max_loss_growth")]
    pub max_loss_growth: f64,
    /// Largest allowed period-2 swing of the loss, `|mean (-1)^t Δloss_t|` over the last quarter
    /// of the run relative to its median loss, when >= 80% of changes alternate in sign; finite
    /// and > 0. Defaults to `0.1`.
    #[serde(default = "defaults::max_loss_oscillation")]
    pub max_loss_oscillation: f64,
    /// Largest allowed sharpness relative to the optimizer's stability limit (`lr·λmax / 2` for
    /// SGD; see the README), measured when `[probe] sharpness_every > 0`; finite and > 0 (1 is
    /// the edge of stability). Defaults to `1.0`.
    #[serde(default = "defaults::max_sharpness_ratio")]
    pub max_sharpness_ratio: f64,
    /// Largest allowed attention logit `q·k/√d_head` of any head of a transformer (Gemma 2
    /// soft-caps attention logits at 50); finite and > 0. Defaults to `50.0`.
    #[serde(default = "defaults::max_attention_logit")]
    pub max_attention_logit: f64,
    /// Smallest allowed median `RMS(∂L/∂W)/ε` of a transformer's weight tensor under Adam or
    /// AdamW (at 1 the updates are half what they would be without ε); finite and > 0.
    /// Defaults to `1.0`.
    #[serde(default = "defaults::min_grad_rms_over_eps")]
    pub min_grad_rms_over_eps: f64,
    /// Largest allowed `|mean log Z|` of a transformer's output softmax at any step (`e^20`
    /// exceeds any vocabulary); finite and > 0. Defaults to `20.0`.
    #[serde(default = "defaults::max_log_z")]
    pub max_log_z: f64,
    /// Largest allowed step-0 ratio of a transformer's output-layer gradient RMS to its blocks'
    /// median, judged only on a run without warm-up that also went wrong (Xiong et al. 2020);
    /// finite and >= 1. Defaults to `50.0`.
    #[serde(default = "defaults::max_output_grad_imbalance")]
    pub max_output_grad_imbalance: f64,
    /// Largest allowed count of values that overflow to ±inf when a 16-bit policy stores them
    /// (forward outputs always; gradients unless dynamic loss scaling skips their step); >= 0.
    /// Defaults to `0`.
    #[serde(default)]
    pub max_cast_overflow: f64,
    /// Largest allowed share of nonzero gradient values (activation and weight gradients) that
    /// 16-bit rounding flushes to zero over the run, in [0, 1]. Defaults to `0.05`.
    #[serde(default = "defaults::max_grad_flushed_fraction")]
    pub max_grad_flushed_fraction: f64,
    /// Smallest allowed loss scale of a run with dynamic loss scaling; finite and > 0. Defaults
    /// to `1.0` (below 1 the scale shrinks gradients instead of protecting them).
    #[serde(default = "defaults::one")]
    pub min_loss_scale: f64,
    /// Largest allowed share of steps dynamic loss scaling skips, in [0, 1]. Defaults to `0.1`.
    #[serde(default = "defaults::max_skipped_fraction")]
    pub max_skipped_fraction: f64,
    /// Largest allowed share of weight updates a pure 16-bit policy's rounding undoes over the
    /// run, in [0, 1]. Defaults to `0.25`.
    #[serde(default = "defaults::max_lost_update_fraction")]
    pub max_lost_update_fraction: f64,
    /// How far outside the baseline's noise band any compared statistic may go, in band
    /// half-widths (1: the band's edge), judged only against a baseline (`--baseline`;
    /// docs/diff.md); finite and > 0. Defaults to `1.0`.
    #[serde(default = "defaults::one")]
    pub max_regression: f64,
}

/// `[robust]`: perturbations drawn by `stabcheck robust`. `lr`, `init_scale` and `input_scale`
/// are multiplicative on the base value and drawn log-uniform; `batch` is absolute and clamped to
/// `samples`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RobustTable {
    /// Perturbed runs, >= 1. Defaults to `64`.
    #[serde(default = "defaults::robust_cases")]
    #[schemars(range(min = 1))]
    pub cases: i64,
    /// Fraction of stable runs required to pass, in [0, 1]. Defaults to `0.9`.
    #[serde(default = "defaults::min_stable_fraction")]
    pub min_stable_fraction: f64,
    /// `[lo, hi]` multipliers of the learning rate, 0 < lo <= hi, finite. Defaults to `[0.3, 3.0]`.
    #[serde(default = "defaults::robust_lr")]
    pub lr: [f64; 2],
    /// `[lo, hi]` multipliers of `init_scale`, 0 < lo <= hi, finite. Defaults to `[0.5, 2.0]`.
    #[serde(default = "defaults::robust_init_scale")]
    pub init_scale: [f64; 2],
    /// `[lo, hi]` batch sizes, 1 <= lo <= hi. Defaults to `[16, 256]`.
    #[serde(default = "defaults::robust_batch")]
    pub batch: [i64; 2],
    /// `[lo, hi]` multipliers of `input_scale`, 0 < lo <= hi, finite. Defaults to `[0.1, 10.0]`;
    /// not for token data, which has no input scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_scale: Option<[f64; 2]>,
    /// Draw a new seed for every case. Defaults to `true`.
    #[serde(default = "defaults::yes")]
    pub vary_seed: bool,
}

impl Default for ProbeTable {
    fn default() -> Self {
        Self {
            histogram_every: defaults::histogram_every(),
            checkpoint_every: defaults::checkpoint_every(),
            sharpness_every: 0,
        }
    }
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            nonfinite: defaults::nonfinite(),
            max_grad_norm: defaults::max_grad_norm(),
            min_grad_norm: defaults::min_grad_norm(),
            max_layer_grad_ratio: defaults::max_layer_grad_ratio(),
            max_loss_spike: defaults::max_loss_spike(),
            max_final_loss_ratio: defaults::max_final_loss_ratio(),
            max_dead_fraction: defaults::max_dead_fraction(),
            max_saturated_fraction: defaults::max_saturated_fraction(),
            max_update_ratio: defaults::max_update_ratio(),
            max_weight_growth: defaults::max_weight_growth(),
            max_loss_growth: defaults::max_loss_growth(),
            max_loss_oscillation: defaults::max_loss_oscillation(),
            max_sharpness_ratio: defaults::max_sharpness_ratio(),
            max_attention_logit: defaults::max_attention_logit(),
            min_grad_rms_over_eps: defaults::min_grad_rms_over_eps(),
            max_log_z: defaults::max_log_z(),
            max_output_grad_imbalance: defaults::max_output_grad_imbalance(),
            max_cast_overflow: 0.0,
            max_grad_flushed_fraction: defaults::max_grad_flushed_fraction(),
            min_loss_scale: 1.0,
            max_skipped_fraction: defaults::max_skipped_fraction(),
            max_lost_update_fraction: defaults::max_lost_update_fraction(),
            max_regression: 1.0,
        }
    }
}

impl Default for RobustTable {
    fn default() -> Self {
        Self {
            cases: defaults::robust_cases(),
            min_stable_fraction: defaults::min_stable_fraction(),
            lr: defaults::robust_lr(),
            init_scale: defaults::robust_init_scale(),
            batch: defaults::robust_batch(),
            input_scale: None,
            vary_seed: defaults::yes(),
        }
    }
}
