//! The candidate table: which repair ideas `stabcheck fix` tries for each kind of error finding
//! (data, in [`TABLE`]), and the `--set` arguments each idea writes for a given scenario.
//!
//! An idea that would change nothing (already applied) or does not fit the scenario (Adam
//! "instead of SGD" on an Adam run) yields `None` and is not tried.

use super::candidates_precision::{BF16_INSTEAD, DYNAMIC_SCALE, F32_MASTERS, INIT_HALF};
use crate::core::clip::ClipKind;
use crate::core::gpt::NormPosition;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::schedule::ScheduleKind;
use crate::diagnose::FindingKind;
use crate::diagnose::suggest::{matched_init, toml_float};
use crate::scenario::Scenario;

/// One repair idea: a name for people and the scenario changes it makes.
#[derive(Debug, Clone, Copy)]
pub struct Idea {
    /// Short name shown in the ranking and in fix.json, e.g. `lr x0.3`.
    pub name: &'static str,
    /// The `--set` arguments for this scenario, or `None` when the idea does not apply.
    pub sets: fn(&Scenario) -> Option<Vec<String>>,
}

pub(super) const fn idea(name: &'static str, sets: fn(&Scenario) -> Option<Vec<String>>) -> Idea {
    Idea { name, sets }
}

pub const LR_X03: Idea = idea("lr x0.3", |s| scale_lr(s, 0.3));
pub const LR_X01: Idea = idea("lr x0.1", |s| scale_lr(s, 0.1));
pub const LR_X10: Idea = idea("lr x10", |s| scale_lr(s, 10.0));
pub const LR_X100: Idea = idea("lr x100", |s| scale_lr(s, 100.0));
pub const CLIP_NORM: Idea = idea("clip by norm 1.0", clip_norm);
pub const MATCHED_INIT: Idea = idea("init matched to the activation", |s| {
    matched_init(s, "").map(|fix| fix.set)
});
pub const XAVIER_INIT: Idea = idea("xavier init", |s| {
    s.mlp()?;
    sets(&["model.init=\"xavier-normal\"", "model.init_scale=1.0"])
});
pub const LAYERNORM: Idea = idea("layernorm", |s| {
    (s.mlp()?.norm == NormKind::None).then(|| vec!["model.norm=\"layernorm\"".to_string()])
});
pub const RESIDUAL: Idea = idea("residual", |s| {
    (!s.mlp()?.residual).then(|| vec!["model.residual=true".to_string()])
});
pub const WARMUP: Idea = idea("warm-up", warmup);
pub const RELU_FAMILY: Idea = idea("relu activation", |s| {
    let relu_family = matches!(
        s.mlp()?.activation,
        Activation::Relu | Activation::LeakyRelu | Activation::Gelu
    );
    (!relu_family).then(|| vec!["model.activation=\"relu\"".to_string()])
});
pub const LEAKY_RELU: Idea = idea("leaky-relu", |s| {
    (s.mlp()?.activation == Activation::Relu)
        .then(|| vec!["model.activation=\"leaky-relu\"".to_string()])
});
pub const BIAS_ZERO: Idea = idea("bias_init 0", |s| {
    (s.mlp()?.bias_init != 0.0).then(|| vec!["model.bias_init=0.0".to_string()])
});
pub const INPUT_SCALE_ONE: Idea = idea("normalized inputs", |s| {
    (s.data.input_scale != 1.0).then(|| vec!["data.input_scale=1.0".to_string()])
});
pub const NORM_EPS: Idea = idea("norm_eps 1e-5", |s| {
    let eps_0 = match (s.mlp(), s.transformer()) {
        (Some(m), _) => m.norm != NormKind::None && m.norm_eps == 0.0,
        (None, Some(t)) => t.norm_eps == 0.0,
        (None, None) => false,
    };
    eps_0.then(|| vec!["model.norm_eps=1e-5".to_string()])
});
pub const OPTIMIZER_EPS: Idea = idea("optimizer eps 1e-5", |s| {
    let has_eps = s.optimizer.kind.is_adaptive();
    (has_eps && s.optimizer.eps == 0.0).then(|| vec!["optimizer.eps=1e-5".to_string()])
});
pub const EPS_X001: Idea = idea("optimizer eps x0.01", |s| {
    let eps = s.optimizer.eps;
    (s.optimizer.kind.is_adaptive() && eps > 0.0)
        .then(|| vec![format!("optimizer.eps={}", toml_float(eps * 0.01))])
});
pub const ADAM: Idea = idea("adam instead of sgd", |s| {
    let sgd_family = s.optimizer.kind.is_sgd_family();
    // A transformer gets AdamW, as the peers and nanoGPT train it.
    let kind = match s.transformer() {
        Some(_) => "adamw",
        None => "adam",
    };
    sgd_family.then(|| {
        vec![
            format!("optimizer.kind=\"{kind}\""),
            "optimizer.lr=0.001".into(),
        ]
    })
});
/// LayerNorm on queries and keys bounds the attention logits (Dehghani et al. 2023, Wortsman et
/// al. 2023).
pub const QK_NORM: Idea = idea("qk-layernorm", |s| {
    (!s.transformer()?.qk_norm).then(|| vec!["model.qk_norm=true".to_string()])
});
/// PaLM's auxiliary loss `1e-4 · log²Z` keeps the output logits' normalizer near 1.
pub const Z_LOSS: Idea = idea("z-loss 1e-4", |s| {
    s.transformer()?;
    (s.loss.z_loss == 0.0).then(|| vec!["loss.z_loss=1e-4".to_string()])
});
/// Ten times the scenario's z-loss, when it has one too weak to hold `log Z`.
pub const Z_LOSS_X10: Idea = idea("z-loss x10", |s| {
    s.transformer()?;
    let z = s.loss.z_loss;
    (z > 0.0).then(|| vec![format!("loss.z_loss={}", toml_float(z * 10.0))])
});
/// Decoupled weight decay 0.1 (GPT-2, nanoGPT) on an AdamW run without any: Wortsman et al.
/// 2023 find weight decay also holds the output logits.
pub const WEIGHT_DECAY: Idea = idea("weight decay 0.1", |s| {
    s.transformer()?;
    let adamw = s.optimizer.kind == crate::core::optim::OptimizerKind::Adamw;
    (adamw && s.optimizer.weight_decay == 0.0)
        .then(|| vec!["optimizer.weight_decay=0.1".to_string()])
});
/// Pre-LN keeps the residual stream's gradients bounded at init; post-LN needs warm-up (Xiong et
/// al. 2020).
pub const PRE_LN: Idea = idea("pre-LN", |s| {
    let post = s.transformer()?.norm_position == NormPosition::Post;
    post.then(|| vec!["model.norm_position=\"pre\"".to_string()])
});
/// Dead units of a ReLU-like MLP (any activation with a dead-unit probe: relu, relu2) revive
/// under GELU (no half-line of zeros).
pub const GELU_MLP: Idea = idea("gelu MLP", |s| {
    let can_die = s.transformer()?.mlp_activation.units().is_some();
    can_die.then(|| vec!["model.mlp_activation=\"gelu\"".to_string()])
});
/// GPT-2's init standard deviation, when the scenario's is larger.
pub const GPT2_INIT: Idea = idea("init_std 0.02", |s| {
    (s.transformer()?.init_std > 0.02).then(|| vec!["model.init_std=0.02".to_string()])
});
pub const DROP_GROUPS: Idea = idea("drop the lr groups", |s| {
    (!s.optimizer.groups.is_empty()).then(|| vec!["optimizer.groups=[]".to_string()])
});

/// The ideas tried for each error finding kind, in the order they are tried (after the
/// finding's own suggestion). docs/repairs.md's table of candidates is this table.
pub const TABLE: &[(FindingKind, &[Idea])] = &[
    (
        FindingKind::Nonfinite,
        &[
            NORM_EPS,
            OPTIMIZER_EPS,
            DROP_GROUPS,
            LR_X01,
            CLIP_NORM,
            QK_NORM,
        ],
    ),
    (FindingKind::RootCause, &[DROP_GROUPS, LR_X01, CLIP_NORM]),
    (
        FindingKind::ExplodingGradients,
        &[
            LR_X03,
            LR_X01,
            CLIP_NORM,
            MATCHED_INIT,
            LAYERNORM,
            RESIDUAL,
            WARMUP,
            DROP_GROUPS,
            QK_NORM,
            PRE_LN,
            GPT2_INIT,
        ],
    ),
    (
        FindingKind::VanishingGradients,
        &[MATCHED_INIT, RELU_FAMILY, RESIDUAL, LAYERNORM, PRE_LN],
    ),
    (
        FindingKind::LossDivergence,
        &[
            LR_X03,
            LR_X01,
            WARMUP,
            ADAM,
            DROP_GROUPS,
            QK_NORM,
            Z_LOSS,
            PRE_LN,
            GPT2_INIT,
        ],
    ),
    (
        FindingKind::LossSpike,
        &[
            LR_X03, LR_X01, WARMUP, ADAM, CLIP_NORM, QK_NORM, Z_LOSS, PRE_LN,
        ],
    ),
    (
        FindingKind::LossOscillation,
        &[LR_X03, LR_X01, WARMUP, ADAM, PRE_LN],
    ),
    // No progress from too small an lr, or from one so large that the loss only bounces (AdamW
    // at 0.3 on a transformer): both directions are tried.
    (FindingKind::NoProgress, &[LR_X10, LR_X100, ADAM, LR_X01]),
    (
        FindingKind::DeadUnits,
        &[LEAKY_RELU, LR_X01, BIAS_ZERO, INPUT_SCALE_ONE, GELU_MLP],
    ),
    (
        FindingKind::SaturatedUnits,
        &[XAVIER_INIT, BIAS_ZERO, LAYERNORM, INPUT_SCALE_ONE],
    ),
    (
        FindingKind::UpdateRatio,
        &[LR_X03, LR_X01, CLIP_NORM, DROP_GROUPS],
    ),
    (
        FindingKind::WeightGrowth,
        &[LR_X03, LR_X01, CLIP_NORM, DROP_GROUPS],
    ),
    (
        FindingKind::AttentionLogitGrowth,
        &[QK_NORM, LR_X03, LR_X01, WARMUP],
    ),
    (FindingKind::AdamEpsilon, &[EPS_X001]),
    (
        FindingKind::OutputLogitDivergence,
        &[Z_LOSS, Z_LOSS_X10, WEIGHT_DECAY, LR_X03],
    ),
    (FindingKind::PostLnImbalance, &[WARMUP, PRE_LN, LR_X03]),
    (
        FindingKind::Fp16Overflow,
        &[BF16_INSTEAD, INIT_HALF, LR_X03],
    ),
    (
        FindingKind::GradientUnderflow,
        &[DYNAMIC_SCALE, BF16_INSTEAD],
    ),
    (
        FindingKind::LossScaleCollapse,
        &[BF16_INSTEAD, LR_X03, INIT_HALF],
    ),
    (FindingKind::LostUpdates, &[F32_MASTERS]),
];

/// The ideas for `kind` (none for warnings-only kinds such as plateau).
pub fn ideas_for(kind: FindingKind) -> &'static [Idea] {
    TABLE
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, ideas)| *ideas)
}

fn sets(args: &[&str]) -> Option<Vec<String>> {
    Some(args.iter().map(|a| a.to_string()).collect())
}

fn scale_lr(s: &Scenario, factor: f64) -> Option<Vec<String>> {
    Some(vec![format!(
        "optimizer.lr={}",
        toml_float(s.optimizer.lr * factor)
    )])
}

fn clip_norm(s: &Scenario) -> Option<Vec<String>> {
    let already = s.clip.kind == ClipKind::Norm && s.clip.max <= 1.0;
    (!already).then(|| vec!["clip.kind=\"norm\"".into(), "clip.max=1.0".into()])
}

/// Linear warm-up over the first tenth of the run (at least one step), then cosine decay.
fn warmup(s: &Scenario) -> Option<Vec<String>> {
    let applies = s.schedule.kind != ScheduleKind::WarmupCosine && s.steps >= 2;
    applies.then(|| {
        vec![
            "schedule.kind=\"warmup-cosine\"".to_string(),
            format!("schedule.warmup={}", (s.steps / 10).max(1)),
        ]
    })
}

#[cfg(test)]
#[path = "candidates_tests.rs"]
mod tests;
