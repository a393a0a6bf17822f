//! The run page's interactive charts: the loss and every layer's weight-gradient norm drawn by
//! uPlot (vendored: `vendor/uPlot.iife.min.js`, MIT, 1.6.32, ~51 KB), with values on hover, drag
//! to zoom (double-click resets), a legend that names every layer and hides one on a click, and
//! the layers the error findings name drawn wide in red. The static SVG charts stay below, for
//! print and for readers without JavaScript; this section is left out of print.
//!
//! The data goes in as JSON, to 5 significant digits; non-finite and (on a log axis)
//! non-positive values become `null`, which uPlot draws as a gap, never as 0. Runs longer than
//! [`MAX_POINTS`] steps are drawn from buckets of steps, each at its largest value.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::record::RunRecord;
use crate::record::curve::LossCurve;
use crate::record::trace::StepRecord;

const UPLOT_JS: &str = include_str!("vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uPlot.min.css");
const INIT_JS: &str = include_str!("interactive.js");

/// At most this many points per series: a longer run is drawn from buckets of steps.
pub const MAX_POINTS: usize = 1000;

/// The largest value of a bucket a log axis can draw, to 5 significant digits (the page shows 4),
/// else `null`: a bucket with nothing finite and positive is a gap.
fn largest(values: impl Iterator<Item = f64>) -> Value {
    let top = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::NAN, f64::max);
    match format!("{top:.4e}").parse::<f64>() {
        Ok(v) if v.is_finite() => json!(v),
        _ => Value::Null,
    }
}

/// One run's drawable series: steps, loss and per-layer gradient norms, bucketed.
struct Series {
    steps: Vec<usize>,
    loss: Vec<Value>,
    grad: Vec<Vec<Value>>,
    names: Vec<String>,
    bucket: usize,
}

/// `r`'s series. Runs longer than [`MAX_POINTS`] steps are cut into equal buckets, each drawn at
/// its first step with each series' largest value (spikes survive).
fn series(r: &RunRecord) -> Series {
    let all = &r.trace.steps;
    let size = all.len().div_ceil(MAX_POINTS).max(1);
    let buckets: Vec<&[StepRecord]> = all.chunks(size).collect();
    let layers = all.first().map_or(0, |s| s.layers.len());
    let norm = |s: &StepRecord, l: usize| s.layers.get(l).map_or(f64::NAN, |x| x.weight_grad_norm);
    Series {
        steps: buckets.iter().map(|b| b[0].step).collect(),
        loss: (buckets.iter())
            .map(|b| largest(b.iter().map(|s| s.loss)))
            .collect(),
        grad: (0..layers)
            .map(|l| {
                (buckets.iter())
                    .map(|b| largest(b.iter().map(|s| norm(s, l))))
                    .collect()
            })
            .collect(),
        names: (0..layers)
            .map(|l| (r.trace.layer_names.get(l).cloned()).unwrap_or_else(|| format!("layer{l}")))
            .collect(),
        bucket: size,
    }
}

/// A loss curve (the verified fix's) as series without layers.
fn curve_series(c: &LossCurve) -> Series {
    Series {
        steps: c.steps.clone(),
        loss: c
            .loss
            .iter()
            .map(|&l| largest(std::iter::once(l)))
            .collect(),
        grad: Vec::new(),
        names: Vec::new(),
        bucket: c.bucket,
    }
}

/// `values` (at `steps`) placed on the sorted union `axis`, `false` where a run has no point:
/// the page turns that into `undefined`, which uPlot joins across, while `null` (a non-finite
/// value) stays a gap.
fn on_axis(axis: &[usize], steps: &[usize], values: &[Value]) -> Vec<Value> {
    let mut out = vec![Value::Bool(false); axis.len()];
    for (s, v) in steps.iter().zip(values) {
        if let Ok(i) = axis.binary_search(s) {
            out[i] = v.clone();
        }
    }
    out
}

/// The chart data of `r` and, when given, a second run drawn over it (`other`, labelled): one
/// step axis (the union of both runs' steps), the losses, layer names and per-layer gradient
/// norms (the other run's matched to this run's layers by name), and the indices of the layers
/// error findings name.
fn data(r: &RunRecord, other: Option<(&str, Series)>) -> Value {
    let a = series(r);
    let mut axis = a.steps.clone();
    if let Some((_, b)) = &other {
        axis.extend(&b.steps);
    }
    // Sorted and deduplicated even for one run: a record from elsewhere may repeat a step, and
    // each value must find its slot.
    axis.sort_unstable();
    axis.dedup();
    let grad: Vec<Vec<Value>> = (a.grad.iter())
        .map(|g| on_axis(&axis, &a.steps, g))
        .collect();
    let layers = a.names.len();
    let mut highlight: Vec<usize> = (r.verdict.iter())
        .flat_map(|v| v.findings.iter())
        .filter(|f| f.severity == crate::record::verdict::Severity::Error)
        .flat_map(|f| f.layers.iter().copied())
        .filter(|&l| l < layers)
        .collect();
    highlight.sort_unstable();
    highlight.dedup();
    let compare = other.map(|(label, b)| {
        let grad: Vec<Value> = (a.names.iter())
            .map(|name| match b.names.iter().position(|n| n == name) {
                Some(j) => json!(on_axis(&axis, &b.steps, &b.grad[j])),
                None => Value::Null,
            })
            .collect();
        json!({"label": label, "loss": on_axis(&axis, &b.steps, &b.loss),
               "grad": if b.grad.is_empty() { Value::Null } else { json!(grad) },
               "bucket": b.bucket})
    });
    json!({"steps": axis, "loss": on_axis(&axis, &a.steps, &a.loss), "layers": a.names,
           "grad": grad, "highlight": highlight, "bucket": a.bucket, "compare": compare})
}

/// A second run for the interactive charts: another run record (`stabcheck report --compare`),
/// or the verified fix's loss curve.
pub enum Overlay<'a> {
    Run(&'a str, &'a RunRecord),
    Loss(&'a str, &'a LossCurve),
}

/// The section's HTML, scripts included (empty for a run without steps).
pub fn section(r: &RunRecord, overlay: Option<Overlay>) -> String {
    if r.trace.steps.is_empty() {
        return String::new();
    }
    let other = overlay.map(|o| match o {
        Overlay::Run(label, run) => (label, series(run)),
        Overlay::Loss(label, curve) => (label, curve_series(curve)),
    });
    // `<` escaped so no layer name can close the script element.
    let json = data(r, other).to_string().replace('<', "\\u003c");
    let mut out = String::with_capacity(UPLOT_JS.len() + json.len() + 4_000);
    let _ = writeln!(
        out,
        "<section id=\"interactive\"><h2>Interactive charts</h2>\
         <p class=\"hint\">Hover for values, drag across a chart to zoom (double-click resets), \
         click a layer in the legend to hide it. Layers the error findings name are drawn wide \
         in red; a compared run is drawn dashed.</p>\
         <div id=\"ip-loss\" class=\"iplot\"></div><div id=\"ip-grad\" class=\"iplot\"></div>\
         <style>{UPLOT_CSS}</style>\
         <script type=\"application/json\" id=\"ip-data\">{json}</script>\
         <script>{UPLOT_JS}</script><script>{INIT_JS}</script></section>"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_placed_on_the_union_axis_with_false_where_it_has_no_step() {
        let axis = [0, 5, 10, 15, 20];
        let values = [json!(1.0), Value::Null, json!(3.0)];
        let placed = on_axis(&axis, &[0, 10, 20], &values);
        let f = Value::Bool(false);
        // A non-finite value stays `null` (a gap); a step the run never had is `false`.
        assert_eq!(placed, [json!(1.0), f.clone(), Value::Null, f, json!(3.0)]);
    }

    #[test]
    fn a_bucket_is_drawn_at_its_largest_drawable_value_to_5_digits() {
        let v = |xs: &[f64]| largest(xs.iter().copied());
        assert_eq!(v(&[1.0, 4.567_891_234, 2.0]), json!(4.5679));
        // A spike survives its bucket; NaN, inf, 0 and negatives are not drawable on a log axis.
        assert_eq!(
            v(&[f64::NAN, 1e-3, 250.0, f64::INFINITY, -5.0, 0.0]),
            json!(250.0)
        );
        assert_eq!(v(&[f64::NAN, 0.0, -1.0]), Value::Null);
        assert_eq!(v(&[]), Value::Null);
    }
}
