//! Turns a layer's raw gradients into an update: penalties, clipping, norms, then the optimizer.
//!
//! Everything per element is done per segment, so the train loop can run it for each layer as
//! soon as that layer's backward pass is done, while its gradients are still in cache. Only
//! clipping by global norm needs every gradient first; then the whole step waits for it.

use ndarray::ArrayView2;

use super::clip::{Clip, ClipKind};
use super::float::Real;
use super::model::emit::Emit;
use super::observer::Phase;
use super::optim::Optimizer;
use super::params::{Params, sq_norm};
use super::regularize::Penalties;

/// The update half of a step and its per-segment measurements (indexed like `params.segments`).
#[derive(Debug, Clone)]
pub struct Updater<T> {
    pub optimizer: Optimizer<T>,
    pub clip: Clip,
    pub penalties: Penalties,
    /// Learning-rate multiplier of each layer (`depth + 1` entries), from `[[optimizer.groups]]`.
    pub lr_scales: Vec<f64>,
    /// Segment indices of each layer.
    layer_segments: Vec<Vec<usize>>,
    /// `‖g‖²` of each segment before and after clipping (penalty gradients included).
    pub grad_sq_norms: Vec<f64>,
    pub clipped_sq_norms: Vec<f64>,
    /// L1/L2 penalty value of each segment.
    pub penalty: Vec<f64>,
    /// `‖Δθ‖²` of each segment's update.
    pub update_sq_norms: Vec<f64>,
    /// Whether [`Updater::update_layer`] also measures `‖θ‖²` after each segment's update.
    pub measure_values: bool,
    /// `‖θ‖²` of each segment after its update, when `measure_values` (stale otherwise).
    pub param_sq_norms: Vec<f64>,
}

impl<T: Real> Updater<T> {
    pub fn new(
        optimizer: Optimizer<T>,
        clip: Clip,
        penalties: Penalties,
        lr_scales: Vec<f64>,
        params: &Params<T>,
    ) -> Self {
        let n = params.segments.len();
        let mut layer_segments = vec![Vec::new(); lr_scales.len()];
        for (k, seg) in params.segments.iter().enumerate() {
            if let Some(list) = layer_segments.get_mut(seg.layer) {
                list.push(k);
            }
        }
        Updater {
            optimizer,
            clip,
            penalties,
            lr_scales,
            layer_segments,
            grad_sq_norms: vec![0.0; n],
            clipped_sq_norms: vec![0.0; n],
            penalty: vec![0.0; n],
            update_sq_norms: vec![0.0; n],
            measure_values: false,
            param_sq_norms: vec![0.0; n],
        }
    }

    /// Whether each layer can be updated as soon as its gradients are ready.
    pub fn can_fuse(&self) -> bool {
        self.clip.kind != ClipKind::Norm
    }

    /// Penalty gradients, value clipping and norms for every segment of `layer`.
    pub fn prepare_layer(&mut self, params: &mut Params<T>, layer: usize) {
        for &k in segments_of(&self.layer_segments, layer) {
            let seg = params.segments[k];
            let r = seg.range();
            self.penalty[k] = self.penalties.apply_segment(
                &seg,
                &params.values[r.clone()],
                &mut params.grads[r.clone()],
            );
            let grads = &mut params.grads[r];
            self.grad_sq_norms[k] = sq_norm(grads);
            self.clipped_sq_norms[k] = if self.clip.kind == ClipKind::Value {
                self.clip.clamp(grads);
                sq_norm(grads)
            } else {
                self.grad_sq_norms[k]
            };
        }
    }

    /// Applies the optimizer to every segment of `layer` with base learning rate `lr`.
    pub fn update_layer(
        &mut self,
        params: &mut Params<T>,
        layer: usize,
        lr: f64,
        e: &mut Emit<'_, T>,
    ) {
        let seg_lr = lr * self.lr_scales.get(layer).copied().unwrap_or(1.0);
        for &k in segments_of(&self.layer_segments, layer) {
            let seg = params.segments[k];
            let r = seg.range();
            let measured = self.optimizer.update_segment_measured(
                &seg,
                &mut params.values[r.clone()],
                &params.grads[r.clone()],
                seg_lr,
                self.measure_values,
            );
            self.update_sq_norms[k] = measured.change_sq;
            self.param_sq_norms[k] = measured.value_sq;
            if e.on {
                let shape = (seg.rows, seg.cols);
                let value = ArrayView2::from_shape(shape, &params.values[r.clone()]);
                let grad = ArrayView2::from_shape(shape, &params.grads[r]);
                if let (Ok(value), Ok(grad)) = (value, grad) {
                    e.op(
                        Some(layer),
                        self.optimizer.op(),
                        Phase::Update,
                        &[grad],
                        value,
                    );
                }
            }
        }
    }

    /// Clips every gradient by the global norm (when that is the clip kind); call after every
    /// layer is prepared. Returns the norms before and after clipping.
    pub fn clip_global(&mut self, params: &mut Params<T>) -> (f64, f64) {
        let before = self.grad_sq_norms.iter().sum::<f64>().sqrt();
        if self.clip.kind != ClipKind::Norm {
            return (before, self.clipped_sq_norms.iter().sum::<f64>().sqrt());
        }
        let after = self.clip.apply(&mut params.grads, before);
        let scale = if before > 0.0 && before.is_finite() {
            after / before
        } else {
            1.0
        };
        for (c, g) in self.clipped_sq_norms.iter_mut().zip(&self.grad_sq_norms) {
            *c = g * scale * scale;
        }
        (before, after)
    }

    /// Total penalty value added to the loss.
    pub fn total_penalty(&self) -> f64 {
        self.penalty.iter().sum()
    }

    pub fn layers(&self) -> usize {
        self.layer_segments.len()
    }
}

/// The segment indices of `layer` (none for a layer index out of range).
fn segments_of(layer_segments: &[Vec<usize>], layer: usize) -> &[usize] {
    layer_segments.get(layer).map_or(&[], Vec::as_slice)
}
