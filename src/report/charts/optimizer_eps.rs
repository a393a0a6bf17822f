//! A transformer's output and optimizer charts: mean and largest `log Z` against the `max_log_z`
//! gate, and `RMS(∂L/∂W)/ε` of every weight tensor against the `min_grad_rms_over_eps` gate, the
//! three lowest (by median) named and coloured.

use super::last_step;
use super::lines::{Line, LineChart};
use crate::error::Error;
use crate::record::RunRecord;
use crate::report::style::{ALERT, MISSING, OKABE_ITO};

/// Whether the run recorded per-tensor gradient RMS over ε (a transformer under Adam or AdamW).
pub fn has_adam_eps(r: &RunRecord) -> bool {
    !r.trace.tensors.is_empty()
        && r.trace.steps.iter().any(|s| {
            s.transformer
                .as_ref()
                .is_some_and(|t| t.grad_rms_over_eps.len() == r.trace.tensors.len())
        })
}

/// Weight tensor `k`'s ratio at every step that recorded it.
fn series(r: &RunRecord, k: usize) -> Vec<(f64, f64)> {
    (r.trace.steps.iter())
        .filter_map(|s| {
            let t = s.transformer.as_ref()?;
            Some((s.step as f64, *t.grad_rms_over_eps.get(k)?))
        })
        .collect()
}

/// Median of the finite values (NaN when none): the order the named lines are picked in.
fn median(xs: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn adam_eps(r: &RunRecord) -> Result<String, Error> {
    let x_max = last_step(r);
    let mut chart = LineChart::new(
        "adam-eps",
        "Gradient RMS over Adam's ε per weight tensor".to_string(),
        "RMS(∂L/∂W)/ε (log scale)",
        x_max,
    );
    chart.log = true;
    let mut weights: Vec<(usize, f64)> = (r.trace.tensors.iter().enumerate())
        .filter(|(_, t)| t.is_weight())
        .map(|(k, _)| (k, median(series(r, k).into_iter().map(|p| p.1))))
        .collect();
    weights.sort_by(|a, b| a.1.total_cmp(&b.1));
    // Grey first so the named lines draw on top.
    for &(k, _) in weights.iter().skip(3) {
        chart.lines.push(Line {
            points: series(r, k),
            color: MISSING,
            width: 1,
        });
    }
    for (i, &(k, _)) in weights.iter().take(3).enumerate() {
        let color = OKABE_ITO[[0, 2, 4][i]];
        chart.legend.push((r.trace.tensors[k].name.clone(), color));
        chart.lines.push(Line {
            points: series(r, k),
            color,
            width: 2,
        });
    }
    if weights.len() > 3 {
        chart
            .legend
            .push(("other weight tensors".to_string(), MISSING));
    }
    let gate = r.scenario.gates.min_grad_rms_over_eps;
    chart.level(gate, format!("gate min_grad_rms_over_eps = {gate}"), ALERT);
    chart.render()
}

/// Mean and largest `log Z` of the output softmax per step, with the gate at ±`max_log_z`.
pub fn log_z(r: &RunRecord) -> Result<String, Error> {
    let x_max = last_step(r);
    let mut chart = LineChart::new(
        "log-z",
        "Output softmax log Z (logsumexp of the logits)".to_string(),
        "log Z (nats)",
        x_max,
    );
    let pick = |f: fn(&crate::record::transformer::TransformerStats) -> f64| -> Vec<(f64, f64)> {
        (r.trace.steps.iter())
            .filter_map(|s| Some((s.step as f64, f(s.transformer.as_ref()?))))
            .collect()
    };
    for (label, points, color) in [
        ("mean log Z", pick(|t| t.log_z_mean), OKABE_ITO[0]),
        ("largest log Z", pick(|t| t.log_z_max), OKABE_ITO[2]),
    ] {
        chart.legend.push((label.to_string(), color));
        chart.lines.push(Line {
            points,
            color,
            width: 2,
        });
    }
    let gate = r.scenario.gates.max_log_z;
    let negative = (chart.lines.iter()).any(|l| l.points.iter().any(|p| p.1 < 0.0));
    chart.level(gate, format!("gate max_log_z = ±{gate}"), ALERT);
    // The gate's other side only when log Z went below 0: it would squash a positive drift.
    if negative {
        chart.lines.push(Line {
            points: vec![(0.0, -gate), (x_max, -gate)],
            color: ALERT,
            width: 1,
        });
    }
    chart.render()
}
