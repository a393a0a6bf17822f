//! Exploding and vanishing gradients: the global norm against `[gates]`, its growth over steps,
//! and the spread of per-layer gradient norms through depth (plus the depth scaling at step 0).

use super::context::{Context, Draft};
use super::depth;
use super::finding::{Finding, FindingKind, Severity};
use super::gates::{Gate, GateBook};
use super::series::{above, argmax_finite, argmin_finite, below, fmt, median, slope};
use super::suggest;
use crate::record::trace::LayerStats;

/// A global gradient norm whose fitted trend grows by this factor over the run is a warning.
pub const GROWTH_WARNING_FACTOR: f64 = 100.0;
/// A trend needs at least this many finite steps.
pub const MIN_TREND_POINTS: usize = 10;

pub fn check(cx: &Context, book: &mut GateBook) -> Vec<Finding> {
    if cx.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend(global_norm(cx, book));
    out.extend(growth(cx));
    out.extend(vanishing_norm(cx, book));
    out.extend(layer_spread(cx, book));
    out.extend(depth::check(cx));
    out
}

/// The global gradient norm's growth over step 0's, `max_t ‖g_t‖ / ‖g_0‖`. A ratio, not a norm,
/// so the units of the loss and the targets cancel: least squares with targets ×1e4 has 1e4x the
/// gradient at every step and the same ratio. A large gradient at step 0 is a matter of scale
/// (and, through depth, of `max_layer_grad_ratio`); a gradient that keeps growing is a blow-up.
fn global_norm(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_grad_norm;
    // The first step taken: step 0 unless dynamic loss scaling skipped it.
    let g0 = cx.grad_norm[cx.skipped.iter().position(|s| !s).unwrap_or(0)];
    let reference = if g0 > 0.0 && g0.is_finite() {
        g0
    } else {
        f64::NAN
    };
    let growth: Vec<f64> = cx.grad_norm.iter().map(|g| g / reference).collect();
    let (worst, peak) = argmax_finite(&growth).unwrap_or((0, f64::NAN));
    book.record(
        Gate::MaxGradNorm,
        gate,
        peak,
        "largest global gradient norm (before clipping) / step 0's",
    );
    book.unmeasured_because(
        Gate::MaxGradNorm,
        "step 0's gradient norm is 0 or not finite, so growth has no reference",
    );
    if !above(peak, gate) {
        return None;
    }
    let over: Vec<usize> = (0..cx.len()).filter(|&i| growth[i] > gate).collect();
    let first = over[0];
    let layer = argmax_finite(&cx.layer_series_at(worst, |l| l.weight_grad_norm)).map(|p| p.0);
    Some(
        Draft::new(
            FindingKind::ExplodingGradients,
            Severity::Error,
            cx.range(first, *over.last().unwrap_or(&first)),
        )
        .gate(Gate::MaxGradNorm, gate, peak)
        .layers(layer.into_iter().collect())
        .summary(format!(
            "global gradient norm grew {}x over step 0's ({} → {} at step {}; {} of {} steps above {}x)",
            fmt(peak),
            fmt(g0),
            fmt(cx.grad_norm[worst]),
            cx.step[worst],
            over.len(),
            cx.len(),
            fmt(gate)
        ))
        .explain(
            "The L2 norm of the whole gradient (before clipping), in units of step 0's, crossed \
             gates.max_grad_norm. A gradient that grows by orders of magnitude during training \
             means the weights left the region where the loss is well behaved."
                .to_string(),
        )
        .evidence("initial grad norm", g0)
        .evidence("peak grad norm", cx.grad_norm[worst])
        .suggest(suggest::clip_norm(
            cx.scenario,
            "clipping bounds every update whatever the gradient",
        ))
        .done(),
    )
}

/// Sustained exponential growth: the fitted trend of ln ‖g‖ over the run.
fn growth(cx: &Context) -> Option<Finding> {
    let xs: Vec<f64> = cx.step.iter().map(|&s| s as f64).collect();
    let ys: Vec<f64> = cx.grad_norm.iter().map(|g| g.ln()).collect();
    if ys.iter().filter(|y| y.is_finite()).count() < MIN_TREND_POINTS {
        return None;
    }
    let per_step = slope(&xs, &ys)?;
    let span = (cx.step[cx.len() - 1] - cx.step[0]) as f64;
    let factor = (per_step * span).exp();
    if !above(factor, GROWTH_WARNING_FACTOR) || factor.is_infinite() {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::ExplodingGradients,
            Severity::Warning,
            cx.whole(),
        )
        .measured(factor, Some(GROWTH_WARNING_FACTOR))
        .summary(format!(
            "global gradient norm trends up {}x over the run ({}x per step)",
            fmt(factor),
            fmt(per_step.exp())
        ))
        .explain(
            "Least-squares trend of ln ‖g‖ over all finite steps. Gradients that keep \
                 growing exponentially end in overflow even when no single step crosses the gate."
                .to_string(),
        )
        .suggest(suggest::lower_lr(
            cx.scenario,
            3.0,
            "a smaller lr damps the growth",
        ))
        .done(),
    )
}

/// The global norm falling below `min_grad_norm` while the loss is still near its start. A tiny
/// gradient at a loss the run has already brought below `max_final_loss_ratio` of its initial
/// value is a minimum being reached (least squares with a residual ends there), not vanishing.
/// `x <= limit`, false for NaN (so a NaN loss never counts as progress).
fn below_or_at(x: f64, limit: f64) -> bool {
    x <= limit
}

fn vanishing_norm(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.min_grad_norm;
    let progressed = cx.gates.max_final_loss_ratio * cx.initial_loss;
    let live: Vec<usize> = (0..cx.len())
        .filter(|&i| !cx.settled(i) && !below_or_at(cx.loss[i], progressed))
        .collect();
    let norms: Vec<f64> = live.iter().map(|&i| cx.grad_norm[i]).collect();
    let (at, low) = argmin_finite(&norms).map_or((0, f64::NAN), |(j, v)| (live[j], v));
    book.record(
        Gate::MinGradNorm,
        gate,
        low,
        "smallest global gradient norm over the steps whose loss is still above max_final_loss_ratio of the initial loss",
    );
    book.unmeasured_because(
        Gate::MinGradNorm,
        "no step had a finite loss above max_final_loss_ratio of the initial loss",
    );
    if !below(low, gate) {
        return None;
    }
    Some(
        Draft::new(
            FindingKind::VanishingGradients,
            Severity::Error,
            cx.range(at, at),
        )
        .gate(Gate::MinGradNorm, gate, low)
        .summary(format!(
            "global gradient norm {} at step {} is below {} while the loss is still {}",
            fmt(low),
            cx.step[at],
            fmt(gate),
            fmt(cx.loss[at])
        ))
        .explain(
            "The gradient is too small to move the weights although the loss has made no \
                 real progress (it is above max_final_loss_ratio of its initial value)."
                .to_string(),
        )
        .suggest(suggest::normalize_or_residual(
            cx.scenario,
            "normalization and skip connections keep gradients flowing to every layer",
        ))
        .done(),
    )
}

/// Per-layer medians over the run of a gradient norm; a layer whose norm is exactly zero
/// throughout (dead units) or that has no such norm is NaN, left to the dead-units finding, and
/// so is a norm layer of a transformer ([`Context::matrix_layer`]).
fn spread_of(cx: &Context, f: impl Fn(&LayerStats) -> Option<f64>) -> Spread {
    let medians: Vec<f64> = cx
        .layer_medians(0, |l| f(l).unwrap_or(f64::NAN))
        .into_iter()
        .enumerate()
        .map(|(l, m)| {
            if m > 0.0 && cx.matrix_layer(l) {
                m
            } else {
                f64::NAN
            }
        })
        .collect();
    let lo = argmin_finite(&medians);
    let hi = argmax_finite(&medians);
    let ratio = match (lo, hi) {
        (Some((_, a)), Some((_, b))) => b / a,
        _ => f64::NAN,
    };
    Spread {
        medians,
        lo,
        hi,
        ratio,
    }
}

struct Spread {
    medians: Vec<f64>,
    lo: Option<(usize, f64)>,
    hi: Option<(usize, f64)>,
    ratio: f64,
}

/// Largest over smallest per-layer gradient norm through depth (medians over the run), of the
/// weight gradients `‖∂L/∂W_l‖` and of the gradients back-propagated to each layer's input
/// `‖∂L/∂h‖`, whichever spreads more. Both are ratios, so the loss's units cancel. The second is
/// the one mean-field theory speaks of: in a ReLU stack with init scale 3, `‖∂L/∂h‖` grows 3x per
/// layer toward the input while `‖∂L/∂W_l‖ = ‖δ_l‖·‖h_(l-1)‖` stays level (the activations grow
/// 3x per layer the other way). Small norms near the input mean vanishing; large ones, exploding.
fn layer_spread(cx: &Context, book: &mut GateBook) -> Option<Finding> {
    let gate = cx.gates.max_layer_grad_ratio;
    let weights = spread_of(cx, |l| Some(l.weight_grad_norm));
    let inputs = spread_of(cx, |l| l.input_grad_norm);
    let backprop = inputs.ratio > weights.ratio;
    let Spread {
        medians,
        lo,
        hi,
        ratio,
    } = if backprop { inputs } else { weights };
    book.record(
        Gate::MaxLayerGradRatio,
        gate,
        ratio,
        "largest / smallest per-layer gradient norm through depth (weight gradients or gradients back-propagated to each layer's input; medians over the run)",
    );
    let ((lo_layer, lo_norm), (hi_layer, hi_norm)) = (lo?, hi?);
    if !above(ratio, gate) {
        return None;
    }
    let vanishing = lo_layer < hi_layer;
    let kind = if vanishing {
        FindingKind::VanishingGradients
    } else {
        FindingKind::ExplodingGradients
    };
    let first_last = medians[lo_layer.min(hi_layer)] / medians[lo_layer.max(hi_layer)];
    let scaled_init = cx.scenario.mlp().is_some_and(|m| m.init_scale != 1.0);
    let suggestion = if scaled_init {
        suggest::matched_init(
            cx.scenario,
            "an init matched to the activation keeps √χ₁ ≈ 1",
        )
    } else {
        suggest::normalize_or_residual(cx.scenario, "normalization evens out per-layer scales")
    };
    Some(
        Draft::new(kind, Severity::Error, cx.whole())
            .gate(Gate::MaxLayerGradRatio, gate, ratio)
            .layers(vec![lo_layer, hi_layer])
            .summary(format!(
                "per-layer gradient norms span {}x: {} has {} but {} has {}",
                fmt(ratio),
                cx.layer_name(lo_layer),
                fmt(lo_norm),
                cx.layer_name(hi_layer),
                fmt(hi_norm)
            ))
            .explain(format!(
                "Median over the run of each layer's {}. The gradient {} toward the input, so \
                 {}. (As a first/last ratio, {}: AutoTrainer calls < 1e-3 vanishing and > 70 \
                 exploding.)",
                if backprop {
                    "back-propagated gradient ‖∂L/∂h‖ at its input"
                } else {
                    "‖∂L/∂W‖"
                },
                if vanishing { "shrinks" } else { "grows" },
                if vanishing {
                    "the early layers barely train"
                } else {
                    "the signal is out of scale by orders of magnitude across depth"
                },
                fmt(first_last)
            ))
            .evidence("input-side / output-side gradient ratio", first_last)
            .evidence("median over layers", median(medians.iter().copied()))
            .suggest(suggestion)
            .done(),
    )
}
