//! Validation of `[model]` with `kind = "transformer"`: the GPT's shape, norms and init, refusing
//! the MLP's keys, and bounding its size like an MLP's.

use super::checker::{Checker, choice};
use super::error::ScenarioError;
use super::file_scenario::{ModelKind, ModelTable, NormName};
use super::resolved::{DataConfig, TransformerConfig};
use super::validate_model::{MAX_ACTIVATIONS, MAX_PARAMETERS};
use crate::core::data::DataKind;
use crate::core::gpt::{GptSpec, MlpActivation, NormPosition, TokenNorm};

/// Defaults of a transformer: the peers' tiny-gpt shape with exact GELU.
fn defaults() -> GptSpec {
    GptSpec {
        mlp_activation: MlpActivation::Gelu,
        ..GptSpec::tiny_gpt()
    }
}

pub(crate) fn validate_transformer(
    ck: &Checker,
    m: &ModelTable,
    data: &DataConfig,
) -> Result<TransformerConfig, ScenarioError> {
    if data.kind != DataKind::Tokens {
        let reason = format!(
            "a transformer reads token sequences, and data.kind = {}; use data.kind = \"tokens\"",
            choice(&data.kind)
        );
        return Err(ck.conflict("model.kind", &["data.kind"], "\"transformer\"", reason));
    }
    refuse_mlp_keys(ck, m)?;
    let def = defaults();
    let int = |key: &str, v: Option<i64>, default: usize| {
        ck.int_in(key, v.unwrap_or(default as i64), 1, 1 << 20)
    };
    let d_model = int("model.d_model", m.d_model, def.d_model)?;
    let heads = int("model.heads", m.heads, def.heads)?;
    if d_model % heads != 0 {
        let expected =
            format!("a divisor of model.d_model ({d_model}): every head is d_model / heads wide");
        return Err(ck.range_error("model.heads", &["model.d_model"], heads, expected));
    }
    let norm = match m.norm {
        None | Some(NormName::Layernorm) => TokenNorm::Layernorm,
        Some(NormName::Rmsnorm) => TokenNorm::Rmsnorm,
        Some(other) => {
            let expected = "\"layernorm\" or \"rmsnorm\" (a transformer's norms)";
            return Err(ck.range_error("model.norm", &[], choice(&other), expected));
        }
    };
    let t = TransformerConfig {
        kind: ModelKind::Transformer,
        d_model,
        heads,
        blocks: int("model.blocks", m.blocks, def.blocks)?,
        mlp_ratio: int("model.mlp_ratio", m.mlp_ratio, def.mlp_ratio)?,
        mlp_activation: m.mlp_activation.unwrap_or(def.mlp_activation),
        norm,
        norm_position: m.norm_position.unwrap_or(NormPosition::Pre),
        qk_norm: m.qk_norm.unwrap_or(def.qk_norm),
        tie_embeddings: m.tie_embeddings.unwrap_or(def.tie_embeddings),
        bias: m.bias.unwrap_or(def.bias),
        init_std: ck.positive("model.init_std", m.init_std.unwrap_or(def.init_std))?,
        norm_eps: ck.non_negative("model.norm_eps", m.norm_eps)?,
        weights: weights(ck, m)?,
    };
    check_size(ck, &gpt_spec(&t, data, 0.0))?;
    Ok(t)
}

/// The core's description of the model of `t` on the batches of `data`.
pub fn gpt_spec(t: &TransformerConfig, data: &DataConfig, z_loss: f64) -> GptSpec {
    GptSpec {
        vocab: data.vocab.unwrap_or(0),
        context: data.context.unwrap_or(0),
        d_model: t.d_model,
        heads: t.heads,
        blocks: t.blocks,
        mlp_ratio: t.mlp_ratio,
        mlp_activation: t.mlp_activation,
        norm: t.norm,
        norm_position: t.norm_position,
        qk_norm: t.qk_norm,
        tie_embeddings: t.tie_embeddings,
        bias: t.bias,
        init_std: t.init_std,
        norm_eps: t.norm_eps,
        z_loss,
        batch: data.batch,
    }
}

fn weights(ck: &Checker, m: &ModelTable) -> Result<Option<String>, ScenarioError> {
    match &m.weights {
        Some(p) if p.trim().is_empty() => Err(ck.range_error(
            "model.weights",
            &[],
            format!("{p:?}"),
            "a non-empty path to an .npz file",
        )),
        w => Ok(w.clone()),
    }
}

fn check_size(ck: &Checker, spec: &GptSpec) -> Result<(), ScenarioError> {
    let parameters = spec.parameter_count();
    if parameters > MAX_PARAMETERS {
        let expected = format!("at most {MAX_PARAMETERS} parameters; this model has {parameters}");
        return Err(ck.range_error("model.d_model", &["model.blocks"], spec.d_model, expected));
    }
    let activations = spec.activation_values();
    if activations > MAX_ACTIVATIONS * 8 {
        let expected = format!(
            "at most {} kept activation values per step; this batch keeps about {activations}",
            MAX_ACTIVATIONS * 8
        );
        return Err(ck.range_error("data.batch", &["data.context"], spec.batch, expected));
    }
    Ok(())
}

/// The MLP's keys, refused on a transformer (each has a transformer counterpart or none).
fn refuse_mlp_keys(ck: &Checker, m: &ModelTable) -> Result<(), ScenarioError> {
    let why =
        |instead: &str| format!("it shapes an MLP, and model.kind = \"transformer\"; {instead}");
    let shape = why("a transformer's shape is model.d_model, model.heads and model.blocks");
    ck.not_applicable("model.depth", m.depth.is_some(), fmt(&m.depth), &shape)?;
    ck.not_applicable("model.width", m.width.is_some(), fmt(&m.width), &shape)?;
    ck.not_applicable("model.hidden", m.hidden.is_some(), fmt(&m.hidden), &shape)?;
    let act = why("use model.mlp_activation");
    ck.not_applicable(
        "model.activation",
        m.activation.is_some(),
        fmt(&m.activation),
        act,
    )?;
    let init = why("a transformer's weights are N(0, model.init_std²)");
    ck.not_applicable("model.init", m.init.is_some(), fmt(&m.init), &init)?;
    ck.not_applicable(
        "model.init_scale",
        m.init_scale.is_some(),
        fmt(&m.init_scale),
        init,
    )?;
    let bias = why("biases start at 0 (model.bias = false removes them)");
    ck.not_applicable(
        "model.bias_init",
        m.bias_init.is_some(),
        fmt(&m.bias_init),
        bias,
    )?;
    let skip = why("every block has residual connections");
    ck.not_applicable(
        "model.residual",
        m.residual.is_some(),
        fmt(&m.residual),
        skip,
    )?;
    let groups = why("a transformer's weights are N(0, model.init_std²)");
    let found = format!("{} groups", m.init_groups.len());
    ck.not_applicable(
        "model.init_groups",
        !m.init_groups.is_empty(),
        found,
        groups,
    )?;
    let drop = why("the transformer has no dropout");
    ck.not_applicable("model.dropout", m.dropout.is_some(), fmt(&m.dropout), drop)
}

fn fmt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "none".to_string(),
    }
}

/// The transformer's keys, refused on an MLP.
pub(crate) fn refuse_transformer_keys(ck: &Checker, m: &ModelTable) -> Result<(), ScenarioError> {
    let reason = "it shapes a transformer, and model.kind = \"mlp\" (the default); set model.kind = \"transformer\"";
    let ints = [
        ("model.d_model", m.d_model),
        ("model.heads", m.heads),
        ("model.blocks", m.blocks),
        ("model.mlp_ratio", m.mlp_ratio),
    ];
    for (key, v) in ints {
        ck.not_applicable(key, v.is_some(), fmt(&v), reason)?;
    }
    let act = m.mlp_activation;
    ck.not_applicable("model.mlp_activation", act.is_some(), fmt(&act), reason)?;
    let pos = m.norm_position;
    ck.not_applicable("model.norm_position", pos.is_some(), fmt(&pos), reason)?;
    let flags = [
        ("model.qk_norm", m.qk_norm),
        ("model.tie_embeddings", m.tie_embeddings),
        ("model.bias", m.bias),
    ];
    for (key, v) in flags {
        ck.not_applicable(key, v.is_some(), fmt(&v), reason)?;
    }
    Ok(())
}
