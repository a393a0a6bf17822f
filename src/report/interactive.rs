//! The run page's interactive charts: the loss and every layer's weight-gradient norm drawn by
//! uPlot (vendored: `vendor/uPlot.iife.min.js`, MIT, 1.6.32, ~51 KB), with values on hover, drag
//! to zoom (double-click resets), a legend that names every layer and hides one on a click, and
//! the layers the error findings name drawn wide in red. The static SVG charts stay below, for
//! print and for readers without JavaScript; this section is left out of print.
//!
//! The data goes in as JSON; non-finite and (on a log axis) non-positive values become `null`,
//! which uPlot draws as a gap, never as 0.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::record::RunRecord;

const UPLOT_JS: &str = include_str!("vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uPlot.min.css");
const INIT_JS: &str = include_str!("interactive.js");

/// A value a log axis can draw, else `null`.
fn positive(v: f64) -> Value {
    if v.is_finite() && v > 0.0 {
        json!(v)
    } else {
        Value::Null
    }
}

/// The chart data of `r`: steps, loss, layer names, per-layer gradient norms, and the indices of
/// the layers error findings name.
fn data(r: &RunRecord) -> Value {
    let steps: Vec<usize> = r.trace.steps.iter().map(|s| s.step).collect();
    let loss: Vec<Value> = r.trace.steps.iter().map(|s| positive(s.loss)).collect();
    let layers = r.trace.steps.first().map_or(0, |s| s.layers.len());
    let names: Vec<String> = (0..layers)
        .map(|l| (r.trace.layer_names.get(l).cloned()).unwrap_or_else(|| format!("layer{l}")))
        .collect();
    let grad: Vec<Vec<Value>> = (0..layers)
        .map(|l| {
            (r.trace.steps.iter())
                .map(|s| {
                    s.layers
                        .get(l)
                        .map_or(Value::Null, |x| positive(x.weight_grad_norm))
                })
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
    json!({"steps": steps, "loss": loss, "layers": names, "grad": grad, "highlight": highlight})
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
