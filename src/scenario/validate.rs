//! Validation of the top-level keys and `[data]`: raw [`ScenarioFile`] in, [`Scenario`] out.

use super::checker::{Checker, choice};
use super::defaults;
use super::error::ScenarioError;
use super::file_precision::{validate_f32_layers, validate_loss_scale};
use super::file_scenario::ModelKind;
use super::file_scenario::{DataTable, ScenarioFile};
use super::resolved::ModelConfig;
use super::resolved::{DataConfig, Scenario};
use super::validate_checks::{validate_gates, validate_probe, validate_robust};
use super::validate_model::validate_model;
use super::validate_tokens::{refuse_token_keys, validate_tokens};
use super::validate_training::{
    validate_clip, validate_loss, validate_optimizer, validate_schedule,
};
use super::validate_transformer::validate_transformer;
use crate::core::data::DataKind;

/// Longest scenario name (it becomes a directory name).
pub const MAX_NAME_LEN: usize = 64;
/// Largest `samples × (inputs + outputs)`: keeps a typo from allocating gigabytes.
pub const MAX_DATA_VALUES: u128 = 1 << 28;
/// Most training steps a run may have: the per-step summaries of a longer run would not fit in
/// memory comfortably, and no diagnosis needs more.
pub const MAX_STEPS: i64 = 1_000_000;

impl ScenarioFile {
    /// Check every value and fill every default. Errors carry keys but no line numbers; use
    /// [`super::parse_str`] to validate a text with located errors.
    pub fn validate(&self) -> Result<Scenario, ScenarioError> {
        validate_with(self, &Checker::new("scenario", None))
    }
}

pub(crate) fn validate_with(file: &ScenarioFile, ck: &Checker) -> Result<Scenario, ScenarioError> {
    check_name(ck, &file.name)?;
    let seed = ck.int_at_least("seed", file.seed, 0)? as u64;
    let steps = ck.int_in("steps", file.steps, 1, MAX_STEPS)?;
    let data = validate_data(ck, &file.data)?;
    let model = match file.model.kind {
        ModelKind::Mlp => ModelConfig::Mlp(validate_model(ck, &file.model, &data)?),
        ModelKind::Transformer => {
            ModelConfig::Transformer(validate_transformer(ck, &file.model, &data)?)
        }
    };
    let loss = validate_loss(ck, &file.loss, &data)?;
    let optimizer = validate_optimizer(ck, &file.optimizer, &model)?;
    let schedule = validate_schedule(ck, &file.schedule, steps, optimizer.lr)?;
    let probe = validate_probe(ck, &file.probe)?;
    let robust = validate_robust(ck, &file.robust, data.kind == DataKind::Tokens)?;
    let f32_layers = validate_f32_layers(ck, file, &model)?;
    Ok(Scenario {
        name: file.name.clone(),
        description: file.description.clone(),
        seed,
        steps,
        precision: file.precision,
        data,
        model,
        loss,
        optimizer,
        schedule,
        clip: validate_clip(ck, &file.clip)?,
        probe,
        gates: validate_gates(ck, &file.gates)?,
        robust,
        loss_scale: validate_loss_scale(ck, file.loss_scale.as_ref())?,
        f32_layers,
    })
}

fn check_name(ck: &Checker, name: &str) -> Result<(), ScenarioError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
        let expected = format!(
            "1 to {MAX_NAME_LEN} lowercase letters, digits or '-' ([a-z0-9-]+), as it names the report folder"
        );
        return Err(ck.range_error("name", &[], format!("{name:?}"), expected));
    }
    Ok(())
}

/// The task of the data: class labels or regression targets.
enum Task {
    Classes(usize),
    Outputs(usize),
}

fn validate_data(ck: &Checker, d: &DataTable) -> Result<DataConfig, ScenarioError> {
    if d.kind == DataKind::Tokens {
        return validate_tokens(ck, d);
    }
    refuse_token_keys(ck, d)?;
    let task = data_task(ck, d)?;
    let inputs = match (d.kind, d.inputs) {
        (DataKind::Spirals, Some(n)) if n != defaults::SPIRAL_INPUTS as i64 => {
            return Err(ck.range_error("data.inputs", &[], n, "2 (spirals are 2-D)"));
        }
        (DataKind::Spirals, _) => Some(defaults::SPIRAL_INPUTS as i64),
        (DataKind::Csv, None) => None,
        (_, n) => Some(n.unwrap_or(defaults::TEACHER_INPUTS as i64)),
    };
    let inputs = match inputs {
        Some(n) => Some(ck.int_at_least("data.inputs", n, 1)?),
        None => None,
    };
    let samples = match (d.kind, d.samples) {
        (DataKind::Csv, None) => None,
        (_, n) => {
            Some(ck.int_at_least("data.samples", n.unwrap_or(defaults::SAMPLES as i64), 1)?)
        }
    };
    let batch = ck.int_at_least("data.batch", d.batch, 1)?;
    if let Some(samples) = samples.filter(|&s| batch > s) {
        let expected = format!("an integer in 1..=data.samples ({samples})");
        return Err(ck.range_error("data.batch", &["data.samples"], batch, expected));
    }
    let (classes, outputs) = match task {
        Task::Classes(n) => (Some(n), None),
        Task::Outputs(n) => (None, Some(n)),
    };
    check_data_size(ck, samples, inputs, classes.or(outputs))?;
    Ok(DataConfig {
        kind: d.kind,
        task: None,
        vocab: None,
        context: None,
        inputs,
        classes,
        outputs,
        samples,
        batch,
        path: data_path(ck, d)?,
        input_scale: ck.positive("data.input_scale", d.input_scale.unwrap_or(defaults::one()))?,
    })
}

fn data_task(ck: &Checker, d: &DataTable) -> Result<Task, ScenarioError> {
    let kind = choice(&d.kind);
    let classification = match d.kind {
        DataKind::TeacherClassification | DataKind::Spirals => true,
        DataKind::TeacherRegression => false,
        DataKind::Csv => d.classes.is_some() || d.outputs.is_none(),
        DataKind::Tokens => true,
    };
    if let (Some(_), Some(n)) = (d.classes, d.outputs) {
        let reason = "data.classes is also set; give classes for classification or outputs for regression, not both";
        return Err(ck.conflict("data.outputs", &[], n, reason));
    }
    if d.kind == DataKind::Csv && d.classes.is_none() && d.outputs.is_none() {
        let expected = "the number of classes (or data.outputs for regression): csv data needs one to know its targets";
        return Err(ck.missing("data.classes", &["data.kind"], expected));
    }
    if classification {
        if let Some(n) = d.outputs {
            let reason = format!("data.kind = {kind} has class labels; set data.classes instead");
            return Err(ck.conflict("data.outputs", &[], n, reason));
        }
        let default = match d.kind {
            DataKind::Spirals => defaults::SPIRAL_CLASSES,
            _ => defaults::TEACHER_CLASSES,
        };
        let n = d.classes.unwrap_or(default as i64);
        return Ok(Task::Classes(ck.int_at_least("data.classes", n, 2)?));
    }
    if let Some(n) = d.classes {
        let reason = format!("data.kind = {kind} has regression targets; set data.outputs instead");
        return Err(ck.conflict("data.classes", &[], n, reason));
    }
    let n = d.outputs.unwrap_or(defaults::REGRESSION_OUTPUTS as i64);
    Ok(Task::Outputs(ck.int_at_least("data.outputs", n, 1)?))
}

fn data_path(ck: &Checker, d: &DataTable) -> Result<Option<String>, ScenarioError> {
    match (&d.path, d.kind) {
        (None, DataKind::Csv) => Err(ck.missing(
            "data.path",
            &["data.kind"],
            "the CSV file to read (required when data.kind = \"csv\")",
        )),
        (Some(path), DataKind::Csv) if path.trim().is_empty() => Err(ck.range_error(
            "data.path",
            &[],
            format!("{path:?}"),
            "a non-empty file path",
        )),
        (Some(path), DataKind::Csv) => Ok(Some(path.clone())),
        (Some(path), kind) => {
            let reason = format!(
                "only csv data reads a file, and data.kind = {}",
                choice(&kind)
            );
            Err(ck.conflict("data.path", &["data.kind"], format!("{path:?}"), reason))
        }
        (None, _) => Ok(None),
    }
}

fn check_data_size(
    ck: &Checker,
    samples: Option<usize>,
    inputs: Option<usize>,
    outputs: Option<usize>,
) -> Result<(), ScenarioError> {
    let (Some(samples), Some(inputs), Some(outputs)) = (samples, inputs, outputs) else {
        return Ok(());
    };
    let values = samples as u128 * (inputs as u128 + outputs as u128);
    if values > MAX_DATA_VALUES {
        let expected = format!(
            "at most {MAX_DATA_VALUES} stored numbers (samples x (inputs + outputs)); this is {values}"
        );
        return Err(ck.range_error("data.samples", &["data.inputs"], samples, expected));
    }
    Ok(())
}
