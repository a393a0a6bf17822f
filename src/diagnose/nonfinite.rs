//! Non-finite values: where the first NaN/Inf came from (the probes' exact origin), and the
//! earliest anomaly that explains it (the root cause), named separately.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::root_cause::{self, RootCause, Symptom};
use super::suggest;
use crate::core::observer::Phase;
use crate::record::trace::{LayerStats, NanOrigin};
use crate::scenario::{ModelConfig, NonfinitePolicy};

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let bad: Vec<usize> = (0..cx.len())
        .filter(|&i| {
            let s = &cx.trace.steps[i];
            // A step dynamic loss scaling skipped had an inf/NaN gradient by design and left
            // the weights alone: only its loss can tell of a failure.
            !s.loss.is_finite()
                || (!cx.skipped[i]
                    && (!s.grad_norm.is_finite() || s.layers.iter().any(|l| l.nonfinite > 0)))
        })
        .collect();
    let forbid = cx.gates.nonfinite == NonfinitePolicy::Forbid;
    let threshold = if forbid { 0.0 } else { f64::INFINITY };
    book.record(
        Gate::Nonfinite,
        threshold,
        bad.len() as f64,
        "steps with a NaN or infinity in the loss, a gradient, an activation or a weight",
    );
    let (Some(&first), Some(&last)) = (bad.first(), bad.last()) else {
        return Vec::new();
    };
    let severity = if forbid {
        Severity::Error
    } else {
        Severity::Warning
    };
    let cause = root_cause::find(cx, first).filter(|c| is_earlier(c, cx.origin));
    let origin_text = cx.origin.map_or_else(
        || {
            let seen = first_seen(cx, first).map_or(String::new(), |w| format!(", first in {w}"));
            format!(
                "step {} is the first with a non-finite value{seen}",
                cx.step[first]
            )
        },
        |o| format!("first {}: {}", o.value, describe_origin(cx, o)),
    );
    let summary = match &cause {
        Some(c) => format!("root cause: {}; {origin_text}", c.describe(cx)),
        None => origin_text.clone(),
    };
    let mut out = vec![
        Draft::new(FindingKind::Nonfinite, severity, cx.range(first, last))
            .gate(Gate::Nonfinite, threshold, bad.len() as f64)
            .layers(cx.origin.and_then(|o| o.layer).into_iter().collect())
            .summary(summary)
            .explain(explain(cx, bad.len()))
            .evidence("steps with non-finite values", bad.len() as f64)
            .suggest(origin_fix(cx, cause.as_ref()))
            .done(),
    ];
    if let Some(c) = cause {
        out.push(root_cause_finding(cx, &c, severity, &origin_text));
    }
    out
}

/// Without a replay, where step `i`'s statistics first show a non-finite value, in the order a
/// step computes them: a module's output (forward, first layer first), a gradient (backward,
/// last layer first), then the weights after the update (all layers of one update are alike
/// here, so their count and the first are named).
fn first_seen(cx: &Context, i: usize) -> Option<String> {
    let layers = &cx.trace.steps[i].layers;
    // A module's moments are NaN also when not measured: its count of non-finite values says
    // whether they are NaN because the output was.
    let output = |l: &&LayerStats| l.nonfinite > 0 && !l.activation_max_abs.is_finite();
    let grad = |l: &&LayerStats| !(l.weight_grad_norm.is_finite() && l.bias_grad_norm.is_finite());
    if let Some(l) = layers.iter().find(output) {
        return Some(format!("{}'s output (forward)", cx.layer_name(l.layer)));
    }
    if let Some(l) = layers.iter().rev().find(grad) {
        return Some(format!("{}'s gradient (backward)", cx.layer_name(l.layer)));
    }
    let weights: Vec<usize> = (layers.iter())
        // A NaN norm may be one a trace did not record: the count tells.
        .filter(|l| l.weight_norm.is_infinite() || (l.weight_norm.is_nan() && l.nonfinite > 0))
        .map(|l| l.layer)
        .collect();
    let first = *weights.first()?;
    Some(format!(
        "the weights after the update ({} layer(s), first {})",
        weights.len(),
        cx.layer_name(first)
    ))
}

/// A root cause is worth naming only when it precedes the first non-finite op or sits elsewhere.
fn is_earlier(cause: &RootCause, origin: Option<&NanOrigin>) -> bool {
    origin.is_none_or(|o| cause.step < o.step || o.layer != Some(cause.layer))
}

fn describe_origin(cx: &Context, o: &NanOrigin) -> String {
    let layer = match (&o.module, o.layer) {
        (Some(module), Some(l)) => format!("layer {l} ({module})"),
        (_, l) => l.map_or("the loss".to_string(), |l| cx.layer_name(l)),
    };
    let phase = match o.phase {
        Phase::Forward => "forward",
        Phase::Backward => "backward",
        Phase::Update => "update",
    };
    format!("{layer} {phase} {} at step {}", o.op, o.step)
}

fn explain(cx: &Context, bad_steps: usize) -> String {
    let mut text = format!(
        "{bad_steps} of {} steps hold a NaN or infinity; once a weight is non-finite, every later \
         step is too.",
        cx.len()
    );
    match cx.origin {
        Some(o) => text.push_str(&format!(
            " The replay found the first op to produce one from finite inputs: {}.",
            o.explanation
        )),
        None => text.push_str(
            " No replay named the op that produced it (a trace of a real run cannot be replayed): \
             the step and layer above come from the recorded statistics. To find the op, rerun \
             that step under torch.autograd.detect_anomaly(), or reproduce the model as a \
             scenario, whose replay names it.",
        ),
    }
    text
}

fn root_cause_finding(
    cx: &Context,
    c: &RootCause,
    severity: Severity,
    origin_text: &str,
) -> Finding {
    Draft::new(FindingKind::RootCause, severity, cx.range(c.index, c.index))
        .gate(Gate::Nonfinite, 0.0, c.value)
        .measured(c.value, Some(c.threshold))
        .layers(vec![c.layer])
        .summary(format!("root cause: {}", c.describe(cx)))
        .explain(format!(
            "The earliest anomaly before the run went non-finite ({origin_text}). The first \
             non-finite op is where the damage shows, not where it started."
        ))
        .suggest(cause_fix(cx, c))
        .done()
}

/// The fix for a root cause: an oversized per-layer learning rate first, else by symptom.
fn cause_fix(cx: &Context, c: &RootCause) -> Option<Suggestion> {
    let s = cx.scenario;
    let group = s
        .optimizer
        .groups
        .iter()
        .find(|g| g.layers.contains(&c.layer));
    if let Some(g) = group.filter(|g| g.lr_scale > 1.0) {
        return Some(Suggestion {
            set: vec!["optimizer.groups=[]".to_string()],
            why: format!(
                "{} trains at lr_scale {} (lr {}); drop the group or lower its scale",
                cx.layer_name(c.layer),
                g.lr_scale,
                s.optimizer.lr * g.lr_scale
            ),
        });
    }
    match c.symptom {
        Symptom::UpdateRatio | Symptom::WeightGrowth => suggest::lower_lr(
            s,
            10.0,
            "smaller steps keep each update a small fraction of the weights",
        ),
        Symptom::GradNorm => suggest::clip_norm(s, "clipping bounds the size of every update"),
        Symptom::Activation => suggest::normalize_or_residual(
            s,
            "normalization keeps activations O(1) whatever the scale of the inputs or weights",
        ),
    }
}

/// The fix for the first non-finite op when no earlier anomaly explains it.
fn origin_fix(cx: &Context, cause: Option<&RootCause>) -> Option<Suggestion> {
    if let Some(c) = cause {
        return cause_fix(cx, c);
    }
    let s = cx.scenario;
    let o = cx.origin?;
    let zero_eps = |set: &str, why: &str| {
        Some(Suggestion {
            set: vec![set.to_string()],
            why: why.to_string(),
        })
    };
    let norm_eps = match &s.model {
        ModelConfig::Mlp(m) => m.norm_eps,
        ModelConfig::Transformer(t) => t.norm_eps,
    };
    if o.op.contains("norm") && norm_eps == 0.0 {
        return zero_eps(
            "model.norm_eps=1e-5",
            "eps = 0 divides by a zero variance when a feature is constant over the batch",
        );
    }
    if o.phase == Phase::Update && s.optimizer.eps == 0.0 {
        return zero_eps(
            "optimizer.eps=1e-8",
            "eps = 0 divides 0 by 0 when a gradient and its running average are both zero",
        );
    }
    match o.phase {
        Phase::Update => suggest::lower_lr(s, 10.0, "the update itself overflowed"),
        _ => suggest::clip_norm(s, "bound the updates before the values grow out of range"),
    }
}
