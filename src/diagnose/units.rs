//! Dead ReLU units and saturated tanh/sigmoid units, per layer, over the last window.
//!
//! The probes count, per step, the units inactive (or saturated) for every sample of the batch;
//! here a layer's level is the median of that fraction over the last window, so one unlucky batch
//! does not condemn a layer. (DeepDiagnosis flags ≥ 70% of outputs ≤ 0 as dead and > 50% of
//! pre-activations outside ±5 as saturated; our unit-level default of 50% is stricter on dead
//! units, and "derivative below 1e-3 for every sample" is |z| > 4.1 for tanh, > 6.9 for sigmoid.)

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::series::{argmax_finite, fmt};
use super::suggest;
use crate::record::trace::LayerStats;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    if cx.is_empty() {
        return Vec::new();
    }
    let dead = Family {
        kind: FindingKind::DeadUnits,
        gate_key: Gate::MaxDeadFraction,
        gate: cx.gates.max_dead_fraction,
        stat: |l| l.dead_fraction,
        what: "dead units (ReLU outputs zero for every sample of a batch)",
    };
    let saturated = Family {
        kind: FindingKind::SaturatedUnits,
        gate_key: Gate::MaxSaturatedFraction,
        gate: cx.gates.max_saturated_fraction,
        stat: |l| l.saturated_fraction,
        what: "saturated units (tanh/sigmoid derivative below 1e-3 for every sample)",
    };
    [dead, saturated]
        .into_iter()
        .filter_map(|family| family.check(cx, book))
        .collect()
}

struct Family {
    kind: FindingKind,
    gate_key: Gate,
    gate: f64,
    stat: fn(&LayerStats) -> f64,
    what: &'static str,
}

impl Family {
    fn check(&self, cx: &Context, book: &mut GateBook) -> Option<Finding> {
        let from = cx.window_start();
        let levels = cx.layer_medians(from, self.stat);
        let (worst, peak) = argmax_finite(&levels).unwrap_or((0, f64::NAN));
        let description = format!("largest per-layer fraction of {} (last window)", self.what);
        book.record(self.gate_key, self.gate, peak, &description);
        let over: Vec<usize> = (0..levels.len())
            .filter(|&l| levels[l] > self.gate)
            .collect();
        if over.is_empty() {
            return None;
        }
        let grads = cx.layer_medians(from, |s| s.weight_grad_norm);
        let zero_grad = over.iter().filter(|&&l| grads[l] == 0.0).count();
        let dead = self.kind == FindingKind::DeadUnits;
        let suggestion = if dead {
            suggest::revive_units(
                cx.scenario,
                "units that never activate never get a gradient",
            )
        } else {
            suggest::desaturate(cx.scenario, "saturated units pass almost no gradient")
        };
        Some(
            Draft::new(self.kind, Severity::Error, cx.range(from, cx.len() - 1))
                .gate(self.gate_key, self.gate, peak)
                .layers(over.clone())
                .summary(format!(
                    "{} of {} layers have more than {}% {}; worst {} at {}%",
                    over.len(),
                    levels.len(),
                    fmt(100.0 * self.gate),
                    if dead {
                        "dead units"
                    } else {
                        "saturated units"
                    },
                    cx.layer_name(worst),
                    fmt(100.0 * peak)
                ))
                .explain(format!(
                    "Median over the last window of each layer's fraction of {}. {} of these \
                     layers get exactly zero weight gradient.",
                    self.what, zero_grad
                ))
                .evidence("layers over the gate", over.len() as f64)
                .evidence("layers with zero gradient", zero_grad as f64)
                .suggest(suggestion)
                .done(),
        )
    }
}
