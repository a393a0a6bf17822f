//! Scenarios: the TOML format ([`ScenarioFile`]), validation into a [`Scenario`] with
//! file:line:column errors, the built-in catalogue, overrides and the JSON Schema.
//!
//! Data flow: text → `SourceMap` (spans of every key) → `ScenarioFile` (serde,
//! unknown keys refused) → `validate` → `Scenario`. Only `name` is required; every default is
//! documented on the `ScenarioFile` field it fills (and lives in `defaults.rs`).

mod catalogue;
mod checker;
mod defaults;
mod edit;
mod error;
mod file_checks;
mod file_precision;
mod file_scenario;
mod file_training;
mod load;
mod overrides;
mod resolved;
mod resolved_training;
mod schema;
mod source_map;
mod suggest;
mod to_file;
mod toml_error;
mod validate;
mod validate_checks;
mod validate_model;
mod validate_tokens;
mod validate_training;
mod validate_transformer;

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod overrides_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod transformer_tests;
#[cfg(test)]
mod validation_tests;

pub use catalogue::{builtin_names, builtin_source, resolve};
pub use edit::{anchor_paths, edited_source};
pub use error::{Location, ScenarioError, ScenarioErrorKind};
pub use file_checks::{Gates, NonfinitePolicy, ProbeTable, RobustTable};
pub use file_scenario::{DataTable, ModelKind, ModelTable, NormName, Precision, ScenarioFile};
pub use file_training::{ClipTable, GroupTable, LossTable, OptimizerTable, ScheduleTable};
pub use load::{MAX_FILE_BYTES, load_file, parse_str};
pub use overrides::{Overrides, SetOverride, apply_overrides};
pub use resolved::{DataConfig, MlpConfig, ModelConfig, Scenario, TransformerConfig};
pub use resolved_training::{
    ClipConfig, GroupConfig, LossConfig, OptimizerConfig, ProbeConfig, RobustConfig, ScheduleConfig,
};
pub use schema::{json_schema, key_type};
pub use validate::{MAX_DATA_VALUES, MAX_NAME_LEN};
pub use validate_model::{MAX_ACTIVATIONS, MAX_DEPTH, MAX_PARAMETERS};
pub use validate_transformer::gpt_spec;
