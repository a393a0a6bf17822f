//! Root cause of a non-finite run: the earliest anomaly in the trace that explains it, which is
//! often steps before and layers away from the first op that produced a NaN or infinity.
//!
//! Looks at every recorded step up to the first non-finite one and, per layer, at four symptoms
//! with thresholds two or more orders of magnitude past healthy values (a layer's gradient as growth
//! over its step-0 norm, like `max_grad_norm`). The earliest step with any
//! symptom wins; within it, the symptom furthest past its threshold (in log ratio).

use super::context::Context;
use super::series::fmt;

/// An update moving a layer's weights by a tenth of their norm in one step is 100x the ~1e-3
/// of healthy training (Karpathy, CS231n "ratio of weights:updates"; it is our rule of thumb).
pub const ROOT_UPDATE_RATIO: f64 = 0.1;
/// A layer whose weight norm grew tenfold from step 0 is running away.
pub const ROOT_WEIGHT_GROWTH: f64 = 10.0;
/// An activation above this magnitude is far outside the O(1) range inits aim for.
pub const ROOT_ACTIVATION: f64 = 1e4;

/// The anomaly chosen as root cause.
#[derive(Debug, Clone, PartialEq)]
pub struct RootCause {
    /// Recorded-step index, the step number, and the layer.
    pub index: usize,
    pub step: usize,
    pub layer: usize,
    pub symptom: Symptom,
    pub value: f64,
    pub threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symptom {
    UpdateRatio,
    WeightGrowth,
    GradNorm,
    Activation,
}

impl RootCause {
    /// "layer 9, update/weight ratio 3.2 at step 0 (healthy ≈ 1e-3)".
    pub fn describe(&self, cx: &Context) -> String {
        let what = match self.symptom {
            Symptom::UpdateRatio => format!(
                "update/weight ratio {} at step {} (healthy ≈ 1e-3)",
                fmt(self.value),
                self.step
            ),
            Symptom::WeightGrowth => format!(
                "weight norm {}x its step-0 value at step {}",
                fmt(self.value),
                self.step
            ),
            Symptom::GradNorm => format!(
                "weight-gradient norm {}x its step-0 value at step {} (gate {})",
                fmt(self.value),
                self.step,
                fmt(self.threshold)
            ),
            Symptom::Activation => format!(
                "activations up to {} in magnitude at step {} (healthy O(1))",
                fmt(self.value),
                self.step
            ),
        };
        format!("{}, {what}", cx.layer_name(self.layer))
    }
}

/// The earliest anomaly at or before recorded index `last`, if any.
pub fn find(cx: &Context, last: usize) -> Option<RootCause> {
    let initial = |f: fn(&crate::record::trace::LayerStats) -> f64| -> Vec<f64> {
        cx.trace
            .steps
            .first()
            .map(|s| s.layers.iter().map(f).collect())
            .unwrap_or_default()
    };
    let initial_weights = initial(|l| l.weight_norm);
    let initial_grads = initial(|l| l.weight_grad_norm);
    (0..=last.min(cx.len().saturating_sub(1))).find_map(|i| {
        cx.trace.steps[i]
            .layers
            .iter()
            .enumerate()
            .flat_map(|(l, stats)| {
                let w0 = initial_weights.get(l).copied().unwrap_or(f64::NAN);
                let g0 = initial_grads.get(l).copied().unwrap_or(f64::NAN);
                [
                    (Symptom::UpdateRatio, stats.update_ratio, ROOT_UPDATE_RATIO),
                    (
                        Symptom::WeightGrowth,
                        stats.weight_norm / w0,
                        ROOT_WEIGHT_GROWTH,
                    ),
                    (
                        Symptom::GradNorm,
                        stats.weight_grad_norm / g0,
                        cx.gates.max_grad_norm,
                    ),
                    (
                        Symptom::Activation,
                        stats.activation_max_abs,
                        ROOT_ACTIVATION,
                    ),
                ]
                .into_iter()
                .filter(|(_, v, t)| v.is_finite() && v > t)
                .map(move |(symptom, value, threshold)| RootCause {
                    index: i,
                    step: cx.step[i],
                    layer: l,
                    symptom,
                    value,
                    threshold,
                })
            })
            .max_by(|a, b| (a.value / a.threshold).total_cmp(&(b.value / b.threshold)))
    })
}
