//! Gradient clipping by global norm or by value, applied to the flat gradient buffer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClipKind {
    None,
    Norm,
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub kind: ClipKind,
    /// Largest allowed global norm (`norm`) or absolute element (`value`).
    pub max: f64,
}
