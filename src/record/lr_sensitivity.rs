//! The learning-rate sensitivity record (`lr-sensitivity.json`): final loss against lr for each
//! variant of a scenario, and Wortsman et al. 2023's LR-sensitivity metric per variant.
//!
//! LR sensitivity (Wortsman et al. 2023, "Small-scale proxies for large-scale Transformer
//! training instabilities", §2) is `E_η[min(ℓ(η), ℓ₀) − ℓ*]` over log-spaced learning rates η:
//! `ℓ(η)` the final loss at lr η, `ℓ₀` the loss at initialization (a run that ends worse than it
//! started, or not finite, counts as `ℓ₀`), `ℓ* = min_η ℓ(η)`. 0 means every lr in the range is
//! as good as the best; `ℓ₀ − ℓ*` means only the best lr trains at all.

use serde::{Deserialize, Serialize};

use super::{Record, nonfinite};
use crate::scenario::Scenario;

/// One run of one variant at one learning rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrRun {
    #[serde(with = "nonfinite")]
    pub lr: f64,
    /// Mean training loss over the last tenth of the run (at least 10 steps; see
    /// `diagnose::series::window_len`); NaN when any of it is not finite.
    #[serde(with = "nonfinite")]
    pub final_loss: f64,
    /// The loss at step 0 (`ℓ₀` of this run).
    #[serde(with = "nonfinite")]
    pub initial_loss: f64,
    /// The largest attention logit of any head at any step (NaN when not measured).
    #[serde(with = "nonfinite")]
    pub max_attention_logit: f64,
    /// The largest `|mean log Z|` of the output softmax at any step (NaN when not measured).
    #[serde(with = "nonfinite")]
    pub max_log_z: f64,
    /// Whether every gate held.
    pub passed: bool,
    /// The first error finding's kind (`attention-logit-growth`, `loss-divergence`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<super::verdict::FindingKind>,
}

/// One variant: the base scenario plus `set`, run at every lr.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// `base`, `qk-norm`, ... (shown in the legend).
    pub name: String,
    /// The `--set` arguments on top of the base scenario.
    pub set: Vec<String>,
    pub runs: Vec<LrRun>,
    /// `E_η[min(ℓ(η), ℓ₀) − ℓ*]` (see the module doc).
    #[serde(with = "nonfinite")]
    pub sensitivity: f64,
    /// `ℓ*` and the lr that reached it.
    #[serde(with = "nonfinite")]
    pub best_loss: f64,
    #[serde(with = "nonfinite")]
    pub best_lr: f64,
    /// The smallest lr whose largest attention logit passed the base scenario's
    /// `max_attention_logit` gate (absent when none did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_growth_lr: Option<f64>,
}

/// Everything `stabcheck lr-sensitivity` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSensitivityRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    pub scenario: Scenario,
    /// The learning rates, lowest first (log-spaced).
    pub lrs: Vec<f64>,
    pub variants: Vec<Variant>,
}

impl Record for LrSensitivityRecord {
    fn file_name(&self) -> String {
        super::LR_SENSITIVITY_FILE.to_string()
    }
}

/// `(sensitivity, best loss, index of the best run)` of final losses against their initial
/// losses, per the module doc; NaN and `None` when no run has a finite initial loss.
pub fn sensitivity(runs: &[(f64, f64)]) -> (f64, f64, Option<usize>) {
    let capped: Vec<f64> = runs
        .iter()
        .map(|&(final_loss, initial)| match final_loss.is_finite() {
            true => final_loss.min(initial),
            false => initial,
        })
        .collect();
    let best = (runs.iter().enumerate())
        .filter(|(_, r)| r.0.is_finite())
        .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
        .map(|(i, _)| i);
    let best_loss = best.map_or(f64::NAN, |i| capped[i]);
    let finite: Vec<f64> = capped.into_iter().filter(|x| x.is_finite()).collect();
    if finite.is_empty() || best_loss.is_nan() {
        return (f64::NAN, best_loss, best);
    }
    let mean = finite.iter().map(|l| l - best_loss).sum::<f64>() / finite.len() as f64;
    (mean, best_loss, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitivity_caps_failed_runs_at_the_initial_loss() {
        // Best 1.0; a NaN run and a run worse than its start count as ℓ₀ = 5.
        let (s, best, at) = sensitivity(&[(2.0, 5.0), (1.0, 5.0), (f64::NAN, 5.0), (9.0, 5.0)]);
        assert_eq!((best, at), (1.0, Some(1)));
        assert!((s - (1.0 + 0.0 + 4.0 + 4.0) / 4.0).abs() < 1e-12, "{s}");
    }

    #[test]
    fn sensitivity_is_zero_when_every_lr_is_as_good() {
        assert_eq!(sensitivity(&[(1.5, 4.0), (1.5, 4.0)]).0, 0.0);
        assert!(sensitivity(&[(f64::NAN, f64::NAN)]).0.is_nan());
    }
}
