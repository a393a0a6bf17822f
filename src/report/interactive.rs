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

/// The chart data of `r`: steps, loss, layer names, per-layer gradient norms, and the indices of
/// the layers error findings name. Runs longer than [`MAX_POINTS`] steps are cut into equal
/// buckets, each drawn at its first step with each series' largest value (spikes survive).
fn data(r: &RunRecord) -> Value {
    let all = &r.trace.steps;
    let size = all.len().div_ceil(MAX_POINTS).max(1);
    let buckets: Vec<&[StepRecord]> = all.chunks(size).collect();
    let steps: Vec<usize> = buckets.iter().map(|b| b[0].step).collect();
    let loss: Vec<Value> = (buckets.iter())
        .map(|b| largest(b.iter().map(|s| s.loss)))
        .collect();
    let layers = all.first().map_or(0, |s| s.layers.len());
    let names: Vec<String> = (0..layers)
        .map(|l| (r.trace.layer_names.get(l).cloned()).unwrap_or_else(|| format!("layer{l}")))
        .collect();
    let norm = |s: &StepRecord, l: usize| s.layers.get(l).map_or(f64::NAN, |x| x.weight_grad_norm);
    let grad: Vec<Vec<Value>> = (0..layers)
        .map(|l| {
            (buckets.iter())
                .map(|b| largest(b.iter().map(|s| norm(s, l))))
                .collect()
        })
        .collect();
    let mut highlight: Vec<usize> = (r.verdict.iter())
        .flat_map(|v| v.findings.iter())
        .filter(|f| f.severity == crate::record::verdict::Severity::Error)
        .flat_map(|f| f.layers.iter().copied())
        .filter(|&l| l < layers)
        .collect();
    highlight.sort_unstable();
    highlight.dedup();
    json!({"steps": steps, "loss": loss, "layers": names, "grad": grad,
           "highlight": highlight, "bucket": size})
}

/// The section's HTML, scripts included (empty for a run without steps).
pub fn section(r: &RunRecord) -> String {
    if r.trace.steps.is_empty() {
        return String::new();
    }
    // `<` escaped so no layer name can close the script element.
    let json = data(r).to_string().replace('<', "\\u003c");
    let mut out = String::with_capacity(UPLOT_JS.len() + json.len() + 4_000);
    let _ = writeln!(
        out,
        "<section id=\"interactive\"><h2>Interactive charts</h2>\
         <p class=\"hint\">Hover for values, drag across a chart to zoom (double-click resets), \
         click a layer in the legend to hide it. Layers the error findings name are drawn wide \
         in red.</p>\
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
