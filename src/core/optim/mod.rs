//! Optimizers: the choice enum, hyperparameters, and the per-segment update driver.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which update rule to use. Formulas follow PyTorch's `torch.optim` (see each file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    Adamw,
    Rmsprop,
}

/// Validated hyperparameters of an optimizer (the scenario layer fills defaults and checks ranges).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    pub kind: OptimizerKind,
    /// Heavy-ball coefficient μ for momentum/nesterov. Defaults to `0.9`.
    pub momentum: f64,
    /// Adam's (β1, β2). Defaults to `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// Adam/RMSprop denominator epsilon. Defaults to `1e-8`. Zero is allowed (it shows the 0/0 hazard).
    pub eps: f64,
    /// RMSprop's smoothing constant α. Defaults to `0.99`.
    pub alpha: f64,
    /// Weight decay on weight matrices: coupled (added to the gradient) for every kind but `adamw`,
    /// decoupled (`w -= lr·wd·w`) for `adamw`. Defaults to `0.0`.
    pub weight_decay: f64,
}
