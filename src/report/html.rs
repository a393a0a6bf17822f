//! The self-contained `index.html`: verdict banner; for a failing run the cause card (cause,
//! layers, step, evidence, fix) and the gradient heatmap; the other findings; the NaN origin; the
//! interactive charts; the extra sections (robustness, sweep, fixes, ...); the remaining charts;
//! the gate table, the resolved scenario and run facts.
//!
//! Inline CSS, inline SVG and the inline interactive section (vendored uPlot, our script and its
//! data): no network, no external font. Each chart appears once, in the first card that needs it
//! or else under "Charts", so the page never carries the same SVG twice.

use std::collections::HashSet;
use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::Chart;
use super::cards::{findings, where_chart};
use super::interactive::Overlay;
use super::section::{Extras, Section};
use super::tables::{gates, origin};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::verdict::{Status, Verdict};
use crate::scenario::{Scenario, ScenarioFile};

const CSS: &str = include_str!("report.css");

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
        run_top(&mut out, (r, extras), charts, &mut shown);
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

/// A run's part above the extra sections: banner, cause card and heatmap, the other findings,
/// the NaN origin and the interactive charts.
fn run_top(
    out: &mut String,
    (r, extras): (&RunRecord, &Extras),
    charts: &[Chart],
    shown: &mut HashSet<&'static str>,
) {
    match &r.verdict {
        Some(v) => {
            banner(out, v);
            let head = super::cause::card(out, (r, v), extras.fix.as_ref(), charts, shown);
            if head.is_some() {
                where_chart(out, charts, shown);
            }
            findings(out, (v, &r.trace.layer_names, head), charts, shown);
        }
        None => {
            out.push_str("<section class=\"banner none\">This record has no verdict.</section>\n")
        }
    }
    if let Some(o) = &r.nan_origin {
        origin(out, o);
    }
    out.push_str(&super::interactive::section(r, overlay(r, extras)));
}

/// The run drawn over this one in the interactive charts: `--compare`'s, else the verified
/// fix's loss.
fn overlay<'a>(r: &RunRecord, extras: &'a Extras) -> Option<Overlay<'a>> {
    if let Some((label, other)) = &extras.compare {
        return Some(Overlay::Run(label, other));
    }
    let best = super::cause::matching(r, extras.fix.as_ref())?.best()?;
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

pub(super) fn anchor(file: &str) -> String {
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
