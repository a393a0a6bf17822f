//! The report sections of `stabcheck robust` (stable fraction, findings, minimal failure, the
//! cases' scatter) and `stabcheck sweep` (the stability map and its boundary).

use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::Chart;
use super::charts::robust_cases::robust_cases;
use super::charts::stability_map::stability_map;
use super::section::Section;
use crate::error::Error;
use crate::record::robust::RobustRecord;
use crate::record::sweep::SweepRecord;
use crate::record::text::fmt;

pub fn robust(r: &RobustRecord) -> Result<Section, Error> {
    let mut html = robust_summary(r);
    finding_counts(r, &mut html);
    minimal_failure(r, &mut html)?;
    Ok(Section {
        id: "robustness",
        title: "Robustness".into(),
        html,
        charts: vec![Chart {
            file: "robust-cases.svg",
            title: "Robust cases",
            svg: robust_cases(r)?,
        }],
    })
}

/// The verdict, the counts and the interval, and the ranges the cases were drawn from.
fn robust_summary(r: &RobustRecord) -> String {
    let n = r.cases.len();
    let verdict = if r.passed { "PASS" } else { "FAIL" };
    let ranges = &r.scenario.robust;
    let span = |[lo, hi]: [f64; 2]| format!("{}..{}", fmt(lo), fmt(hi));
    let init = r.scenario.init_key().0.trim_start_matches("model.");
    // Token data has no input scale (its range is [1, 1]): say nothing of it.
    let input = match r.scenario.has_token_data() {
        true => String::new(),
        false => format!(", input_scale × {}", span(ranges.input_scale)),
    };
    format!(
        "<p class=\"summary\"><strong>{verdict}</strong>: {} of {n} perturbed cases stable \
         ({} of them without progress), {} unstable. Stable fraction {} with a {:.0}% \
         Clopper–Pearson interval {} .. {}; the gate needs a lower bound of at least {}.</p>\
         <p>Cases drawn with seed {} over the <code>[robust]</code> ranges: lr × {}, \
         {init} × {}{input}, batch {}..{}{}.</p>",
        r.stable,
        r.no_progress,
        r.unstable,
        fmt(r.stable_fraction),
        r.confidence * 100.0,
        fmt(r.interval[0]),
        fmt(r.interval[1]),
        fmt(r.min_stable_fraction),
        r.seed,
        span(ranges.lr),
        span(ranges.init_scale),
        ranges.batch[0],
        ranges.batch[1],
        if ranges.vary_seed {
            ", a fresh seed per case"
        } else {
            ""
        },
    )
}

/// How many cases each error finding occurred in.
fn finding_counts(r: &RobustRecord, html: &mut String) {
    let n = r.cases.len();
    if r.finding_counts.is_empty() {
        return;
    }
    html.push_str("<table><tr><th>error finding</th><th>cases</th></tr>");
    for (kind, count) in &r.finding_counts {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{count} of {n}</td></tr>",
            kind.name()
        );
    }
    html.push_str("</table>");
}

/// The minimal failing configuration: the keys it changes and the replayable file.
fn minimal_failure(r: &RobustRecord, html: &mut String) -> Result<(), Error> {
    if let Some(m) = &r.minimal_failure {
        let _ = write!(
            html,
            "<h3>Minimal failing configuration</h3><p>Case {} shrunk toward the base in {} runs; \
             it still fails with <strong>{}</strong>. Replay it with <code>stabcheck scenario \
             minimal-failure.toml</code>.</p><table><tr><th>key</th><th>base</th><th>failing value</th></tr>",
            m.from_case,
            m.shrink_runs,
            m.finding.name()
        );
        for c in &m.changes {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&c.key),
                esc(&c.base),
                esc(&c.value)
            );
        }
        html.push_str("</table>");
        let _ = write!(html, "<pre>{}</pre>", esc(&m.to_toml()?));
    }
    Ok(())
}

pub fn sweep(s: &SweepRecord) -> Result<Section, Error> {
    let n = s.cells.len();
    let unstable = s.cells.iter().filter(|c| !c.stable).count();
    let slow = s
        .cells
        .iter()
        .filter(|c| c.stable && c.outcome == crate::record::verdict::Outcome::NoProgress)
        .count();
    let axis = |a: &crate::record::sweep::Axis| {
        format!(
            "<code>{}</code> from {} to {} ({} points, {})",
            esc(&a.key),
            fmt(a.lo),
            fmt(a.hi),
            a.points,
            if a.log { "log-spaced" } else { "linear" }
        )
    };
    let mut html = format!(
        "<p class=\"summary\">{n} cells: {} stable ({slow} of them without progress), \
         {unstable} unstable.</p><p>x: {}{}</p>",
        n - unstable,
        axis(&s.x),
        s.y.as_ref()
            .map_or(String::new(), |y| format!("; y: {}", axis(y)))
    );
    html.push_str("<table><tr><th>row</th><th>first unstable value after a stable one</th></tr>");
    for (y, edge) in s.boundary() {
        let row = y.map_or(s.x.key.clone(), |v| {
            format!(
                "{} = {}",
                s.y.as_ref().map_or("", |a| a.key.as_str()),
                fmt(v)
            )
        });
        let edge = edge.map_or("none".to_string(), |x| format!("{} = {}", s.x.key, fmt(x)));
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&row),
            esc(&edge)
        );
    }
    html.push_str("</table>");
    Ok(Section {
        id: "stability-map",
        title: "Stability map".into(),
        html,
        charts: vec![Chart {
            file: "stability-map.svg",
            title: "Stability map",
            svg: stability_map(s)?,
        }],
    })
}
