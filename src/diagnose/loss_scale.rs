//! loss-scale-collapse and lost-updates: dynamic loss scaling that shrinks instead of protecting,
//! and a pure 16-bit policy whose weight rounding undoes the updates.
//!
//! Collapse: GradScaler halves the scale and skips the step on every inf/NaN gradient. A
//! healthy run skips a few steps while the scale finds its level (from 2^16, at most 16 steps
//! reach 1) and one per `growth_interval` after; a run whose forward pass overflows, or whose
//! gradients are non-finite for another reason, skips every step and the scale falls without
//! bound (a user saw 5e-23, pytorch #157436). Gates: `min_loss_scale` (default 1: below it the
//! scale shrinks gradients instead of lifting them) and `max_skipped_fraction` (default 0.1).
//!
//! Lost updates: under a pure policy an update smaller than half an ulp of its weight rounds
//! back to the old value (|w|/|Δw| ≥ 256 in bf16, 2048 in fp16). The gate
//! `max_lost_update_fraction` (default 0.25) judges the share of all weight-value updates of the
//! run that were undone; f32 master weights (a `*-mixed` policy) keep them.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::above;
use crate::core::precision::scaler::ScaleKind;
use crate::record::text::fmt;
use crate::scenario::Precision;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(collapse(cx, book));
    out.extend(lost(cx, book));
    out
}

fn collapse(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    if cx.scenario.loss_scale.kind != ScaleKind::Dynamic {
        return None;
    }
    let steps: Vec<(usize, f64, bool)> = (cx.trace.steps.iter().enumerate())
        .filter_map(|(i, s)| {
            let p = s.precision.as_ref()?;
            Some((i, p.loss_scale?, p.skipped))
        })
        .collect();
    if steps.is_empty() {
        return None;
    }
    let gates = &cx.scenario.gates;
    let min = steps.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let skipped = steps.iter().filter(|s| s.2).count();
    let fraction = skipped as f64 / steps.len() as f64;
    book.record(
        Gate::MinLossScale,
        gates.min_loss_scale,
        min,
        "smallest loss scale of the run",
    );
    book.record(
        Gate::MaxSkippedFraction,
        gates.max_skipped_fraction,
        fraction,
        "share of steps dynamic loss scaling skipped",
    );
    let low = min < gates.min_loss_scale;
    if !low && !above(fraction, gates.max_skipped_fraction) {
        return None;
    }
    let first_skip = steps.iter().find(|s| s.2).map_or(steps[0].0, |s| s.0);
    let streak = longest_streak(&steps);
    let mut d = Draft::new(
        FindingKind::LossScaleCollapse,
        Severity::Error,
        cx.range(first_skip, steps[steps.len() - 1].0),
    );
    d = match low {
        true => d.gate(Gate::MinLossScale, gates.min_loss_scale, min),
        false => d.gate(
            Gate::MaxSkippedFraction,
            gates.max_skipped_fraction,
            fraction,
        ),
    };
    let f = d
        .summary(format!(
            "dynamic loss scaling skipped {skipped} of {} steps (longest run {streak}) and the scale \
             fell to {}: the gradients were inf or NaN step after step",
            steps.len(),
            fmt(min)
        ))
        .explain(
            "GradScaler halves the scale and skips the update whenever a gradient is inf or NaN. \
             Scaling cannot cure an overflow in the forward pass or a diverging run, so the scale \
             keeps halving (pytorch #157436 saw 5e-23) and no step trains."
                .to_string(),
        )
        .evidence("skipped_steps", skipped as f64)
        .evidence("skipped_fraction", fraction)
        .evidence("min_loss_scale", min)
        .evidence("longest_skip_streak", streak as f64)
        .suggest(super::precision::bf16_instead(cx))
        .done();
    Some(f)
}

fn longest_streak(steps: &[(usize, f64, bool)]) -> usize {
    let (mut best, mut run) = (0, 0);
    for s in steps {
        run = if s.2 { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn lost(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let mixed = match cx.scenario.precision {
        Precision::Bf16 => "bf16-mixed",
        Precision::Fp16 => "fp16-mixed",
        _ => return None,
    };
    let (mut lost, mut values, mut lost_mass, mut moved_mass) = (0u64, 0u64, 0.0, 0.0);
    let mut per_layer: Vec<(usize, u64, u64)> = Vec::new();
    let mut first = None;
    for (i, s) in cx.trace.steps.iter().enumerate() {
        for l in s.precision.iter().flat_map(|p| &p.layers) {
            let Some(w) = &l.weights else { continue };
            (lost, values) = (lost + w.lost, values + w.values);
            (lost_mass, moved_mass) = (lost_mass + w.lost_mass, moved_mass + w.moved_mass);
            match per_layer.iter_mut().find(|e| e.0 == l.layer) {
                Some(e) => (e.1, e.2) = (e.1 + w.lost, e.2 + w.values),
                None => per_layer.push((l.layer, w.lost, w.values)),
            }
            first = first.or(Some(i));
        }
    }
    let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let fraction = share(lost, values);
    let gate = cx.scenario.gates.max_lost_update_fraction;
    book.record(
        Gate::MaxLostUpdateFraction,
        gate,
        fraction,
        "share of weight updates undone by storing the weights in 16 bits",
    );
    if !above(fraction, gate) {
        return None;
    }
    let worst = per_layer
        .iter()
        .max_by(|a, b| share(a.1, a.2).total_cmp(&share(b.1, b.2)))?;
    let bad = per_layer
        .iter()
        .filter(|e| share(e.1, e.2) > gate)
        .map(|e| e.0)
        .collect();
    let half = cx
        .scenario
        .precision
        .policy()
        .map_or("16 bits", |p| p.half.name());
    let f = Draft::new(
        FindingKind::LostUpdates,
        Severity::Error,
        cx.range(first.unwrap_or(0), cx.len() - 1),
    )
    .gate(Gate::MaxLostUpdateFraction, gate, fraction)
    .layers(bad)
    .summary(format!(
        "{}% of the weight updates were lost: below half an ulp of their weight, they rounded \
             back when the weights were stored in {half} ({} worst: {}%)",
        fmt(100.0 * fraction),
        cx.layer_name(worst.0),
        fmt(100.0 * share(worst.1, worst.2)),
    ))
    .explain(format!(
        "An update Δw changes a {half} weight only if |Δw| exceeds half an ulp of w, i.e. \
             |w|/|Δw| < {}: smaller steps (a small lr, the end of a decay schedule, a norm gain \
             near 1) vanish. f32 master weights keep them and round only the matmuls' copy.",
        if half == "bf16" { 256 } else { 2048 }
    ))
    .evidence("lost_update_fraction", fraction)
    // The share of the update size lost: small (noise-level) updates count little here.
    .evidence("lost_update_mass_fraction", lost_mass / moved_mass)
    .suggest(Some(Suggestion {
        set: vec![format!("precision=\"{mixed}\"")],
        why: "f32 master weights and optimizer state (autocast) keep every update; only the \
                  matmuls read 16-bit copies"
            .to_string(),
    }))
    .done();
    Some(f)
}
