//! Attention-logit growth and attention-entropy collapse on a transformer (Wortsman et al. 2023,
//! "Small-scale proxies for large-scale Transformer training instabilities"; Dehghani et al. 2023;
//! Zhai et al. 2023).
//!
//! At high learning rates the attention logits `q·k/√d_head` of a model without qk-layernorm
//! grow until its softmax is one-hot: the gradient through it vanishes and the loss stalls or
//! diverges. The gate `max_attention_logit` (default 50) judges the largest logit of any head at
//! any step. Why 50: Gemma 2 soft-caps attention logits at 50 (`50·tanh(s/50)`), so logits past
//! it are what a production model caps; and a softmax whose top logit leads by 50 puts
//! `e^-50 ≈ 2e-22` on the others, one-hot in f32 and f64 alike (the f32 softmax is numerically
//! one-hot from a lead of about 17). On tiny-gpt-fast the largest logit is under 1 at the
//! default lr and 426-844 at lr 0.1 (seeds 1-5), 13-18 at lr 0.1 with qk-layernorm.
//!
//! Entropy collapse is a warning, not a gate: a head whose mean entropy falls below
//! [`ENTROPY_COLLAPSE_FRACTION`] of uniform attention's. Low entropy is also what a head that
//! has learnt to copy one position looks like, so on its own it is evidence, not a verdict; it
//! is the logit growth that fails the run.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::above;
use super::suggest::lower_lr;
use crate::record::text::fmt;
use crate::record::transformer::TransformerStats;

/// A head whose mean entropy falls below this fraction of `uniform_entropy` has collapsed onto a
/// few keys (at 0.1 over a 16-token context: about 0.2 nats, most of its weight on one key).
pub const ENTROPY_COLLAPSE_FRACTION: f64 = 0.1;

/// One head's value at one recorded step: `(index into the trace, block, head, value)`.
type At = (usize, usize, usize, f64);

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let stats: Vec<(usize, &TransformerStats)> = cx
        .trace
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.transformer.as_ref().map(|t| (i, t)))
        .filter(|(_, t)| !t.blocks.is_empty())
        .collect();
    if stats.is_empty() {
        return Vec::new();
    }
    let logits = every_head(&stats, |h| h.logit_max);
    let finite: Vec<At> = logits.iter().copied().filter(|x| x.3.is_finite()).collect();
    let peak = worst(&finite, |a, b| a > b);
    let gate = cx.gates.max_attention_logit;
    // A non-finite logit (a NaN run) leaves the gate not judged unless a finite one failed it:
    // the nonfinite finding explains that run, and an unmeasured gate never passes.
    let failed = peak.filter(|p| above(p.3, gate));
    let unmeasured = finite.len() < logits.len();
    let measured = match (failed, peak) {
        (Some(p), _) => p.3,
        (None, Some(p)) if !unmeasured => p.3,
        _ => f64::NAN,
    };
    book.record(
        Gate::MaxAttentionLogit,
        gate,
        measured,
        "largest attention logit q·k/√d_head of any head at any step",
    );
    book.unmeasured_because(
        Gate::MaxAttentionLogit,
        "an attention logit was NaN or infinite (see the nonfinite finding)",
    );
    let mut out = Vec::new();
    if let Some(p) = failed {
        out.push(growth(cx, &finite, p, gate));
    }
    let uniform = stats[0].1.uniform_entropy;
    // Finite entropies only: a run that collapses and then goes NaN still shows the collapse
    // (its NaN is the nonfinite finding's).
    let entropy: Vec<At> = every_head(&stats, |h| h.entropy_mean)
        .into_iter()
        .filter(|x| x.3.is_finite())
        .collect();
    let low = worst(&entropy, |a, b| a < b);
    if let Some(l) = low.filter(|l| l.3 < ENTROPY_COLLAPSE_FRACTION * uniform) {
        out.push(collapse(cx, &entropy, l, uniform));
    }
    out
}

/// Every head's value at every measured step, in order.
fn every_head(
    stats: &[(usize, &TransformerStats)],
    f: impl Fn(&crate::record::transformer::HeadStats) -> f64,
) -> Vec<At> {
    let mut out = Vec::new();
    for &(i, t) in stats {
        for (b, block) in t.blocks.iter().enumerate() {
            out.extend(block.heads.iter().enumerate().map(|(h, s)| (i, b, h, f(s))));
        }
    }
    out
}

/// The worst entry by `worse(a, b)` (a is worse than b); NaN is worst of all.
fn worst(xs: &[At], worse: impl Fn(f64, f64) -> bool) -> Option<At> {
    xs.iter().copied().fold(None, |w, x| match w {
        None => Some(x),
        Some(w) if w.3.is_nan() => Some(w),
        Some(w) if x.3.is_nan() || worse(x.3, w.3) => Some(x),
        keep => keep,
    })
}

/// The probe-order layer of block `b`'s attention (`blocks.{b}.attn.qkv`), where its ops are filed.
fn attn_layer(cx: &Context, b: usize) -> Option<usize> {
    let name = format!("blocks.{b}.attn.qkv");
    cx.trace.layer_names.iter().position(|n| *n == name)
}

fn blocks_over(xs: &[At], over: impl Fn(f64) -> bool) -> Vec<usize> {
    let mut blocks: Vec<usize> = xs.iter().filter(|x| over(x.3)).map(|x| x.1).collect();
    blocks.sort_unstable();
    blocks.dedup();
    blocks
}

fn growth(cx: &Context, logits: &[At], peak: At, gate: f64) -> Finding {
    let first = logits
        .iter()
        .find(|x| above(x.3, gate))
        .copied()
        .unwrap_or(peak);
    let blocks = blocks_over(logits, |v| above(v, gate));
    let (at, step) = (cx.step[first.0], cx.step[peak.0]);
    let fix = match cx.scenario.transformer().is_some_and(|t| !t.qk_norm) {
        true => Some(Suggestion {
            set: vec!["model.qk_norm=true".to_string()],
            why: "layernorm on queries and keys bounds every logit by √d_head·|γ_q|·|γ_k| \
                  (Dehghani et al. 2023; Wortsman et al. 2023 show it removes the growth)"
                .to_string(),
        }),
        false => lower_lr(
            cx.scenario,
            10.0,
            "a smaller lr slows the growth of the logits",
        ),
    };
    Draft::new(
        FindingKind::AttentionLogitGrowth,
        Severity::Error,
        cx.range(first.0, cx.len() - 1),
    )
    .gate(Gate::MaxAttentionLogit, gate, peak.3)
    .layers(blocks.iter().filter_map(|&b| attn_layer(cx, b)).collect())
    .summary(format!(
        "attention logits grew to {} (blocks.{}.attn head {} at step {step}); they first passed \
             {} at step {at} (blocks.{}.attn head {})",
        fmt(peak.3),
        peak.1,
        peak.2,
        fmt(gate),
        first.1,
        first.2
    ))
    .explain(
        "The largest q·k/√d_head of any head, per step. Logits this large make the softmax \
             one-hot, so attention stops mixing and the gradient through it vanishes: the \
             instability Wortsman et al. 2023 reproduce in small models at high learning rates \
             and Dehghani et al. 2023 met at 22B parameters."
            .to_string(),
    )
    .evidence("peak_attention_logit", peak.3)
    .evidence("first_step_over_gate", at as f64)
    .suggest(fix)
    .done()
}

fn collapse(cx: &Context, entropy: &[At], low: At, uniform: f64) -> Finding {
    let limit = ENTROPY_COLLAPSE_FRACTION * uniform;
    let first = entropy.iter().find(|x| x.3 < limit).copied().unwrap_or(low);
    let blocks = blocks_over(entropy, |v| v < limit);
    Draft::new(
        FindingKind::AttentionEntropyCollapse,
        Severity::Warning,
        cx.range(first.0, cx.len() - 1),
    )
    .measured(low.3, Some(limit))
    .layers(blocks.iter().filter_map(|&b| attn_layer(cx, b)).collect())
    .summary(format!(
        "attention entropy of blocks.{}.attn head {} fell to {} nats at step {} (uniform attention: \
         {} nats); first below {} at step {}",
        low.1, low.2, fmt(low.3), cx.step[low.0], fmt(uniform), fmt(limit), cx.step[first.0]
    ))
    .explain(
        "Mean over positions t ≥ 1 and sequences of −Σ P ln P for one head. A head whose \
         attention sits on one key carries little information and passes little gradient; Zhai \
         et al. 2023 find this collapse alongside divergence. A head that copies one position \
         looks the same, so this is a warning to read with the logits, not a gate."
            .to_string(),
    )
    .evidence("min_head_entropy", low.3)
    .evidence("uniform_entropy", uniform)
    .done()
}
