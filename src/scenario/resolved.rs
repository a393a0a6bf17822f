//! The validated scenario: every default filled, every value in range, ready to build a run.
//!
//! It serializes to a valid scenario file (so run.json holds "the scenario as resolved" and a
//! shrunk case can be written back as TOML), and deserializing goes through
//! [`ScenarioFile`] and validation again, so a `Scenario` read from JSON keeps every invariant.
//! Defaults are documented on [`ScenarioFile`] and its tables.

use crate::core::precision::scaler::ScalerSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::file_checks::Gates;
use super::file_scenario::{ModelKind, Precision, ScenarioFile};
use super::resolved_training::{
    ClipConfig, LossConfig, OptimizerConfig, ProbeConfig, RobustConfig, ScheduleConfig,
};
use crate::core::data::DataKind;
use crate::core::data::tokens::TokenTask;
use crate::core::gpt::{MlpActivation, NormPosition, TokenNorm};
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
    /// `[loss_scale]` (kind none when absent, and then left out of records).
    #[serde(skip_serializing_if = "ScalerSpec::is_off")]
    pub loss_scale: ScalerSpec,
    /// Layers kept in f32 under a 16-bit policy (each < the model's layer count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub f32_layers: Vec<usize>,
}

/// Validated `[data]`. Feature data: exactly one of `classes` (classification) and `outputs`
/// (regression) is set; `inputs` and `samples` are `None` only for csv, where the file decides.
/// Token data (`kind = tokens`): `vocab` and `context` are set, `task` unless `path` is, and
/// `samples` unless `path` is (the text decides); `inputs`, `classes` and `outputs` are not.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DataConfig {
    pub kind: DataKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TokenTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<usize>,
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
    /// Set when `kind` is csv (always) or tokens (a text file instead of `task`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Left out when 1 (the default): token data refuses the key, and a record's scenario is read
    /// back through the file format's validation.
    #[serde(skip_serializing_if = "is_one")]
    pub input_scale: f64,
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

/// Validated `[model]`: one of the two networks. It serializes as the table of its kind (an MLP's
/// without a `kind` key, as records written before transformers have it).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ModelConfig {
    Mlp(MlpConfig),
    Transformer(TransformerConfig),
}

/// Validated `[model]` of an MLP. The shape is stored once, as the width of each hidden layer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MlpConfig {
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
    /// Disjoint groups of layer indices in 0..=depth with their `init_scale` multipliers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_groups: Vec<InitGroupConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

/// Validated `[[model.init_groups]]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InitGroupConfig {
    /// Non-empty; hidden layers are 0..depth, the output layer is `depth`.
    pub layers: Vec<usize>,
    /// Finite and > 0.
    pub init_scale: f64,
}

impl MlpConfig {
    /// Layer `layer`'s multiplier of `init_scale` (1 outside every group).
    pub fn layer_init_scale(&self, layer: usize) -> f64 {
        (self.init_groups.iter())
            .find(|g| g.layers.contains(&layer))
            .map_or(1.0, |g| g.init_scale)
    }
}

/// Validated `[model]` of a transformer (`kind = "transformer"`); the batch shape comes from
/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TransformerConfig {
    /// Always `transformer`: what tells the table from an MLP's.
    pub kind: ModelKind,
    /// A multiple of `heads`.
    pub d_model: usize,
    pub heads: usize,
    pub blocks: usize,
    pub mlp_ratio: usize,
    pub mlp_activation: MlpActivation,
    pub norm: TokenNorm,
    pub norm_position: NormPosition,
    pub qk_norm: bool,
    pub tie_embeddings: bool,
    pub bias: bool,
    pub init_std: f64,
    pub norm_eps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
}

impl Scenario {
    /// The MLP, when the scenario trains one.
    pub fn mlp(&self) -> Option<&MlpConfig> {
        match &self.model {
            ModelConfig::Mlp(m) => Some(m),
            ModelConfig::Transformer(_) => None,
        }
    }

    /// The MLP for editing by hand (then [`Scenario::revalidate`]).
    pub fn mlp_mut(&mut self) -> Option<&mut MlpConfig> {
        match &mut self.model {
            ModelConfig::Mlp(m) => Some(m),
            ModelConfig::Transformer(_) => None,
        }
    }

    /// The transformer, when the scenario trains one.
    pub fn transformer(&self) -> Option<&TransformerConfig> {
        match &self.model {
            ModelConfig::Transformer(t) => Some(t),
            ModelConfig::Mlp(_) => None,
        }
    }

    /// The key that scales the initial weights, with its value: `model.init_scale` of an MLP (a
    /// multiplier of its init's standard deviation), `model.init_std` of a transformer (the
    /// standard deviation itself). `robust` and its report perturb and name this key.
    pub fn init_key(&self) -> (&'static str, f64) {
        match &self.model {
            ModelConfig::Mlp(m) => ("model.init_scale", m.init_scale),
            ModelConfig::Transformer(t) => ("model.init_std", t.init_std),
        }
    }

    /// Width of each hidden layer, input side first (empty for a transformer).
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.mlp().map_or_else(Vec::new, |m| m.hidden.clone())
    }

    /// Number of hidden layers; the output layer has index `depth()` (0 for a transformer).
    pub fn depth(&self) -> usize {
        self.mlp().map_or(0, |m| m.hidden.len())
    }

    /// Whether the data are token sequences (then the model is a transformer): no input scale,
    /// no feature vectors.
    pub fn has_token_data(&self) -> bool {
        self.data.kind == DataKind::Tokens
    }

    /// Whether the targets are class labels (token data: the next token), not regression targets.
    pub fn is_classification(&self) -> bool {
        self.data.classes.is_some() || self.has_token_data()
    }

    /// Width of the output layer: `classes` for classification, `outputs` for regression, the
    /// vocabulary for tokens.
    pub fn outputs(&self) -> usize {
        // Validation sets exactly one; 0 would only show a hand-built invalid value.
        self.data
            .classes
            .or(self.data.outputs)
            .or(self.data.vocab)
            .unwrap_or(0)
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
