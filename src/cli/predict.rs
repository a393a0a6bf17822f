//! `stabcheck scenario X --predict`: the step-0 sharpness and the largest stable learning rate it
//! implies for the scenario's optimizer, without training. Exit 0 when the scenario's lr is under
//! it (ratio ≤ `[gates] max_sharpness_ratio`), 1 when it is not or could not be measured.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Format;
use crate::core::optim::OptimizerKind;
use crate::probe::sharpness::limit::{is_adaptive, rule_text};
use crate::probe::sharpness::{Prediction, predict};
use crate::scenario::Scenario;
use crate::scenario::build::optimizer_spec;

/// The `--format json` object of `--predict`.
#[derive(Debug, Serialize)]
struct PredictJson<'a> {
    scenario: &'a str,
    optimizer: OptimizerKind,
    /// λmax at step 0 (of `P⁻¹H` when `preconditioned`).
    sharpness: f64,
    preconditioned: bool,
    /// `c` in `lr · sharpness < c`.
    limit_constant: f64,
    largest_stable_lr: f64,
    lr: f64,
    /// `lr · sharpness / c`.
    ratio: f64,
    stable: bool,
    hvps: usize,
    converged: bool,
    probe_batch: usize,
}

pub fn run(s: &Scenario, base_dir: Option<&Path>, format: Format) -> Result<ExitCode> {
    let p = predict(s, base_dir)?;
    let stable = p.sample.ratio <= s.gates.max_sharpness_ratio;
    if format == Format::Json {
        let json = PredictJson {
            scenario: &s.name,
            optimizer: s.optimizer.kind,
            sharpness: p.sample.sharpness,
            preconditioned: p.sample.preconditioned,
            limit_constant: p.constant,
            largest_stable_lr: p.largest_stable_lr,
            lr: p.sample.lr,
            ratio: p.sample.ratio,
            stable,
            hvps: p.sample.hvps,
            converged: p.sample.converged,
            probe_batch: p.probe_batch,
        };
        println!("{}", serde_json::to_string(&json)?);
    } else {
        print!("{}", text(s, &p, stable));
    }
    Ok(if stable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn text(s: &Scenario, p: &Prediction, stable: bool) -> String {
    let sample = &p.sample;
    let kind = s.optimizer.kind;
    let spec = optimizer_spec(s);
    let what = if sample.preconditioned {
        "λmax(P⁻¹H)"
    } else {
        "λmax(H)"
    };
    let mut out = format!(
        "predict {}: step 0 (no training), probe batch of {} samples\n",
        s.name, p.probe_batch
    );
    out += &format!(
        "sharpness {what} = {} ({} Hessian-vector products, {})\n",
        num(sample.sharpness),
        sample.hvps,
        if sample.converged {
            "converged"
        } else {
            "not converged"
        }
    );
    let name = format!("{kind:?}").to_lowercase();
    out += &format!("stability limit of {name}: {}\n", rule_text(&spec));
    if is_adaptive(kind) {
        out += "  at step 0 there is no second moment yet: P is the denominator of the first \
                update, sqrt(v̂₁) + eps with v̂₁ = g₀² (the probe batch's gradient squared)\n";
    }
    if sample.preconditioned && !is_adaptive(kind) {
        out += "  P⁻¹ holds each layer's lr multiplier ([[optimizer.groups]])\n";
    }
    out += &format!(
        "largest stable lr: {} (= {} / {})\n",
        num(p.largest_stable_lr),
        num(p.constant),
        num(sample.sharpness)
    );
    let verdict = if stable { "under" } else { "NOT under" };
    out += &format!(
        "scenario lr {} is {verdict} it: lr·λ / {} = {}\n",
        num(sample.lr),
        num(p.constant),
        num(sample.ratio)
    );
    out
}

/// Seven significant digits: enough to check `2/λ` to 1e-6 from the text.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{}", format!("{x:.6e}").parse::<f64>().unwrap_or(x))
    } else {
        format!("{x}")
    }
}
