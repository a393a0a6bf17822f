//! Validation of `[probe]`, `[gates]` and `[robust]`.

use super::checker::{Checker, num};
use super::defaults;
use super::error::ScenarioError;
use super::file_checks::{Gates, ProbeTable, RobustTable};
use super::resolved_training::{ProbeConfig, RobustConfig};

pub(crate) fn validate_probe(ck: &Checker, p: &ProbeTable) -> Result<ProbeConfig, ScenarioError> {
    Ok(ProbeConfig {
        histogram_every: ck.int_at_least("probe.histogram_every", p.histogram_every, 0)?,
        checkpoint_every: ck.int_at_least("probe.checkpoint_every", p.checkpoint_every, 0)?,
        sharpness_every: ck.int_at_least("probe.sharpness_every", p.sharpness_every, 0)?,
    })
}

pub(crate) fn validate_gates(ck: &Checker, g: &Gates) -> Result<Gates, ScenarioError> {
    let max_grad_norm = ck.positive("gates.max_grad_norm", g.max_grad_norm)?;
    let min = g.min_grad_norm;
    if !(min >= 0.0 && min < max_grad_norm) {
        let expected = format!(
            "a number in [0, gates.max_grad_norm = {})",
            num(max_grad_norm)
        );
        return Err(ck.range_error("gates.min_grad_norm", &[], num(min), expected));
    }
    let at_least_one =
        |key: &str, value: f64| ck.float(key, value, value >= 1.0, "a finite number >= 1");
    Ok(Gates {
        nonfinite: g.nonfinite,
        max_grad_norm,
        min_grad_norm: min,
        max_layer_grad_ratio: at_least_one("gates.max_layer_grad_ratio", g.max_layer_grad_ratio)?,
        max_loss_spike: at_least_one("gates.max_loss_spike", g.max_loss_spike)?,
        max_final_loss_ratio: ck.positive("gates.max_final_loss_ratio", g.max_final_loss_ratio)?,
        max_dead_fraction: ck.fraction("gates.max_dead_fraction", g.max_dead_fraction)?,
        max_saturated_fraction: ck
            .fraction("gates.max_saturated_fraction", g.max_saturated_fraction)?,
        max_update_ratio: ck.positive("gates.max_update_ratio", g.max_update_ratio)?,
        max_weight_growth: at_least_one("gates.max_weight_growth", g.max_weight_growth)?,
        max_loss_growth: at_least_one("gates.max_loss_growth", g.max_loss_growth)?,
        max_loss_oscillation: ck.positive("gates.max_loss_oscillation", g.max_loss_oscillation)?,
        max_sharpness_ratio: ck.positive("gates.max_sharpness_ratio", g.max_sharpness_ratio)?,
        max_attention_logit: ck.positive("gates.max_attention_logit", g.max_attention_logit)?,
        min_grad_rms_over_eps: ck
            .positive("gates.min_grad_rms_over_eps", g.min_grad_rms_over_eps)?,
        max_log_z: ck.positive("gates.max_log_z", g.max_log_z)?,
        max_output_grad_imbalance: at_least_one(
            "gates.max_output_grad_imbalance",
            g.max_output_grad_imbalance,
        )?,
        max_cast_overflow: ck.non_negative("gates.max_cast_overflow", g.max_cast_overflow)?,
        max_grad_flushed_fraction: ck.fraction(
            "gates.max_grad_flushed_fraction",
            g.max_grad_flushed_fraction,
        )?,
        min_loss_scale: ck.positive("gates.min_loss_scale", g.min_loss_scale)?,
        max_skipped_fraction: ck.fraction("gates.max_skipped_fraction", g.max_skipped_fraction)?,
        max_lost_update_fraction: ck
            .fraction("gates.max_lost_update_fraction", g.max_lost_update_fraction)?,
        max_regression: ck.positive("gates.max_regression", g.max_regression)?,
    })
}

/// `[robust]`; token data has no input scale to perturb, so its range is `[1, 1]` and writing
/// `robust.input_scale` is an error.
pub(crate) fn validate_robust(
    ck: &Checker,
    r: &RobustTable,
    tokens: bool,
) -> Result<RobustConfig, ScenarioError> {
    let batch = [
        ck.int_at_least("robust.batch[0]", r.batch[0], 1)?,
        ck.int_at_least("robust.batch[1]", r.batch[1], 1)?,
    ];
    if batch[0] > batch[1] {
        let found = format!("{:?}", r.batch);
        return Err(ck.range_error("robust.batch", &[], found, "[lo, hi] with lo <= hi"));
    }
    Ok(RobustConfig {
        cases: ck.int_at_least("robust.cases", r.cases, 1)?,
        min_stable_fraction: ck.fraction("robust.min_stable_fraction", r.min_stable_fraction)?,
        lr: multiplier_range(ck, "robust.lr", r.lr)?,
        init_scale: multiplier_range(ck, "robust.init_scale", r.init_scale)?,
        batch,
        input_scale: robust_input_scale(ck, r.input_scale, tokens)?,
        vary_seed: r.vary_seed,
    })
}

fn robust_input_scale(
    ck: &Checker,
    range: Option<[f64; 2]>,
    tokens: bool,
) -> Result<[f64; 2], ScenarioError> {
    let key = "robust.input_scale";
    if tokens {
        let found = range.map_or_else(String::new, |[lo, hi]| {
            format!("[{}, {}]", num(lo), num(hi))
        });
        let why =
            "token data has no input scale to perturb (data.input_scale is for feature vectors)";
        // A record's resolved form carries the [1, 1] this returns; only a file can write the key.
        let not_default = range.is_some_and(|r| r != [1.0, 1.0]);
        ck.not_applicable(key, not_default, found, why)?;
        return Ok([1.0, 1.0]);
    }
    multiplier_range(ck, key, range.unwrap_or_else(defaults::robust_input_scale))
}

/// `[lo, hi]` of finite multipliers with 0 < lo <= hi.
fn multiplier_range(ck: &Checker, key: &str, range: [f64; 2]) -> Result<[f64; 2], ScenarioError> {
    let lo = ck.positive(&format!("{key}[0]"), range[0])?;
    let hi = ck.positive(&format!("{key}[1]"), range[1])?;
    if lo > hi {
        let found = format!("[{}, {}]", num(lo), num(hi));
        return Err(ck.range_error(key, &[], found, "[lo, hi] with lo <= hi"));
    }
    Ok([lo, hi])
}
