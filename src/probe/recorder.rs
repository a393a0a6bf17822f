//! The per-step recorder: an [`Observer`] that turns each step event into a [`StepRecord`] and,
//! on the histogram schedule, gradient histograms.
//!
//! It reads only what the step event and the model's buffers already hold, never asks for op
//! events, and after the first step allocates only each step's own `Vec<LayerStats>` (and the
//! histograms on their schedule).

use std::marker::PhantomData;

use super::cast_tally::CastTally;
use super::histogram::{LogBins, histogram_due};
use super::stats::{
    Moments, fast_sq_norm, moments, moments_from, nonfinite_given_sq_norm, sq_norm,
};
use super::stats::{saturated, segment, segment_nonfinite, value_sq};
use super::transformer::transformer_stats;
use crate::core::float::Real;
use crate::core::layers::activation::Activation;
use crate::core::model::contiguous;
use crate::core::model::view::LayerView;
use crate::core::model::view::Probed;
use crate::core::observer::{CastEvent, Observer, StatsWanted, StepEvent};
use crate::core::units::dead_fraction;
use crate::record::trace::{LayerStats, StepRecord, TensorInfo, Trace};

/// A unit is saturated when its local derivative `f'(z)` is below this for every sample.
pub const SATURATION_DERIVATIVE: f64 = 1e-3;

/// Records one [`StepRecord`] per step and gradient histograms on a schedule.
///
/// Per layer: gradient norms come from the step event's per-segment `‖g‖²` and `‖W‖` from its
/// `‖θ‖²`, both measured by the core in passes it makes anyway (see [`Observer::wants_stats`]);
/// `input_grad_norm` of layer `i ≥ 1` is `‖hidden[i-1].grad_out‖`; `weight_norm` is `‖W‖` after
/// the update and `update_ratio = ‖ΔW‖ / ‖W_before‖`, where `‖W_before‖` is the previous step's
/// recorded `weight_norm` (weights change only in updates) or, at the first step, the norm taken
/// in [`Observer::on_start`]. A recorder attached after step 0 (no `on_start`) reports NaN for its
/// first step's ratio, since it never saw the weights before that update.
///
/// `dead_fraction` (ReLU family): relu units whose output is exactly 0 for every sample;
/// leaky-relu output is never 0 below the kink, so there a unit is dead when its output is `≤ 0`
/// for every sample. `saturated_fraction` (tanh, sigmoid): units with `f'(z) <`
/// [`SATURATION_DERIVATIVE`] for every sample. NaN never counts as dead or saturated (it is in
/// `nonfinite`).
#[derive(Debug, Clone)]
pub struct Recorder<T> {
    histogram_every: usize,
    total_steps: usize,
    trace: Trace,
    /// `(weight, bias)` segment index of each layer, filled at the first event.
    segments: Vec<(usize, Option<usize>)>,
    /// Whether each layer's input gradient is the previous layer's `grad_out` (a plain stack).
    sequential: bool,
    /// `‖W‖` of each layer as last seen, i.e. before the next update.
    weight_norms: Vec<f64>,
    /// Per-unit scratch for the dead / saturated scans, as wide as the widest layer.
    unit_flags: Vec<u32>,
    bins: LogBins<T>,
    /// This step's 16-bit rounding censuses.
    casts: CastTally,
    _float: PhantomData<fn() -> T>,
}

impl<T: Real> Recorder<T> {
    /// A recorder for a run of `total_steps` steps, with histograms at step 0, the last step and
    /// every `histogram_every` steps (0: first and last only).
    pub fn new(histogram_every: usize, total_steps: usize) -> Self {
        Recorder {
            histogram_every,
            total_steps,
            trace: Trace {
                steps: Vec::with_capacity(total_steps),
                ..Trace::default()
            },
            segments: Vec::new(),
            sequential: true,
            weight_norms: Vec::new(),
            unit_flags: Vec::new(),
            bins: LogBins::new(),
            casts: CastTally::default(),
            _float: PhantomData,
        }
    }

    /// The trace recorded so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn into_trace(self) -> Trace {
        self.trace
    }

    /// Learns the model's layout; `weight_norms` are the current `‖W‖` when `know_weights`.
    fn prepare(&mut self, model: &dyn Probed<T>, know_weights: bool) {
        let params = model.params();
        self.sequential = model.sequential();
        let names: Option<Vec<String>> = (0..model.layer_count())
            .map(|l| model.layer_name(l))
            .collect();
        self.trace.layer_names = names.unwrap_or_default();
        let tensors: Option<Vec<TensorInfo>> = (params.segments.iter().enumerate())
            .map(|(k, seg)| {
                let name = model.tensor_name(k)?;
                Some(TensorInfo {
                    name,
                    kind: seg.kind,
                    len: seg.len(),
                })
            })
            .collect();
        self.trace.tensors = tensors.unwrap_or_default();
        self.segments = (0..model.layer_count())
            .map(|l| {
                let v = model.layer_view(l);
                (v.weight, v.bias)
            })
            .collect();
        self.weight_norms = self
            .segments
            .iter()
            .map(|&(w, _)| match know_weights {
                true => sq_norm(segment(&params.values, &params.segments[w])).sqrt(),
                false => f64::NAN,
            })
            .collect();
        let widest = (0..model.layer_count())
            .filter_map(|l| model.layer_view(l).units)
            .map(|u| u.post_activation.ncols())
            .max()
            .unwrap_or(0);
        self.unit_flags = vec![0; widest];
    }

    /// Statistics of layer `l`; `input_sq` is `‖∂L/∂input‖²` (from the previous layer's
    /// `grad_out`). Returns them with `‖grad_out‖²` of this layer (the next layer's `input_sq`
    /// in a plain stack), when the model kept it.
    fn layer_stats(
        &mut self,
        event: &StepEvent<'_, T>,
        l: usize,
        input_sq: Option<f64>,
    ) -> (LayerStats, Option<f64>) {
        let model = event.model;
        let (w, b) = self.segments[l];
        let w_sq = value_sq(event, w);
        let mut nonfinite = segment_nonfinite(event, w, w_sq);
        if let Some(b) = b {
            nonfinite += segment_nonfinite(event, b, value_sq(event, b));
        }
        let view = model.layer_view(l);
        let (act, dead_fraction, saturated_fraction) = self.output_stats(&view);
        nonfinite += act.nonfinite;
        // Outside a plain stack `‖grad_out‖²` only feeds the non-finite count, and every
        // non-finite value of `grad_out` reaches the weight gradient (`LayerView::grad_out`), so
        // the pass is taken only when that gradient is non-finite: the same count, without
        // re-reading every activation gradient from memory (≈2% of a tiny-gpt step).
        let needed = self.sequential
            || view.sums.grad_out_sq.is_some()
            || !event.grad_sq_norms[w].is_finite();
        let grad_out_sq = view.grad_out.filter(|_| needed).map(|g| {
            let grad_out = contiguous(g);
            let sq = view
                .sums
                .grad_out_sq
                .unwrap_or_else(|| fast_sq_norm(grad_out));
            nonfinite += nonfinite_given_sq_norm(grad_out, sq);
            sq
        });
        let weight_norm = w_sq.sqrt();
        let update_ratio = event.update_sq_norms[w].sqrt() / self.weight_norms[l];
        self.weight_norms[l] = weight_norm;
        let stats = LayerStats {
            layer: l,
            weight_grad_norm: event.grad_sq_norms[w].sqrt(),
            bias_grad_norm: b.map_or(0.0, |b| event.grad_sq_norms[b].sqrt()),
            input_grad_norm: input_sq.map(f64::sqrt),
            weight_norm,
            update_ratio,
            activation_mean: act.mean,
            activation_std: act.std,
            activation_max_abs: act.max_abs,
            dead_fraction,
            saturated_fraction,
            nonfinite,
        };
        (stats, grad_out_sq)
    }

    /// Moments of a layer's output with its `(dead_fraction, saturated_fraction)`. The moments
    /// finish the sums the core took while the output was hot, when it did.
    ///
    /// Measured: folding the dead-unit scan into the moments pass (one read of each buffer
    /// instead of two) ran 1.5–2× slower per step than the two passes, since the per-unit stores
    /// kept the sums from vectorizing; so they stay separate.
    fn output_stats(&mut self, view: &LayerView<'_, T>) -> (Moments, f64, f64) {
        let output = contiguous(view.output);
        let act = match view.sums.output {
            Some(sums) => moments_from(output, sums),
            None => moments(output),
        };
        let (dead, saturated) = self.unit_fractions(view);
        (act, dead, saturated)
    }

    /// `(dead_fraction, saturated_fraction)` of a layer's units (zeros for a layer without).
    fn unit_fractions(&mut self, view: &LayerView<'_, T>) -> (f64, f64) {
        let Some(units) = view.units else {
            return (0.0, 0.0);
        };
        if let Some(dead) = view.sums.dead_fraction {
            return (dead, 0.0);
        }
        let width = units.post_activation.ncols();
        let a = contiguous(units.post_activation);
        let flags = &mut self.unit_flags;
        if let Some(dead) = dead_fraction(units.activation, a, width, flags) {
            return (dead, 0.0);
        }
        // One arm per activation, so each closure inlines its derivative.
        let z = units.pre_activation;
        match units.activation {
            Activation::Tanh => (
                0.0,
                saturated(z, a, width, flags, |z, a| Activation::Tanh.derivative(z, a)),
            ),
            Activation::Sigmoid => (
                0.0,
                saturated(z, a, width, flags, |z, a| {
                    Activation::Sigmoid.derivative(z, a)
                }),
            ),
            _ => (0.0, 0.0),
        }
    }
}

impl<T: Real> Observer<T> for Recorder<T> {
    fn wants_stats(&self) -> StatsWanted {
        StatsWanted {
            param_norms: true,
            buffer_sums: true,
            attention: true,
            census: true,
        }
    }

    fn on_start(&mut self, model: &dyn Probed<T>) {
        self.prepare(model, true);
    }

    fn on_cast(&mut self, event: &CastEvent<'_>) {
        self.casts.add(event);
    }

    fn on_step(&mut self, event: &StepEvent<'_, T>) {
        let model = event.model;
        if self.segments.len() != model.layer_count() {
            self.prepare(model, false);
        }
        let mut layers = Vec::with_capacity(model.layer_count());
        let mut input_sq = None;
        for l in 0..model.layer_count() {
            let (stats, grad_out_sq) = self.layer_stats(event, l, input_sq);
            layers.push(stats);
            input_sq = grad_out_sq.filter(|_| self.sequential);
        }
        self.trace.steps.push(StepRecord {
            step: event.step,
            loss: event.loss,
            lr: event.lr,
            grad_norm: event.grad_norm,
            grad_norm_clipped: event.grad_norm_clipped,
            layers,
            transformer: model.transformer().map(|v| {
                let segments = &model.params().segments;
                transformer_stats(&v, segments, event.grad_sq_norms, event.adaptive_eps)
            }),
            precision: self.casts.take(event.scale),
        });
        if histogram_due(event.step, self.histogram_every, self.total_steps) {
            for (l, &(w, _)) in self.segments.iter().enumerate() {
                let params = model.params();
                let grads = segment(&params.grads, &params.segments[w]);
                let record = self.bins.record(grads, event.step, l);
                self.trace.histograms.push(record);
            }
        }
    }
}

#[cfg(test)]
#[path = "recorder_gpt_tests.rs"]
mod gpt_tests;
