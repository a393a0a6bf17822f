//! Training data: synthetic generators, CSV loading, and the seeded epoch batcher.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    TeacherClassification,
    TeacherRegression,
    Spirals,
    Csv,
}
