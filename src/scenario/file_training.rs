//! The training tables as written: `[loss]`, `[optimizer]` (with `[[optimizer.groups]]`),
//! `[schedule]` and `[clip]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use crate::core::clip::ClipKind;
use crate::core::loss::LossKind;
use crate::core::optim::OptimizerKind;
use crate::core::schedule::ScheduleKind;

/// `[loss]`: all losses are means over the batch, as PyTorch's `reduction="mean"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LossTable {
    /// Loss function; `cross-entropy` and `bce` need classification data. Defaults to
    /// `"cross-entropy"` for classification data, `"mse"` for regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<LossKind>,
    /// Transformer only: adds `z_loss × mean(log²Z)` over every token (PaLM uses 1e-4), finite
    /// and >= 0. Defaults to `0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_loss: Option<f64>,
}

/// `[optimizer]`: update rule (formulas of PyTorch's `torch.optim`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizerTable {
    /// Update rule. Defaults to `"adam"`.
    #[serde(default = "defaults::optimizer_kind")]
    pub kind: OptimizerKind,
    /// Base learning rate, finite and > 0 (1e30 is valid: it shows overflow). Defaults to `1e-3`.
    #[serde(default = "defaults::lr")]
    pub lr: f64,
    /// Heavy-ball coefficient of momentum/nesterov, in [0, 1). Defaults to `0.9`.
    #[serde(default = "defaults::momentum")]
    pub momentum: f64,
    /// Adam/AdamW (beta1, beta2), each in [0, 1). Defaults to `[0.9, 0.999]`.
    #[serde(default = "defaults::betas")]
    pub betas: [f64; 2],
    /// Adam/AdamW/RMSprop denominator epsilon, finite and >= 0 (0 shows the 0/0 hazard).
    /// Defaults to `1e-8`.
    #[serde(default = "defaults::adam_eps")]
    pub eps: f64,
    /// RMSprop smoothing constant, in [0, 1). Defaults to `0.99`.
    #[serde(default = "defaults::rmsprop_alpha")]
    pub alpha: f64,
    /// Weight decay, finite and >= 0: coupled for every kind but `adamw`, decoupled for `adamw`.
    /// Defaults to `0.0`.
    #[serde(default)]
    pub weight_decay: f64,
    /// `adamw` only: decay `w -= weight_decay·w` each step, not multiplied by the learning rate.
    /// Defaults to `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub independent_weight_decay: bool,
    /// L1 penalty coefficient added to the loss, finite and >= 0. Defaults to `0.0`.
    #[serde(default)]
    pub l1: f64,
    /// L2 penalty coefficient added to the loss, finite and >= 0. Defaults to `0.0`.
    #[serde(default)]
    pub l2: f64,
    /// Per-layer learning-rate multipliers, like PyTorch param groups. Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupTable>,
}

/// `[[optimizer.groups]]`: layers whose learning rate is `lr * lr_scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupTable {
    /// 0-based layer indices in 0..=depth (hidden layers, then the output layer at `depth`);
    /// at least one, each in at most one group. Required.
    pub layers: Vec<i64>,
    /// Multiplier of the learning rate, finite and > 0. Defaults to `1.0`.
    #[serde(default = "defaults::one")]
    pub lr_scale: f64,
}

/// `[[model.init_groups]]`: layers whose initial weights are drawn with `init_scale` times
/// `model.init_scale` (the std of a random init, the gain of orthogonal; biases keep `bias_init`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InitGroupTable {
    /// 0-based layer indices in 0..=depth (hidden layers, then the output layer at `depth`);
    /// at least one, each in at most one group. Required.
    pub layers: Vec<i64>,
    /// Multiplier of `model.init_scale`, finite and > 0. Defaults to `1.0`.
    #[serde(default = "defaults::one")]
    pub init_scale: f64,
}

/// `[schedule]`: the learning rate at each 0-based step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTable {
    /// Schedule shape. Defaults to `"constant"`.
    #[serde(default = "defaults::schedule_kind")]
    pub kind: ScheduleKind,
    /// Linear warm-up steps of `warmup-cosine`, in 0..steps. Defaults to `0`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub warmup: i64,
    /// Decay period of `step`, >= 1. Defaults to `100`.
    #[serde(default = "defaults::step_size")]
    #[schemars(range(min = 1))]
    pub step_size: i64,
    /// Decay factor in (0, 1]: per `step_size` steps for `step`, per step for `exponential`.
    /// Defaults to `0.1` (`0.99` for `exponential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Floor of the cosine schedules, finite, >= 0 and <= lr. Defaults to `0.0`.
    #[serde(default)]
    pub min_lr: f64,
}

/// `[clip]`: gradient clipping, applied after the backward pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClipTable {
    /// Clip the global gradient norm, each element, or nothing. Defaults to `"none"`.
    #[serde(default = "defaults::clip_kind")]
    pub kind: ClipKind,
    /// Largest global norm (`norm`) or absolute element (`value`), finite and > 0 (checked for
    /// every kind). Defaults to `1.0`.
    #[serde(default = "defaults::one")]
    pub max: f64,
}

impl Default for OptimizerTable {
    fn default() -> Self {
        Self {
            kind: defaults::optimizer_kind(),
            lr: defaults::lr(),
            momentum: defaults::momentum(),
            betas: defaults::betas(),
            eps: defaults::adam_eps(),
            alpha: defaults::rmsprop_alpha(),
            weight_decay: 0.0,
            independent_weight_decay: false,
            l1: 0.0,
            l2: 0.0,
            groups: Vec::new(),
        }
    }
}

impl Default for ScheduleTable {
    fn default() -> Self {
        Self {
            kind: defaults::schedule_kind(),
            warmup: 0,
            step_size: defaults::step_size(),
            gamma: None,
            min_lr: 0.0,
        }
    }
}

impl Default for ClipTable {
    fn default() -> Self {
        Self {
            kind: defaults::clip_kind(),
            max: defaults::one(),
        }
    }
}
