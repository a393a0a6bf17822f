//! Validation of `[model]`: the hidden-layer shape (`depth` + `width`, or `hidden`), the init and
//! the regularizing knobs.

use super::checker::{Checker, choice, num};
use super::defaults;
use super::error::ScenarioError;
use super::file_scenario::{ModelTable, NormName};
use super::resolved::{DataConfig, InitGroupConfig, MlpConfig};
use super::validate_training::layer_sets;
use super::validate_transformer::refuse_transformer_keys;
use crate::core::data::DataKind;
use crate::core::init::InitKind;
use crate::core::layers::NormKind;
use crate::core::model::shape::Shape;

/// Most hidden layers a model may have.
pub const MAX_DEPTH: i64 = 1024;
/// Most parameters (weights, biases, norm gains and shifts) a model may have (1 GiB of f32): keeps a typo from allocating more.
pub const MAX_PARAMETERS: u128 = 1 << 28;
/// Most activation values one batch may hold (`batch × (inputs + Σ widths + outputs)`, 256 MiB
/// of f32 per buffer; a layer keeps about eight such buffers).
pub const MAX_ACTIVATIONS: u128 = 1 << 26;

pub(crate) fn validate_model(
    ck: &Checker,
    m: &ModelTable,
    data: &DataConfig,
) -> Result<MlpConfig, ScenarioError> {
    if data.kind == DataKind::Tokens {
        let reason = "token data needs a model that reads tokens; set model.kind = \"transformer\"";
        return Err(ck.conflict("data.kind", &[], "\"tokens\"", reason));
    }
    refuse_transformer_keys(ck, m)?;
    let norm = mlp_norm(ck, m.norm)?;
    let hidden = hidden_widths(ck, m)?;
    check_parameter_count(ck, (m, norm), &hidden, data)?;
    let init = m.init.unwrap_or(defaults::init());
    let init_std = match (init, m.init_std) {
        (InitKind::Normal, Some(std)) => Some(ck.positive("model.init_std", std)?),
        (InitKind::Normal, None) => {
            let expected =
                "the standard deviation of the weights, required by model.init = \"normal\"";
            return Err(ck.missing("model.init_std", &["model.init"], expected));
        }
        (_, None) => None,
        (kind, Some(std)) => {
            let reason = format!(
                "only model.init = \"normal\" takes a fixed standard deviation, and model.init = {}; scale it with model.init_scale instead",
                choice(&kind)
            );
            return Err(ck.conflict("model.init_std", &["model.init"], num(std), reason));
        }
    };
    if let Some(path) = m.weights.as_ref().filter(|p| p.trim().is_empty()) {
        let found = format!("{path:?}");
        return Err(ck.range_error(
            "model.weights",
            &[],
            found,
            "a non-empty path to an .npz file",
        ));
    }
    if norm == NormKind::Batchnorm && data.batch < 2 {
        let reason = format!(
            "batchnorm normalizes each feature over the batch, and data.batch = {}: one sample has variance 0, so every output would be the shift β and no gradient would reach earlier layers (PyTorch refuses this too); use data.batch >= 2 or model.norm = \"layernorm\"",
            data.batch
        );
        return Err(ck.conflict("model.norm", &["data.batch"], "\"batchnorm\"", reason));
    }
    let init_groups = init_groups(ck, m, hidden.len())?;
    Ok(MlpConfig {
        hidden,
        activation: m.activation.unwrap_or(defaults::activation()),
        init,
        init_scale: ck.positive("model.init_scale", m.init_scale.unwrap_or(1.0))?,
        init_std,
        norm,
        norm_eps: ck.non_negative("model.norm_eps", m.norm_eps)?,
        bias_init: ck.float(
            "model.bias_init",
            m.bias_init.unwrap_or(0.0),
            true,
            "a finite number",
        )?,
        residual: m.residual.unwrap_or(false),
        dropout: ck.below_one("model.dropout", m.dropout.unwrap_or(0.0))?,
        init_groups,
        weights: m.weights.clone(),
    })
}

/// `[[model.init_groups]]`: layer sets as `optimizer.groups`, each with a positive multiplier.
/// Given weights replace the init, so groups with `model.weights` are refused.
fn init_groups(
    ck: &Checker,
    m: &ModelTable,
    depth: usize,
) -> Result<Vec<InitGroupConfig>, ScenarioError> {
    if let (false, Some(path)) = (m.init_groups.is_empty(), &m.weights) {
        let reason =
            format!("model.weights = {path:?} replaces the drawn init that the groups scale");
        let found = format!("{} groups", m.init_groups.len());
        return Err(ck.conflict("model.init_groups", &["model.weights"], found, reason));
    }
    let lists: Vec<&[i64]> = m.init_groups.iter().map(|g| g.layers.as_slice()).collect();
    let sets = layer_sets(ck, "model.init_groups", &lists, depth)?;
    let mut out = Vec::with_capacity(sets.len());
    for (g, layers) in sets.into_iter().enumerate() {
        let key = format!("model.init_groups[{g}].init_scale");
        let init_scale = ck.positive(&key, m.init_groups[g].init_scale)?;
        out.push(InitGroupConfig { layers, init_scale });
    }
    Ok(out)
}

/// The MLP's norm (rmsnorm is the transformer's only).
fn mlp_norm(ck: &Checker, norm: Option<NormName>) -> Result<NormKind, ScenarioError> {
    match norm {
        None | Some(NormName::None) => Ok(NormKind::None),
        Some(NormName::Layernorm) => Ok(NormKind::Layernorm),
        Some(NormName::Batchnorm) => Ok(NormKind::Batchnorm),
        Some(NormName::Rmsnorm) => {
            let expected = "\"none\", \"layernorm\" or \"batchnorm\" (rmsnorm is for model.kind = \"transformer\")";
            Err(ck.range_error("model.norm", &[], "\"rmsnorm\"", expected))
        }
    }
}

/// `hidden = [..]` as given, or `depth` copies of `width`.
fn hidden_widths(ck: &Checker, m: &ModelTable) -> Result<Vec<usize>, ScenarioError> {
    let Some(hidden) = &m.hidden else {
        let depth = m.depth.unwrap_or(defaults::DEPTH as i64);
        let depth = ck.int_in("model.depth", depth, 0, MAX_DEPTH)?;
        let width = m.width.unwrap_or(defaults::WIDTH as i64);
        let width = ck.int_at_least("model.width", width, 1)?;
        return Ok(vec![width; depth]);
    };
    if m.width.is_some() {
        let found = format!("{hidden:?}");
        let reason = "model.width is also set; give either depth and width, or hidden";
        return Err(ck.conflict("model.hidden", &[], found, reason));
    }
    if let Some(depth) = m.depth.filter(|&d| d != hidden.len() as i64) {
        let reason = format!(
            "model.hidden lists {} widths; leave depth out or make it match",
            hidden.len()
        );
        return Err(ck.conflict("model.depth", &[], depth, reason));
    }
    if hidden.len() as i64 > MAX_DEPTH {
        let expected = format!("at most {MAX_DEPTH} hidden layers");
        return Err(ck.range_error(
            "model.hidden",
            &[],
            format!("{} widths", hidden.len()),
            expected,
        ));
    }
    hidden
        .iter()
        .enumerate()
        .map(|(i, &w)| ck.int_at_least(&format!("model.hidden[{i}]"), w, 1))
        .collect()
}

fn check_parameter_count(
    ck: &Checker,
    (m, norm): (&ModelTable, NormKind),
    hidden: &[usize],
    data: &DataConfig,
) -> Result<(), ScenarioError> {
    let shape = Shape {
        inputs: data.inputs.unwrap_or(1),
        hidden,
        outputs: data.classes.or(data.outputs).unwrap_or(1),
        norm,
    };
    let parameters = shape.parameter_count();
    if parameters <= MAX_PARAMETERS {
        return check_activation_count(ck, m, hidden, shape.activation_values(data.batch));
    }
    let expected =
        format!("a model of at most {MAX_PARAMETERS} parameters; this one has {parameters}");
    let found = hidden.first().copied().unwrap_or(0);
    Err(ck.range_error(
        shape_key(m),
        &["model.depth", "data.inputs"],
        found,
        expected,
    ))
}

/// The key a user changes to shrink the model: the one they wrote.
fn shape_key(m: &ModelTable) -> &'static str {
    if m.hidden.is_some() {
        "model.hidden"
    } else {
        "model.width"
    }
}

/// `batch × (inputs + Σ widths + outputs)` within [`MAX_ACTIVATIONS`].
fn check_activation_count(
    ck: &Checker,
    m: &ModelTable,
    hidden: &[usize],
    activations: u128,
) -> Result<(), ScenarioError> {
    if activations > MAX_ACTIVATIONS {
        let expected = format!(
            "at most {MAX_ACTIVATIONS} activation values per batch (batch × (inputs + Σ widths + outputs)); this model needs {activations}"
        );
        let found = hidden.first().copied().unwrap_or(0);
        return Err(ck.range_error(
            shape_key(m),
            &["data.batch", "model.depth"],
            found,
            expected,
        ));
    }
    Ok(())
}
