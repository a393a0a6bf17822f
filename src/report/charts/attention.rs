//! A transformer's attention charts: each block's largest attention logit against the
//! `max_attention_logit` gate, and each block's lowest head entropy against uniform attention's.

use super::last_step;
use super::lines::{Line, LineChart};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::transformer::{BlockStats, TransformerStats};
use crate::report::style::{ALERT, OKABE_ITO};

/// Whether the run recorded attention statistics (a transformer with probes).
pub fn has_attention(r: &RunRecord) -> bool {
    r.trace
        .steps
        .iter()
        .any(|s| s.transformer.as_ref().is_some_and(|t| !t.blocks.is_empty()))
}

/// Per block over steps: `f` of its heads (the largest logit, the lowest entropy).
fn per_block(r: &RunRecord, f: impl Fn(&BlockStats) -> f64) -> Vec<Vec<(f64, f64)>> {
    let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
    for s in &r.trace.steps {
        let Some(t) = &s.transformer else { continue };
        for (b, block) in t.blocks.iter().enumerate() {
            if lines.len() <= b {
                lines.resize(b + 1, Vec::new());
            }
            lines[b].push((s.step as f64, f(block)));
        }
    }
    lines
}

fn fold(xs: impl Iterator<Item = f64>, pick: fn(f64, f64) -> f64) -> f64 {
    xs.fold(f64::NAN, |a, x| if a.is_nan() { x } else { pick(a, x) })
}

fn block_lines(chart: &mut LineChart, lines: Vec<Vec<(f64, f64)>>) {
    for (b, points) in lines.into_iter().enumerate() {
        // Every palette colour but vermilion, which is ALERT's: the gate's and the reference's.
        let blocks = [0, 2, 3, 4, 5, 6];
        let color = OKABE_ITO[blocks[b % blocks.len()]];
        chart.legend.push((format!("blocks.{b}.attn"), color));
        chart.lines.push(Line {
            points,
            color,
            width: 2,
        });
    }
}

/// The largest attention logit of each block (over its heads) on a log axis, with the gate.
pub fn logits(r: &RunRecord) -> Result<String, Error> {
    let x_max = last_step(r);
    let mut chart = LineChart::new(
        "attention",
        "Largest attention logit q·k/√d_head per block".to_string(),
        "max logit over heads (log scale)",
        x_max,
    );
    chart.log = true;
    let gate = r.scenario.gates.max_attention_logit;
    block_lines(
        &mut chart,
        per_block(r, |b| fold(b.heads.iter().map(|h| h.logit_max), f64::max)),
    );
    chart.level(gate, format!("gate max_attention_logit = {gate}"), ALERT);
    chart.render()
}

/// The lowest mean head entropy of each block, with uniform attention's entropy.
pub fn entropy(r: &RunRecord) -> Result<String, Error> {
    let x_max = last_step(r);
    let mut chart = LineChart::new(
        "attention-entropy",
        "Lowest head attention entropy per block (nats)".to_string(),
        "min over heads of mean entropy (nats)",
        x_max,
    );
    block_lines(
        &mut chart,
        per_block(r, |b| {
            fold(b.heads.iter().map(|h| h.entropy_mean), f64::min)
        }),
    );
    let uniform = r.trace.steps.iter().find_map(|s| {
        s.transformer
            .as_ref()
            .map(|t: &TransformerStats| t.uniform_entropy)
    });
    if let Some(u) = uniform {
        chart.level(u, "uniform attention".to_string(), ALERT);
    }
    chart.render()
}
