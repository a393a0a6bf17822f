//! Update-to-weight ratios and weight growth: how far each update moves a layer, and whether its
//! weights run away over the run.
//!
//! A healthy update moves a layer by about 1e-3 of its norm per step (Karpathy, CS231n notes on
//! "ratio of weights:updates"); two orders of magnitude either way is a warning. The gates judge
//! what persists, not the first steps: a layer that starts at or near zero (a zero-init head,
//! LoRA's B = 0, a 0.01x init) has `‖ΔW‖ / ‖W‖` of 1 or more until it has grown to its trained
//! size, and the same holds of weights that must grow to targets ×1e4. So `max_update_ratio`
//! takes each layer's median over the last window (updates as large as the weights at the end of
//! the run are thrashing), and `max_weight_growth` the growth over the second half of the run
//! (weights still multiplying then are running away; growth from a small init is learning).

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::series::{above, argmax_finite, fmt, median};
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
    f: impl Fn(&crate::record::trace::LayerStats) -> f64,
) -> Vec<(usize, f64)> {
    (0..cx.n_layers)
        .map(|l| argmax_finite(&cx.layer_series(l, &f)).unwrap_or((0, f64::NAN)))
        .collect()
}

fn peak_ratio(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_update_ratio;
    let from = cx.window_start();
    let levels = cx.layer_medians(from, |l| l.update_ratio);
    let (layer, level) = argmax_finite(&levels).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxUpdateRatio,
        gate,
        level,
        "largest per-layer median of ‖ΔW‖ / ‖W‖ over the last window",
    );
    book.unmeasured_because(
        Gate::MaxUpdateRatio,
        "no layer had a finite update ratio in the last window (weights still exactly 0)",
    );
    if !above(level, gate) {
        return None;
    }
    let over: Vec<usize> = (0..levels.len()).filter(|&l| levels[l] > gate).collect();
    let peak = layer_peaks(cx, |l| l.update_ratio)[layer];
    Some(
        Draft::new(
            FindingKind::UpdateRatio,
            Severity::Error,
            cx.range(from, cx.len() - 1),
        )
        .gate(Gate::MaxUpdateRatio, gate, level)
        .layers(over)
        .summary(format!(
            "updates to {} are {}x its own norm at the end of the run (median of the last {} steps; healthy ≈ 1e-3)",
            cx.layer_name(layer),
            fmt(level),
            cx.len() - from
        ))
        .explain(
            "Median over the last window of ‖ΔW‖ / ‖W‖. Updates as large as the weights, step \
             after step, replace them rather than refine them: the layer is thrashing. (Early \
             steps of a layer that starts near zero are not judged: they grow it.)"
                .to_string(),
        )
        .evidence("peak update ratio", peak.1)
        .evidence("step of the peak", cx.step[peak.0] as f64)
        .suggest(suggest::lower_lr(cx.scenario, 10.0, "smaller steps"))
        .done(),
    )
}

/// Layers whose typical (median) update ratio is orders of magnitude from ~1e-3.
/// Steps that are converged or at a minimum do not count: small updates are right there.
fn typical_ratio(cx: &Context) -> Option<Finding> {
    let live: Vec<usize> = (0..cx.len()).filter(|&i| !cx.settled(i)).collect();
    let medians: Vec<f64> = (0..cx.n_layers)
        .map(|l| {
            let series = cx.layer_series(l, |s| s.update_ratio);
            median(live.iter().map(|&i| series[i]))
        })
        .collect();
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
                "Median of ‖ΔW‖ / ‖W‖ per layer over the steps before the loss converged, {} {} \
                 (100x from the ~1e-3 of healthy training).",
                if fast { "above" } else { "below" },
                fmt(threshold)
            ))
            .done(),
    )
}

fn growth(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_weight_growth;
    let mid = cx.len() / 2;
    let at_mid = cx.layer_series_at(mid, |l| l.weight_norm);
    let peaks: Vec<(usize, f64)> = (0..cx.n_layers)
        .map(|l| {
            let series = cx.layer_series(l, |s| s.weight_norm);
            argmax_finite(&series[mid..]).map_or((mid, f64::NAN), |(i, w)| (mid + i, w))
        })
        .collect();
    let ratios: Vec<f64> = peaks.iter().zip(&at_mid).map(|(p, w)| p.1 / w).collect();
    let (layer, peak) = argmax_finite(&ratios).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxWeightGrowth,
        gate,
        peak,
        "largest ‖W_t‖ / ‖W_mid‖ of any layer over the second half of the run",
    );
    book.unmeasured_because(
        Gate::MaxWeightGrowth,
        "every layer's weight norm was 0 or not finite at the middle of the run",
    );
    if !above(peak, gate) {
        return None;
    }
    let at = peaks[layer].0;
    Some(
        Draft::new(
            FindingKind::WeightGrowth,
            Severity::Error,
            cx.range(mid, at),
        )
        .gate(Gate::MaxWeightGrowth, gate, peak)
        .layers(vec![layer])
        .summary(format!(
            "{} weights grew {}x between step {} and step {} (norm {} → {})",
            cx.layer_name(layer),
            fmt(peak),
            cx.step[mid],
            cx.step[at],
            fmt(at_mid[layer]),
            fmt(peaks[layer].1)
        ))
        .explain(
            "Growth of the weight norm over the second half of the run, when training should \
             have settled. Weights that keep multiplying push activations and gradients toward \
             overflow; weight decay or a smaller lr keeps them in check."
                .to_string(),
        )
        .evidence(
            "weight norm at step 0",
            cx.layer_series_at(0, |l| l.weight_norm)[layer],
        )
        .suggest(suggest::lower_lr(cx.scenario, 10.0, "smaller steps"))
        .done(),
    )
}
