//! The page's first card for a failing run: what went wrong, where (layers by name, step), why,
//! the chart that shows it, and what fixes it: the verified fix with its before/after loss when
//! `fix.json` beside run.json is this run's, else the finding's suggestion, marked unverified.
//!
//! The cause is the verdict's first error finding (`diagnose::causes` orders by mechanism: a
//! non-finite value, then steps too large, ...). A non-finite cause is placed by its root-cause
//! finding when there is one: that is where the blow-up started, not where it showed.

use std::collections::HashSet;
use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::Chart;
use super::cards::{chart_for, layer_names};
use super::charts::compare::{self, Pair};
use super::html::figure;
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::fix::FixRecord;
use crate::record::text::fmt;
use crate::record::verdict::{Finding, FindingKind, Severity, Verdict};

/// The file of the before/after chart.
pub const FIX_CHART: &str = "fix-loss.svg";

/// The headline finding (the first error) and the finding that places it (its root cause, when
/// the headline is a non-finite value that has one; else itself).
pub fn cause_of(v: &Verdict) -> Option<(&Finding, &Finding)> {
    let head = v.findings.iter().find(|f| f.severity == Severity::Error)?;
    let root = (head.kind == FindingKind::Nonfinite)
        .then(|| v.findings.iter().find(|f| f.kind == FindingKind::RootCause))
        .flatten();
    Some((head, root.unwrap_or(head)))
}

/// `fix` when it was made for this run: the same scenario as resolved, every key (a fix.json left
/// in `reports/<name>/` by `stabcheck fix` before a `--set` changed the run must not be shown as
/// this run's fix), else `None`.
pub fn matching<'a>(r: &RunRecord, fix: Option<&'a FixRecord>) -> Option<&'a FixRecord> {
    fix.filter(|f| f.scenario == r.scenario)
}

/// The before/after loss chart, when this run has a verified fix with a stored loss curve.
pub fn fix_chart(r: &RunRecord, fix: Option<&FixRecord>) -> Result<Option<Chart>, Error> {
    let Some(c) = matching(r, fix).and_then(FixRecord::best) else {
        return Ok(None);
    };
    if c.run.curve.is_empty() || r.verdict.as_ref().and_then(cause_of).is_none() {
        return Ok(None);
    }
    let svg = compare::losses(
        r,
        &c.run.curve,
        &curve_label("with the fix", c.run.curve.bucket),
        Pair::Fix,
    )?;
    Ok(Some(Chart {
        file: FIX_CHART,
        title: "Loss before and after the verified fix",
        svg,
    }))
}

/// Writes the cause card (nothing for a run without an error finding); returns the headline
/// finding, which the findings list then leaves out.
pub fn card<'v>(
    out: &mut String,
    (r, v): (&RunRecord, &'v Verdict),
    fix: Option<&FixRecord>,
    charts: &[Chart],
    shown: &mut HashSet<&'static str>,
) -> Option<&'v Finding> {
    let (head, root) = cause_of(v)?;
    let names = &r.trace.layer_names;
    let _ = write!(
        out,
        "<article class=\"card error cause\" id=\"cause\"><h2><span class=\"tag\">cause</span> \
         {}</h2><p class=\"summary\">{}</p><div class=\"cause-grid\"><div><dl>",
        head.kind.name(),
        esc(&head.summary)
    );
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    };
    if !std::ptr::eq(head, root) {
        let at = format!("{} at step {}", where_(root, names), steps(root));
        row("started", at);
    }
    row("where", where_(head, names));
    row("steps", steps(head));
    let mut measured = fmt(head.measured);
    if let Some(t) = head.threshold {
        measured += &format!(" (threshold {})", fmt(t));
    }
    row("measured", measured);
    if let Some(g) = &head.gate {
        row("gate", g.key().to_string());
    }
    let _ = write!(out, "</dl></div><div><p>{}</p>", esc(&root.explanation));
    fix_text(out, (r, root), matching(r, fix));
    // Text above, the evidence and the fix's before/after side by side below: the whole card
    // fits a 1400 x 760 viewport.
    out.push_str("</div></div><div class=\"cause-charts\">");
    for file in [chart_for(root.kind), FIX_CHART] {
        if let Some(c) = charts.iter().find(|c| c.file == file)
            && shown.insert(c.file)
        {
            figure(out, c);
        }
    }
    out.push_str("</div></article>\n");
    Some(head)
}

fn where_(f: &Finding, names: &[String]) -> String {
    if f.layers.is_empty() {
        return "the whole model".into();
    }
    layer_names(&f.layers, names)
}

fn steps(f: &Finding) -> String {
    match f.steps.first == f.steps.last {
        true => format!("{}", f.steps.first),
        false => format!("{}–{}", f.steps.first, f.steps.last),
    }
}

/// The verified fix with its evidence; else why there is none; else the unverified suggestion.
fn fix_text(out: &mut String, (r, f): (&RunRecord, &Finding), fix: Option<&FixRecord>) {
    match fix {
        Some(fix) => match fix.best() {
            Some(c) => {
                let _ = write!(
                    out,
                    "<div class=\"fix verified\"><strong>Verified fix:</strong> <code>{}</code>\
                     <br>Re-run with the same seed (seed {}): {}; final loss {} (original {}). \
                     {} of {} candidates verified: <a href=\"#verified-fixes\">all of them</a>.</div>",
                    esc(&c.set_args()),
                    r.scenario.seed,
                    esc(&c.run.gates_text()),
                    fmt(c.run.final_loss),
                    fmt(fix.original.final_loss),
                    fix.ranking.len(),
                    fix.candidates.len()
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<div class=\"fix none\"><strong>No verified fix:</strong> none of the {} \
                     candidates' re-runs passed every gate (<a href=\"#verified-fixes\">what was \
                     tried</a>).</div>",
                    fix.candidates.len()
                );
            }
        },
        None => {
            if let Some(s) = &f.suggestion {
                let args: Vec<String> = s.set.iter().map(|a| format!("--set '{a}'")).collect();
                let _ = write!(
                    out,
                    "<div class=\"fix\"><strong>Suggested fix (not verified):</strong> \
                     <code>{}</code> — {}<br>To verify it, run <code>stabcheck fix</code> on this scenario: it re-runs \
                     this and other repairs and keeps those that pass every gate.</div>",
                    esc(&args.join(" ")),
                    esc(&s.why)
                );
            }
        }
    }
}

/// A stored curve's legend label: it says when each point is the largest of several steps.
pub fn curve_label(what: &str, bucket: usize) -> String {
    match bucket {
        0 | 1 => what.to_string(),
        n => format!("{what} (each point the largest of {n} steps)"),
    }
}
