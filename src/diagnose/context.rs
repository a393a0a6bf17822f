//! The series every diagnosis reads, extracted once from the trace, and a builder for findings.

use super::finding::{Evidence, Finding, FindingKind, Mark, Severity, StepRange, Suggestion};
use super::gates::Gate;
use super::series::{median, window_len};
use crate::record::trace::{LayerStats, NanOrigin, Trace};
use crate::scenario::{Gates, Scenario};

/// A run has converged at a step whose loss is at most this fraction of the initial loss: then
/// small gradients are the minimum being reached, not vanishing, and a flat loss is no plateau.
pub const CONVERGED_FRACTION: f64 = 1e-2;

/// A run sits at a minimum at a step whose global gradient norm is at most this fraction of step
/// 0's while the loss has made progress: the gradient has fallen by three orders of magnitude, in
/// the problem's own units, so neither the loss's units nor the targets' scale enter.
pub const MINIMUM_GRAD_FRACTION: f64 = 1e-3;

/// What the diagnoses look at.
pub struct Context<'a> {
    pub trace: &'a Trace,
    pub scenario: &'a Scenario,
    pub gates: &'a Gates,
    pub origin: Option<&'a NanOrigin>,
    /// Per recorded step: its step number, loss and global gradient norm (before clipping).
    pub step: Vec<usize>,
    pub loss: Vec<f64>,
    /// NaN at a step dynamic loss scaling skipped: its gradient was scaled past fp16's range
    /// and thrown away, and says nothing about the run's (the record keeps the measured value).
    pub grad_norm: Vec<f64>,
    /// Whether dynamic loss scaling skipped each step's update.
    pub skipped: Vec<bool>,
    /// Layers per step (hidden layers then the output layer).
    pub n_layers: usize,
    /// Loss of step 0's forward pass (NaN when not finite or the trace is empty).
    pub initial_loss: f64,
    /// Length of "the last window", in recorded steps.
    pub window: usize,
}

/// Whether dynamic loss scaling skipped this step's update.
fn skipped(s: &crate::record::trace::StepRecord) -> bool {
    s.precision.as_ref().is_some_and(|p| p.skipped)
}

impl<'a> Context<'a> {
    pub fn new(trace: &'a Trace, scenario: &'a Scenario, origin: Option<&'a NanOrigin>) -> Self {
        let steps = &trace.steps;
        Context {
            trace,
            scenario,
            gates: &scenario.gates,
            origin,
            step: steps.iter().map(|s| s.step).collect(),
            loss: steps.iter().map(|s| s.loss).collect(),
            grad_norm: (steps.iter())
                .map(|s| if skipped(s) { f64::NAN } else { s.grad_norm })
                .collect(),
            skipped: steps.iter().map(skipped).collect(),
            n_layers: steps.first().map_or(0, |s| s.layers.len()),
            initial_loss: steps.first().map_or(f64::NAN, |s| s.loss),
            window: window_len(steps.len()),
        }
    }

    pub fn len(&self) -> usize {
        self.step.len()
    }

    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// One layer's quantity at every recorded step.
    pub fn layer_series(&self, layer: usize, f: impl Fn(&LayerStats) -> f64) -> Vec<f64> {
        self.trace
            .steps
            .iter()
            .map(|s| s.layers.get(layer).map_or(f64::NAN, &f))
            .collect()
    }

    /// Every layer's quantity at recorded index `i`.
    pub fn layer_series_at(&self, i: usize, f: impl Fn(&LayerStats) -> f64) -> Vec<f64> {
        self.trace.steps[i].layers.iter().map(f).collect()
    }

    /// Per layer, the median of a quantity over the recorded steps `from..` (finite values only).
    pub fn layer_medians(&self, from: usize, f: impl Fn(&LayerStats) -> f64) -> Vec<f64> {
        (0..self.n_layers)
            .map(|l| median(self.layer_series(l, &f).into_iter().skip(from)))
            .collect()
    }

    /// Index of the first recorded step of the last window.
    pub fn window_start(&self) -> usize {
        self.len() - self.window.min(self.len())
    }

    /// The step range spanned by recorded indices `first..=last`.
    pub fn range(&self, first: usize, last: usize) -> StepRange {
        StepRange {
            first: self.step.get(first).copied().unwrap_or(0),
            last: self.step.get(last).copied().unwrap_or(0),
        }
    }

    /// The whole run's step range.
    pub fn whole(&self) -> StepRange {
        self.range(0, self.len().saturating_sub(1))
    }

    /// Whether the loss at recorded index `i` is within [`CONVERGED_FRACTION`] of the initial.
    pub fn converged_at(&self, i: usize) -> bool {
        self.loss[i] <= CONVERGED_FRACTION * self.initial_loss
    }

    /// Whether recorded step `i` sits at a minimum: the loss is at most `max_final_loss_ratio`
    /// of the initial loss and the gradient norm at most [`MINIMUM_GRAD_FRACTION`] of step 0's.
    pub fn at_minimum(&self, i: usize) -> bool {
        self.loss[i] <= self.gates.max_final_loss_ratio * self.initial_loss
            && self.grad_norm[i] <= MINIMUM_GRAD_FRACTION * self.grad_norm[0]
    }

    /// Converged or at a minimum: small gradients and a flat loss are the end of training here.
    pub fn settled(&self, i: usize) -> bool {
        self.converged_at(i) || self.at_minimum(i)
    }

    /// Whether layer `l`'s weight is a matrix (or an embedding) rather than a norm's gain: every
    /// layer of a model whose trace does not list its tensors (the MLP, whose layers are dense).
    /// A gain's gradient `Σ dy·x̂` can be ~0 by design (a norm feeding a one-hot softmax) and
    /// says nothing about gradient flow through depth.
    pub fn matrix_layer(&self, l: usize) -> bool {
        if self.trace.tensors.is_empty() {
            return true;
        }
        let Some(name) = self.trace.layer_names.get(l) else {
            return false;
        };
        let weight = format!("{name}.weight");
        (self.trace.tensors.iter()).any(|t| t.name == weight && t.is_weight())
    }

    /// The name of layer `l` in messages: `layer 3`, or `output layer 16`; for a model whose
    /// layers are named (a transformer's state_dict modules), `layer 3 (blocks.0.attn.qkv)`.
    pub fn layer_name(&self, l: usize) -> String {
        if let Some(name) = self.trace.layer_names.get(l) {
            format!("layer {l} ({name})")
        } else if l + 1 == self.n_layers {
            format!("output layer {l}")
        } else {
            format!("layer {l}")
        }
    }
}

/// Builds a [`Finding`] field by field, so each check reads as a sentence.
pub struct Draft(Finding);

impl Draft {
    pub fn new(kind: FindingKind, severity: Severity, steps: StepRange) -> Self {
        Draft(Finding {
            kind,
            severity,
            gate: None,
            layers: Vec::new(),
            steps,
            measured: f64::NAN,
            threshold: None,
            summary: String::new(),
            explanation: String::new(),
            evidence: Vec::new(),
            suggestion: None,
            consequence_of: None,
            marks: Vec::new(),
        })
    }

    /// Steps for a chart to mark, with the value to mark them at.
    pub fn marks(mut self, marks: Vec<Mark>) -> Self {
        self.0.marks = marks;
        self
    }

    /// The gate crossed, with its threshold and the measured value.
    pub fn gate(mut self, key: Gate, threshold: f64, measured: f64) -> Self {
        self.0.gate = Some(key);
        self.0.threshold = Some(threshold);
        self.0.measured = measured;
        self
    }

    /// A measured value compared with a threshold that is not a gate (warnings, infos).
    pub fn measured(mut self, measured: f64, threshold: Option<f64>) -> Self {
        self.0.measured = measured;
        self.0.threshold = threshold;
        self
    }

    pub fn layers(mut self, layers: Vec<usize>) -> Self {
        self.0.layers = layers;
        self
    }

    pub fn summary(mut self, text: String) -> Self {
        self.0.summary = text;
        self
    }

    pub fn explain(mut self, text: String) -> Self {
        self.0.explanation = text;
        self
    }

    pub fn evidence(mut self, name: &str, value: f64) -> Self {
        self.0.evidence.push(Evidence {
            name: name.to_string(),
            value,
        });
        self
    }

    pub fn suggest(mut self, suggestion: Option<Suggestion>) -> Self {
        self.0.suggestion = suggestion;
        self
    }

    pub fn done(self) -> Finding {
        self.0
    }
}
