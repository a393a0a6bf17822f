//! Update-to-weight ratios and weight growth: how far each update moves a layer, and whether its
//! weights run away over the run.
//!
//! A healthy update moves a layer by about 1e-3 of its norm per step (Karpathy, CS231n notes on
//! "ratio of weights:updates"); two orders of magnitude either way is a warning, and a single
//! update as large as the weights themselves (`max_update_ratio`, default 1) fails the gate.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::series::{above, argmax_finite, fmt};
use super::suggest;

/// A layer whose median update ratio is above this moves too fast (100x the healthy ~1e-3).
pub const UPDATE_HIGH_WARNING: f64 = 1e-1;
/// A layer whose median update ratio is below this barely trains (100x under ~1e-3).
pub const UPDATE_LOW_WARNING: f64 = 1e-5;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    if cx.is_empty() {
        return Vec::new();
    }
    [peak_ratio(cx, book), typical_ratio(cx), growth(cx, book)]
        .into_iter()
        .flatten()
        .collect()
}

/// Largest finite value of a layer's series and the recorded index where it occurs.
fn layer_peaks(
    cx: &Context,
    f: impl Fn(&crate::probe::trace::LayerStats) -> f64,
) -> Vec<(usize, f64)> {
    (0..cx.n_layers)
        .map(|l| argmax_finite(&cx.layer_series(l, &f)).unwrap_or((0, f64::NAN)))
        .collect()
}

fn peak_ratio(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_update_ratio;
    let peaks = layer_peaks(cx, |l| l.update_ratio);
    let values: Vec<f64> = peaks.iter().map(|p| p.1).collect();
    let (layer, peak) = argmax_finite(&values).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxUpdateRatio,
        gate,
        peak,
        "largest ‖ΔW‖ / ‖W‖ of any layer at any step",
    );
    if !above(peak, gate) {
        return None;
    }
    let over: Vec<usize> = (0..values.len()).filter(|&l| values[l] > gate).collect();
    let at = peaks[layer].0;
    Some(
        Draft::new(FindingKind::UpdateRatio, Severity::Error, cx.range(at, at))
            .gate(Gate::MaxUpdateRatio, gate, peak)
            .layers(over)
            .summary(format!(
                "one update moved {} by {}x its own norm at step {} (healthy ≈ 1e-3)",
                cx.layer_name(layer),
                fmt(peak),
                cx.step[at]
            ))
            .explain(
                "‖ΔW‖ / ‖W‖ per layer and step. An update as large as the weights replaces them \
                 rather than refining them; the next steps see a different network."
                    .to_string(),
            )
            .suggest(suggest::lower_lr(cx.scenario, 10.0, "smaller steps"))
            .done(),
    )
}

/// Layers whose typical (median) update ratio is orders of magnitude from ~1e-3.
fn typical_ratio(cx: &Context) -> Option<Finding> {
    let medians = cx.layer_medians(0, |l| l.update_ratio);
    let high: Vec<usize> = (0..medians.len())
        .filter(|&l| medians[l] > UPDATE_HIGH_WARNING)
        .collect();
    let low: Vec<usize> = (0..medians.len())
        .filter(|&l| medians[l] < UPDATE_LOW_WARNING)
        .collect();
    let (layers, fast) = match (high.is_empty(), low.is_empty()) {
        (true, true) => return None,
        (false, _) => (high, true),
        (true, false) => (low, false),
    };
    let worst = layers[0];
    let threshold = if fast {
        UPDATE_HIGH_WARNING
    } else {
        UPDATE_LOW_WARNING
    };
    Some(
        Draft::new(FindingKind::UpdateRatio, Severity::Warning, cx.whole())
            .measured(medians[worst], Some(threshold))
            .layers(layers.clone())
            .summary(format!(
                "{} layer(s) {}: median update/weight ratio {} in {} (healthy ≈ 1e-3)",
                layers.len(),
                if fast {
                    "move too fast"
                } else {
                    "barely train"
                },
                fmt(medians[worst]),
                cx.layer_name(worst)
            ))
            .explain(format!(
                "Median over the run of ‖ΔW‖ / ‖W‖ per layer, {} {} (100x from the ~1e-3 of \
                 healthy training).",
                if fast { "above" } else { "below" },
                fmt(threshold)
            ))
            .done(),
    )
}

fn growth(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_weight_growth;
    let initial = cx.layer_series_at(0, |l| l.weight_norm);
    let peaks = layer_peaks(cx, |l| l.weight_norm);
    let ratios: Vec<f64> = peaks.iter().zip(&initial).map(|(p, w0)| p.1 / w0).collect();
    let (layer, peak) = argmax_finite(&ratios).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxWeightGrowth,
        gate,
        peak,
        "largest ‖W_t‖ / ‖W_0‖ of any layer (W_0 after step 0's update)",
    );
    if !above(peak, gate) {
        return None;
    }
    let at = peaks[layer].0;
    Some(
        Draft::new(FindingKind::WeightGrowth, Severity::Error, cx.range(0, at))
            .gate(Gate::MaxWeightGrowth, gate, peak)
            .layers(vec![layer])
            .summary(format!(
                "{} weights grew {}x by step {} (norm {} → {})",
                cx.layer_name(layer),
                fmt(peak),
                cx.step[at],
                fmt(initial[layer]),
                fmt(peaks[layer].1)
            ))
            .explain(
                "Weight norms that grow without bound push activations and gradients toward \
                 overflow; weight decay or a smaller lr keeps them in check."
                    .to_string(),
            )
            .suggest(suggest::lower_lr(cx.scenario, 10.0, "smaller steps"))
            .done(),
    )
}
