//! `stabcheck scenario X --predict`: the step-0 sharpness and the largest stable learning rate it
//! implies for the scenario's optimizer, without training. Exit 0 when the scenario's lr is under
//! it (ratio ≤ `[gates] max_sharpness_ratio`), 1 when it is not or could not be measured.
//!
//! For adaptive optimizers (Adam, AdamW, RMSprop) the step-0 figure is only a warning, never a
//! failed gate: at step 0 there is no second moment yet, so the preconditioner is one batch's
//! `|g₀| + eps`, whose near-zero elements inflate λmax(P⁻¹H); the first update moves each weight
//! by at most lr whatever the curvature; and once `v` averages many gradients the limit is far
//! looser (deep-mlp: predicted 8.04e-4, trains stably at 1e-3 and sits at 0.12-0.16 of its limit
//! from step 50 on). So the prediction is a pessimistic bound whose error is the warm-up of `v`:
//! a ratio up to [`ADAPTIVE_STEP0_UNCERTAINTY`] × the gate is a warning (exit 0), past it a
//! failure (adam-lr-too-high: 124). A sharpness that could not be measured, or is not positive
//! (no curvature limit), is "not judged" (exit 0), never a pass.

use super::out::{out, outln};
/// How pessimistic the step-0 bound of an adaptive optimizer can be: deep-mlp's step-0 ratio is
/// 1.24 while its warmed-up ratio is 0.12-0.16, a factor of 8-10; we allow 10.
pub const ADAPTIVE_STEP0_UNCERTAINTY: f64 = 10.0;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::Format;
use crate::core::clip::ClipKind;
use crate::core::optim::OptimizerKind;
use crate::probe::sharpness::Prediction;
use crate::run::build::optimizer_spec;
use crate::run::replay::predict;
use crate::scenario::Scenario;

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
    /// `pass`, `fail` (exit 1), `warning` for an adaptive optimizer within the step-0 bound's
    /// uncertainty (exit 0, see the module docs), or `not-judged` (no positive, finite sharpness).
    gate: &'static str,
    hvps: usize,
    converged: bool,
    probe_batch: usize,
}

pub fn run(s: &Scenario, base_dir: Option<&Path>, format: Format) -> Result<ExitCode> {
    let p = predict(s, base_dir)?;
    let ratio = p.sample.ratio;
    let limit = s.gates.max_sharpness_ratio;
    let stable = ratio <= limit;
    let adaptive = s.optimizer.kind.is_adaptive();
    // Clipping bounds every update by lr·max whatever the curvature, so crossing the linear limit
    // makes the loss oscillate within a bound instead of growing (sgd-lr-1-clipped trains at 147x).
    let clipped = s.clip.kind != ClipKind::None;
    let measured = ratio.is_finite() && p.sample.sharpness > 0.0;
    let gate = if !measured {
        "not-judged"
    } else if stable {
        "pass"
    } else if clipped || (adaptive && ratio <= ADAPTIVE_STEP0_UNCERTAINTY * limit) {
        "warning"
    } else {
        "fail"
    };
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
            gate,
            hvps: p.sample.hvps,
            converged: p.sample.converged,
            probe_batch: p.probe_batch,
        };
        outln!("{}", serde_json::to_string(&json)?);
    } else {
        out!("{}", text(s, &p, gate));
    }
    Ok(if gate != "fail" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn text(s: &Scenario, p: &Prediction, gate: &str) -> String {
    let stable = gate == "pass";
    let sample = &p.sample;
    let kind = s.optimizer.kind;
    let spec = optimizer_spec(s);
    let what = if sample.preconditioned {
        "λmax(P⁻¹H)"
    } else {
        "λmax(H)"
    };
    let unit = match s.transformer() {
        Some(_) => "sequences",
        None => "samples",
    };
    let mut out = format!(
        "predict {}: step 0 (no training), probe batch of {} {unit}\n",
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
    out += &format!("stability limit of {name}: {}\n", spec.stability_rule());
    if kind.is_adaptive() {
        out += "  at step 0 there is no second moment yet: P is the denominator of the first \
                update, sqrt(v̂₁) + eps with v̂₁ = g₀² (the probe batch's gradient squared)\n";
    }
    if sample.preconditioned && !kind.is_adaptive() {
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
    if gate == "not-judged" {
        out += "not judged: the step-0 sharpness is not a positive finite number, so it implies no \
                lr limit\n";
    }
    if gate == "warning" && s.clip.kind != ClipKind::None {
        out += "warning, not a failure: gradient clipping bounds every update, so past the limit \
                the loss oscillates within a bound instead of growing\n";
    } else if gate == "warning" {
        out += "warning, not a failure: for an adaptive optimizer this step-0 bound is pessimistic \
                (one batch's |g₀| stands in for the second moment, and the first update moves each \
                weight by at most lr); train with [probe] sharpness_every > 0 to see the limit once \
                v has warmed up\n";
    }
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
