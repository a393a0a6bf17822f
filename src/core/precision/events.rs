//! What a 16-bit rounding reports to observers: the site, the op and the census.

use serde::{Deserialize, Serialize};

use super::Census;

/// What a 16-bit rounding rounded: which tensor of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CastSite {
    /// An op's output in the forward pass (an activation).
    Forward,
    /// A gradient entering a 16-bit tensor in the backward pass (an activation gradient).
    Backward,
    /// A parameter's gradient (the gradient of its 16-bit copy).
    WeightGrad,
    /// Parameters stored in 16 bits after an update (pure policies).
    Weights,
}

/// The op whose output a rounding stored, as findings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CastOp {
    /// A dense layer or projection: `x·W + b`.
    Matmul,
    Activation,
    Dropout,
    Norm,
    ResidualAdd,
    Embedding,
    /// Attention's `q·kᵀ/√d`.
    AttnScores,
    /// Attention's softmax, cast for `P·V`.
    AttnProbs,
    /// Attention's `P·V`.
    AttnValues,
    /// The input batch (pure policies store it in 16 bits).
    Input,
    /// A weight or bias tensor.
    Parameter,
}

impl CastOp {
    /// The name records and findings use.
    pub fn name(self) -> &'static str {
        match self {
            CastOp::Matmul => "matmul",
            CastOp::Activation => "activation",
            CastOp::Dropout => "dropout",
            CastOp::Norm => "norm",
            CastOp::ResidualAdd => "residual-add",
            CastOp::Embedding => "embedding",
            CastOp::AttnScores => "attn.scores",
            CastOp::AttnProbs => "attn.probs",
            CastOp::AttnValues => "attn.values",
            CastOp::Input => "input",
            CastOp::Parameter => "parameter",
        }
    }
}

/// One rounding to 16 bits and what it did, for census probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CastEvent<'a> {
    pub step: usize,
    /// The probe-order layer the tensor belongs to (`None`: the whole model, e.g. weights).
    pub layer: Option<usize>,
    pub op: CastOp,
    pub site: CastSite,
    pub census: &'a Census,
}
