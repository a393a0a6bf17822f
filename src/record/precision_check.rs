//! `stabcheck scenario X --precision-check`: the f32 reference and each 16-bit policy side by
//! side, and where each parts from the reference.
//!
//! Departure (an assumption, stated): the first step at which a layer's weight-gradient norm,
//! activation standard deviation or update ratio under the policy is non-finite while the f32
//! run's is finite, or differs from it by more than a factor of [`DEPARTURE_FACTOR`]. Rounding
//! noise alone moves these statistics by a few percent at first; a factor of 2 is a change in
//! kind, not noise. A long stable run can still drift apart (training is chaotic), so a late
//! departure with a small final-loss gap is drift, not damage.

use serde::{Deserialize, Serialize};

use crate::record::trace::{LayerStats, Trace};
use crate::record::verdict::{FindingKind, Outcome, Status, Verdict};
use crate::scenario::{Precision, Scenario};

/// A statistic more than this factor away from the f32 run's has departed.
pub const DEPARTURE_FACTOR: f64 = 2.0;

/// The record of one precision check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionCheckRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    pub scenario: Scenario,
    /// The f32 run (no loss scaling).
    pub reference: PolicyRun,
    /// One per 16-bit policy, in the order run.
    pub policies: Vec<PolicyRun>,
}

/// The per-layer statistics a departure is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Statistic {
    WeightGradNorm,
    ActivationStd,
    UpdateRatio,
}

impl Statistic {
    const ALL: [Statistic; 3] = [
        Statistic::WeightGradNorm,
        Statistic::ActivationStd,
        Statistic::UpdateRatio,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Statistic::WeightGradNorm => "weight-grad-norm",
            Statistic::ActivationStd => "activation-std",
            Statistic::UpdateRatio => "update-ratio",
        }
    }

    fn of(self, l: &LayerStats) -> f64 {
        match self {
            Statistic::WeightGradNorm => l.weight_grad_norm,
            Statistic::ActivationStd => l.activation_std,
            Statistic::UpdateRatio => l.update_ratio,
        }
    }
}

/// Where a policy's run first left the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Departure {
    pub step: usize,
    pub layer: usize,
    pub statistic: Statistic,
    #[serde(with = "crate::record::nonfinite")]
    pub value: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub reference: f64,
}

/// One layer's roundings over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRounding {
    pub layer: usize,
    /// Values that overflowed to ±inf (activations and gradients).
    pub overflow: u64,
    /// Share of nonzero gradient values flushed to zero.
    pub flushed_fraction: f64,
}

/// One run of the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRun {
    pub precision: Precision,
    pub status: Status,
    pub outcome: Outcome,
    /// Error findings, cause first.
    pub errors: Vec<FindingKind>,
    #[serde(with = "crate::record::nonfinite")]
    pub final_loss: f64,
    /// `final_loss − reference final_loss` (0 for the reference).
    #[serde(with = "crate::record::nonfinite")]
    pub loss_gap: f64,
    pub departure: Option<Departure>,
    pub layers: Vec<LayerRounding>,
    /// Steps dynamic loss scaling skipped.
    pub skipped_steps: usize,
}

impl PolicyRun {
    /// The run of `precision` summarized against the reference trace (`None`: it is the reference).
    pub fn new(
        precision: Precision,
        trace: &Trace,
        verdict: &Verdict,
        reference: Option<(&Trace, f64)>,
    ) -> Self {
        let final_loss = trace.steps.last().map_or(f64::NAN, |s| s.loss);
        PolicyRun {
            precision,
            status: verdict.status,
            outcome: verdict.outcome,
            errors: verdict.errors().map(|f| f.kind).collect(),
            final_loss,
            loss_gap: reference.map_or(0.0, |r| final_loss - r.1),
            departure: reference.and_then(|r| departure(r.0, trace)),
            layers: roundings(trace),
            skipped_steps: (trace.steps.iter())
                .filter(|s| s.precision.as_ref().is_some_and(|p| p.skipped))
                .count(),
        }
    }
}

/// The first step, layer and statistic at which `run` leaves `reference` (see the module doc).
pub fn departure(reference: &Trace, run: &Trace) -> Option<Departure> {
    for (a, b) in reference.steps.iter().zip(&run.steps) {
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            for stat in Statistic::ALL {
                let (r, v) = (stat.of(la), stat.of(lb));
                let apart = match (r.is_finite(), v.is_finite()) {
                    (true, false) => true,
                    (true, true) if r > 0.0 && v > 0.0 => {
                        (v / r).ln().abs() > DEPARTURE_FACTOR.ln()
                    }
                    _ => false,
                };
                if apart {
                    return Some(Departure {
                        step: b.step,
                        layer: lb.layer,
                        statistic: stat,
                        value: v,
                        reference: r,
                    });
                }
            }
        }
    }
    None
}

/// Per layer: overflowed values and the flushed share of gradients over the run.
fn roundings(trace: &Trace) -> Vec<LayerRounding> {
    let mut out: Vec<(usize, u64, u64, u64)> = Vec::new();
    for p in trace.steps.iter().filter_map(|s| s.precision.as_ref()) {
        for l in &p.layers {
            let counts = [&l.activations, &l.activation_grads, &l.weight_grads];
            let overflow: u64 = counts
                .iter()
                .filter_map(|c| c.as_ref())
                .map(|c| c.overflow)
                .sum();
            let grads = [&l.activation_grads, &l.weight_grads];
            let (f, n) = (grads.iter().filter_map(|c| c.as_ref()))
                .map(|c| (c.flushed, c.values - (c.zeros - c.flushed)))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            match out.iter_mut().find(|e| e.0 == l.layer) {
                Some(e) => (e.1, e.2, e.3) = (e.1 + overflow, e.2 + f, e.3 + n),
                None => out.push((l.layer, overflow, f, n)),
            }
        }
    }
    out.sort_by_key(|e| e.0);
    (out.into_iter())
        .map(|(layer, overflow, f, n)| LayerRounding {
            layer,
            overflow,
            flushed_fraction: if n == 0 { 0.0 } else { f as f64 / n as f64 },
        })
        .collect()
}

impl super::Record for PrecisionCheckRecord {
    fn file_name(&self) -> String {
        "precision-check.json".to_string()
    }
}
