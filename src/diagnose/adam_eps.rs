//! adam-epsilon: an adaptive optimizer's ε comparable with a weight tensor's gradient RMS, so
//! its updates shrink by `RMS(g) / (RMS(g) + ε)` however large the lr (Wortsman et al. 2023,
//! §3.4; Molybog et al. 2023).
//!
//! Adam's update is `m / (√v + ε)`; with `√v ≈ RMS(g)` the update is damped by
//! `r / (r + 1)` where `r = RMS(g)/ε`. The gate `min_grad_rms_over_eps` (default 1: updates at
//! most half what they would be without ε) judges, per weight tensor (matrices and embeddings;
//! `ParamKind::Weight`), the median of `r` over the steps the run was still learning. Why weight
//! tensors only: a norm's shift before a softmax-invariant direction (qk-layernorm's key shift)
//! has a structurally zero gradient that ε rightly damps. Why the median and not settled steps:
//! one quiet mini-batch is not a vanished update, and a run that has converged has small
//! gradients for the good reason ([`Context::settled`]).

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::{below, median};
use super::suggest::toml_float;
use crate::record::text::fmt;

/// Tensors whose median ratio crossed the gate, worst first: `(tensor index, median)`.
type Low = Vec<(usize, f64)>;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let tensors = &cx.trace.tensors;
    let rows: Vec<(usize, &[f64])> = cx
        .trace
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| !cx.settled(*i))
        .filter_map(|(i, s)| Some((i, s.transformer.as_ref()?.grad_rms_over_eps.as_slice())))
        .filter(|(_, r)| !r.is_empty() && r.len() == tensors.len())
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let medians: Vec<(usize, f64)> = (tensors.iter().enumerate())
        .filter(|(_, t)| t.is_weight())
        .map(|(k, _)| (k, median(rows.iter().map(|(_, r)| r[k]))))
        .collect();
    let gate = cx.gates.min_grad_rms_over_eps;
    let measured = medians.iter().map(|m| m.1).fold(f64::NAN, f64::min);
    book.record(
        Gate::MinGradRmsOverEps,
        gate,
        measured,
        "smallest median RMS(∂L/∂W)/ε of a weight tensor while the run learns",
    );
    book.unmeasured_because(
        Gate::MinGradRmsOverEps,
        "no weight tensor had a finite gradient RMS (see the nonfinite finding)",
    );
    let mut low: Low = medians.into_iter().filter(|m| below(m.1, gate)).collect();
    low.sort_by(|a, b| a.1.total_cmp(&b.1));
    match low.first() {
        Some(&worst) => vec![finding(cx, &rows, &low, worst, gate)],
        None => Vec::new(),
    }
}

fn finding(
    cx: &Context,
    rows: &[(usize, &[f64])],
    low: &Low,
    worst: (usize, f64),
    gate: f64,
) -> Finding {
    let tensors = &cx.trace.tensors;
    let names: Vec<&str> = low.iter().map(|&(k, _)| tensors[k].name.as_str()).collect();
    let layers = low
        .iter()
        .filter_map(|&(k, _)| layer_of(cx, &tensors[k].name))
        .collect::<std::collections::BTreeSet<usize>>();
    let eps = cx.scenario.optimizer.eps;
    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
    let shown = names.iter().take(4).copied().collect::<Vec<_>>().join(", ");
    let more = names.len().saturating_sub(4);
    Draft::new(
        FindingKind::AdamEpsilon,
        Severity::Error,
        cx.range(first, last),
    )
    .gate(Gate::MinGradRmsOverEps, gate, worst.1)
    .layers(layers.into_iter().collect())
    .summary(format!(
        "{} of {} weight tensors have a gradient RMS under {}·ε (ε = {}): {shown}{}; \
             {} has median RMS(g)/ε = {}, so its updates are damped to {}% of Adam's",
        low.len(),
        tensors.iter().filter(|t| t.is_weight()).count(),
        fmt(gate),
        fmt(eps),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        tensors[worst.0].name,
        fmt(worst.1),
        fmt(100.0 * worst.1 / (worst.1 + 1.0)),
    ))
    .explain(
        "Median over the steps the run was still learning of RMS(∂L/∂W)/ε per weight \
             tensor. Adam divides by √v + ε; once the gradient's RMS nears ε the update shrinks \
             toward lr·g/ε and the tensor stops learning at any lr (Wortsman et al. 2023, \
             Molybog et al. 2023)."
            .to_string(),
    )
    .evidence("min_median_grad_rms_over_eps", worst.1)
    .evidence("eps", eps)
    .evidence("tensors_under_gate", low.len() as f64)
    .suggest(smaller_eps(eps, worst.1))
    .done()
}

/// An ε that puts the worst tensor's ratio at 100 or more: a power of ten, at most `ε / 100`.
fn smaller_eps(eps: f64, ratio: f64) -> Option<Suggestion> {
    let target = (eps * ratio.max(f64::MIN_POSITIVE) / 100.0).min(eps / 100.0);
    let new = 10f64.powf(target.log10().floor());
    (new.is_finite() && new > 0.0).then(|| Suggestion {
        set: vec![format!("optimizer.eps={}", toml_float(new))],
        why: "a smaller ε lets Adam normalize these gradients instead of damping them \
              (Wortsman et al. 2023 lower it to 1e-15)"
            .to_string(),
    })
}

/// The probe-order layer a tensor belongs to: its name without the last component
/// (`blocks.0.attn.qkv.weight` → `blocks.0.attn.qkv`).
fn layer_of(cx: &Context, tensor: &str) -> Option<usize> {
    let module = tensor.rsplit_once('.').map_or(tensor, |(m, _)| m);
    cx.trace.layer_names.iter().position(|n| n == module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_eps_lifts_the_worst_ratio_to_100() {
        let s = smaller_eps(1e-3, 0.2).unwrap();
        assert_eq!(s.set, vec!["optimizer.eps=1e-6".to_string()]);
        // Never less than a hundredfold smaller, even when the ratio is just under the gate.
        assert_eq!(
            smaller_eps(1e-8, 0.9).unwrap().set,
            vec!["optimizer.eps=1e-11".to_string()]
        );
    }
}
