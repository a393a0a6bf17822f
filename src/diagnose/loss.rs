//! The loss curve: divergence, spikes, no progress and plateaus (oscillation in
//! [`super::oscillation`]).
//!
//! Levels are medians over windows, so mini-batch noise neither raises nor hides a finding. A
//! loss below 1% of its initial value counts as converged: no spike, oscillation or plateau is
//! reported there (relative noise around a near-zero loss is not instability).

use super::context::{CONVERGED_FRACTION, Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::oscillation::oscillation;
use super::series::{above, below, fmt, median};
use super::suggest;

/// Steps of history a spike is compared with (their median).
pub const SPIKE_HISTORY: usize = 20;
/// A spike needs at least this many earlier steps.
pub const SPIKE_MIN_HISTORY: usize = 5;
/// Plateau: the last quarter improved on the quarter before by less than this fraction.
pub const PLATEAU_IMPROVEMENT: f64 = 0.01;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    if cx.is_empty() {
        return Vec::new();
    }
    let stalled = no_progress(cx, book);
    // A plateau is the early warning of no progress; once that gate fails it adds nothing.
    let plateau = if stalled.is_none() { plateau(cx) } else { None };
    [
        spikes(cx, book),
        divergence(cx, book),
        oscillation(cx, book),
        stalled,
        plateau,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Each recorded step's loss over the median of the [`SPIKE_HISTORY`] steps before it, for steps
/// with enough history and a finite loss above the converged level (index, ratio).
pub fn spike_ratios(cx: &Context) -> Vec<(usize, f64)> {
    let floor = CONVERGED_FRACTION * cx.initial_loss;
    (SPIKE_MIN_HISTORY..cx.len())
        .filter(|&i| cx.loss[i].is_finite() && cx.loss[i] > floor)
        .map(|i| {
            let history = median(cx.loss[i.saturating_sub(SPIKE_HISTORY)..i].iter().copied());
            (i, cx.loss[i] / history)
        })
        .filter(|(_, r)| r.is_finite())
        .collect()
}

fn spikes(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_loss_spike;
    let ratios = spike_ratios(cx);
    let (worst, peak) = ratios
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxLossSpike,
        gate,
        peak,
        "largest loss / median of the previous 20 steps",
    );
    let over: Vec<usize> = ratios.iter().filter(|p| p.1 > gate).map(|p| p.0).collect();
    let (&first, &last) = (over.first()?, over.last()?);
    Some(
        Draft::new(
            FindingKind::LossSpike,
            Severity::Error,
            cx.range(first, last),
        )
        .gate(Gate::MaxLossSpike, gate, peak)
        .summary(format!(
            "loss spiked to {}x its running median at step {} (loss {}); {} spike step(s)",
            fmt(peak),
            cx.step[worst],
            fmt(cx.loss[worst]),
            over.len()
        ))
        .explain(format!(
            "Each step's loss is compared with the median of the {SPIKE_HISTORY} steps \
                 before it. A sudden jump means one update threw the weights far from where the \
                 loss was low: too large an lr, or a gradient spike clipping would bound."
        ))
        .evidence("spike steps", over.len() as f64)
        .suggest(suggest::clip_norm(
            cx.scenario,
            "clipping bounds the update that spikes",
        ))
        .done(),
    )
}

/// Running median of the loss over `window` steps, as a multiple of the initial loss.
fn running_growth(cx: &Context, window: usize) -> Vec<f64> {
    (window.saturating_sub(1)..cx.len())
        .map(|i| median(cx.loss[i + 1 - window..=i].iter().copied()) / cx.initial_loss)
        .collect()
}

fn divergence(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_loss_growth;
    let window = (cx.len() / 20).max(5).min(cx.len());
    let growth = running_growth(cx, window);
    let (at, peak) = growth
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, g)| g.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxLossGrowth,
        gate,
        peak,
        "largest running median of the loss / initial loss",
    );
    if !above(peak, gate) {
        return None;
    }
    let end = at + window - 1;
    Some(
        Draft::new(
            FindingKind::LossDivergence,
            Severity::Error,
            cx.range(at, end),
        )
        .gate(Gate::MaxLossGrowth, gate, peak)
        .summary(format!(
            "loss diverged: its {window}-step median reached {}x the initial loss {} by step {}",
            fmt(peak),
            fmt(cx.initial_loss),
            cx.step[end]
        ))
        .explain(
            "A sustained rise, not a single spike: the median over a window of steps is well \
                 above where training started, so the optimizer is climbing, not descending."
                .to_string(),
        )
        .suggest(suggest::lower_lr(
            cx.scenario,
            10.0,
            "the steps overshoot the minimum",
        ))
        .done(),
    )
}

fn no_progress(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_final_loss_ratio;
    let from = cx.window_start();
    let ratio = median(cx.loss[from..].iter().copied()) / cx.initial_loss;
    book.record(
        Gate::MaxFinalLossRatio,
        gate,
        ratio,
        "median loss over the last window / initial loss",
    );
    if ratio.is_nan() || ratio < gate {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::NoProgress,
            Severity::Error,
            cx.range(from, cx.len() - 1),
        )
        .gate(Gate::MaxFinalLossRatio, gate, ratio)
        .summary(format!(
            "no progress: the final loss is {}x the initial loss {} (must be below {})",
            fmt(ratio),
            fmt(cx.initial_loss),
            fmt(gate)
        ))
        .explain(
            "Median of the loss over the last window against step 0's loss. Training that \
                 does not lower the loss wastes the run even when nothing blows up."
                .to_string(),
        )
        .suggest(if cx.scenario.optimizer.lr < 1e-4 {
            suggest::lower_lr(cx.scenario, 0.1, "the lr looks too small to make progress")
        } else {
            None
        })
        .done(),
    )
}

fn plateau(cx: &Context) -> Option<Finding> {
    let n = cx.len();
    if n < 40 {
        return None;
    }
    let before = median(cx.loss[n / 2..3 * n / 4].iter().copied());
    let after = median(cx.loss[3 * n / 4..].iter().copied());
    let improvement = (before - after) / before;
    let converged = after <= CONVERGED_FRACTION * cx.initial_loss;
    // A flat loss whose gradient has vanished after real progress is a minimum (least squares
    // with a residual), not a plateau.
    let grad = median(cx.grad_norm[3 * n / 4..].iter().copied());
    let at_minimum =
        grad < cx.gates.min_grad_norm && after <= cx.gates.max_final_loss_ratio * cx.initial_loss;
    if converged || at_minimum || !below(improvement, PLATEAU_IMPROVEMENT) {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::Plateau,
            Severity::Warning,
            cx.range(3 * n / 4, n - 1),
        )
        .measured(improvement, Some(PLATEAU_IMPROVEMENT))
        .summary(format!(
            "plateau: the last quarter of the run improved the loss by {}% (median {} → {})",
            fmt(100.0 * improvement),
            fmt(before),
            fmt(after)
        ))
        .explain(
            "The median loss of the last quarter against the quarter before: training has \
                 stalled while the loss is still high."
                .to_string(),
        )
        .done(),
    )
}
