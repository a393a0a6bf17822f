//! What the probes record: per-step and per-layer statistics, gradient histograms, and the NaN origin.
//!
//! These types are the probes' output and the serialized trace inside run.json. Every float is
//! written through `record::nonfinite`, so NaN and infinities survive as `"NaN"`, `"inf"`, `"-inf"`.

use serde::{Deserialize, Serialize};

use crate::core::observer::Phase;
use crate::core::params::ParamKind;

/// Everything recorded during one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// One entry per recorded step, in step order.
    pub steps: Vec<StepRecord>,
    /// Gradient-value histograms, on the `[probe] histogram_every` schedule.
    pub histograms: Vec<HistogramRecord>,
    /// Sharpness estimates on the `[probe] sharpness_every` schedule (absent when it is 0, and in
    /// records written before the probe existed, which still read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sharpness: Vec<SharpnessSample>,
    /// Each layer's name (`LayerStats::layer` indexes it) when the model names its layers, as a
    /// transformer does after PyTorch's state_dict (`blocks.2.attn.qkv`); absent for an MLP, whose
    /// layers are known by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_names: Vec<String>,
    /// Each parameter tensor in the order of the flat buffer (state_dict order), when the model
    /// names them (a transformer); per-tensor statistics such as
    /// `TransformerStats::grad_rms_over_eps` index it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tensors: Vec<TensorInfo>,
}

/// One parameter tensor: its state_dict name, what it is, and how many values it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorInfo {
    pub name: String,
    pub kind: ParamKind,
    pub len: usize,
}

impl TensorInfo {
    /// A weight matrix or an embedding, not a bias or a norm's gain or shift.
    pub fn is_weight(&self) -> bool {
        self.kind == ParamKind::Weight
    }
}

/// One sharpness estimate (see `probe::sharpness`): the top eigenvalue of the loss Hessian on the
/// fixed probe batch, or of the preconditioned Hessian `P⁻¹H` when the optimizer rescales
/// gradients (Adam, AdamW, RMSprop, per-layer lr groups), at the weights step `step` starts from
/// (before its update), next to the stability limit of the optimizer at that step's lr.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharpnessSample {
    pub step: usize,
    /// Base learning rate of step `step` (scheduled, before per-layer multipliers).
    #[serde(with = "crate::record::nonfinite")]
    pub lr: f64,
    /// λmax of `H` (or of `P⁻¹H` when `preconditioned`).
    #[serde(with = "crate::record::nonfinite")]
    pub sharpness: f64,
    pub preconditioned: bool,
    /// The sharpness at which the optimizer stops being stable at this lr, e.g. `2/lr` for SGD.
    #[serde(with = "crate::record::nonfinite")]
    pub limit: f64,
    /// `sharpness / limit`: 1 is the edge of stability.
    #[serde(with = "crate::record::nonfinite")]
    pub ratio: f64,
    /// Hessian-vector products (power iterations) spent; each costs two gradient evaluations.
    pub hvps: usize,
    /// Whether successive estimates agreed to the probe's relative tolerance.
    pub converged: bool,
}

/// One step: the global numbers and one [`LayerStats`] per layer (hidden `0..depth`, then output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub step: usize,
    #[serde(with = "crate::record::nonfinite")]
    pub loss: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub lr: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub grad_norm: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub grad_norm_clipped: f64,
    pub layers: Vec<LayerStats>,
    /// A transformer's attention, logit and residual statistics (absent for an MLP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformer: Option<crate::record::transformer::TransformerStats>,
    /// A 16-bit run's roundings and a scaled run's loss scale (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<crate::record::precision::PrecisionStats>,
}

/// Per-layer statistics of one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerStats {
    pub layer: usize,
    /// `‖∂L/∂W‖₂` and `‖∂L/∂b‖₂` (after penalties, before clipping).
    #[serde(with = "crate::record::nonfinite")]
    pub weight_grad_norm: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub bias_grad_norm: f64,
    /// `‖∂L/∂h‖₂` of the gradient back-propagated to this layer's input `h` (`None` for layer 0,
    /// whose input is the data).
    #[serde(with = "crate::record::nonfinite::option")]
    pub input_grad_norm: Option<f64>,
    /// `‖W‖₂` after the update, and `‖ΔW‖₂ / ‖W_before‖₂`.
    #[serde(with = "crate::record::nonfinite")]
    pub weight_norm: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub update_ratio: f64,
    /// Statistics of the layer's output over the batch (for the output layer: the logits).
    #[serde(with = "crate::record::nonfinite")]
    pub activation_mean: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub activation_std: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub activation_max_abs: f64,
    /// Fraction of units whose output is 0 for every sample (ReLU family; 0 otherwise).
    #[serde(with = "crate::record::nonfinite")]
    pub dead_fraction: f64,
    /// Fraction of units whose local derivative is below 1e-3 for every sample (tanh/sigmoid; 0 otherwise).
    #[serde(with = "crate::record::nonfinite")]
    pub saturated_fraction: f64,
    /// Non-finite values seen in this layer's tensors this step (activations, gradients, weights).
    pub nonfinite: u64,
}

/// Log-spaced histogram of `|g|` for one layer's weight gradient at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramRecord {
    pub step: usize,
    pub layer: usize,
    /// Bin edges in `|g|`: `edges[i]..edges[i+1]` is bin `i` (log-spaced from 1e-12 to 1e6).
    #[serde(with = "crate::record::nonfinite::vec")]
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
    /// Elements exactly 0, below the first edge (but not 0), above the last edge, and non-finite.
    pub zero: u64,
    pub underflow: u64,
    pub overflow: u64,
    pub nonfinite: u64,
}

/// The first op that produced a non-finite value from finite inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NanOrigin {
    pub step: usize,
    /// `None` for the loss.
    pub layer: Option<usize>,
    /// The module the op belongs to, by state_dict name (`blocks.0.attn.qkv`; `blocks.0.attn`
    /// for attention's own ops); absent for models without layer names (the MLP) and the loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub op: String,
    pub phase: Phase,
    /// Whether the output held NaN, +inf or -inf (first found, in that priority).
    pub value: String,
    /// Summary statistics of each input of the op.
    pub inputs: Vec<TensorSummary>,
    /// A plain-language reason, e.g. "exp input max 97.3 exceeds ln(f32::MAX) = 88.7".
    pub explanation: String,
}

/// A few numbers that describe a tensor without storing it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSummary {
    pub rows: usize,
    pub cols: usize,
    #[serde(with = "crate::record::nonfinite")]
    pub min: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub max: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub max_abs: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub mean: f64,
    pub nonfinite: u64,
}

/// A replayed step whose loss differs in its bits from the original run's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplayDivergence {
    pub step: usize,
    #[serde(with = "super::nonfinite")]
    pub original_loss: f64,
    #[serde(with = "super::nonfinite")]
    pub replayed_loss: f64,
}

/// "Approaching the edge": a sample's sharpness at or above this fraction of the limit.
pub const APPROACH_FRACTION: f64 = 0.8;
