//! A validated scenario back in file shape: every key explicit, so validating it again gives the
//! same scenario.

use super::file_checks::{ProbeTable, RobustTable};
use super::file_precision::LossScaleTable;
use super::file_scenario::{DataTable, ModelKind, ModelTable, NormName, ScenarioFile};
use super::file_training::{
    ClipTable, GroupTable, InitGroupTable, LossTable, OptimizerTable, ScheduleTable,
};
use super::resolved::{DataConfig, MlpConfig, ModelConfig, Scenario, TransformerConfig};
use super::resolved_training::{OptimizerConfig, RobustConfig};
use crate::core::data::DataKind;

/// TOML integers are `i64`; a larger count saturates and validation then judges it.
fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn opt_int(n: Option<usize>) -> Option<i64> {
    n.map(int)
}

impl From<&Scenario> for ScenarioFile {
    fn from(s: &Scenario) -> Self {
        ScenarioFile {
            name: s.name.clone(),
            description: s.description.clone(),
            seed: i64::try_from(s.seed).unwrap_or(i64::MAX),
            steps: int(s.steps),
            precision: s.precision,
            data: data_table(&s.data),
            model: model_table(&s.model),
            loss: LossTable {
                kind: Some(s.loss.kind),
                z_loss: (s.loss.z_loss != 0.0).then_some(s.loss.z_loss),
            },
            optimizer: optimizer_table(&s.optimizer),
            schedule: ScheduleTable {
                kind: s.schedule.kind,
                warmup: int(s.schedule.warmup),
                step_size: int(s.schedule.step_size),
                gamma: Some(s.schedule.gamma),
                min_lr: s.schedule.min_lr,
            },
            clip: ClipTable {
                kind: s.clip.kind,
                max: s.clip.max,
            },
            probe: ProbeTable {
                histogram_every: int(s.probe.histogram_every),
                checkpoint_every: int(s.probe.checkpoint_every),
                sharpness_every: int(s.probe.sharpness_every),
            },
            gates: s.gates.clone(),
            robust: robust_table(&s.robust, s.has_token_data()),
            loss_scale: (!s.loss_scale.is_off()).then(|| LossScaleTable::from(&s.loss_scale)),
            f32_layers: s.f32_layers.iter().map(|&l| l as i64).collect(),
        }
    }
}

fn data_table(d: &DataConfig) -> DataTable {
    DataTable {
        kind: d.kind,
        task: d.task,
        vocab: opt_int(d.vocab),
        context: opt_int(d.context),
        inputs: opt_int(d.inputs),
        classes: opt_int(d.classes),
        outputs: opt_int(d.outputs),
        samples: opt_int(d.samples),
        batch: int(d.batch),
        path: d.path.clone(),
        // Token data has no features to scale (and refuses the key).
        input_scale: (d.kind != DataKind::Tokens).then_some(d.input_scale),
    }
}

fn model_table(m: &ModelConfig) -> ModelTable {
    match m {
        ModelConfig::Mlp(m) => mlp_table(m),
        ModelConfig::Transformer(t) => transformer_table(t),
    }
}

fn transformer_table(t: &TransformerConfig) -> ModelTable {
    ModelTable {
        kind: ModelKind::Transformer,
        d_model: Some(int(t.d_model)),
        heads: Some(int(t.heads)),
        blocks: Some(int(t.blocks)),
        mlp_ratio: Some(int(t.mlp_ratio)),
        mlp_activation: Some(t.mlp_activation),
        norm_position: Some(t.norm_position),
        qk_norm: Some(t.qk_norm),
        tie_embeddings: Some(t.tie_embeddings),
        bias: Some(t.bias),
        init_std: Some(t.init_std),
        norm: Some(match t.norm {
            crate::core::gpt::TokenNorm::Layernorm => NormName::Layernorm,
            crate::core::gpt::TokenNorm::Rmsnorm => NormName::Rmsnorm,
        }),
        norm_eps: t.norm_eps,
        weights: t.weights.clone(),
        ..ModelTable::default()
    }
}

fn mlp_table(m: &MlpConfig) -> ModelTable {
    ModelTable {
        depth: None,
        width: None,
        hidden: Some(m.hidden.iter().copied().map(int).collect()),
        activation: Some(m.activation),
        init: Some(m.init),
        init_scale: Some(m.init_scale),
        init_std: m.init_std,
        norm: Some(NormName::from(m.norm)),
        norm_eps: m.norm_eps,
        bias_init: Some(m.bias_init),
        residual: Some(m.residual),
        dropout: Some(m.dropout),
        init_groups: (m.init_groups.iter())
            .map(|g| InitGroupTable {
                layers: g.layers.iter().copied().map(int).collect(),
                init_scale: g.init_scale,
            })
            .collect(),
        weights: m.weights.clone(),
        ..ModelTable::default()
    }
}

fn optimizer_table(o: &OptimizerConfig) -> OptimizerTable {
    OptimizerTable {
        kind: o.kind,
        lr: o.lr,
        momentum: o.momentum,
        betas: o.betas,
        eps: o.eps,
        alpha: o.alpha,
        weight_decay: o.weight_decay,
        independent_weight_decay: o.independent_weight_decay,
        l1: o.l1,
        l2: o.l2,
        groups: o
            .groups
            .iter()
            .map(|g| GroupTable {
                layers: g.layers.iter().copied().map(int).collect(),
                lr_scale: g.lr_scale,
            })
            .collect(),
    }
}

fn robust_table(r: &RobustConfig, tokens: bool) -> RobustTable {
    RobustTable {
        cases: int(r.cases),
        min_stable_fraction: r.min_stable_fraction,
        lr: r.lr,
        init_scale: r.init_scale,
        batch: [int(r.batch[0]), int(r.batch[1])],
        input_scale: (!tokens).then_some(r.input_scale),
        vary_seed: r.vary_seed,
    }
}
