//! The loss curve: divergence, spikes, no progress and plateaus (oscillation in
//! [`super::oscillation`]).
//!
//! Levels are medians over windows, so mini-batch noise neither raises nor hides a finding. A
//! loss below 1% of its initial value counts as converged: no spike, oscillation or plateau is
//! reported there (relative noise around a near-zero loss is not instability).

use super::context::{CONVERGED_FRACTION, Context, Draft};
use super::finding::{Finding, FindingKind, Mark, Severity};
use super::gates::{Gate, GateBook};
use super::oscillation::oscillation;
use super::series::{above, argmax_finite, argmin_finite, below, fmt, median};
use super::suggest;

/// Steps of history a spike is compared with (their median).
pub const SPIKE_HISTORY: usize = 20;
/// A jump counts as a spike only when it undoes at least this fraction of the progress made (see
/// [`spike_ratios`]).
pub const SPIKE_UNDO_FRACTION: f64 = 0.1;
/// A spike needs at least this many earlier steps.
pub const SPIKE_MIN_HISTORY: usize = 5;
/// Plateau: the last quarter improved on the quarter before by less than this fraction (and
/// rose by less than it).
pub const PLATEAU_IMPROVEMENT: f64 = 0.01;
/// A last quarter whose median loss is this fraction above the quarter before is rising.
pub const RISE_WARNING: f64 = 0.1;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    if cx.is_empty() {
        return Vec::new();
    }
    let stalled = no_progress(cx, book);
    let diverged = divergence(cx, book);
    let diverging = diverged
        .as_ref()
        .is_some_and(|f| f.severity == Severity::Error);
    // A plateau is the early warning of no progress, and a rise that of a divergence: once the
    // gate fails they add nothing.
    let plateau = if stalled.is_none() && !diverging {
        plateau(cx)
    } else {
        None
    };
    [
        spikes(cx, book),
        diverged,
        oscillation(cx, book),
        stalled,
        plateau,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Each recorded step's loss over the median of the [`SPIKE_HISTORY`] steps before it, for steps
/// with enough history, a finite loss above the converged level, and a jump that undoes at least
/// [`SPIKE_UNDO_FRACTION`] of the progress the history had made (index, ratio).
///
/// The last condition is what tells a spike from mini-batch noise at a low loss: there the noise
/// is multiplicative, and one batch at 6.6x a running median of 0.038 (initial loss 6.5) undoes
/// 3% of the progress and is gone the next step. A loss that has made no progress yet (history at
/// or above the initial loss) is judged on the ratio alone.
pub fn spike_ratios(cx: &Context) -> Vec<(usize, f64)> {
    spike_candidates(cx)
        .into_iter()
        .filter(|&(i, history)| {
            let progress = cx.initial_loss - history;
            let progressed = progress > 0.0;
            !progressed || cx.loss[i] - history >= SPIKE_UNDO_FRACTION * progress
        })
        .map(|(i, history)| (i, cx.loss[i] / history))
        // A finite loss over a history whose median is exactly 0 is an infinite spike, not a
        // quantity to drop; only 0/0 (impossible above the floor) would be NaN.
        .filter(|(_, r)| !r.is_nan())
        .collect()
}

/// Steps with enough history and a finite loss above the converged level, with the median of
/// their history.
fn spike_candidates(cx: &Context) -> Vec<(usize, f64)> {
    let floor = CONVERGED_FRACTION * cx.initial_loss;
    (SPIKE_MIN_HISTORY..cx.len())
        .filter(|&i| cx.loss[i].is_finite() && cx.loss[i] > floor)
        .map(|i| {
            let history = median(cx.loss[i.saturating_sub(SPIKE_HISTORY)..i].iter().copied());
            (i, history)
        })
        .collect()
}

fn spikes(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_loss_spike;
    let ratios = spike_ratios(cx);
    // Judged steps whose jumps all stayed within a tenth of the progress measure 1: no spike.
    let none = if spike_candidates(cx).is_empty() {
        f64::NAN
    } else {
        1.0
    };
    let (worst, peak) = ratios
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, none));
    book.record(
        Gate::MaxLossSpike,
        gate,
        peak,
        "largest loss / median of the previous 20 steps, over jumps that undo at least a tenth of the progress made (1 when none does)",
    );
    book.unmeasured_because(
        Gate::MaxLossSpike,
        "no step had a finite loss above the converged band (1% of the initial loss), 5 earlier \
         steps to compare with, and a jump undoing a tenth of the progress made",
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
        .marks(
            over.iter()
                .map(|&i| Mark {
                    step: cx.step[i],
                    value: cx.loss[i],
                })
                .collect(),
        )
        .suggest(suggest::clip_norm(
            cx.scenario,
            "clipping bounds the update that spikes",
        ))
        .done(),
    )
}

/// Running median of the loss over `window` steps, ending at each recorded index `window - 1..`.
fn running_medians(cx: &Context, window: usize) -> Vec<f64> {
    (window.saturating_sub(1)..cx.len())
        .map(|i| median(cx.loss[i + 1 - window..=i].iter().copied()))
        .collect()
}

/// Where the loss ends against the best it reached: the running median of the last window over
/// the lowest running median of the run (or the initial loss, if lower). Judged at the end, so a
/// loss that falls 4000x and then climbs 790x diverges although it never passed its start, while a
/// transient rise that recovers (a catapult, momentum's transient growth) does not; a rise that
/// stays inside the converged band (1% of the initial loss) is noise around a minimum.
fn divergence(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_loss_growth;
    let window = (cx.len() / 20).max(5).min(cx.len());
    let levels = running_medians(cx, window);
    let end = levels.last().copied().unwrap_or(f64::NAN);
    let (best_at, best) = argmin_finite(&levels).unwrap_or((0, f64::NAN));
    let reference = if cx.initial_loss < best {
        cx.initial_loss
    } else {
        best
    };
    let from_best = best <= cx.initial_loss;
    let converged = end <= CONVERGED_FRACTION * cx.initial_loss;
    let growth = if converged { 1.0 } else { end / reference };
    book.record(
        Gate::MaxLossGrowth,
        gate,
        growth,
        "running median of the loss at the end / the lowest it reached (or the initial loss)",
    );
    book.unmeasured_because(
        Gate::MaxLossGrowth,
        "the loss has no finite value in the last window or the initial loss is not finite",
    );
    if !above(growth, gate) {
        return transient_peak(cx, &levels, window);
    }
    let first = if from_best { best_at } else { 0 };
    Some(
        Draft::new(
            FindingKind::LossDivergence,
            Severity::Error,
            cx.range(first, cx.len() - 1),
        )
        .gate(Gate::MaxLossGrowth, gate, growth)
        .summary(if from_best {
            format!(
                "loss diverged: it fell to {} (step {}) and then rose {}x to {} by the last step",
                fmt(best),
                cx.step[best_at + window - 1],
                fmt(growth),
                fmt(end)
            )
        } else {
            format!(
                "loss diverged: its {window}-step median ends at {}x the initial loss {}",
                fmt(growth),
                fmt(cx.initial_loss)
            )
        })
        .explain(format!(
            "A sustained rise, not a single spike: the median of the last {window} steps is far \
             above the lowest the loss reached, so the optimizer is climbing, not descending."
        ))
        .evidence("initial loss", cx.initial_loss)
        .evidence("lowest running median", best)
        .evidence("final running median", end)
        .suggest(suggest::lower_lr(
            cx.scenario,
            10.0,
            "the steps overshoot the minimum",
        ))
        .done(),
    )
}

/// A warning for a rise past `max_loss_growth` of the initial loss that recovered by the end.
fn transient_peak(cx: &Context, levels: &[f64], window: usize) -> Option<Finding> {
    let (at, peak) = argmax_finite(levels)?;
    let growth = peak / cx.initial_loss;
    // A loss that went non-finite after its peak did not recover: that is the nonfinite finding.
    let recovered = cx.loss[at..].iter().all(|l| l.is_finite());
    if !recovered || !above(growth, cx.gates.max_loss_growth) {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::LossDivergence,
            Severity::Warning,
            cx.range(at, at + window - 1),
        )
        .measured(growth, Some(cx.gates.max_loss_growth))
        .summary(format!(
            "the loss rose to {}x its initial value by step {} and then recovered",
            fmt(growth),
            cx.step[at + window - 1]
        ))
        .explain(
            "A transient rise that the run came back from (large-lr catapult, momentum's \
             transient growth): not a divergence, but a sign the lr is near its limit."
                .to_string(),
        )
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
            "no progress: the median loss of the last {} steps is {}x the initial loss {} (must \
             be below {}x)",
            cx.len() - from,
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

/// The last quarter against the quarter before: a flat loss that is still high is a plateau; a
/// rising one is not (a large rise is a divergence, a smaller one a warning of its own).
fn plateau(cx: &Context) -> Option<Finding> {
    let n = cx.len();
    if n < 40 {
        return None;
    }
    let before = median(cx.loss[n / 2..3 * n / 4].iter().copied());
    let after = median(cx.loss[3 * n / 4..].iter().copied());
    let improvement = (before - after) / before;
    let settled = (3 * n / 4..n).filter(|&i| cx.settled(i)).count();
    // A flat loss at a minimum (gradient fallen 1000x after real progress) or in the converged
    // band is the end of training, not a plateau.
    if 2 * settled >= n - 3 * n / 4 || after <= CONVERGED_FRACTION * cx.initial_loss {
        return None;
    }
    if below(improvement, -RISE_WARNING) {
        return Some(rise(cx, before, after));
    }
    if !below(improvement, PLATEAU_IMPROVEMENT) || below(improvement, -PLATEAU_IMPROVEMENT) {
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
            "plateau: the last quarter of the run changed the loss by {}% (median {} → {})",
            fmt(-100.0 * improvement),
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

fn rise(cx: &Context, before: f64, after: f64) -> Finding {
    let n = cx.len();
    Draft::new(
        FindingKind::LossDivergence,
        Severity::Warning,
        cx.range(n / 2, n - 1),
    )
    .measured(after / before, Some(1.0 + RISE_WARNING))
    .summary(format!(
        "the loss is rising: the last quarter's median is {}x the quarter before ({} → {})",
        fmt(after / before),
        fmt(before),
        fmt(after)
    ))
    .explain(format!(
        "Not yet past gates.max_loss_growth of the lowest loss, but a rise of more than {}% \
         between the last two quarters is how a divergence starts.",
        fmt(100.0 * RISE_WARNING)
    ))
    .done()
}
