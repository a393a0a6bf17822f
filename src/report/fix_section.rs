//! The "Verified fixes" section of the page, rendered from `fix.json`: what the original failed,
//! the verified repairs best first with their evidence, the best one's diff, and every candidate.

use std::fmt::Write as _;

use html_escape::encode_text as esc;

use super::section::Section;
use crate::error::Error;
use crate::record::fix::{Candidate, FixRecord};
use crate::record::text::fmt;
use crate::record::verdict::Status;

fn changes_html(c: &Candidate) -> String {
    let items: Vec<String> = c
        .changes
        .iter()
        .map(|x| {
            format!(
                "<code>{}</code> {} → {}",
                esc(&x.key),
                esc(&x.base),
                esc(&x.value)
            )
        })
        .collect();
    items.join("<br>")
}

fn ranking_table(html: &mut String, r: &FixRecord) {
    html.push_str(
        "<table><tr><th>rank</th><th>candidate</th><th>changes (size)</th><th>re-run</th>\
         <th>final loss</th><th>apply with</th></tr>",
    );
    for (rank, c) in r
        .ranking
        .iter()
        .filter_map(|&i| r.candidates.get(i))
        .enumerate()
    {
        let robust = c.robust.as_ref().map_or(String::new(), |check| {
            format!(
                "; robust {} of {} stable, lower bound {}",
                check.stable,
                check.cases,
                fmt(check.lower_bound)
            )
        });
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{}{}</td><td>{} (original {})</td>\
             <td><code>{}</code></td></tr>",
            rank + 1,
            c.index,
            esc(&c.ideas.join(" + ")),
            changes_html(c),
            fmt(c.change_size),
            esc(&c.run.gates_text()),
            esc(&robust),
            fmt(c.run.final_loss),
            fmt(r.original.final_loss),
            esc(&c.set_args())
        );
    }
    html.push_str("</table>");
}

fn candidates_table(html: &mut String, r: &FixRecord) {
    let _ = write!(
        html,
        "<details><summary>All {} candidates tried</summary><table><tr><th>#</th><th>phase</th>\
         <th>ideas</th><th>re-run</th><th>final loss</th><th>verified</th></tr>",
        r.candidates.len()
    );
    for c in &r.candidates {
        let phase = match c.extends {
            Some(single) => format!("pair on {single}"),
            None => "single".to_string(),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{phase}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.index,
            esc(&c.ideas.join(" + ")),
            esc(&c.run.gates_text()),
            fmt(c.run.final_loss),
            if c.verified { "yes" } else { "no" }
        );
    }
    html.push_str("</table></details>");
}

pub fn fixes(r: &FixRecord) -> Result<Section, Error> {
    let mut html = format!(
        "<p>The original run ({} steps, seed {}): {}; final loss {}.</p>",
        r.scenario.steps,
        r.scenario.seed,
        esc(&r.original.gates_text()),
        fmt(r.original.final_loss)
    );
    if r.original.status == Status::Pass {
        html.push_str("<p class=\"summary\">Nothing to fix: the original passes every gate.</p>");
    } else if r.ranking.is_empty() {
        let _ = write!(
            html,
            "<p class=\"summary\"><strong>No verified fix</strong>: none of the {} candidates' \
             re-runs passed every gate{}.</p>",
            r.candidates.len(),
            if r.robust_cases.is_some() {
                " and the robust check"
            } else {
                ""
            }
        );
    } else {
        let _ = write!(
            html,
            "<p class=\"summary\">{} of {} candidates verified: each re-run with the same seed \
             passed every gate{}. Best first (fewest changed keys, smallest change, lowest final \
             loss):</p>",
            r.ranking.len(),
            r.candidates.len(),
            r.robust_cases.map_or(String::new(), |n| format!(
                " and a robust check of {n} cases"
            ))
        );
        ranking_table(&mut html, r);
        if let Some(diff) = r.fixed_diff()? {
            let _ = write!(
                html,
                "<h3>fixed.toml against the original</h3><pre>{}</pre>",
                esc(&diff)
            );
        }
    }
    if !r.candidates.is_empty() {
        candidates_table(&mut html, r);
    }
    Ok(Section {
        id: "verified-fixes",
        title: "Verified fixes".into(),
        html,
        charts: Vec::new(),
    })
}
