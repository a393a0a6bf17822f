//! Validated training and checking tables of a [`super::Scenario`] (defaults filled, ranges
//! checked; see the matching `*Table` for each key's meaning and default).

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::clip::ClipKind;
use crate::core::loss::LossKind;
use crate::core::optim::OptimizerKind;
use crate::core::schedule::ScheduleKind;

/// Validated `[loss]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LossConfig {
    /// `cross-entropy` and `bce` only with classification data (token data: cross-entropy).
    pub kind: LossKind,
    /// Token data only: the z-loss coefficient (absent from records when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub z_loss: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Validated `[optimizer]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    /// Finite and > 0.
    pub lr: f64,
    /// In [0, 1).
    pub momentum: f64,
    /// Each in [0, 1).
    pub betas: [f64; 2],
    /// Finite and >= 0.
    pub eps: f64,
    /// In [0, 1).
    pub alpha: f64,
    pub weight_decay: f64,
    /// `adamw` only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub independent_weight_decay: bool,
    pub l1: f64,
    pub l2: f64,
    /// Disjoint groups of layer indices in 0..=depth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupConfig>,
}

/// Validated `[[optimizer.groups]]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GroupConfig {
    /// Non-empty; hidden layers are 0..depth, the output layer is `depth`.
    pub layers: Vec<usize>,
    /// Finite and > 0.
    pub lr_scale: f64,
}

/// Validated `[schedule]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    /// Below `steps`.
    pub warmup: usize,
    /// >= 1.
    pub step_size: usize,
    /// In (0, 1].
    pub gamma: f64,
    /// In [0, lr].
    pub min_lr: f64,
}

/// Validated `[clip]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ClipConfig {
    pub kind: ClipKind,
    /// Finite and > 0.
    pub max: f64,
}

/// Validated `[probe]` (0 means "off" or "only the ends", see `ProbeTable`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProbeConfig {
    pub histogram_every: usize,
    pub checkpoint_every: usize,
    pub sharpness_every: usize,
}

/// Validated `[robust]`: every range is `[lo, hi]` with `lo <= hi`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RobustConfig {
    /// >= 1.
    pub cases: usize,
    /// In [0, 1].
    pub min_stable_fraction: f64,
    /// Multipliers of the base learning rate, > 0.
    pub lr: [f64; 2],
    /// Multipliers of `init_scale`, > 0.
    pub init_scale: [f64; 2],
    /// Absolute batch sizes, >= 1 (clamped to `samples` when drawn).
    pub batch: [usize; 2],
    /// Multipliers of `input_scale`, > 0.
    pub input_scale: [f64; 2],
    pub vary_seed: bool,
}
