//! The sharpness chart: the probe's samples over steps beside the optimizer's stability limit
//! (`c / lr` at every step, so a schedule bends it) and the early-warning line at 0.8 of it.

use super::last_step;
use super::lines::{Line, LineChart};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::trace::APPROACH_FRACTION;
use crate::record::verdict::{FindingKind, Severity};
use crate::report::style::{ALERT, OKABE_ITO};

/// Sharpness and limit on a log axis; ▲ marks samples over the `max_sharpness_ratio` gate.
pub fn sharpness(r: &RunRecord) -> Result<String, Error> {
    let samples = &r.trace.sharpness;
    let (title, what) = titles(samples.iter().any(|s| s.preconditioned));
    let mut chart = LineChart::new(
        "sharpness",
        title.to_string(),
        &format!("{what} (log scale)"),
        last_step(r),
    );
    chart.log = true;
    // c = limit · lr is the optimizer's constant; the limit at step k is c / lr_k.
    let constant = samples
        .iter()
        .map(|s| s.limit * s.lr)
        .find(|c| c.is_finite());
    let limit_at = |fraction: f64| -> Vec<(f64, f64)> {
        let Some(c) = constant else {
            return samples.iter().map(|s| (s.step as f64, s.limit)).collect();
        };
        r.trace
            .steps
            .iter()
            .map(|s| (s.step as f64, fraction * c / s.lr))
            .collect()
    };
    chart.lines.push(Line {
        points: limit_at(1.0),
        color: ALERT,
        width: 2,
    });
    chart.lines.push(Line {
        points: limit_at(APPROACH_FRACTION),
        color: OKABE_ITO[1],
        width: 1,
    });
    chart.lines.push(Line {
        points: samples
            .iter()
            .map(|s| (s.step as f64, s.sharpness))
            .collect(),
        color: OKABE_ITO[0],
        width: 2,
    });
    chart.markers = over_the_gate(r);
    chart.legend = vec![
        (format!("{what} (probe samples)"), OKABE_ITO[0]),
        ("stability limit".into(), ALERT),
        (
            format!("{APPROACH_FRACTION} × limit (warning)"),
            OKABE_ITO[1],
        ),
    ];
    if !chart.markers.is_empty() {
        let gate = r.scenario.gates.max_sharpness_ratio;
        chart
            .legend
            .push((format!("▲ over the gate ({gate} × limit)"), ALERT));
    }
    chart.render()
}

/// The samples the verdict's edge-of-stability error marks (none without a verdict).
fn over_the_gate(r: &RunRecord) -> Vec<(f64, f64)> {
    r.verdict
        .iter()
        .flat_map(|v| &v.findings)
        .filter(|f| f.kind == FindingKind::EdgeOfStability && f.severity == Severity::Error)
        .flat_map(|f| &f.marks)
        .map(|m| (m.step as f64, m.value))
        .collect()
}

/// The chart's title and the quantity's name: preconditioned for adaptive optimizers.
fn titles(preconditioned: bool) -> (&'static str, &'static str) {
    if preconditioned {
        (
            "Preconditioned sharpness λmax(P⁻¹H) and the optimizer's stability limit",
            "λmax(P⁻¹H)",
        )
    } else {
        (
            "Sharpness λmax(H) and the optimizer's stability limit",
            "λmax(H)",
        )
    }
}
