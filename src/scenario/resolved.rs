//! The validated scenario: every default filled, every value in range, ready to build a run.
//!
//! It serializes to a valid scenario file (so run.json holds "the scenario as resolved" and a
//! shrunk case can be written back as TOML), and deserializing goes through
//! [`ScenarioFile`] and validation again, so a `Scenario` read from JSON keeps every invariant.
//! Defaults are documented on [`ScenarioFile`] and its tables.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::file_checks::Gates;
use super::file_scenario::{Precision, ScenarioFile};
use super::resolved_training::{
    ClipConfig, LossConfig, OptimizerConfig, ProbeConfig, RobustConfig, ScheduleConfig,
};
use crate::core::data::DataKind;
use crate::core::init::InitKind;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;

/// A validated scenario. Build one with [`super::parse_str`], [`super::load_file`],
/// [`super::resolve`] or [`ScenarioFile::validate`]; after editing fields by hand, call
/// [`Scenario::revalidate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "ScenarioFile")]
pub struct Scenario {
    /// `[a-z0-9-]+`.
    pub name: String,
    pub description: String,
    /// At most `i64::MAX` (TOML integers are signed 64-bit).
    pub seed: u64,
    /// >= 1.
    pub steps: usize,
    pub precision: Precision,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: ScheduleConfig,
    pub clip: ClipConfig,
    pub probe: ProbeConfig,
    pub gates: Gates,
    pub robust: RobustConfig,
}

/// Validated `[data]`. Exactly one of `classes` (classification) and `outputs` (regression) is
/// set; `inputs` and `samples` are `None` only for csv, where the file decides.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DataConfig {
    pub kind: DataKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// 1..=samples.
    pub batch: usize,
    /// Set exactly when `kind` is csv.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub input_scale: f64,
}

/// Validated `[model]`. The shape is stored once, as the width of each hidden layer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ModelConfig {
    /// Width of each hidden layer (`depth` entries, each >= 1); empty for a linear model.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub init: InitKind,
    pub init_scale: f64,
    /// Set exactly when `init` is normal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_std: Option<f64>,
    pub norm: NormKind,
    pub norm_eps: f64,
    pub bias_init: f64,
    pub residual: bool,
    pub dropout: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

impl Scenario {
    /// Width of each hidden layer, input side first.
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.model.hidden.clone()
    }

    /// Number of hidden layers; the output layer has index `depth()`.
    pub fn depth(&self) -> usize {
        self.model.hidden.len()
    }

    /// Whether the data has class labels (rather than regression targets).
    pub fn is_classification(&self) -> bool {
        self.data.classes.is_some()
    }

    /// Width of the output layer: `classes` for classification, `outputs` for regression.
    pub fn outputs(&self) -> usize {
        // Validation sets exactly one of the two; 0 would only show a hand-built invalid value.
        self.data.classes.or(self.data.outputs).unwrap_or(0)
    }

    /// Validate again after editing fields by hand (robust perturbations, shrinking).
    pub fn revalidate(&self) -> Result<Scenario, ScenarioError> {
        ScenarioFile::from(self).validate()
    }
}

impl TryFrom<ScenarioFile> for Scenario {
    type Error = ScenarioError;

    fn try_from(file: ScenarioFile) -> Result<Self, Self::Error> {
        file.validate()
    }
}
