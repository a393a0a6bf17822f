//! The narrow hook through which probes watch training: per-op events (opt-in) and per-step events.
//!
//! The core knows nothing of probes; it only calls these methods. The defaults do nothing, and
//! op events are built only when [`Observer::wants_ops`] says so, so a no-op observer costs one
//! predictable branch per op.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::float::Real;
use super::gpt::{MlpActivation, TokenNorm};
use super::layers::NormKind;
use super::layers::activation::Activation;
use super::loss::LossKind;
use super::model::view::Probed;
use super::optim::OptimizerKind;
use super::precision::Half;
pub use super::precision::events::{CastEvent, CastOp, CastSite};
use super::precision::scaler::ScaleStep;

/// Which pass of a training step an op belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Forward,
    Backward,
    Update,
}

/// Every op the core reports, a closed set: a misspelt op cannot compile. The record
/// (`NanOrigin.op`) keeps [`Op::name`], the dotted name users read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    DenseMatmul,
    DenseBias,
    DenseGradWeight,
    DenseGradBias,
    DenseGradInput,
    /// `x̂ = (z − μ)/√(σ² + eps)` of a layernorm or batchnorm.
    NormNormalize(NormKind),
    NormAffine(NormKind),
    NormBackward(NormKind),
    Activation(Activation),
    ActivationBackward(Activation),
    Dropout,
    DropoutBackward,
    ResidualAdd,
    /// The loss's forward value (phase forward) or its gradient (phase backward).
    Loss(LossKind),
    Update(OptimizerKind),
    /// GPT ops (`core::gpt`): `h₀ = tok_emb[x] + pos_emb` and its gradients.
    Embedding,
    EmbeddingBackward,
    /// `y = x·W + b` of a GPT projection (bias fused), and its three gradients.
    Linear,
    LinearGradWeight,
    LinearGradBias,
    LinearGradInput,
    /// A per-token LayerNorm/RMSNorm: `x̂`, then `γ ⊙ x̂ + β`, then `dx` (with `dγ`, `dβ`).
    RowNormalize(TokenNorm),
    RowAffine(TokenNorm),
    RowNormBackward(TokenNorm),
    /// Attention scores `Q·Kᵀ/√hd` of every sequence and head, `[batch·heads·T, T]`.
    AttnScores,
    /// The causal softmax of the scores (same shape).
    AttnSoftmax,
    /// `P·V`, `[tokens, d_model]`.
    AttnValues,
    /// `dQ`, `dK` or `dV` from `dO` (three events, in that order).
    AttnBackward,
    MlpActivation(MlpActivation),
    MlpActivationBackward(MlpActivation),
    /// Next-token cross-entropy plus z-loss (forward: the loss; backward: `∂L/∂logits`).
    TokenLoss,
    /// A 16-bit policy's rounding of a stored tensor (input: the value before rounding).
    Cast(Half),
}

impl Op {
    /// The dotted name, e.g. `dense.matmul`, `layernorm.normalize`, `softmax_xent`, `adam.update`.
    pub fn name(self) -> &'static str {
        use NormKind::Batchnorm;
        match self {
            Op::DenseMatmul => "dense.matmul",
            Op::DenseBias => "dense.bias",
            Op::DenseGradWeight => "dense.grad_weight",
            Op::DenseGradBias => "dense.grad_bias",
            Op::DenseGradInput => "dense.grad_input",
            Op::NormNormalize(Batchnorm) => "batchnorm.normalize",
            Op::NormAffine(Batchnorm) => "batchnorm.affine",
            Op::NormBackward(Batchnorm) => "batchnorm.backward",
            Op::NormNormalize(_) => "layernorm.normalize",
            Op::NormAffine(_) => "layernorm.affine",
            Op::NormBackward(_) => "layernorm.backward",
            Op::Activation(a) => a.name(),
            Op::ActivationBackward(a) => activation_backward_name(a),
            Op::Dropout => "dropout",
            Op::DropoutBackward => "dropout.backward",
            Op::ResidualAdd => "residual.add",
            Op::Loss(kind) => kind.name(),
            Op::Update(kind) => kind.update_name(),
            gpt => gpt_name(gpt),
        }
    }

    /// An op of attention's core (no parameters of its own): its module is the block's `attn`,
    /// not the `attn.qkv` layer its events are filed under.
    pub fn is_attention_core(self) -> bool {
        matches!(
            self,
            Op::AttnScores | Op::AttnSoftmax | Op::AttnValues | Op::AttnBackward
        )
    }
}

/// Names of the GPT ops, as PyTorch users would look for them (`attn.softmax`, ...).
fn gpt_name(op: Op) -> &'static str {
    use TokenNorm::{Layernorm, Rmsnorm};
    match op {
        Op::Embedding => "embedding",
        Op::EmbeddingBackward => "embedding.backward",
        Op::Linear => "linear",
        Op::LinearGradWeight => "linear.grad_weight",
        Op::LinearGradBias => "linear.grad_bias",
        Op::LinearGradInput => "linear.grad_input",
        Op::RowNormalize(Layernorm) => "layernorm.normalize",
        Op::RowNormalize(Rmsnorm) => "rmsnorm.normalize",
        Op::RowAffine(Layernorm) => "layernorm.affine",
        Op::RowAffine(Rmsnorm) => "rmsnorm.affine",
        Op::RowNormBackward(Layernorm) => "layernorm.backward",
        Op::RowNormBackward(Rmsnorm) => "rmsnorm.backward",
        Op::Cast(Half::Fp16) => "cast.fp16",
        Op::Cast(Half::Bf16) => "cast.bf16",
        Op::AttnScores => "attn.qk_matmul",
        Op::AttnSoftmax => "attn.softmax",
        Op::AttnValues => "attn.av_matmul",
        Op::AttnBackward => "attn.backward",
        Op::MlpActivation(act) => act.op_name(),
        Op::MlpActivationBackward(act) => act.backward_op_name(),
        Op::TokenLoss => "token_xent",
        // The MLP ops never get here: `Op::name` matched them first.
        _ => "op",
    }
}

fn activation_backward_name(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu.backward",
        Activation::LeakyRelu => "leaky-relu.backward",
        Activation::Gelu => "gelu.backward",
        Activation::Tanh => "tanh.backward",
        Activation::Sigmoid => "sigmoid.backward",
        Activation::Softplus => "softplus.backward",
        Activation::Identity => "identity.backward",
    }
}

/// One op just ran. Views borrow the core's own buffers: nothing is copied to build an event.
#[derive(Debug)]
pub struct OpEvent<'a, T> {
    /// 0-based step (step k is the k-th update).
    pub step: usize,
    /// Layer index (hidden layers `0..depth`, output layer `depth`); `None` for the loss.
    pub layer: Option<usize>,
    /// Which op; [`Op::name`] gives its dotted name.
    pub op: Op,
    pub phase: Phase,
    /// The op's inputs, in the order its doc comment gives (biases and scales as `1 × n`).
    pub inputs: &'a [ArrayView2<'a, T>],
    /// The op's result (for updates: the parameter after the update).
    pub output: ArrayView2<'a, T>,
}

/// The end of one step: the update has been applied.
#[derive(Debug)]
pub struct StepEvent<'a, T> {
    pub step: usize,
    /// Mean data loss of the batch plus any L1/L2 penalty, from step `step`'s forward pass.
    pub loss: f64,
    /// Learning rate in effect for this update (before per-layer multipliers).
    pub lr: f64,
    /// Global gradient L2 norm before and after clipping (equal when clipping is off).
    pub grad_norm: f64,
    pub grad_norm_clipped: f64,
    /// `‖g‖²` of each parameter segment's gradient before clipping (penalties included), indexed
    /// like `model.params.segments`.
    pub grad_sq_norms: &'a [f64],
    /// `‖Δθ‖²` of each parameter segment's update, indexed like `model.params.segments`.
    pub update_sq_norms: &'a [f64],
    /// `‖θ‖²` of each parameter segment after the update, measured inside the update pass; empty
    /// unless [`StatsWanted::param_norms`].
    pub param_sq_norms: &'a [f64],
    /// The model after the update; its activation and gradient buffers still hold this step's values.
    pub model: &'a dyn Probed<T>,
    /// The optimizer's denominator ε when it is adaptive (Adam, AdamW, RMSprop), else `None`.
    pub adaptive_eps: Option<f64>,
    /// The loss scale and skip decision, in a run with loss scaling.
    pub scale: Option<ScaleStep>,
}

/// Statistics the core can measure inside passes it makes anyway, each only when an observer
/// asks ([`Observer::wants_stats`]), so a run without probes pays nothing for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsWanted {
    /// `‖θ‖²` of every segment after its update, in [`StepEvent::param_sq_norms`].
    pub param_norms: bool,
    /// Each hidden block's [`crate::core::model::hidden::BufferSums`]: fast sums of its output
    /// and `grad_out`, taken right after each is written.
    pub buffer_sums: bool,
    /// A transformer's attention-row statistics (largest score, entropy), taken in the softmax
    /// pass: [`crate::core::model::view::Probed::transformer`].
    pub attention: bool,
    /// Under a 16-bit policy, a [`CastEvent`] census of every rounding
    /// ([`Observer::on_cast`]); counting costs a pass that plain rounding does not.
    pub census: bool,
}

/// Receives training events. Every method has a do-nothing default.
pub trait Observer<T: Real> {
    /// Whether to build and deliver [`OpEvent`]s. Per-step probes say `false`; NaN-origin replays say `true`.
    fn wants_ops(&self) -> bool {
        false
    }
    /// Which fused statistics to measure this step (asked once per step, before the forward pass).
    fn wants_stats(&self) -> StatsWanted {
        StatsWanted::default()
    }
    /// Called once before step 0 with the freshly built model (initial weights).
    fn on_start(&mut self, _model: &dyn Probed<T>) {}
    fn on_op(&mut self, _event: &OpEvent<'_, T>) {}
    /// A 16-bit rounding's census, when [`StatsWanted::census`] asked for it.
    fn on_cast(&mut self, _event: &CastEvent<'_>) {}
    fn on_step(&mut self, _event: &StepEvent<'_, T>) {}
}

/// Watches nothing. The baseline that benchmarks compare probes against.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl<T: Real> Observer<T> for NoopObserver {}

#[cfg(test)]
mod op_tests {
    use super::*;

    #[test]
    fn op_names_are_the_dotted_names_records_and_users_read_and_are_distinct() {
        use NormKind::{Batchnorm, Layernorm};
        let ops = [
            (Op::DenseMatmul, "dense.matmul"),
            (Op::DenseGradInput, "dense.grad_input"),
            (Op::NormNormalize(Layernorm), "layernorm.normalize"),
            (Op::NormNormalize(Batchnorm), "batchnorm.normalize"),
            (Op::NormBackward(Batchnorm), "batchnorm.backward"),
            (Op::Activation(Activation::Tanh), "tanh"),
            (
                Op::ActivationBackward(Activation::LeakyRelu),
                "leaky-relu.backward",
            ),
            (Op::Loss(LossKind::CrossEntropy), "softmax_xent"),
            (Op::Update(OptimizerKind::Adamw), "adamw.update"),
            (Op::ResidualAdd, "residual.add"),
        ];
        for (op, name) in ops {
            assert_eq!(op.name(), name, "{op:?}");
        }
        let mut names: Vec<&str> = ops.iter().map(|(op, _)| op.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ops.len());
    }
}
