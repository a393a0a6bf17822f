//! Layers of the reference model; each file holds one op's forward and backward side by side.

pub mod activation;
pub mod dense;
pub mod dropout;
pub mod norm;
pub mod parts;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Normalization applied to a hidden layer's pre-activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NormKind {
    None,
    Layernorm,
    Batchnorm,
}
