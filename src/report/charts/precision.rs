//! A 16-bit run's charts: the loss scale with its skipped steps, and per layer the largest stored
//! activation (against fp16's 65504), the share of gradient values flushed to zero and the share
//! of weight updates lost, each with its gate; the three worst layers named, the rest grey.

use super::last_step;
use super::lines::{Line, LineChart};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::precision::{CastCounts, LayerCast};
use crate::report::style::{ALERT, MISSING, OKABE_ITO};

/// Whether any step recorded 16-bit roundings.
pub fn has_casts(r: &RunRecord) -> bool {
    r.trace
        .steps
        .iter()
        .any(|s| s.precision.as_ref().is_some_and(|p| !p.layers.is_empty()))
}

/// Whether the run scaled its loss.
pub fn has_loss_scale(r: &RunRecord) -> bool {
    r.trace
        .steps
        .iter()
        .any(|s| s.precision.as_ref().is_some_and(|p| p.loss_scale.is_some()))
}

/// The loss scale per step (log scale), skipped steps marked.
pub fn loss_scale(r: &RunRecord) -> Result<String, Error> {
    let mut chart = LineChart::new(
        "loss-scale",
        "Loss scale (dynamic scaling skips marked)".to_string(),
        "loss scale (log scale)",
        last_step(r),
    );
    chart.log = true;
    let points: Vec<(f64, f64, bool)> = (r.trace.steps.iter())
        .filter_map(|s| {
            let p = s.precision.as_ref()?;
            Some((s.step as f64, p.loss_scale?, p.skipped))
        })
        .collect();
    chart.markers = points.iter().filter(|p| p.2).map(|p| (p.0, p.1)).collect();
    chart.legend.push(("loss scale".to_string(), OKABE_ITO[0]));
    if !chart.markers.is_empty() {
        chart.legend.push((
            format!("{} skipped steps (dots)", chart.markers.len()),
            ALERT,
        ));
    }
    chart.lines.push(Line {
        points: points.iter().map(|p| (p.0, p.1)).collect(),
        color: OKABE_ITO[0],
        width: 2,
    });
    chart.level(
        r.scenario.gates.min_loss_scale,
        format!("gate min_loss_scale = {}", r.scenario.gates.min_loss_scale),
        ALERT,
    );
    chart.render()
}

/// Which per-layer series a chart draws.
#[derive(Debug, Clone, Copy)]
pub enum Series {
    /// Largest |activation| an op produced (stored, or past the format's range).
    Amax,
    /// Share of nonzero gradient values flushed to zero.
    Flushed,
    /// Share of weight updates lost.
    Lost,
}

fn value(series: Series, l: &LayerCast) -> Option<f64> {
    let flushed = |c: &CastCounts| (c.flushed, c.values - (c.zeros - c.flushed));
    match series {
        // The largest value the layer's ops produced, overflowed ones included (`crossed`).
        Series::Amax => {
            (l.activations.as_ref()).map(|c| c.crossed.map_or(c.amax, |x| x.max(c.amax)))
        }
        Series::Flushed => {
            let (f, n) = [&l.activation_grads, &l.weight_grads]
                .into_iter()
                .flatten()
                .map(flushed)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            (n > 0).then(|| f as f64 / n as f64)
        }
        Series::Lost => (l.weights.as_ref())
            .filter(|w| w.values > 0)
            .map(|w| w.lost as f64 / w.values as f64),
    }
}

/// Layer `layer`'s series at every step that recorded it.
fn points(r: &RunRecord, series: Series, layer: usize) -> Vec<(f64, f64)> {
    (r.trace.steps.iter())
        .filter_map(|s| {
            let l = s
                .precision
                .as_ref()?
                .layers
                .iter()
                .find(|l| l.layer == layer)?;
            Some((s.step as f64, value(series, l)?))
        })
        .collect()
}

fn layer_label(r: &RunRecord, layer: usize) -> String {
    r.trace
        .layer_names
        .get(layer)
        .map_or_else(|| format!("layer {layer}"), |n| n.clone())
}

/// One line per layer, the three with the largest peak named.
pub fn per_layer(r: &RunRecord, series: Series) -> Result<String, Error> {
    let (name, title, y_desc) = match series {
        Series::Amax => (
            "cast-amax",
            "Largest activation per layer (before 16-bit rounding)",
            "max |activation| (log scale)",
        ),
        Series::Flushed => (
            "grad-flushed",
            "Gradient values flushed to zero per layer",
            "share of nonzero gradient values",
        ),
        Series::Lost => (
            "lost-updates",
            "Weight updates lost to 16-bit rounding per layer",
            "share of weight values",
        ),
    };
    let mut chart = LineChart::new(name, title.to_string(), y_desc, last_step(r));
    chart.log = matches!(series, Series::Amax);
    let mut layers: Vec<(usize, f64)> = (0..r
        .trace
        .steps
        .iter()
        .filter_map(|s| s.precision.as_ref())
        .map(|p| p.layers.iter().map(|l| l.layer + 1).max().unwrap_or(0))
        .max()
        .unwrap_or(0))
        .map(|l| {
            (
                l,
                points(r, series, l)
                    .iter()
                    .map(|p| p.1)
                    .fold(f64::NAN, f64::max),
            )
        })
        .filter(|(_, peak)| peak.is_finite())
        .collect();
    layers.sort_by(|a, b| b.1.total_cmp(&a.1));
    for &(l, _) in layers.iter().skip(3) {
        chart.lines.push(Line {
            points: points(r, series, l),
            color: MISSING,
            width: 1,
        });
    }
    for (i, &(l, _)) in layers.iter().take(3).enumerate() {
        let color = OKABE_ITO[[0, 2, 4][i]];
        chart.legend.push((layer_label(r, l), color));
        chart.lines.push(Line {
            points: points(r, series, l),
            color,
            width: 2,
        });
    }
    if layers.len() > 3 {
        chart.legend.push(("other layers".to_string(), MISSING));
    }
    let gates = &r.scenario.gates;
    match series {
        Series::Amax => chart.level(65504.0, "fp16's largest value 65504".to_string(), ALERT),
        Series::Flushed => chart.level(
            gates.max_grad_flushed_fraction,
            format!(
                "gate max_grad_flushed_fraction = {}",
                gates.max_grad_flushed_fraction
            ),
            ALERT,
        ),
        Series::Lost => chart.level(
            gates.max_lost_update_fraction,
            format!(
                "gate max_lost_update_fraction = {}",
                gates.max_lost_update_fraction
            ),
            ALERT,
        ),
    }
    chart.render()
}
