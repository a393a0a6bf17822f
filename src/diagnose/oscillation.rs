//! Period-2 oscillation of the loss: the step size past the edge of stability.

use super::context::{CONVERGED_FRACTION, Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::series::{above, fmt, median};
use super::suggest;

/// Oscillation: at least this fraction of successive loss changes alternate in sign (independent
/// noise alternates about 2/3 of the time; a period-2 oscillation always does), and at least
/// [`flip_threshold`] of them for the window's length.
pub const OSCILLATION_FLIPS: f64 = 0.8;
/// Standard deviations above noise's 2/3 that the flip fraction must reach.
pub const OSCILLATION_SIGMAS: f64 = 4.0;

/// The flip fraction that mini-batch noise reaches by chance with probability about 3e-5 over
/// `pairs` successive pairs of changes: 2/3 + 4 standard deviations of a binomial fraction with
/// p = 2/3 (an approximation: successive flips are weakly dependent). At 0.8 flat, noise alone
/// crossed it in about one run in 50 of a 300-step run's 75-step window.
pub fn flip_threshold(pairs: usize) -> f64 {
    let sd = (2.0 / 9.0 / pairs.max(1) as f64).sqrt();
    (2.0 / 3.0 + OSCILLATION_SIGMAS * sd).clamp(OSCILLATION_FLIPS, 1.0)
}
/// Oscillation is judged on the last quarter of the run, but at least this many steps; shorter
/// runs are not judged (a handful of changes alternate by chance).
pub const OSCILLATION_MIN_STEPS: usize = 40;
/// The period-2 component of the loss over the last quarter of the run (at least
/// [`OSCILLATION_MIN_STEPS`] steps): `|mean_t (-1)^t Δloss_t| / median loss`, and the fraction of
/// successive changes that alternate in sign. Independent batch noise cancels in the alternating
/// mean (it shrinks like 2σ/√n: deep-mlp measures 0.02-0.04), a real oscillation does not.
pub fn oscillation_measure(cx: &Context) -> (usize, f64, f64) {
    let from = cx.len() - (cx.len() / 4).max(OSCILLATION_MIN_STEPS).min(cx.len());
    let tail = &cx.loss[from..];
    let level = median(tail.iter().copied());
    let changes: Vec<f64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
    let flips = changes.windows(2).filter(|d| d[0] * d[1] < 0.0).count() as f64
        / changes.len().saturating_sub(1).max(1) as f64;
    let alternating: f64 = changes
        .iter()
        .enumerate()
        .map(|(t, d)| if t % 2 == 0 { *d } else { -d })
        .sum::<f64>()
        / changes.len().max(1) as f64;
    (from, flips, alternating.abs() / level)
}

pub(super) fn oscillation(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_loss_oscillation;
    let (from, flips, amplitude) = oscillation_measure(cx);
    let level = median(cx.loss[from..].iter().copied());
    let pairs = (cx.len() - from).saturating_sub(2);
    let alternating =
        flips >= flip_threshold(pairs) && level > CONVERGED_FRACTION * cx.initial_loss;
    let measured = if cx.len() < OSCILLATION_MIN_STEPS {
        f64::NAN
    } else if alternating {
        amplitude
    } else {
        0.0
    };
    book.record(
        Gate::MaxLossOscillation,
        gate,
        measured,
        "period-2 amplitude of the loss / median loss over the last quarter, when >= 80% of changes alternate",
    );
    book.unmeasured_because(
        Gate::MaxLossOscillation,
        "the run records fewer than 40 steps, too few to tell a period-2 swing from noise",
    );
    if !above(measured, gate) {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::LossOscillation,
            Severity::Error,
            cx.range(from, cx.len() - 1),
        )
        .gate(Gate::MaxLossOscillation, gate, measured)
        .summary(format!(
            "loss oscillates: {}% of changes alternate in sign, swinging by {}x the median loss each step",
            fmt(100.0 * flips),
            fmt(amplitude)
        ))
        .explain(
            "Over the last quarter of the run the loss goes up, down, up with a steady period-2 \
             swing: the step size is past the edge of stability of the sharpest direction \
             (lr > 2 / λ_max for gradient descent), so the weights bounce across the valley."
                .to_string(),
        )
        .evidence("alternating fraction", flips)
        .suggest(suggest::lower_lr(
            cx.scenario,
            3.0,
            "halve or third the step size",
        ))
        .done(),
    )
}
