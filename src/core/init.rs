//! Weight initialization schemes, each scaled by `init_scale`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    HeNormal,
    HeUniform,
    XavierNormal,
    XavierUniform,
    LecunNormal,
    Orthogonal,
    Normal,
}
