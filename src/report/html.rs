//! The self-contained `index.html`: verdict banner, one card per finding with the chart that shows
//! it, the NaN origin, the remaining charts, the gate table, the resolved scenario and run facts.
//!
//! Inline CSS and inline SVG only: no script, no network, no external font. Each chart appears
//! once, in the first finding card that needs it or else under "Charts", so the page never
//! carries the same SVG twice.

use std::collections::HashSet;
use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::Chart;
use super::interactive::Overlay;
use super::section::{Extras, Section};
use super::tables::{gates, origin};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::text::fmt;
use crate::record::verdict::{Finding, FindingKind, Severity, Status, Verdict};
use crate::scenario::{Scenario, ScenarioFile};

const CSS: &str = include_str!("report.css");

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

/// The page: the run's verdict, findings, origin and charts when there is a run record, then each
/// extra section (robustness, stability map, ...), then gates and run facts. `scenario` names the
/// page when there is no run record.
pub fn page(
    (run, extras): (Option<&RunRecord>, &Extras),
    charts: &[Chart],
    sections: &[Section],
    scenario: &Scenario,
) -> Result<String, Error> {
    let name = esc(&scenario.name).to_string();
    let size = charts.iter().map(|c| c.svg.len()).sum::<usize>()
        + sections
            .iter()
            .flat_map(|s| s.charts.iter().map(|c| c.svg.len() + s.html.len()))
            .sum::<usize>();
    let mut out = String::with_capacity(size + 20_000);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>stabcheck: {name}</title><style>{CSS}</style></head><body><main>\n"
    );
    let _ = writeln!(
        out,
        "<header><h1>stabcheck report: {name}</h1><p class=\"description\">{}</p></header>",
        esc(&scenario.description)
    );
    let mut shown = HashSet::new();
    if let Some(r) = run {
        match &r.verdict {
            Some(v) => {
                banner(&mut out, v);
                let fix = extras.fix.as_ref();
                let head = super::cause::card(&mut out, (r, v), fix, charts, &mut shown);
                findings(
                    &mut out,
                    (v, &r.trace.layer_names, head),
                    charts,
                    &mut shown,
                );
            }
            None => out
                .push_str("<section class=\"banner none\">This record has no verdict.</section>\n"),
        }
        if let Some(o) = &r.nan_origin {
            origin(&mut out, o);
        }
        out.push_str(&super::interactive::section(r, overlay(r, extras)));
    }
    for s in sections {
        section(&mut out, s);
    }
    if run.is_some() {
        out.push_str("<section><h2>Charts</h2>\n");
        for c in charts.iter().filter(|c| !shown.contains(c.file)) {
            figure(&mut out, c);
        }
        out.push_str("</section>\n");
    }
    match run {
        Some(r) => {
            if let Some(v) = &r.verdict {
                gates(&mut out, v);
            }
            facts(&mut out, r)?;
        }
        None => scenario_only(&mut out, scenario)?,
    }
    out.push_str("</main></body></html>\n");
    Ok(out)
}

/// The run drawn over this one in the interactive charts: `--compare`'s, else the verified
/// fix's loss.
fn overlay<'a>(r: &RunRecord, extras: &'a Extras) -> Option<Overlay<'a>> {
    if let Some((label, other)) = &extras.compare {
        return Some(Overlay::Run(label, other));
    }
    let fix = super::cause::matching(r, extras.fix.as_ref())?;
    let best = fix.ranking.first().and_then(|&i| fix.candidates.get(i))?;
    (!best.run.curve.is_empty()).then_some(Overlay::Loss("with the fix", &best.run.curve))
}

fn section(out: &mut String, s: &Section) {
    let _ = writeln!(
        out,
        "<section id=\"{}\"><h2>{}</h2>{}",
        s.id,
        esc(&s.title),
        s.html
    );
    for c in &s.charts {
        figure(out, c);
    }
    out.push_str("</section>\n");
}

fn scenario_toml(scenario: &Scenario) -> Result<String, Error> {
    toml::to_string(&ScenarioFile::from(scenario))
        .map_err(|e| Error::serialize("the scenario as TOML", e))
}

fn scenario_only(out: &mut String, scenario: &Scenario) -> Result<(), Error> {
    let _ = writeln!(
        out,
        "<section><h2>Scenario</h2><p>No run.json in this folder: run <code>stabcheck scenario</code> \
         to add the single-run charts.</p><h3>Base scenario as resolved</h3><pre>{}</pre></section>",
        esc(&scenario_toml(scenario)?)
    );
    Ok(())
}

fn banner(out: &mut String, v: &Verdict) {
    let (class, word) = match v.status {
        Status::Pass => ("pass", "PASS"),
        Status::Fail => ("fail", "FAIL"),
    };
    let detail = v.gate_summary();
    let outcome = serde_json::to_value(v.outcome)
        .ok()
        .and_then(|x| x.as_str().map(str::to_owned))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<section class=\"banner {class}\"><strong>{word}</strong> <span>({outcome})</span> \
         <span>{}</span></section>",
        esc(&detail)
    );
}

/// Every finding but `head` (the cause card's, already shown), each with its chart.
fn findings(
    out: &mut String,
    (v, names, head): (&Verdict, &[String], Option<&Finding>),
    charts: &[Chart],
    shown: &mut HashSet<&'static str>,
) {
    if v.findings.is_empty() {
        out.push_str("<section><h2>Findings</h2><p>No findings: nothing unusual was measured.</p></section>\n");
        return;
    }
    let title = if head.is_some() {
        "Other findings"
    } else {
        "Findings"
    };
    let _ = writeln!(out, "<section><h2>{title}</h2>");
    let rest = (v.findings.iter()).filter(|f| !head.is_some_and(|h| std::ptr::eq(*f, h)));
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

fn anchor(file: &str) -> String {
    format!("chart-{}", file.trim_end_matches(".svg"))
}

pub(super) fn figure(out: &mut String, c: &Chart) {
    // The SVG is our own plotters output: inline it as is (it carries its own viewBox).
    let _ = writeln!(
        out,
        "<figure id=\"{}\"><figcaption>{} <a href=\"{}\">({})</a></figcaption>{}</figure>",
        anchor(c.file),
        esc(c.title),
        c.file,
        c.file,
        strip_xml_prolog(&c.svg)
    );
}

fn strip_xml_prolog(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

fn facts(out: &mut String, r: &RunRecord) -> Result<(), Error> {
    let toml = scenario_toml(&r.scenario)?;
    let _ = writeln!(
        out,
        "<section><h2>Run</h2><dl class=\"facts\"><dt>stabcheck</dt><dd>{}</dd><dt>seed</dt><dd>{}</dd>\
         <dt>steps run</dt><dd>{} (trace keeps every {}th)</dd><dt>parameters</dt><dd>{}</dd>\
         <dt>checksum</dt><dd><code>{}</code></dd><dt>duration</dt><dd>{:.2} s ({:.3} ms/step)</dd></dl>\
         <h3>Scenario as resolved</h3><pre>{}</pre></section>",
        esc(&r.stabcheck_version),
        r.scenario.seed,
        r.steps_run,
        r.step_stride,
        r.parameters,
        esc(&r.param_checksum),
        r.timings.total_ms / 1e3,
        r.timings.ms_per_step,
        esc(&toml)
    );
    Ok(())
}
