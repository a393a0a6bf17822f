//! The finding cards of the page: one card per finding with its numbers, layers by name, the
//! suggested fix and the chart that best shows it (each chart once: later cards link to it), and
//! the gradient heatmap that follows the cause card.

use std::collections::HashSet;
use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::Chart;
use super::html::{anchor, figure};
use crate::record::text::fmt;
use crate::record::verdict::{Finding, FindingKind, Severity, Verdict};

/// The chart that best shows a finding.
pub fn chart_for(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Nonfinite => "loss-log.svg",
        FindingKind::RootCause | FindingKind::UpdateRatio | FindingKind::WeightGrowth => {
            "update-ratios.svg"
        }
        FindingKind::ExplodingGradients => "grad-norms.svg",
        FindingKind::VanishingGradients | FindingKind::DepthScaling => "grad-heatmap.svg",
        FindingKind::LossDivergence | FindingKind::LossSpike => "loss-log.svg",
        FindingKind::LossOscillation | FindingKind::NoProgress | FindingKind::Plateau => "loss.svg",
        FindingKind::DeadUnits => "dead-units.svg",
        FindingKind::SaturatedUnits => "saturated-units.svg",
        FindingKind::EdgeOfStability => "sharpness.svg",
        FindingKind::NotRobust => "robust-cases.svg",
        FindingKind::BaselineRegression => "diff-1.svg",
        FindingKind::AttentionLogitGrowth => "attention.svg",
        FindingKind::AttentionEntropyCollapse => "attention-entropy.svg",
        FindingKind::AdamEpsilon => "adam-eps.svg",
        FindingKind::OutputLogitDivergence => "log-z.svg",
        FindingKind::PostLnImbalance => "grad-heatmap.svg",
        FindingKind::Fp16Overflow => "cast-amax.svg",
        FindingKind::GradientUnderflow => "grad-flushed.svg",
        FindingKind::LostUpdates => "lost-updates.svg",
        FindingKind::LossScaleCollapse => "loss-scale.svg",
    }
}

/// The gradient heatmap right under the cause card, the chart that best shows where (which
/// layers, which steps) a failing run went wrong, unless the card already holds it.
pub(super) fn where_chart(out: &mut String, charts: &[Chart], shown: &mut HashSet<&'static str>) {
    let file = "grad-heatmap.svg";
    if let Some(c) = charts.iter().find(|c| c.file == file)
        && shown.insert(c.file)
    {
        figure(out, c);
    }
}

/// Every finding but `head` (the cause card's, already shown), each with its chart.
pub(super) fn findings(
    out: &mut String,
    (v, names, head): (&Verdict, &[String], Option<&Finding>),
    charts: &[Chart],
    shown: &mut HashSet<&'static str>,
) {
    if v.findings.is_empty() {
        out.push_str("<section><h2>Findings</h2><p>No findings: nothing unusual was measured.</p></section>\n");
        return;
    }
    let rest: Vec<&Finding> = (v.findings.iter())
        .filter(|f| !head.is_some_and(|h| std::ptr::eq(*f, h)))
        .collect();
    if rest.is_empty() {
        return;
    }
    let title = if head.is_some() {
        "Other findings"
    } else {
        "Findings"
    };
    let _ = writeln!(out, "<section><h2>{title}</h2>");
    for f in rest {
        card(out, f, names);
        let file = chart_for(f.kind);
        if let Some(c) = charts.iter().find(|c| c.file == file) {
            if shown.insert(c.file) {
                figure(out, c);
            } else {
                let _ = writeln!(
                    out,
                    "<p class=\"see\">Chart: <a href=\"#{}\">{}</a> (above)</p>",
                    anchor(c.file),
                    esc(c.title)
                );
            }
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

/// Opens one finding's `<article>` (closed by the caller after its chart); its layers by index
/// and name.
fn card(out: &mut String, f: &Finding, names: &[String]) {
    let severity = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let _ = write!(
        out,
        "<article class=\"card {severity}\"><h3><span class=\"tag\">{severity}</span> {}</h3>\
         <p class=\"summary\">{}</p><p>{}</p><dl>",
        f.kind.name(),
        esc(&f.summary),
        esc(&f.explanation)
    );
    let steps = if f.steps.first == f.steps.last {
        format!("{}", f.steps.first)
    } else {
        format!("{}–{}", f.steps.first, f.steps.last)
    };
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    };
    if let Some(cause) = f.consequence_of {
        row("consequence of", format!("the {} above", cause.name()));
    }
    row("steps", steps);
    if !f.layers.is_empty() {
        row("layers", layer_names(&f.layers, names));
    }
    row("measured", fmt(f.measured));
    if let Some(t) = f.threshold {
        row("threshold", fmt(t));
    }
    if let Some(g) = &f.gate {
        row("gate", g.key().to_string());
    }
    for e in &f.evidence {
        row(&e.name, fmt(e.value));
    }
    out.push_str("</dl>");
    if let Some(s) = &f.suggestion {
        let args: Vec<String> = s.set.iter().map(|a| format!("--set '{a}'")).collect();
        let _ = write!(
            out,
            "<p class=\"fix\"><strong>Suggested fix:</strong> <code>{}</code> — {}</p>",
            esc(&args.join(" ")),
            esc(&s.why)
        );
    }
}

/// Layers by index and name, `9 (layer9), 10 (layer10)`: `names` are the record's, else
/// `layerL`, as in npz files, traces and the interactive charts' legend.
pub(super) fn layer_names(layers: &[usize], names: &[String]) -> String {
    let named: Vec<String> = (layers.iter())
        .map(|&l| {
            let name = names.get(l).cloned().unwrap_or_else(|| format!("layer{l}"));
            format!("{l} ({name})")
        })
        .collect();
    named.join(", ")
}
