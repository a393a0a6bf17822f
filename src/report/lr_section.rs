//! The report section of `lr-sensitivity.json`: the metric per variant, the final-loss table and
//! the final-loss-against-lr chart.

use std::fmt::Write as _;

use super::{Chart, Section};
use crate::error::Error;
use crate::record::lr_sensitivity::LrSensitivityRecord;
use crate::record::text::fmt;
use html_escape::encode_text as esc;

pub fn lr_sensitivity(r: &LrSensitivityRecord) -> Result<Section, Error> {
    let mut html = String::from(
        "<p>LR sensitivity (Wortsman et al. 2023) is the mean over the learning rates of \
         min(final loss, initial loss) − best final loss: 0 when every lr trains as well as the \
         best one. Final loss: the mean training loss over the last tenth of the run.</p>",
    );
    html.push_str("<table><tr><th>variant</th><th>LR sensitivity</th><th>best loss</th>");
    html.push_str("<th>best lr</th><th>attention-logit growth from lr</th></tr>");
    for v in &r.variants {
        let growth = v.logit_growth_lr.map_or("none".to_string(), fmt);
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&format!("{} {}", v.name, v.set.join(" "))),
            fmt(v.sensitivity),
            fmt(v.best_loss),
            fmt(v.best_lr),
            esc(&growth)
        );
    }
    html.push_str("</table><table><tr><th>lr</th>");
    for v in &r.variants {
        let _ = write!(html, "<th>{}</th>", esc(&v.name));
    }
    html.push_str("</tr>");
    for (i, lr) in r.lrs.iter().enumerate() {
        let _ = write!(html, "<tr><td>{}</td>", fmt(*lr));
        for v in &r.variants {
            let run = &v.runs[i];
            let mark = if run.passed { "" } else { " (gate failed)" };
            let _ = write!(html, "<td>{}{mark}</td>", fmt(run.final_loss));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    Ok(Section {
        id: "lr-sensitivity",
        title: "Learning-rate sensitivity".to_string(),
        html,
        charts: vec![Chart {
            file: "lr-sensitivity.svg",
            title: "Final loss against learning rate",
            svg: super::charts::lr_sensitivity::chart(r)?,
        }],
    })
}
