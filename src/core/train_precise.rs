//! The MLP train step under a 16-bit policy or loss scaling (`core::precision`).
//!
//! Order: batch (rounded under a pure policy) → 16-bit weight copy → forward → loss (f32) →
//! `∂loss/∂logits × scale` → backward → masters back, weight gradients rounded and unscaled →
//! skip decision → penalties, clipping and update unless skipped → 16-bit storage (pure). A
//! skipped step leaves weights and optimizer state (Adam's `t` too) as they were, as
//! `GradScaler.step` does; its gradient norms are still measured and recorded.

use super::float::Real;
use super::model::emit::Emit;
use super::observer::{CastOp, CastSite, Observer};
use super::part::cast::slice_mut;
use super::precision::policy::Policy;
use super::precision::scaler::ScalerSpec;
use super::precision::step::{Precision, matmul_segments};
use super::train::{StepSummary, Trainer, batch_loss};

impl<T: Real> Trainer<T> {
    /// Trains under `policy` (none: f32) with loss scaling `scaler`; the weights are rounded
    /// to the policy's format now if it stores them in 16 bits.
    /// The layers in `keep` stay f32 (`f32_layers`).
    pub fn set_precision(&mut self, policy: Option<Policy>, scaler: ScalerSpec, keep: &[usize]) {
        let params = &self.model.params;
        let layers = params.segments.iter().map(|s| s.layer).collect();
        let segments = (matmul_segments(params), layers);
        self.precision = Precision::new(policy, scaler, segments, keep);
        if let Some(p) = policy {
            self.model.set_policy(p, keep);
        }
        self.precision.store_initial(&mut self.model.params);
    }

    pub(crate) fn step_precise(&mut self, observer: &mut dyn Observer<T>) -> StepSummary {
        let step = self.step;
        self.begin(observer);
        let mut e = Emit::new(observer, step);
        if let Some(p) = self.precision.policy.filter(|p| p.pure) {
            let info = (Some(0), CastOp::Input, CastSite::Forward);
            e.round(p.half, slice_mut(&mut self.batch.x), info);
        }
        self.precision
            .before_forward(&mut self.model.params, &mut e);
        let x = self.batch.x.view();
        self.model.forward(x, &mut e);
        let data_loss = batch_loss(&mut self.model, self.loss, &self.batch, &mut e);
        let scale = self.precision.loss_scale();
        if scale != T::one() {
            self.model.grad_logits.mapv_inplace(|g| g * scale);
        }
        self.model.backward(x, &mut e);
        let params = &mut self.model.params;
        let found_inf = self.precision.after_backward(params, &mut e);
        let decision = self.precision.decide(found_inf);
        let lr = self.schedule.lr_at(step);
        let updater = &mut self.updater;
        for layer in 0..updater.layers() {
            updater.prepare_layer(params, layer);
        }
        let norms = updater.clip_global(params);
        if decision.skipped {
            updater.update_sq_norms.fill(0.0);
            if updater.measure_values {
                for (sq, seg) in updater.param_sq_norms.iter_mut().zip(&params.segments) {
                    *sq = super::params::sq_norm(&params.values[seg.range()]);
                }
            }
        } else {
            updater.optimizer.begin_step();
            for layer in 0..updater.layers() {
                updater.update_layer(params, layer, lr, &mut e);
            }
            self.precision
                .after_update(params, &mut updater.optimizer, &mut e);
        }
        let scaled = self.precision.scaler_on().then_some(decision);
        self.finish_step(e, data_loss, lr, norms, scaled)
    }
}
