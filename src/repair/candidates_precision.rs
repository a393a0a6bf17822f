//! The repair ideas for 16-bit findings: a wider format, f32 master weights, dynamic loss
//! scaling, a smaller init.

use super::candidates::{Idea, idea};
use crate::core::precision::scaler::ScaleKind;
use crate::diagnose::suggest::toml_float;
use crate::scenario::Precision;

pub const BF16_INSTEAD: Idea = idea("bf16 instead of fp16", |s| {
    let to = match s.precision {
        Precision::Fp16Mixed => "bf16-mixed",
        Precision::Fp16 => "bf16",
        _ => return None,
    };
    Some(vec![format!("precision=\"{to}\"")])
});
pub const F32_MASTERS: Idea = idea("f32 master weights (mixed)", |s| {
    let to = match s.precision {
        Precision::Bf16 => "bf16-mixed",
        Precision::Fp16 => "fp16-mixed",
        _ => return None,
    };
    Some(vec![format!("precision=\"{to}\"")])
});
pub const DYNAMIC_SCALE: Idea = idea("dynamic loss scaling", |s| {
    let fp16 = matches!(s.precision, Precision::Fp16Mixed | Precision::Fp16);
    (fp16 && s.loss_scale.kind != ScaleKind::Dynamic).then(|| {
        vec![
            "loss_scale.kind=\"dynamic\"".to_string(),
            "loss_scale.init=65536.0".to_string(),
        ]
    })
});
pub const INIT_HALF: Idea = idea("init x0.5", |s| match (s.mlp(), s.transformer()) {
    (Some(m), _) => Some(vec![format!(
        "model.init_scale={}",
        toml_float(m.init_scale * 0.5)
    )]),
    (None, Some(t)) => Some(vec![format!(
        "model.init_std={}",
        toml_float(t.init_std * 0.5)
    )]),
    (None, None) => None,
});
