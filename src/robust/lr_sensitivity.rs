//! `stabcheck lr-sensitivity`: a scenario and its variants at log-spaced learning rates, the
//! final loss of each run, and the LR-sensitivity metric (`record::lr_sensitivity`).
//!
//! Every (variant, lr) run is drawn up front and run in parallel with rayon, results gathered in
//! order, so the record is bit-identical whatever the thread count.

use std::path::Path;

use rayon::prelude::*;

use crate::diagnose::series::window_len;
use crate::diagnose::{Gate, Verdict};
use crate::error::Error;
pub use crate::record::lr_sensitivity::{LrRun, LrSensitivityRecord, Variant, sensitivity};
use crate::run::run_recorded;
use crate::scenario::{Overrides, Scenario, SetOverride, apply_overrides};

/// Wortsman et al. 2023 sweep three decades, 3e-4 to 3e-1.
pub const DEFAULT_LRS: (f64, f64) = (3e-4, 3e-1);
/// Half a decade apart over the default range.
pub const DEFAULT_POINTS: usize = 7;

/// `points` log-spaced learning rates from `lo` to `hi` inclusive.
pub fn log_spaced(lo: f64, hi: f64, points: usize) -> Vec<f64> {
    (0..points)
        .map(|i| match points {
            1 => lo,
            _ => (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (points - 1) as f64).exp(),
        })
        .collect()
}

/// The variants compared when none are named: the base scenario, and for a transformer without
/// them, qk-layernorm and qk-layernorm with z-loss 1e-4 (Wortsman et al. 2023's two fixes).
pub fn default_variants(base: &Scenario) -> Vec<(String, Vec<String>)> {
    let mut out = vec![("base".to_string(), Vec::new())];
    if let Some(t) = base.transformer() {
        let z = (base.loss.z_loss == 0.0).then(|| "loss.z_loss=1e-4".to_string());
        if !t.qk_norm {
            out.push(("qk-norm".into(), vec!["model.qk_norm=true".into()]));
        }
        if let Some(z) = z {
            let mut set: Vec<String> = vec![z];
            if !t.qk_norm {
                set.insert(0, "model.qk_norm=true".into());
            }
            let name = if t.qk_norm {
                "z-loss"
            } else {
                "qk-norm + z-loss"
            };
            out.push((name.to_string(), set));
        }
    }
    out
}

/// Runs every variant at every lr and computes each variant's sensitivity.
pub fn run(
    base: &Scenario,
    base_dir: Option<&Path>,
    lrs: &[f64],
    variants: &[(String, Vec<String>)],
    progress: &(dyn Fn() + Sync),
) -> Result<LrSensitivityRecord, Error> {
    let mut planned = Vec::new();
    for (_, set) in variants {
        for &lr in lrs {
            let mut all = set.clone();
            all.push(format!("optimizer.lr={lr:e}"));
            let set = all
                .iter()
                .map(|a| SetOverride::parse(a))
                .collect::<Result<_, _>>()?;
            let overrides = Overrides {
                seed: None,
                steps: None,
                set,
            };
            planned.push((lr, apply_overrides(base, &overrides)?));
        }
    }
    let runs: Vec<LrRun> = planned
        .par_iter()
        .map(|(lr, s)| {
            let run = run_recorded(s, base_dir, None)?;
            progress();
            let losses: Vec<f64> = run.summary.steps.iter().map(|st| st.loss).collect();
            Ok(lr_run(*lr, &losses, &run.verdict))
        })
        .collect::<Result<_, Error>>()?;
    let mut chunks = runs.chunks(lrs.len().max(1));
    let variants = variants
        .iter()
        .map(|(name, set)| {
            let runs = chunks.next().unwrap_or_default().to_vec();
            variant(name, set, runs, base.gates.max_attention_logit)
        })
        .collect();
    Ok(LrSensitivityRecord {
        schema: crate::record::SCHEMA,
        stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: base.clone(),
        lrs: lrs.to_vec(),
        variants,
    })
}

fn lr_run(lr: f64, losses: &[f64], v: &Verdict) -> LrRun {
    let last = &losses[losses.len() - window_len(losses.len())..];
    let final_loss = match last.iter().all(|l| l.is_finite()) && !last.is_empty() {
        true => last.iter().sum::<f64>() / last.len() as f64,
        false => f64::NAN,
    };
    let measured = |gate: Gate| {
        let g = v.gates.iter().find(|g| g.gate == gate);
        g.map_or(f64::NAN, |g| g.measured)
    };
    LrRun {
        lr,
        final_loss,
        initial_loss: losses.first().copied().unwrap_or(f64::NAN),
        max_attention_logit: measured(Gate::MaxAttentionLogit),
        max_log_z: measured(Gate::MaxLogZ),
        passed: !v.gates.iter().any(|g| g.failed()),
        finding: v.errors().next().map(|f| f.kind),
    }
}

fn variant(name: &str, set: &[String], runs: Vec<LrRun>, logit_gate: f64) -> Variant {
    let pairs: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| (r.final_loss, r.initial_loss))
        .collect();
    let (sensitivity, best_loss, best) = sensitivity(&pairs);
    let logit_growth_lr = (runs.iter())
        .find(|r| r.max_attention_logit > logit_gate)
        .map(|r| r.lr);
    Variant {
        name: name.to_string(),
        set: set.to_vec(),
        best_lr: best.map_or(f64::NAN, |i| runs[i].lr),
        runs,
        sensitivity,
        best_loss,
        logit_growth_lr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spaced_hits_both_ends_and_half_decades() {
        let lrs = log_spaced(3e-4, 3e-1, 7);
        assert_eq!(lrs.len(), 7);
        assert!((lrs[0] - 3e-4).abs() < 1e-18 && (lrs[6] - 3e-1).abs() < 1e-15);
        assert!((lrs[2] / lrs[0] - 10.0).abs() < 1e-9);
    }
}
