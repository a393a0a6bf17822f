//! Learning-rate schedules: the learning rate in effect at each 0-based step.
//!
//! With `t` the 0-based step, `lr` the base rate and `T` = `steps`:
//! - `constant`: `lr`
//! - `step`: `lr·γ^⌊t / step_size⌋` (`step_size = 0` never decays)
//! - `exponential`: `lr·γ^t`
//! - `cosine`: `min_lr + (lr − min_lr)·(1 + cos(π·p))/2` with `p = t/T`, so `lr` at step 0 and
//!   `min_lr` at step `T`. Past the horizon `p` stays 1 (the rate stays at `min_lr`; PyTorch's closed
//!   form would climb back up). With `T = 0` there is nothing to anneal and the rate is `lr`.
//! - `warmup-cosine`: `lr·(t + 1)/warmup` for `t < warmup`, then cosine with
//!   `p = (t − warmup)/(T − warmup)`; if `T ≤ warmup` the rate after warm-up is `lr`.

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

impl Schedule {
    /// A constant rate `lr` over `steps` steps.
    pub fn constant(lr: f64, steps: usize) -> Self {
        Schedule {
            kind: ScheduleKind::Constant,
            lr,
            steps,
            warmup: 0,
            step_size: 0,
            gamma: 1.0,
            min_lr: 0.0,
        }
    }

    /// The learning rate in effect at 0-based `step` (before per-layer multipliers).
    pub fn lr_at(&self, step: usize) -> f64 {
        match self.kind {
            ScheduleKind::Constant => self.lr,
            ScheduleKind::Step => {
                let decays = step.checked_div(self.step_size).unwrap_or(0);
                self.lr * self.gamma.powf(decays as f64)
            }
            ScheduleKind::Exponential => self.lr * self.gamma.powf(step as f64),
            ScheduleKind::Cosine => self.cosine(step, self.steps),
            ScheduleKind::WarmupCosine if step < self.warmup => {
                self.lr * (step + 1) as f64 / self.warmup as f64
            }
            ScheduleKind::WarmupCosine => {
                self.cosine(step - self.warmup, self.steps.saturating_sub(self.warmup))
            }
        }
    }

    /// Cosine annealing from `lr` to `min_lr` over `horizon` steps; `lr` when `horizon = 0`.
    fn cosine(&self, step: usize, horizon: usize) -> f64 {
        if horizon == 0 {
            return self.lr;
        }
        let progress = (step as f64 / horizon as f64).min(1.0);
        let weight = (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0;
        self.min_lr + (self.lr - self.min_lr) * weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: ScheduleKind) -> Schedule {
        Schedule {
            kind,
            lr: 0.1,
            steps: 100,
            warmup: 10,
            step_size: 30,
            gamma: 0.5,
            min_lr: 0.001,
        }
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-15,
            "got {actual}, expected {expected}"
        );
    }

    #[test]
    fn constant_ignores_the_step() {
        let s = schedule(ScheduleKind::Constant);
        assert_eq!((s.lr_at(0), s.lr_at(99), s.lr_at(1000)), (0.1, 0.1, 0.1));
    }

    #[test]
    fn step_decays_exactly_at_each_boundary() {
        // step_size 30, γ 0.5: steps 0..=29 → 0.1, 30..=59 → 0.05, 60 → 0.025.
        let s = schedule(ScheduleKind::Step);
        assert_close(s.lr_at(29), 0.1);
        assert_close(s.lr_at(30), 0.05);
        assert_close(s.lr_at(59), 0.05);
        assert_close(s.lr_at(60), 0.025);
        let never = Schedule { step_size: 0, ..s };
        assert_close(never.lr_at(500), 0.1);
    }

    #[test]
    fn exponential_multiplies_by_gamma_every_step() {
        // 0.1·0.5³ = 0.0125.
        let s = schedule(ScheduleKind::Exponential);
        assert_close(s.lr_at(0), 0.1);
        assert_close(s.lr_at(3), 0.0125);
    }

    #[test]
    fn cosine_starts_at_lr_halves_midway_and_ends_at_min_lr() {
        // Midway cos(π/2) = 0: 0.001 + 0.099·0.5 = 0.0505. At t = 25: cos(π/4) = √2/2,
        // weight (1 + √2/2)/2 = 0.853553390593274, 0.001 + 0.099·that = 0.085501785668734.
        let s = schedule(ScheduleKind::Cosine);
        assert_close(s.lr_at(0), 0.1);
        assert_close(s.lr_at(25), 0.085501785668734);
        assert_close(s.lr_at(50), 0.0505);
        assert_close(s.lr_at(100), 0.001);
        assert_close(s.lr_at(150), 0.001);
        assert_close(Schedule { steps: 0, ..s }.lr_at(7), 0.1);
    }

    #[test]
    fn warmup_cosine_ramps_linearly_then_anneals_over_the_rest() {
        // warmup 10: t = 0 → 0.1·1/10 = 0.01, t = 4 → 0.05, t = 9 → 0.1.
        // After: horizon 90; t = 10 → lr, t = 55 → midway 0.0505, t = 100 → 0.001.
        let s = schedule(ScheduleKind::WarmupCosine);
        assert_close(s.lr_at(0), 0.01);
        assert_close(s.lr_at(4), 0.05);
        assert_close(s.lr_at(9), 0.1);
        assert_close(s.lr_at(10), 0.1);
        assert_close(s.lr_at(55), 0.0505);
        assert_close(s.lr_at(100), 0.001);
        // steps ≤ warmup: warm up, then hold lr.
        let short = Schedule { steps: 10, ..s };
        assert_close(short.lr_at(4), 0.05);
        assert_close(short.lr_at(10), 0.1);
        assert_close(short.lr_at(20), 0.1);
    }
}
