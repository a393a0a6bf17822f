//! `precision`'s 16-bit policies and `[loss_scale]`: the file table, its validation, and the
//! policy each precision name stands for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::checker::Checker;
use super::error::ScenarioError;
use super::file_scenario::ScenarioFile;
use super::resolved::ModelConfig;
use crate::core::gpt::NormPosition;
use crate::core::gpt::view::block_layers;
use crate::core::precision::Half;
use crate::core::precision::policy::Policy;
use crate::core::precision::scaler::{ScaleKind, ScalerSpec};

/// Float type the training core runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// 32-bit floats, as real training runs (overflow at ~3.4e38 is reproduced faithfully).
    F32,
    /// 64-bit floats.
    F64,
    /// PyTorch autocast to bfloat16: 16-bit matmuls (f32 accumulation), f32 norms, softmax,
    /// loss, master weights and optimizer state.
    Bf16Mixed,
    /// Autocast to IEEE half (largest value 65504); usually with `[loss_scale]`.
    Fp16Mixed,
    /// Every stored tensor (weights and optimizer state too) in bfloat16.
    Bf16,
    /// Every stored tensor in IEEE half.
    Fp16,
}

/// `[loss_scale]`: loss scaling with PyTorch GradScaler's semantics and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LossScaleTable {
    /// `none`, `static` (a fixed scale, no skipped steps) or `dynamic` (GradScaler). Defaults
    /// to `"none"`.
    #[serde(default = "none")]
    pub kind: ScaleKind,
    /// Static: the scale; dynamic: the initial scale. Finite and > 0. Defaults to 65536 (2^16).
    #[serde(default = "init")]
    pub init: f64,
    /// Dynamic: the scale's factor after `growth_interval` clean steps, > 1. Defaults to 2.
    #[serde(default = "growth")]
    pub growth_factor: f64,
    /// Dynamic: the scale's factor after a step with an inf or NaN gradient, in (0, 1).
    /// Defaults to 0.5.
    #[serde(default = "backoff")]
    pub backoff_factor: f64,
    /// Dynamic: clean steps between growths, >= 1. Defaults to 2000.
    #[serde(default = "interval")]
    pub growth_interval: i64,
}

fn none() -> ScaleKind {
    ScaleKind::None
}
fn init() -> f64 {
    ScalerSpec::default().init
}
fn growth() -> f64 {
    ScalerSpec::default().growth_factor
}
fn backoff() -> f64 {
    ScalerSpec::default().backoff_factor
}
fn interval() -> i64 {
    ScalerSpec::default().growth_interval as i64
}

impl From<&ScalerSpec> for LossScaleTable {
    fn from(s: &ScalerSpec) -> Self {
        LossScaleTable {
            kind: s.kind,
            init: s.init,
            growth_factor: s.growth_factor,
            backoff_factor: s.backoff_factor,
            growth_interval: i64::try_from(s.growth_interval).unwrap_or(i64::MAX),
        }
    }
}

/// Validates `[loss_scale]` (absent: no scaling).
pub(crate) fn validate_loss_scale(
    ck: &Checker,
    t: Option<&LossScaleTable>,
) -> Result<ScalerSpec, ScenarioError> {
    let Some(t) = t else {
        return Ok(ScalerSpec::default());
    };
    let growth_ok = t.growth_factor > 1.0;
    let backoff_ok = t.backoff_factor > 0.0 && t.backoff_factor < 1.0;
    Ok(ScalerSpec {
        kind: t.kind,
        init: ck.positive("loss_scale.init", t.init)?,
        growth_factor: ck.float(
            "loss_scale.growth_factor",
            t.growth_factor,
            growth_ok,
            "a finite number > 1",
        )?,
        backoff_factor: ck.float(
            "loss_scale.backoff_factor",
            t.backoff_factor,
            backoff_ok,
            "a number in (0, 1)",
        )?,
        growth_interval: ck.int_at_least("loss_scale.growth_interval", t.growth_interval, 1)?
            as u64,
    })
}

/// Validates `f32_layers`: only under a 16-bit policy, each a layer of the model, no repeats.
pub(crate) fn validate_f32_layers(
    ck: &Checker,
    file: &ScenarioFile,
    model: &ModelConfig,
) -> Result<Vec<usize>, ScenarioError> {
    let given = &file.f32_layers;
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let found = format!("{given:?}");
    if file.precision.policy().is_none() {
        let why = "it keeps layers in f32 under a 16-bit precision, and this run is all f32 or f64";
        ck.not_applicable("f32_layers", true, &found, why)?;
    }
    let layers = match model {
        ModelConfig::Mlp(m) => m.hidden.len() + 1,
        ModelConfig::Transformer(t) => {
            let pre = usize::from(t.norm_position == NormPosition::Pre);
            2 + t.blocks * block_layers(t.qk_norm) + pre + 1
        }
    };
    let mut out: Vec<usize> = Vec::with_capacity(given.len());
    for &l in given {
        match usize::try_from(l)
            .ok()
            .filter(|&l| l < layers && !out.contains(&l))
        {
            Some(l) => out.push(l),
            None => {
                let expected = format!(
                    "distinct layer indices in 0..{layers} (the model's layers, as findings number them)"
                );
                return Err(ck.range_error("f32_layers", &[], &found, expected));
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl Precision {
    /// The 16-bit policy this precision stands for (`None`: plain f32 or f64).
    pub fn policy(self) -> Option<Policy> {
        let (half, pure) = match self {
            Precision::F32 | Precision::F64 => return None,
            Precision::Bf16Mixed => (Half::Bf16, false),
            Precision::Fp16Mixed => (Half::Fp16, false),
            Precision::Bf16 => (Half::Bf16, true),
            Precision::Fp16 => (Half::Fp16, true),
        };
        Some(Policy { half, pure })
    }
}
