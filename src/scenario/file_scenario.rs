//! The scenario file as written (serde shape of the TOML): top-level keys, `[data]` and `[model]`.
//!
//! Nothing here is checked beyond TOML types; `validate` turns a [`ScenarioFile`] into a
//! [`super::Scenario`]. Only `name` is required: every other key, and every table, has a default.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use super::file_checks::{Gates, ProbeTable, RobustTable};
use super::file_precision::LossScaleTable;
pub use super::file_precision::Precision;
use super::file_training::{ClipTable, InitGroupTable, LossTable, OptimizerTable, ScheduleTable};
use crate::core::data::DataKind;
use crate::core::data::tokens::TokenTask;
use crate::core::gpt::{MlpActivation, NormPosition};
use crate::core::init::InitKind;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;

/// Which network `[model]` describes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A multilayer perceptron on feature vectors (every key of `[model]` but the transformer's).
    #[default]
    Mlp,
    /// A GPT-style decoder on token data (`data.kind = "tokens"`).
    Transformer,
}

/// `model.norm` as written: the MLP takes none | layernorm | batchnorm, the transformer
/// layernorm | rmsnorm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NormName {
    None,
    Layernorm,
    Batchnorm,
    Rmsnorm,
}

impl From<NormKind> for NormName {
    fn from(kind: NormKind) -> Self {
        match kind {
            NormKind::None => NormName::None,
            NormKind::Layernorm => NormName::Layernorm,
            NormKind::Batchnorm => NormName::Batchnorm,
        }
    }
}

/// A stabcheck scenario file: one training run to diagnose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Scenario name, `[a-z0-9-]+`; reports go to `reports/<name>/`. Required.
    pub name: String,
    /// One line saying what the scenario shows. Defaults to `""`.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream (data, init, dropout, perturbations), >= 0. Defaults to `7`.
    #[serde(default = "defaults::seed")]
    #[schemars(range(min = 0))]
    pub seed: i64,
    /// Number of updates, >= 1 (steps are 0-based). Defaults to `300`.
    #[serde(default = "defaults::steps")]
    #[schemars(range(min = 1))]
    pub steps: i64,
    /// Float type of the run. Defaults to `"f32"`.
    #[serde(default = "defaults::precision")]
    pub precision: Precision,
    /// Training data.
    #[serde(default)]
    pub data: DataTable,
    /// The network under test.
    #[serde(default)]
    pub model: ModelTable,
    /// Training loss.
    #[serde(default)]
    pub loss: LossTable,
    /// Update rule and its hyperparameters.
    #[serde(default)]
    pub optimizer: OptimizerTable,
    /// Learning-rate schedule.
    #[serde(default)]
    pub schedule: ScheduleTable,
    /// Gradient clipping.
    #[serde(default)]
    pub clip: ClipTable,
    /// How often the expensive probes run.
    #[serde(default)]
    pub probe: ProbeTable,
    /// What fails the CI gate.
    #[serde(default)]
    pub gates: Gates,
    /// Perturbation ranges of `stabcheck robust`.
    #[serde(default)]
    pub robust: RobustTable,
    /// Loss scaling (16-bit runs). Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<LossScaleTable>,
    /// Layers (as findings number them) whose ops stay in f32 under a 16-bit policy, as
    /// `torch.autocast(enabled=False)` around a module does. Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub f32_layers: Vec<i64>,
}

/// `[data]`: where the training samples come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataTable {
    /// Dataset generator or `csv`. Defaults to `"teacher-classification"`.
    #[serde(default = "defaults::data_kind")]
    pub kind: DataKind,
    /// `kind = "tokens"`: the synthetic source; not together with `path`. Defaults to `"markov"`
    /// when there is no `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TokenTask>,
    /// `kind = "tokens"`: vocabulary size, >= 3; a text file's is 256 (bytes). Defaults to `256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3))]
    pub vocab: Option<i64>,
    /// `kind = "tokens"`: tokens per sequence, >= 2; the target of each is the next token.
    /// Defaults to `64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub context: Option<i64>,
    /// Input features, >= 1. Defaults to `64` (`2` for spirals, the only allowed value; for csv,
    /// the header's column count, checked against this value when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub inputs: Option<i64>,
    /// Classes of a classification task, >= 2; not allowed for teacher-regression. Defaults to
    /// `10` (`2` for spirals). For csv, give `classes` or `outputs` to choose the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub classes: Option<i64>,
    /// Targets of a regression task, >= 1; only for teacher-regression and csv. Defaults to `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub outputs: Option<i64>,
    /// Training samples, >= 1. Defaults to `2048`; for csv, the number of data rows (checked
    /// against this value when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub samples: Option<i64>,
    /// Samples per update, 1..=samples; `batch = samples` is full-batch. Defaults to `64`.
    #[serde(default = "defaults::batch")]
    #[schemars(range(min = 1))]
    pub batch: i64,
    /// CSV file (header row; targets in the last column(s)), relative to the scenario file's
    /// folder. Required for `kind = "csv"`; for `kind = "tokens"`, a UTF-8 text file whose bytes
    /// are the tokens (instead of `task`); not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Multiplies every input feature, finite and > 0. Defaults to `1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_scale: Option<f64>,
}

/// `[model]`: a multilayer perceptron, `depth` hidden layers then a linear output layer, or
/// (`kind = "transformer"`) a GPT-style decoder. Keys of the other kind are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelTable {
    /// Hidden layers, >= 0 (0 = a linear model). Defaults to `16`, or the length of `hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub depth: Option<i64>,
    /// Width of every hidden layer, >= 1; not together with `hidden`. Defaults to `128`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub width: Option<i64>,
    /// Width of each hidden layer, e.g. `[256, 128, 64]`; not together with `width`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<i64>>,
    /// Activation after every hidden layer. Defaults to `"relu"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Weight initialization. Defaults to `"he-normal"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitKind>,
    /// Multiplies the init's standard deviation (gain for orthogonal), finite and > 0.
    /// Defaults to `1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_scale: Option<f64>,
    /// Standard deviation of `init = "normal"`, finite and > 0; required by it, not allowed
    /// with other inits. Transformer: of every weight (the residual output projections get
    /// `init_std / sqrt(2·blocks)`); defaults to `0.02`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_std: Option<f64>,
    /// Normalization: of hidden pre-activations (MLP: none | layernorm | batchnorm, defaults to
    /// `"none"`), or of every norm of a transformer (layernorm | rmsnorm, defaults to
    /// `"layernorm"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<NormName>,
    /// Layernorm/batchnorm epsilon, finite and >= 0 (0 shows the 0/0 hazard). Defaults to `1e-5`.
    #[serde(default = "defaults::norm_eps")]
    pub norm_eps: f64,
    /// Constant initial bias of hidden layers, finite (e.g. -3 provokes dead ReLUs).
    /// Defaults to `0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_init: Option<f64>,
    /// Skip connections around hidden blocks; a block whose input and output widths differ has
    /// no skip. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual: Option<bool>,
    /// Dropout probability after hidden activations, in [0, 1). Defaults to `0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    /// Per-layer multipliers of `init_scale` (an MLP's). Defaults to none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_groups: Vec<InitGroupTable>,
    /// Initial weights (npy/npz), e.g. exported from PyTorch; a transformer's npz holds its
    /// state_dict names. Defaults to none (use `init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Which network. Defaults to `"mlp"`.
    #[serde(default)]
    pub kind: ModelKind,
    /// Transformer: residual-stream width, >= 1, a multiple of `heads`. Defaults to `128`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub d_model: Option<i64>,
    /// Transformer: attention heads, >= 1. Defaults to `4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub heads: Option<i64>,
    /// Transformer: blocks, >= 1. Defaults to `4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub blocks: Option<i64>,
    /// Transformer: MLP hidden width over `d_model`, >= 1. Defaults to `4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub mlp_ratio: Option<i64>,
    /// Transformer: the MLP's non-linearity. Defaults to `"gelu"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlp_activation: Option<MlpActivation>,
    /// Transformer: where each block's norms sit. Defaults to `"pre"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm_position: Option<NormPosition>,
    /// Transformer: layernorm on queries and keys per head. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qk_norm: Option<bool>,
    /// Transformer: the head reuses the token embedding. Defaults to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_embeddings: Option<bool>,
    /// Transformer: biases in every linear layer and shifts in layernorms. Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<bool>,
}

impl Default for DataTable {
    fn default() -> Self {
        Self {
            kind: defaults::data_kind(),
            task: None,
            vocab: None,
            context: None,
            inputs: None,
            classes: None,
            outputs: None,
            samples: None,
            batch: defaults::batch(),
            path: None,
            input_scale: None,
        }
    }
}

impl Default for ModelTable {
    fn default() -> Self {
        Self {
            kind: ModelKind::Mlp,
            d_model: None,
            heads: None,
            blocks: None,
            mlp_ratio: None,
            mlp_activation: None,
            norm_position: None,
            qk_norm: None,
            tie_embeddings: None,
            bias: None,
            depth: None,
            width: None,
            hidden: None,
            activation: None,
            init: None,
            init_scale: None,
            init_std: None,
            norm: None,
            norm_eps: defaults::norm_eps(),
            bias_init: None,
            residual: None,
            dropout: None,
            init_groups: Vec::new(),
            weights: None,
        }
    }
}
