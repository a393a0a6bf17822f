//! L1 and L2 penalties on weight matrices, added to the loss and its gradient before clipping.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Penalties {
    /// `l1 · Σ|w|`
    pub l1: f64,
    /// `(l2 / 2) · Σw²`, so its gradient is `l2 · w` (PyTorch's coupled weight decay).
    pub l2: f64,
}
