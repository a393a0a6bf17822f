//! Learning-rate schedules: the learning rate in effect at each 0-based step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    Constant,
    Step,
    Cosine,
    WarmupCosine,
    Exponential,
}

/// A validated schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// Base learning rate.
    pub lr: f64,
    /// Total steps of the run (cosine horizons end here).
    pub steps: usize,
    /// Linear warm-up steps for `warmup-cosine`.
    pub warmup: usize,
    /// Decay period of `step`.
    pub step_size: usize,
    /// Decay factor of `step` (per `step_size` steps) and `exponential` (per step).
    pub gamma: f64,
    /// Floor of the cosine schedules.
    pub min_lr: f64,
}
