//! The report section of `diff.json`: the run against the baseline's noise bands, with each
//! overlay chart (the loss, and the first statistics that left their band).

use std::fmt::Write as _;

use super::{Chart, Section};
use crate::error::Error;
use crate::record::diff::DiffRecord;
use crate::record::text::fmt;
use html_escape::encode_text as esc;

/// Chart files, one per overlay in order (the record keeps at most four).
const FILES: [&str; 4] = ["diff-0.svg", "diff-1.svg", "diff-2.svg", "diff-3.svg"];

pub fn diff(d: &DiffRecord) -> Result<Section, Error> {
    let mut html = String::new();
    let seeds: Vec<String> = d.baseline_seeds.iter().map(u64::to_string).collect();
    let _ = write!(
        html,
        "<p>Against {} baseline run(s) (seeds {}): each statistic's log, averaged over windows of \
         steps, against the band one more baseline run would fall in (Bonferroni t bands, \
         half-width {} std; see docs/diff.md). Largest excess: {} band widths.</p>",
        d.baseline_seeds.len(),
        esc(&seeds.join(", ")),
        fmt(d.half_width),
        fmt(d.max_excess)
    );
    match &d.first {
        None => html.push_str("<p><b>Every statistic stayed inside its band.</b></p>"),
        Some(_) => {
            html.push_str("<table><tr><th>statistic</th><th>layer</th><th>first steps</th>");
            html.push_str("<th>head / baseline</th><th>excess</th></tr>");
            for e in d.excursions.iter().take(10) {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}-{}</td><td>{}</td><td>{}</td></tr>",
                    e.stat.name(),
                    esc(e.layer.as_deref().unwrap_or("(loss)")),
                    e.first_steps[0],
                    e.first_steps[1],
                    fmt(e.ratio),
                    fmt(e.excess)
                );
            }
            html.push_str("</table>");
        }
    }
    for (which, layers) in [("head", &d.added_layers), ("baseline", &d.removed_layers)] {
        if !layers.is_empty() {
            let _ = write!(
                html,
                "<p>Layers only in the {which}: {}.</p>",
                esc(&layers.join(", "))
            );
        }
    }
    let charts = (d.overlays.iter().zip(FILES))
        .map(|(o, file)| {
            let layer = o
                .layer
                .as_deref()
                .map_or(String::new(), |l| format!("{l} "));
            let title = format!("{layer}{} against the baseline", o.stat.name());
            let svg = super::charts::diff::overlay(o, &title)?;
            Ok(Chart {
                file,
                title: "Against the baseline",
                svg,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Section {
        id: "baseline",
        title: "Against the baseline".to_string(),
        html,
        charts,
    })
}
