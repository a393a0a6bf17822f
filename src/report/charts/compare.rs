//! Two runs' losses on one log axis: the original beside its verified fix's re-run (same seed),
//! the before/after evidence of the page's cause card.

use super::lines::{Line, LineChart};
use super::{first_nonfinite, steps_of};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::curve::LossCurve;
use crate::report::style::{ALERT, OKABE_ITO};

/// Which two runs a chart compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// The original and its verified fix, drawn for the cause card's narrow column.
    Fix,
    /// This run and another (`stabcheck report --compare`), full width.
    Runs,
}

/// This run's loss (run.json, every recorded step) and `other`'s, log scale, with this run's
/// first non-finite step as a rule. The x axis spans both runs: neither is cropped, so a fix is
/// seen over its whole run.
pub fn losses(
    r: &RunRecord,
    other: &LossCurve,
    other_label: &str,
    pair: Pair,
) -> Result<String, Error> {
    let this = steps_of(r, |s| s.loss);
    let after: Vec<(f64, f64)> = (other.steps.iter().zip(&other.loss))
        .map(|(&s, &l)| (s as f64, l))
        .collect();
    let x_max = (this.iter().chain(&after)).map(|p| p.0).fold(1.0, f64::max);
    let (name, title, this_label) = match pair {
        Pair::Fix => (
            "fix-loss",
            "Loss before and after the verified fix (same seed, log scale)",
            "original",
        ),
        Pair::Runs => ("compare-loss", "Loss of two runs (log scale)", "this run"),
    };
    let mut chart = LineChart::new(name, title.to_string(), "loss (log scale)", x_max);
    chart.log = true;
    if pair == Pair::Fix {
        // Drawn for half the cause card (about 640 px on a 1400 px page).
        chart.size = (640, 330);
    }
    chart.lines = vec![
        Line {
            points: this,
            color: ALERT,
            width: 2,
        },
        Line {
            points: after,
            color: OKABE_ITO[2],
            width: 2,
        },
    ];
    chart.legend = vec![
        (this_label.to_string(), ALERT),
        (other_label.to_string(), OKABE_ITO[2]),
    ];
    if let Some(step) = first_nonfinite(r) {
        chart.rule = Some(step);
        chart.legend.push(("│ first non-finite".into(), ALERT));
    }
    chart.render()
}
