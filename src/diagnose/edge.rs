//! Edge of stability: the sharpness probe's samples against the optimizer's stability limit.
//!
//! Gradient descent is stable along a direction of curvature λ only while `lr·λ < 2` (Cohen et
//! al. 2021; the constant of each optimizer is in `probe::sharpness::limit`). Each sample's
//! `ratio = sharpness / limit` is 1 at the edge. A ratio at or above [`APPROACH_FRACTION`] is a
//! warning ("approaching the edge", with the step it got there and the step a log-linear fit of
//! the recent samples projects for the crossing); one above the gate `max_sharpness_ratio`
//! (default 1) is an error ("beyond the edge"). Both need `[probe] sharpness_every > 0`; without
//! samples the gate is not listed.
//!
//! Adaptive optimizers (Adam, AdamW, RMSprop) are not judged on their step-0 sample: their first
//! update divides each gradient by its own magnitude (`v̂₁ = g₀²`), so it moves every weight by at
//! most lr (Adam) whatever the curvature, and the steady-state limit does not apply to it. The
//! sample is still recorded, plotted and used by `--predict`. (deep-mlp, Adam: 1.24x the limit at
//! step 0, then 0.10-0.33x from step 25 on.) For the same reason a sample is not judged when its
//! step's gradient was clipped (clipped norm below the raw norm): the update is then bounded by
//! `lr·max` whatever the curvature (sgd-lr-1-clipped sits at 11-147x the limit, clipped every step,
//! and trains).

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Mark, Severity, StepRange, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::{above, argmax_finite, fmt, slope};
use super::suggest::toml_float;
use crate::record::trace::SharpnessSample;

pub use crate::record::trace::APPROACH_FRACTION;
/// The projection fits ln(ratio) against step over at most this many of the latest samples.
pub const TREND_SAMPLES: usize = 5;
/// A projected crossing needs a slope this many standard errors above zero: a slope that noise
/// explains projects crossings millions of steps away that mean nothing.
pub const TREND_SIGMAS: f64 = 2.0;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    let samples: Vec<SharpnessSample> = cx
        .trace
        .sharpness
        .iter()
        .filter(|s| judged(cx, s))
        .cloned()
        .collect();
    let samples = &samples[..];
    if cx.trace.sharpness.is_empty() {
        return Vec::new();
    }
    let gate = cx.gates.max_sharpness_ratio;
    let ratios: Vec<f64> = samples.iter().map(|s| s.ratio).collect();
    let (peak_at, peak) = argmax_finite(&ratios).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxSharpnessRatio,
        gate,
        peak,
        "largest sharpness / stability limit of the optimizer over the judged samples (1 = the edge of stability)",
    );
    book.unmeasured_because(
        Gate::MaxSharpnessRatio,
        "every sharpness sample fell on a clipped step or an adaptive optimizer's first update, \
         where the stability limit does not apply",
    );
    let first_at = |limit: f64| ratios.iter().position(|&r| r >= limit);
    if above(peak, gate) {
        let over = ratios
            .iter()
            .position(|&r| above(r, gate))
            .unwrap_or(peak_at);
        return vec![beyond(
            cx,
            samples,
            over,
            peak_at,
            first_at(APPROACH_FRACTION),
        )];
    }
    match first_at(APPROACH_FRACTION) {
        Some(at) => vec![approaching(cx, samples, at)],
        None => Vec::new(),
    }
}

/// Whether the linear stability limit applies to the update of the sample's step: not for an
/// adaptive optimizer's first update, nor for a clipped one (see the module docs).
fn judged(cx: &Context, s: &SharpnessSample) -> bool {
    if s.step == 0 && cx.scenario.optimizer.kind.is_adaptive() {
        return false;
    }
    let record = cx
        .step
        .binary_search(&s.step)
        .ok()
        .map(|i| &cx.trace.steps[i]);
    !record.is_some_and(|r| r.grad_norm_clipped < r.grad_norm)
}

/// `x` rounded down to 3 significant digits, so a suggested lr never lands past the limit.
pub fn floor_3_digits(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let unit = 10f64.powi(x.log10().floor() as i32 - 2);
    let rounded = (x / unit).floor() * unit;
    // Parse the printed value back so the number shown is the number used.
    toml_float(rounded).parse().unwrap_or(rounded)
}

/// The base lr at which sample `s` would sit exactly on the edge (`base lr / ratio`).
fn edge_lr(cx: &Context, s: &SharpnessSample) -> f64 {
    cx.scenario.optimizer.lr / s.ratio
}

fn kind_of(s: &SharpnessSample) -> &'static str {
    if s.preconditioned {
        "preconditioned sharpness λmax(P⁻¹H)"
    } else {
        "sharpness λmax(H)"
    }
}

const EXPLANATION: &str = "The sharpness is the top eigenvalue of the loss Hessian on a fixed \
    probe batch (for adaptive optimizers and per-layer lr groups, of the preconditioned Hessian \
    P⁻¹H), estimated by power iteration on finite-difference Hessian-vector products. An \
    optimizer is stable along a direction of curvature λ only while lr·λ stays under a constant \
    (2 for SGD, 2(1+μ) with momentum μ, (2+2β1)/(1−β1) for Adam): past it the loss oscillates \
    along that direction and grows. The limit is that constant divided by the lr of the step.";

fn beyond(
    cx: &Context,
    samples: &[SharpnessSample],
    over: usize,
    peak_at: usize,
    warned: Option<usize>,
) -> Finding {
    let (first, peak) = (&samples[over], &samples[peak_at]);
    let last = samples
        .iter()
        .rposition(|s| above(s.ratio, cx.gates.max_sharpness_ratio));
    let steps = StepRange {
        first: first.step,
        last: samples[last.unwrap_or(over)].step,
    };
    let lr = floor_3_digits(edge_lr(cx, peak));
    let why = "the largest learning rate at which the peak sharpness is still stable";
    let mut draft = Draft::new(FindingKind::EdgeOfStability, Severity::Error, steps)
        .gate(
            Gate::MaxSharpnessRatio,
            cx.gates.max_sharpness_ratio,
            peak.ratio,
        )
        .summary(format!(
            "beyond the edge of stability: the {} reached {}x the limit at step {} ({} against \
             {} at lr {}); first over the limit at step {}",
            kind_of(peak),
            fmt(peak.ratio),
            peak.step,
            fmt(peak.sharpness),
            fmt(peak.limit),
            fmt(peak.lr),
            first.step
        ))
        .explain(EXPLANATION.to_string())
        .evidence("sharpness", peak.sharpness)
        .evidence("limit", peak.limit)
        .evidence("lr", peak.lr)
        .evidence("first_step_over_limit", first.step as f64)
        .evidence("largest_stable_lr", lr)
        .marks(
            samples
                .iter()
                .filter(|s| above(s.ratio, cx.gates.max_sharpness_ratio))
                .map(|s| Mark {
                    step: s.step,
                    value: s.sharpness,
                })
                .collect(),
        );
    if let Some(w) = warned {
        draft = draft.evidence("first_step_approaching", samples[w].step as f64);
    }
    draft
        .suggest(Some(Suggestion {
            set: vec![format!("optimizer.lr={}", toml_float(lr))],
            why: why.to_string(),
        }))
        .done()
}

/// The step at which the latest samples' log-linear trend reaches the limit (`None` when the
/// ratio is not rising).
pub fn projected_crossing(samples: &[SharpnessSample]) -> Option<f64> {
    let recent: Vec<&SharpnessSample> = samples
        .iter()
        .filter(|s| s.ratio.is_finite() && s.ratio > 0.0)
        .collect();
    let recent = &recent[recent.len().saturating_sub(TREND_SAMPLES)..];
    let xs: Vec<f64> = recent.iter().map(|s| s.step as f64).collect();
    let ys: Vec<f64> = recent.iter().map(|s| s.ratio.ln()).collect();
    let rate = slope(&xs, &ys).filter(|&r| r > 0.0)?;
    if rate <= TREND_SIGMAS * slope_standard_error(&xs, &ys, rate)? {
        return None;
    }
    let last = recent.last()?;
    Some((last.step as f64 + (-last.ratio.ln()) / rate).round())
}

/// The standard error of a least-squares slope `rate` of `ys` on `xs` (`None` under 3 points,
/// where the residuals leave no degree of freedom to estimate it).
fn slope_standard_error(xs: &[f64], ys: &[f64], rate: f64) -> Option<f64> {
    let n = xs.len();
    if n < 3 {
        return None;
    }
    let mx = xs.iter().sum::<f64>() / n as f64;
    let my = ys.iter().sum::<f64>() / n as f64;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let ssr: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - my - rate * (x - mx)).powi(2))
        .sum();
    Some((ssr / (n - 2) as f64 / sxx).sqrt())
}

fn approaching(cx: &Context, samples: &[SharpnessSample], at: usize) -> Finding {
    let s = &samples[at];
    let latest = samples
        .iter()
        .rev()
        .find(|s| s.ratio.is_finite())
        .unwrap_or(s);
    let projected = projected_crossing(samples);
    let projection = match projected {
        Some(step) => format!("the recent trend crosses the limit near step {step:.0}"),
        None => "the recent trend is not rising measurably (slope within 2 standard errors of 0, or under 3 samples)".to_string(),
    };
    let lr = floor_3_digits(edge_lr(cx, latest));
    let mut draft = Draft::new(
        FindingKind::EdgeOfStability,
        Severity::Warning,
        StepRange {
            first: s.step,
            last: latest.step,
        },
    )
    .measured(s.ratio, Some(APPROACH_FRACTION))
    .summary(format!(
        "approaching the edge of stability: the {} reached {}x the limit at step {} ({} against \
         {}); {projection}; lr {} would put the latest sample on the edge",
        kind_of(s),
        fmt(s.ratio),
        s.step,
        fmt(s.sharpness),
        fmt(s.limit),
        toml_float(lr)
    ))
    .explain(EXPLANATION.to_string())
    .evidence("sharpness", s.sharpness)
    .evidence("limit", s.limit)
    .evidence("latest_ratio", latest.ratio)
    .evidence("largest_stable_lr", lr);
    if let Some(step) = projected {
        draft = draft.evidence("projected_crossing_step", step);
    }
    draft.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(step: usize, ratio: f64) -> SharpnessSample {
        SharpnessSample {
            step,
            lr: 0.1,
            sharpness: 20.0 * ratio,
            preconditioned: false,
            limit: 20.0,
            ratio,
            hvps: 5,
            converged: true,
        }
    }

    #[test]
    fn suggested_lrs_round_down_never_up() {
        assert_eq!(floor_3_digits(0.0068250073), 0.00682);
        assert_eq!(floor_3_digits(1.9999), 1.99);
        assert_eq!(floor_3_digits(123456.0), 123000.0);
        assert!(floor_3_digits(f64::NAN).is_nan());
    }

    #[test]
    fn the_projection_extends_the_recent_exponential_trend_to_ratio_1() {
        // ratio doubles every 10 steps from 0.125 at step 0: 1.0 at step 30.
        let rising: Vec<_> = (0..3)
            .map(|i| sample(10 * i, 0.125 * 2f64.powi(i as i32)))
            .collect();
        assert_eq!(projected_crossing(&rising), Some(30.0));
        let falling = [sample(0, 0.9), sample(10, 0.85)];
        assert_eq!(projected_crossing(&falling), None);
        assert_eq!(projected_crossing(&[sample(0, 0.9)]), None);
    }

    #[test]
    fn a_slope_that_noise_explains_projects_no_crossing() {
        // 0.85, 0.86, 0.84, 0.86, 0.85: a fitted slope of +1e-4 per step, far inside its noise,
        // would otherwise "cross" near step 1600.
        let flat: Vec<_> = [0.85, 0.86, 0.84, 0.86, 0.85]
            .into_iter()
            .enumerate()
            .map(|(i, r)| sample(10 * i, r))
            .collect();
        assert_eq!(projected_crossing(&flat), None);
        // The same noise on a real doubling every 20 steps still projects.
        let rising: Vec<_> = [0.1, 0.145, 0.19, 0.29, 0.4]
            .into_iter()
            .enumerate()
            .map(|(i, r)| sample(10 * i, r))
            .collect();
        assert!(projected_crossing(&rising).is_some());
    }
}
