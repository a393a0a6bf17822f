//! Validation of `[loss]`, `[optimizer]` (with its layer groups), `[schedule]` and `[clip]`.

use super::checker::{Checker, choice, num};
use super::defaults;
use super::error::ScenarioError;
use super::file_training::{ClipTable, GroupTable, LossTable, OptimizerTable, ScheduleTable};
use super::resolved::{DataConfig, ModelConfig};
use super::resolved_training::{
    ClipConfig, GroupConfig, LossConfig, OptimizerConfig, ScheduleConfig,
};
use crate::core::data::DataKind;
use crate::core::loss::LossKind;
use crate::core::optim::OptimizerKind;
use crate::core::schedule::ScheduleKind;

pub(crate) fn validate_loss(
    ck: &Checker,
    l: &LossTable,
    data: &DataConfig,
) -> Result<LossConfig, ScenarioError> {
    let tokens = data.kind == DataKind::Tokens;
    let classification = data.classes.is_some() || tokens;
    let z_loss = match (l.z_loss, tokens) {
        (None, _) => 0.0,
        (Some(z), true) => ck.non_negative("loss.z_loss", z)?,
        (Some(z), false) => {
            let reason = "z-loss regularizes a language model's log-partition; it needs data.kind = \"tokens\"";
            return Err(ck.conflict("loss.z_loss", &["data.kind"], num(z), reason));
        }
    };
    let kind = match (l.kind, classification) {
        (Some(kind), _) => kind,
        (None, true) => LossKind::CrossEntropy,
        (None, false) => LossKind::Mse,
    };
    if !classification && matches!(kind, LossKind::CrossEntropy | LossKind::Bce) {
        let reason = format!(
            "it needs class labels, and data.kind = {} has regression targets; use \"mse\"",
            choice(&data.kind)
        );
        return Err(ck.conflict("loss.kind", &["data.kind"], choice(&kind), reason));
    }
    if tokens && kind != LossKind::CrossEntropy {
        let reason = "a language model is trained with cross-entropy over every next token";
        return Err(ck.conflict("loss.kind", &["data.kind"], choice(&kind), reason));
    }
    Ok(LossConfig { kind, z_loss })
}

pub(crate) fn validate_optimizer(
    ck: &Checker,
    o: &OptimizerTable,
    model: &ModelConfig,
) -> Result<OptimizerConfig, ScenarioError> {
    let depth = match model {
        ModelConfig::Mlp(m) => m.hidden.len(),
        ModelConfig::Transformer(_) => {
            refuse_for_transformer(ck, o)?;
            0
        }
    };
    Ok(OptimizerConfig {
        kind: o.kind,
        lr: ck.positive("optimizer.lr", o.lr)?,
        momentum: ck.below_one("optimizer.momentum", o.momentum)?,
        betas: [
            ck.below_one("optimizer.betas[0]", o.betas[0])?,
            ck.below_one("optimizer.betas[1]", o.betas[1])?,
        ],
        eps: ck.non_negative("optimizer.eps", o.eps)?,
        alpha: ck.below_one("optimizer.alpha", o.alpha)?,
        weight_decay: ck.non_negative("optimizer.weight_decay", o.weight_decay)?,
        independent_weight_decay: independent_decay(ck, o)?,
        l1: ck.non_negative("optimizer.l1", o.l1)?,
        l2: ck.non_negative("optimizer.l2", o.l2)?,
        groups: validate_groups(ck, &o.groups, depth)?,
    })
}

/// Layer groups and L1/L2 penalties are the MLP trainer's (a transformer's modules are not
/// numbered layers; its decay is the optimizer's `weight_decay`).
fn refuse_for_transformer(ck: &Checker, o: &OptimizerTable) -> Result<(), ScenarioError> {
    if !o.groups.is_empty() {
        let reason = "per-layer groups index an MLP's layers, and model.kind = \"transformer\"";
        let found = format!("{} groups", o.groups.len());
        return Err(ck.conflict("optimizer.groups", &["model.kind"], found, reason));
    }
    for (key, v) in [("optimizer.l1", o.l1), ("optimizer.l2", o.l2)] {
        if v != 0.0 {
            let reason =
                "the transformer trainer applies no L1/L2 penalty; use optimizer.weight_decay";
            return Err(ck.conflict(key, &["model.kind"], num(v), reason));
        }
    }
    Ok(())
}

/// `independent_weight_decay` is AdamW's option (other kinds couple their decay to the gradient).
fn independent_decay(ck: &Checker, o: &OptimizerTable) -> Result<bool, ScenarioError> {
    if o.independent_weight_decay && o.kind != OptimizerKind::Adamw {
        let reason = format!(
            "it applies to kind = \"adamw\" only, not \"{}\"",
            choice(&o.kind)
        );
        return Err(ck.conflict(
            "optimizer.independent_weight_decay",
            &["optimizer.kind"],
            "true",
            reason,
        ));
    }
    Ok(o.independent_weight_decay)
}

/// Groups hold disjoint, non-empty sets of layer indices in 0..=depth.
fn validate_groups(
    ck: &Checker,
    groups: &[GroupTable],
    depth: usize,
) -> Result<Vec<GroupConfig>, ScenarioError> {
    let lists: Vec<&[i64]> = groups.iter().map(|g| g.layers.as_slice()).collect();
    let sets = layer_sets(ck, "optimizer.groups", &lists, depth)?;
    let mut out = Vec::with_capacity(groups.len());
    for (g, (group, layers)) in groups.iter().zip(sets).enumerate() {
        let lr_scale = ck.positive(&format!("optimizer.groups[{g}].lr_scale"), group.lr_scale)?;
        out.push(GroupConfig { layers, lr_scale });
    }
    Ok(out)
}

/// The layer indices of each of `table`'s groups (`optimizer.groups`, `model.init_groups`):
/// non-empty, in 0..=depth, and disjoint.
pub(crate) fn layer_sets(
    ck: &Checker,
    table: &str,
    groups: &[&[i64]],
    depth: usize,
) -> Result<Vec<Vec<usize>>, ScenarioError> {
    let mut owner: Vec<Option<usize>> = vec![None; depth + 1];
    let mut out = Vec::with_capacity(groups.len());
    for (g, group) in groups.iter().enumerate() {
        let key = format!("{table}[{g}]");
        if group.is_empty() {
            let expected = "at least one layer index";
            return Err(ck.range_error(&format!("{key}.layers"), &[], "[]", expected));
        }
        let mut layers = Vec::with_capacity(group.len());
        for (i, &layer) in group.iter().enumerate() {
            let layer_key = format!("{key}.layers[{i}]");
            let index = usize::try_from(layer)
                .ok()
                .filter(|&index| index <= depth)
                .ok_or_else(|| {
                    let expected = format!(
                        "a layer index in 0..={depth} (hidden layers 0..{depth}, the output layer is {depth})"
                    );
                    ck.range_error(&layer_key, &[], layer, expected)
                })?;
            if let Some(first) = owner[index] {
                let reason = format!("layer {index} is already in {table}[{first}]");
                return Err(ck.conflict(&layer_key, &[], layer, reason));
            }
            owner[index] = Some(g);
            layers.push(index);
        }
        out.push(layers);
    }
    Ok(out)
}

pub(crate) fn validate_schedule(
    ck: &Checker,
    s: &ScheduleTable,
    steps: usize,
    lr: f64,
) -> Result<ScheduleConfig, ScenarioError> {
    let warmup = ck.int_at_least("schedule.warmup", s.warmup, 0)?;
    if warmup >= steps {
        let expected = format!("an integer in 0..{steps} (fewer than steps = {steps})");
        return Err(ck.range_error("schedule.warmup", &["steps"], warmup, expected));
    }
    let default_gamma = match s.kind {
        ScheduleKind::Exponential => defaults::EXPONENTIAL_GAMMA,
        _ => defaults::STEP_GAMMA,
    };
    let gamma = s.gamma.unwrap_or(default_gamma);
    let gamma_ok = gamma > 0.0 && gamma <= 1.0;
    let gamma = ck.float("schedule.gamma", gamma, gamma_ok, "a number in (0, 1]")?;
    let min_lr = s.min_lr;
    if !(min_lr >= 0.0 && min_lr <= lr) {
        let expected = format!("a number in [0, optimizer.lr = {}]", num(lr));
        return Err(ck.range_error("schedule.min_lr", &[], num(min_lr), expected));
    }
    Ok(ScheduleConfig {
        kind: s.kind,
        warmup,
        step_size: ck.int_at_least("schedule.step_size", s.step_size, 1)?,
        gamma,
        min_lr,
    })
}

pub(crate) fn validate_clip(ck: &Checker, c: &ClipTable) -> Result<ClipConfig, ScenarioError> {
    Ok(ClipConfig {
        kind: c.kind,
        max: ck.positive("clip.max", c.max)?,
    })
}
