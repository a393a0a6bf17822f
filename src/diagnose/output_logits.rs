//! output-logit-divergence: the output logits drift as a whole until `log Z` is far from 0
//! (Wortsman et al. 2023, §3.2; PaLM's z-loss `1e-4·log²Z` exists to stop it).
//!
//! The softmax is invariant to a shift of every logit, so cross-entropy does not hold the
//! logits' level: under Adam (which normalizes each coordinate's step) it wanders, and
//! `log Z = logsumexp(logits)` with it. The gate `max_log_z` judges the largest `|mean log Z|` of
//! any step. Why 20 by default: `e^20 ≈ 4.9e8` is more than any vocabulary, so no initial
//! (near-uniform, `log Z ≈ ln V ≤ 12` for `V ≤ 160k`) distribution explains it — the logits sit
//! at least 8 nats above their log-probabilities; and a logit of 16 to 32 is stored in bf16 to a
//! spacing of 0.125 nats, so a 16-bit run loses the loss's resolution there. On tiny-gpt
//! `log Z` stays near `ln 256 = 5.5`; see the README for the scenario that crosses it.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::above;
use crate::record::text::fmt;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let series: Vec<(usize, f64)> = (cx.trace.steps.iter().enumerate())
        .filter_map(|(i, s)| Some((i, s.transformer.as_ref()?.log_z_mean)))
        .collect();
    if series.is_empty() {
        return Vec::new();
    }
    let finite: Vec<(usize, f64)> = series.iter().copied().filter(|x| x.1.is_finite()).collect();
    let peak = (finite.iter().copied()).max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    let gate = cx.gates.max_log_z;
    let failed = peak.filter(|p| above(p.1.abs(), gate));
    let measured = match (failed, peak) {
        (Some(p), _) => p.1.abs(),
        (None, Some(p)) if finite.len() == series.len() => p.1.abs(),
        _ => f64::NAN,
    };
    book.record(
        Gate::MaxLogZ,
        gate,
        measured,
        "largest |mean log Z| of the output softmax at any step",
    );
    book.unmeasured_because(
        Gate::MaxLogZ,
        "log Z was NaN or infinite (see the nonfinite finding)",
    );
    match failed {
        Some(p) => vec![divergence(cx, &finite, p, gate)],
        None => Vec::new(),
    }
}

fn divergence(cx: &Context, series: &[(usize, f64)], peak: (usize, f64), gate: f64) -> Finding {
    let first = series
        .iter()
        .find(|x| above(x.1.abs(), gate))
        .copied()
        .unwrap_or(peak);
    let start = series[0].1;
    let head = cx.trace.layer_names.iter().position(|n| n == "head");
    Draft::new(
        FindingKind::OutputLogitDivergence,
        Severity::Error,
        cx.range(first.0, cx.len() - 1),
    )
    .gate(Gate::MaxLogZ, gate, peak.1.abs())
    .layers(head.into_iter().collect())
    .summary(format!(
        "mean log Z of the output softmax drifted from {} at step {} to {} at step {}; |log Z| \
             first passed {} at step {}",
        fmt(start),
        cx.step[series[0].0],
        fmt(peak.1),
        cx.step[peak.0],
        fmt(gate),
        cx.step[first.0]
    ))
    .explain(
        "Mean over tokens of log Z = logsumexp(logits), per step. Cross-entropy only sees \
             logit differences, so nothing holds their level: it drifts, the logits grow far from \
             log-probabilities, and a 16-bit run loses the loss's resolution (Wortsman et al. \
             2023; PaLM adds z-loss 1e-4·log²Z against it)."
            .to_string(),
    )
    .evidence("initial_log_z", start)
    .evidence("peak_log_z", peak.1)
    .evidence("first_step_over_gate", cx.step[first.0] as f64)
    .suggest(fix(cx))
    .done()
}

/// z-loss when the run has none (PaLM's 1e-4), ten times more when it has some.
fn fix(cx: &Context) -> Option<Suggestion> {
    cx.scenario.transformer()?;
    let z = cx.scenario.loss.z_loss;
    let (value, why) = match z == 0.0 {
        true => (
            "1e-4".to_string(),
            "PaLM's z-loss 1e-4·log²Z pulls log Z back toward 0",
        ),
        false => (
            super::suggest::toml_float(z * 10.0),
            "a stronger z-loss pulls log Z back toward 0",
        ),
    };
    Some(Suggestion {
        set: vec![format!("loss.z_loss={value}")],
        why: why.to_string(),
    })
}
