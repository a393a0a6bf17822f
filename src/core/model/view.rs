//! The read-only view of a layer that probes read, instead of a layer type's own fields.
//!
//! Every layer kind answers the same questions (its parameter segments, its output and the
//! gradient flowing into it, the sums it took while they were hot, and, for layers with
//! nonlinear units, the units' inputs and outputs), so a probe works on any composition without
//! knowing which concrete layers it holds.

use ndarray::ArrayView2;

use super::Model;
use super::hidden::BufferSums;
use crate::core::float::Real;
use crate::core::layers::activation::Activation;
use crate::core::params::Params;

/// The units of a layer with an activation: what dead- and saturated-unit probes read.
#[derive(Debug, Clone, Copy)]
pub struct UnitsView<'a, T> {
    pub activation: Activation,
    /// The activation's input (after the norm, when there is one).
    pub pre_activation: ArrayView2<'a, T>,
    /// The activation's output, `[batch, width]`.
    pub post_activation: ArrayView2<'a, T>,
}

/// One layer as probes see it.
#[derive(Debug, Clone, Copy)]
pub struct LayerView<'a, T> {
    /// Index into `params.segments` of the weight matrix (an embedding table, a norm's gain) and
    /// of the bias (a norm's shift), when the layer has one.
    pub weight: usize,
    pub bias: Option<usize>,
    /// The layer's output (the next layer's input, or the logits).
    pub output: ArrayView2<'a, T>,
    /// `∂L/∂output`, when the model keeps it after the backward pass. Invariant the recorder
    /// relies on: a non-finite value here makes the weight gradient non-finite too (true of
    /// every layer whose weight gradient sums products with it: `Xᵀ·∂Y`, `Σ ∂Y ⊙ x̂`, since
    /// NaN and ±inf survive any product and sum under IEEE 754).
    pub grad_out: Option<ArrayView2<'a, T>>,
    /// What the layer measured of its own buffers this step (empty when it measures nothing).
    pub sums: BufferSums,
    /// `None` for a layer without nonlinear units (the output layer).
    pub units: Option<UnitsView<'a, T>>,
}

/// What the transformer probes read: each block's attention-row statistics, the residual
/// stream and the loss's `log Z` statistics.
#[derive(Debug, Clone)]
pub struct TransformerView<'a, T> {
    pub heads: usize,
    pub context: usize,
    /// How many future tokens a position sees (0: causal).
    pub future: usize,
    /// Per block, `(row_max, row_entropy)` of its softmax rows, ordered (sequence, head,
    /// position) as `Attention::probs`; `None` when the rows were not measured this step.
    pub attention: Vec<Option<(&'a [T], &'a [T])>>,
    /// `h₀`, then each block's output.
    pub stream: Vec<ArrayView2<'a, T>>,
    /// The forward pass's sums of each `stream` buffer, when it took them.
    pub stream_sums: Vec<Option<crate::core::blocked::MomentSums>>,
    pub loss: Option<crate::core::gpt::token_loss::TokenLoss>,
}

/// What probes may read of a model: its parameters and a view of each layer. The MLP and the
/// GPT both answer it, so one recorder serves both.
pub trait Probed<T: Real>: std::fmt::Debug {
    fn params(&self) -> &Params<T>;
    fn layer_count(&self) -> usize;
    /// The view of layer `l` (`0..layer_count()`).
    fn layer_view(&self, l: usize) -> LayerView<'_, T>;
    /// The layer's name as a user's own module would have it (PyTorch's state_dict prefix,
    /// `blocks.2.attn.qkv`); `None` where records name layers by index (the MLP).
    fn layer_name(&self, _l: usize) -> Option<String> {
        None
    }
    /// Parameter tensor `k`'s name (`params().segments[k]`) as PyTorch's state_dict has it
    /// (`blocks.0.attn.qkv.weight`); `None` where records name layers by index (the MLP).
    fn tensor_name(&self, _k: usize) -> Option<String> {
        None
    }
    /// Whether layer `l + 1`'s input is layer `l`'s output (a plain stack), so that layer `l`'s
    /// `grad_out` is the gradient reaching layer `l + 1`'s input.
    fn sequential(&self) -> bool {
        true
    }
    /// A transformer's own statistics; `None` for other models.
    fn transformer(&self) -> Option<TransformerView<'_, T>> {
        None
    }
}

impl<T: Real> Probed<T> for Model<T> {
    fn params(&self) -> &Params<T> {
        &self.params
    }
    fn layer_count(&self) -> usize {
        Model::layer_count(self)
    }
    fn layer_view(&self, l: usize) -> LayerView<'_, T> {
        Model::layer_view(self, l)
    }
}

impl<T: Real> Model<T> {
    /// Number of layers probes see: the hidden blocks and the output layer.
    pub fn layer_count(&self) -> usize {
        self.hidden.len() + 1
    }

    /// The view of layer `l` (`0..layer_count()`); out-of-range `l` is the output layer.
    pub fn layer_view(&self, l: usize) -> LayerView<'_, T> {
        match self.hidden.get(l) {
            Some(h) => LayerView {
                weight: h.dense.weight,
                bias: Some(h.dense.bias),
                output: h.output(),
                grad_out: Some(h.grad_out.view()),
                sums: h.sums,
                units: Some(UnitsView {
                    activation: h.activation,
                    pre_activation: h.pre_activation(),
                    post_activation: h.post_activation(),
                }),
            },
            None => LayerView {
                weight: self.output.weight,
                bias: Some(self.output.bias),
                output: self.logits.view(),
                grad_out: Some(self.grad_logits.view()),
                sums: BufferSums::default(),
                units: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::layers::NormKind;
    use crate::core::model::ModelSpec;

    #[test]
    fn views_name_each_layers_own_segments_and_shapes() {
        let spec = ModelSpec {
            inputs: 3,
            hidden: vec![4, 5],
            outputs: 2,
            activation: Activation::Tanh,
            norm: NormKind::Layernorm,
            norm_eps: 1e-5,
            residual: false,
            dropout: 0.0,
        };
        let model = Model::<f64>::new(spec, 7, 0);
        assert_eq!(model.layer_count(), 3);
        let mut seen = Vec::new();
        for (l, width) in [4, 5, 2].into_iter().enumerate() {
            let v = model.layer_view(l);
            assert_eq!(model.params.segments[v.weight].layer, l);
            let bias = v.bias.expect("every MLP layer has a bias");
            assert_eq!(model.params.segments[bias].layer, l);
            assert_eq!(v.output.dim(), (7, width));
            assert_eq!(v.grad_out.map(|g| g.dim()), Some((7, width)));
            assert_eq!(v.units.is_some(), l < 2, "only hidden layers have units");
            seen.extend([v.weight, bias]);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 6, "no two layers share a segment");
    }
}
