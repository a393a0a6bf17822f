//! Every chart of the report, built from a run record: one function per chart, each returning
//! the SVG text. Per-layer charts colour layers on the viridis scale (layer 0 dark, last bright).

pub mod attention;
pub mod compare;
pub mod diff;
pub mod heatmap;
pub mod histograms;
pub mod lines;
pub mod lr_sensitivity;
pub mod optimizer_eps;
pub mod precision;
pub mod robust_cases;
pub mod sharpness;
pub mod stability_map;

use lines::{Line, LineChart};
use plotters::style::RGBColor;

use super::style::{ALERT, OKABE_ITO, layer_color, tick, value_range};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::trace::LayerStats;
use crate::record::verdict::{FindingKind, Severity};

/// Healthy band of update-to-weight ratios drawn on the update chart (≈1e-3, one decade each way).
pub const HEALTHY_UPDATE_BAND: (f64, f64) = (1e-4, 1e-2);

fn steps_of(
    r: &RunRecord,
    f: impl Fn(&crate::record::trace::StepRecord) -> f64,
) -> Vec<(f64, f64)> {
    r.trace
        .steps
        .iter()
        .map(|s| (s.step as f64, f(s)))
        .collect()
}

fn layer_of(r: &RunRecord, layer: usize, f: impl Fn(&LayerStats) -> f64) -> Vec<(f64, f64)> {
    r.trace
        .steps
        .iter()
        .map(|s| (s.step as f64, s.layers.get(layer).map_or(f64::NAN, &f)))
        .collect()
}

fn layer_count(r: &RunRecord) -> usize {
    r.trace.steps.first().map_or(0, |s| s.layers.len())
}

/// `layer 3`, or with the module name of a model whose layers are named (a transformer's
/// state_dict prefix): `layer 3 blocks.0.attn.qkv`.
pub(super) fn layer_label(r: &RunRecord, l: usize) -> String {
    match r.trace.layer_names.get(l) {
        Some(name) => format!("layer {l} {name}"),
        None => format!("layer {l}"),
    }
}

/// The x range: the whole run, or, when the run went non-finite and never recovered, twice the
/// steps up to the first non-finite one (at least 10), so the finite part is not a sliver.
fn last_step(r: &RunRecord) -> f64 {
    let last = r.trace.steps.last().map_or(1.0, |s| s.step as f64);
    let stayed_bad = r.trace.steps.last().is_some_and(|s| !s.loss.is_finite());
    match first_nonfinite(r) {
        Some(first) if stayed_bad => last.min((2.0 * (first + 1.0)).max(10.0)),
        _ => last,
    }
}

/// The first step holding a non-finite value, from the verdict (or the trace).
pub fn first_nonfinite(r: &RunRecord) -> Option<f64> {
    let from_verdict = r.verdict.as_ref().and_then(|v| {
        v.findings
            .iter()
            .find(|f| f.kind == FindingKind::Nonfinite)
            .map(|f| f.steps.first as f64)
    });
    from_verdict.or_else(|| {
        r.trace
            .steps
            .iter()
            .find(|s| !s.loss.is_finite() || s.layers.iter().any(|l| l.nonfinite > 0))
            .map(|s| s.step as f64)
    })
}

/// The loss curve with the learning rate, spike markers and the first non-finite step.
pub fn loss(r: &RunRecord, log: bool) -> Result<String, Error> {
    // The spike markers are the verdict's: the steps its loss-spike finding names.
    let markers: Vec<(f64, f64)> = r
        .verdict
        .iter()
        .flat_map(|v| &v.findings)
        .filter(|f| f.kind == FindingKind::LossSpike)
        .flat_map(|f| &f.marks)
        .map(|m| (m.step as f64, m.value))
        .collect();
    let (name, title, y_desc) = if log {
        (
            "loss-log",
            "Training loss (log scale) and learning rate",
            "loss (log scale)",
        )
    } else {
        ("loss", "Training loss and learning rate", "loss")
    };
    let mut chart = LineChart::new(name, title.to_string(), y_desc, last_step(r));
    chart.log = log;
    chart.lines.push(Line {
        points: steps_of(r, |s| s.loss),
        color: OKABE_ITO[0],
        width: 2,
    });
    // Bluish green, not orange: orange would read as the vermillion first-non-finite rule.
    let points = steps_of(r, |s| s.lr);
    chart.legend = vec![("loss".into(), OKABE_ITO[0])];
    match constant(&points) {
        // A constant lr on an auto-scaled axis is a flat line that reads like a threshold: say
        // it in the legend instead.
        Some(lr) => chart.legend.push((
            format!("learning rate {} (constant)", tick(&lr)),
            OKABE_ITO[2],
        )),
        None => {
            let lr = Line {
                points,
                color: OKABE_ITO[2],
                width: 1,
            };
            chart.secondary = Some(("learning rate".to_string(), vec![lr]));
            chart
                .legend
                .push(("learning rate (right axis)".into(), OKABE_ITO[2]));
        }
    }
    if !markers.is_empty() {
        let gate = r.scenario.gates.max_loss_spike;
        let label = format!("▲ spike (> {gate}x its running median)");
        chart.legend.push((label, ALERT));
    }
    chart.markers = markers;
    with_rule(r, chart).render()
}

/// The value of a series that never changes (`None` when it changes or is empty).
fn constant(points: &[(f64, f64)]) -> Option<f64> {
    let first = points.first()?.1;
    points.iter().all(|p| p.1 == first).then_some(first)
}

/// One line per layer of `f`, coloured by depth, with a legend naming the first and last layer.
fn per_layer(
    r: &RunRecord,
    name: &'static str,
    title: &str,
    y_desc: &str,
    log: bool,
    f: impl Fn(&LayerStats) -> f64 + Copy,
) -> LineChart {
    let n = layer_count(r);
    let mut chart = LineChart::new(name, title.to_string(), y_desc, last_step(r));
    chart.log = log;
    let named = named_layers(r);
    // The layers the findings name are drawn last, thick and in their own colours, so the
    // layer a finding is about stands out of the other n − 1 (issue 22).
    let others = (0..n).filter(|l| !named.iter().any(|(k, _)| k == l));
    chart.lines = others
        .map(|l| Line {
            points: layer_of(r, l, f),
            color: layer_color(l, n),
            width: 1,
        })
        .collect();
    if n > 0 {
        let (first, last) = match r.trace.layer_names.is_empty() {
            true => (
                "layer 0 (input side)".into(),
                format!("layer {} (output)", n - 1),
            ),
            false => (layer_label(r, 0), layer_label(r, n - 1)),
        };
        chart.legend = vec![(first, layer_color(0, n)), (last, layer_color(n - 1, n))];
    }
    for (i, (l, kind)) in named.iter().enumerate().filter(|(_, (l, _))| *l < n) {
        let color = HIGHLIGHT[i % HIGHLIGHT.len()];
        let points = layer_of(r, *l, f);
        chart.lines.push(Line {
            points,
            color,
            width: 3,
        });
        let label = format!("{} (named by {kind})", layer_label(r, *l));
        chart.legend.push((label, color));
    }
    with_rule(r, chart)
}

/// Colours of highlighted layers: blue, orange, reddish purple (Okabe-Ito, apart from the
/// depth gradient of the other lines).
const HIGHLIGHT: [RGBColor; 3] = [OKABE_ITO[4], OKABE_ITO[0], OKABE_ITO[6]];

/// The layers the run's error findings name, cause first, each with the first finding that names
/// it: at most three.
fn named_layers(r: &RunRecord) -> Vec<(usize, &'static str)> {
    let mut out: Vec<(usize, &'static str)> = Vec::new();
    let findings = r.verdict.iter().flat_map(|v| &v.findings);
    let errors = findings.filter(|f| f.severity == Severity::Error);
    for f in errors {
        for &l in &f.layers {
            if out.len() < HIGHLIGHT.len() && !out.iter().any(|(k, _)| *k == l) {
                out.push((l, f.kind.name()));
            }
        }
    }
    out
}

/// The vertical rule at the first non-finite step, with its legend entry, when there is one.
fn with_rule(r: &RunRecord, mut chart: LineChart) -> LineChart {
    chart.rule = first_nonfinite(r);
    if chart.rule.is_some() {
        chart.legend.push(("│ first non-finite step".into(), ALERT));
    }
    chart
}

pub fn grad_norms(r: &RunRecord) -> Result<String, Error> {
    let title = "Weight-gradient norm ‖∂L/∂W‖ per layer";
    per_layer(
        r,
        "grad-norms",
        title,
        "gradient L2 norm (log scale)",
        true,
        |l| l.weight_grad_norm,
    )
    .render()
}

pub fn update_ratios(r: &RunRecord) -> Result<String, Error> {
    let title = "Update-to-weight ratio ‖ΔW‖/‖W‖ per layer (shaded: healthy 1e-4..1e-2)";
    let mut chart = per_layer(
        r,
        "update-ratios",
        title,
        "‖ΔW‖ / ‖W‖ (log scale)",
        true,
        |l| l.update_ratio,
    );
    chart.band = Some(HEALTHY_UPDATE_BAND);
    // Always show the whole healthy band, so a run inside it reads as inside, not as filling it.
    let values = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = value_range(values, true).unwrap_or(HEALTHY_UPDATE_BAND);
    chart.y_range = Some((
        lo.min(HEALTHY_UPDATE_BAND.0 / 2.0),
        hi.max(HEALTHY_UPDATE_BAND.1 * 2.0),
    ));
    chart.render()
}

/// A unit fraction where the layer held no NaN or infinity this step, else NaN (a gap): NaN
/// activations count as neither dead nor saturated, and a fraction falling to 0 after a
/// blow-up would read as recovery (issue 22).
fn finite_only(l: &LayerStats, fraction: f64) -> f64 {
    if l.nonfinite > 0 { f64::NAN } else { fraction }
}

pub fn dead_fraction(r: &RunRecord) -> Result<String, Error> {
    let title = "Dead units per layer (ReLU output 0 for every sample of the batch)";
    let mut chart = per_layer(r, "dead-units", title, "fraction of units", false, |l| {
        finite_only(l, l.dead_fraction)
    });
    chart.y_range = Some((0.0, 1.0));
    chart.render()
}

pub fn saturated_fraction(r: &RunRecord) -> Result<String, Error> {
    let title = "Saturated units per layer (tanh/sigmoid f'(z) < 1e-3 for every sample)";
    let mut chart = per_layer(
        r,
        "saturated-units",
        title,
        "fraction of units",
        false,
        |l| finite_only(l, l.saturated_fraction),
    );
    chart.y_range = Some((0.0, 1.0));
    chart.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_lr_is_named_not_drawn() {
        assert_eq!(constant(&[(0.0, 0.1), (1.0, 0.1)]), Some(0.1));
        assert_eq!(constant(&[(0.0, 0.1), (1.0, 0.05)]), None);
        assert_eq!(constant(&[]), None);
    }

    #[test]
    fn unit_fractions_of_a_layer_holding_nan_are_gaps_not_zeros() {
        let clean = LayerStats {
            dead_fraction: 0.25,
            ..LayerStats::default()
        };
        assert_eq!(finite_only(&clean, clean.dead_fraction), 0.25);
        let blown = LayerStats {
            dead_fraction: 0.0,
            nonfinite: 3,
            ..LayerStats::default()
        };
        assert!(finite_only(&blown, blown.dead_fraction).is_nan());
    }
}
