//! fp16-overflow and gradient-underflow: what storing tensors in 16 bits did to a run
//! (`trace.steps[].precision`, recorded under a 16-bit policy).
//!
//! Overflow: a finite value at or past the format's rounding limit (fp16: 65520, i.e. 65504
//! plus half an ulp) becomes ±inf. A forward output that overflows always harms the step; a
//! gradient that overflows is harmless only when dynamic loss scaling skips that step (that is
//! its job), so gradients count on every step without dynamic scaling and on taken steps with it.
//! The gate `max_cast_overflow` (default 0) counts the values.
//!
//! Underflow: a nonzero gradient value below half the smallest subnormal (fp16: 2^-25) becomes
//! 0, and the update it carried is gone (Micikevicius et al. 2018: 67% of an SSD model's
//! activation-gradient values were zero in fp16 without loss scaling). The gate
//! `max_grad_flushed_fraction` (default 0.05) judges the share of nonzero activation and weight
//! gradient values flushed over the whole run. The default is a measurement threshold, not a
//! proven harm threshold: Adam rescales what survives, so a few percent flushed can leave the
//! loss where f32 puts it (tiny-gpt-fast at batch 128 and init 1e-4 flushes 9.7% and ends at
//! the f32 loss); past 5% a loss scale is cheap insurance against the values that mattered. Its suggested fix is the static loss scale that
//! puts the largest unscaled gradient seen at a quarter of fp16's range: headroom of 4 for a
//! gradient larger than any measured.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::above;
use super::suggest::toml_float;
use crate::core::precision::FP16_MAX;
use crate::core::precision::scaler::ScaleKind;
use crate::record::precision::{CastCounts, LayerCast, PrecisionStats};
use crate::record::text::fmt;

/// Each recorded step's precision statistics, with its index in the trace.
fn rows<'a>(cx: &'a Context) -> Vec<(usize, &'a PrecisionStats)> {
    (cx.trace.steps.iter().enumerate())
        .filter_map(|(i, s)| Some((i, s.precision.as_ref()?)))
        .filter(|(_, p)| !p.layers.is_empty())
        .collect()
}

fn grads(l: &LayerCast) -> impl Iterator<Item = &CastCounts> {
    [&l.activation_grads, &l.weight_grads].into_iter().flatten()
}

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let rows = rows(cx);
    if rows.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend(overflow(cx, book, &rows));
    out.extend(underflow(cx, book, &rows));
    out
}

/// The first overflow that counts: `(row, layer, counts, forward)`.
type First<'a> = (usize, &'a LayerCast, &'a CastCounts, bool);

fn overflow(
    cx: &Context,
    book: &mut GateBook,
    rows: &[(usize, &PrecisionStats)],
) -> Option<Finding> {
    let dynamic = cx.scenario.loss_scale.kind == ScaleKind::Dynamic;
    let (mut total, mut steps, mut first): (u64, usize, Option<First>) = (0, 0, None);
    let mut layers = std::collections::BTreeSet::new();
    for &(i, p) in rows {
        let mut here = 0;
        for l in &p.layers {
            let counted = l.activations.iter().map(|c| (c, true));
            let back = grads(l)
                .filter(|_| !(dynamic && p.skipped))
                .map(|c| (c, false));
            for (c, forward) in counted.chain(back).filter(|(c, _)| c.overflow > 0) {
                here += c.overflow;
                layers.insert(l.layer);
                first.get_or_insert((i, l, c, forward));
            }
        }
        total += here;
        steps += usize::from(here > 0);
    }
    let gate = cx.scenario.gates.max_cast_overflow;
    book.record(Gate::MaxCastOverflow, gate, total as f64, "values that overflowed to ±inf when stored in 16 bits (forward outputs; gradients of steps not skipped by dynamic scaling)");
    let (i, l, c, forward) = first.filter(|_| total as f64 > gate)?;
    let half = cx
        .scenario
        .precision
        .policy()
        .map_or("16 bits", |p| p.half.name());
    let op = c.overflow_op.map_or("an op", |o| o.name());
    let crossed = c.crossed.unwrap_or(f64::NAN);
    let what = if forward { "output" } else { "gradient" };
    let f = Draft::new(
        FindingKind::Fp16Overflow,
        Severity::Error,
        cx.range(i, rows[rows.len() - 1].0),
    )
    .gate(Gate::MaxCastOverflow, gate, total as f64)
    .layers(layers.iter().copied().collect())
    .summary(format!(
        "{}'s {op} {what} reached |x| = {} at step {}, past {half}'s range: stored as inf \
             ({total} values overflowed on {steps} steps)",
        cx.layer_name(l.layer),
        fmt(crossed),
        cx.trace.steps[i].step,
    ))
    .explain(format!(
        "Storing a value in {half} rounds it to the nearest {half} value; from 65520 (65504, \
             fp16's largest, plus half an ulp) fp16 rounds to infinity, and the inf reaches the \
             loss or, as inf − inf, becomes NaN. bf16 keeps f32's exponent range and stores the \
             same value with 8 bits of precision (T5's feed-forward output reached 66246, \
             transformers #5651)."
    ))
    .evidence("overflowed_values", total as f64)
    .evidence("first_crossed_value", crossed)
    .evidence("fp16_max", f64::from(FP16_MAX))
    .suggest(keep_f32(cx, &layers));
    Some(f.done())
}

fn underflow(
    cx: &Context,
    book: &mut GateBook,
    rows: &[(usize, &PrecisionStats)],
) -> Option<Finding> {
    let (mut flushed, mut nonzero, mut zeros, mut values) = (0u64, 0u64, 0u64, 0u64);
    let mut per_layer: Vec<(usize, u64, u64)> = Vec::new();
    let mut amax_unscaled = 0f64;
    for &(_, p) in rows {
        let scale = p.loss_scale.unwrap_or(1.0);
        for l in &p.layers {
            for c in grads(l) {
                let nz = c.values - (c.zeros - c.flushed);
                (flushed, nonzero) = (flushed + c.flushed, nonzero + nz);
                (zeros, values) = (zeros + c.zeros, values + c.values);
                match per_layer.iter_mut().find(|e| e.0 == l.layer) {
                    Some(e) => (e.1, e.2) = (e.1 + c.flushed, e.2 + nz),
                    None => per_layer.push((l.layer, c.flushed, nz)),
                }
                amax_unscaled = amax_unscaled.max(c.amax / scale);
            }
        }
    }
    let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let fraction = share(flushed, nonzero);
    let gate = cx.scenario.gates.max_grad_flushed_fraction;
    book.record(Gate::MaxGradFlushedFraction, gate, fraction, "share of nonzero gradient values (activation and weight gradients) flushed to zero by 16-bit rounding");
    if !above(fraction, gate) {
        return None;
    }
    let worst = per_layer
        .iter()
        .max_by(|a, b| share(a.1, a.2).total_cmp(&share(b.1, b.2)))?;
    let bad: Vec<usize> = per_layer
        .iter()
        .filter(|e| share(e.1, e.2) > gate)
        .map(|e| e.0)
        .collect();
    let scale = static_scale(cx, amax_unscaled);
    let f = Draft::new(
        FindingKind::GradientUnderflow,
        Severity::Error,
        cx.range(rows[0].0, rows[rows.len() - 1].0),
    )
    .gate(Gate::MaxGradFlushedFraction, gate, fraction)
    .layers(bad)
    .summary(format!(
        "{}% of the nonzero gradient values were flushed to zero by 16-bit rounding ({} worst: \
             {}%); {}% of all gradient values are zero",
        fmt(100.0 * fraction),
        cx.layer_name(worst.0),
        fmt(100.0 * share(worst.1, worst.2)),
        fmt(100.0 * share(zeros, values)),
    ))
    .explain(
        "A gradient below half the smallest fp16 subnormal (2^-25 ≈ 3e-8) rounds to 0 and \
             its update is lost. Multiplying the loss by a scale S shifts every gradient up by \
             log2(S) binades before rounding; unscaling happens in f32 (Micikevicius et al. 2018)."
            .to_string(),
    )
    .evidence("flushed_fraction", fraction)
    .evidence("zero_fraction", share(zeros, values))
    .evidence("max_unscaled_grad", amax_unscaled)
    .suggest(scale)
    .done();
    Some(f)
}

/// The overflowing layers kept in f32 (PyTorch: `autocast(enabled=False)` around them), with
/// the layers already kept; `stabcheck fix` also tries bf16 for the whole model.
fn keep_f32(cx: &Context, layers: &std::collections::BTreeSet<usize>) -> Option<Suggestion> {
    let mut keep: Vec<usize> = cx.scenario.f32_layers.clone();
    keep.extend(
        layers
            .iter()
            .filter(|l| !cx.scenario.f32_layers.contains(l)),
    );
    keep.sort_unstable();
    let list: Vec<String> = keep.iter().map(usize::to_string).collect();
    (keep.len() > cx.scenario.f32_layers.len()).then(|| Suggestion {
        set: vec![format!("f32_layers=[{}]", list.join(", "))],
        why: "the ops of these layers then compute and store in f32, where their outputs fit; \
              the rest of the model stays 16-bit"
            .to_string(),
    })
}

/// bf16 for an fp16 run: f32's exponent range, so nothing short of f32's overflow overflows.
pub(super) fn bf16_instead(cx: &Context) -> Option<Suggestion> {
    use crate::scenario::Precision;
    let to = match cx.scenario.precision {
        Precision::Fp16Mixed => "bf16-mixed",
        Precision::Fp16 => "bf16",
        _ => return None,
    };
    Some(Suggestion {
        set: vec![format!("precision=\"{to}\"")],
        why: "bf16 has f32's exponent range (largest value ≈ 3.4e38): no loss scaling needed and \
              no overflow short of f32's"
            .to_string(),
    })
}

/// The power-of-two static scale that puts the largest unscaled gradient at a quarter of fp16's
/// range (none when it would not be above the run's own scale).
fn static_scale(cx: &Context, amax: f64) -> Option<Suggestion> {
    let target = f64::from(FP16_MAX) / 4.0 / amax.max(f64::MIN_POSITIVE);
    let s = 2f64.powf(target.log2().floor().min(60.0));
    let current = cx.scenario.loss_scale;
    let now = if current.kind == ScaleKind::None {
        1.0
    } else {
        current.init
    };
    (s.is_finite() && s > now).then(|| Suggestion {
        set: vec!["loss_scale.kind=\"static\"".to_string(), format!("loss_scale.init={}", toml_float(s))],
        why: format!(
            "the largest unscaled gradient measured was {}: a static scale of {} puts it at a quarter \
             of fp16's range and lifts the small ones out of the flush zone",
            fmt(amax),
            fmt(s)
        ),
    })
}
