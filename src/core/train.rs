//! The train loop: batch → forward → loss → backward → penalties → clip → scheduled update → step event.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::clip::Clip;
use super::data::{Batch, BatchTargets, Batcher, Dataset};
use super::float::Real;
use super::loss::{LossKind, LossTarget};
use super::model::Model;
use super::model::emit::Emit;
use super::observer::{Observer, Op, Phase, StepEvent};
use super::optim::Optimizer;
use super::precision::scaler::ScaleStep;
use super::precision::step::Precision;
use super::regularize::Penalties;
use super::schedule::Schedule;
use super::update::Updater;

/// What one step measured, kept by the core itself so a run is useful with no probe attached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub grad_norm_clipped: f64,
    /// The loss scale used and whether the step was skipped (a run with loss scaling only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleStep>,
}

/// The batch's loss with `∂loss/∂logits` in the model.
pub(crate) fn batch_loss<T: Real>(
    model: &mut Model<T>,
    loss: LossKind,
    batch: &Batch<T>,
    e: &mut Emit<'_, T>,
) -> f64 {
    let target = match &batch.targets {
        BatchTargets::Classes(labels) => LossTarget::Classes(labels),
        BatchTargets::Values(v) => LossTarget::Values(v.view()),
    };
    model.loss_forward_backward(loss, &target, e)
}

/// What a run shares with whoever started it: a flag asking it to stop at the next step
/// boundary (Ctrl-C), and the count of steps finished (for a progress display).
#[derive(Debug, Clone, Copy)]
pub struct Control<'a> {
    pub stop: &'a AtomicBool,
    pub done: &'a AtomicUsize,
}

impl Control<'_> {
    pub fn stopped(self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn step_done(self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Everything a run needs, built once; [`Trainer::step`] allocates nothing.
#[derive(Debug, Clone)]
pub struct Trainer<T> {
    pub model: Model<T>,
    pub updater: Updater<T>,
    pub schedule: Schedule,
    pub loss: LossKind,
    pub data: Dataset<T>,
    pub batcher: Batcher,
    pub batch: Batch<T>,
    /// The next step to run (0-based).
    pub step: usize,
    /// The 16-bit policy and loss scaling (inactive by default).
    pub precision: Precision<T>,
}

impl<T: Real> Trainer<T> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: Model<T>,
        optimizer: Optimizer<T>,
        schedule: Schedule,
        clip: Clip,
        penalties: Penalties,
        loss: LossKind,
        lr_scales: Vec<f64>,
        data: Dataset<T>,
        batcher: Batcher,
    ) -> Self {
        let batch = batcher.alloc_batch(&data);
        let updater = Updater::new(optimizer, clip, penalties, lr_scales, &model.params);
        let precision = Precision::off();
        Trainer {
            model,
            updater,
            schedule,
            loss,
            data,
            batcher,
            batch,
            step: 0,
            precision,
        }
    }

    /// Runs one training step and reports it to `observer`.
    ///
    /// Order: batch → forward → loss → backward → L1/L2 penalty gradients → clipping → update.
    /// Unless clipping is by global norm, each layer is penalized, clipped and updated right after
    /// its own backward pass (its weights are no longer needed by then), which gives the same
    /// numbers as updating after the whole backward pass while the gradients are still in cache.
    pub fn step(&mut self, observer: &mut dyn Observer<T>) -> StepSummary {
        if self.precision.active() {
            return self.step_precise(observer);
        }
        let step = self.step;
        self.begin(observer);
        let mut e = Emit::new(observer, step);
        let x = self.batch.x.view();
        self.model.forward(x, &mut e);
        let data_loss = batch_loss(&mut self.model, self.loss, &self.batch, &mut e);
        let lr = self.schedule.lr_at(step);
        let updater = &mut self.updater;
        updater.optimizer.begin_step();
        let norms = if updater.can_fuse() {
            self.model
                .backward_with(x, &mut e, &mut |params, layer, e| {
                    updater.prepare_layer(params, layer);
                    updater.update_layer(params, layer, lr, e);
                });
            updater.clip_global(&mut self.model.params)
        } else {
            self.model.backward(x, &mut e);
            let params = &mut self.model.params;
            for layer in 0..updater.layers() {
                updater.prepare_layer(params, layer);
            }
            let norms = updater.clip_global(params);
            for layer in 0..updater.layers() {
                updater.update_layer(params, layer, lr, &mut e);
            }
            norms
        };
        self.finish_step(e, data_loss, lr, norms, None)
    }

    /// The start of every step: `on_start` before step 0, the next batch, and the statistics
    /// the observer asked for.
    pub(crate) fn begin(&mut self, observer: &mut dyn Observer<T>) {
        if self.step == 0 {
            observer.on_start(&self.model);
        }
        self.batcher.next_into(&self.data, &mut self.batch);
        let wanted = observer.wants_stats();
        self.updater.measure_values = wanted.param_norms;
        self.model.measure_buffers = wanted.buffer_sums;
    }

    /// Reports the step to the observer and moves to the next.
    pub(crate) fn finish_step(
        &mut self,
        e: Emit<'_, T>,
        data_loss: f64,
        lr: f64,
        (grad_norm, grad_norm_clipped): (f64, f64),
        scale: Option<ScaleStep>,
    ) -> StepSummary {
        let step = self.step;
        let updater = &self.updater;
        let summary = StepSummary {
            step,
            loss: data_loss + updater.total_penalty(),
            lr,
            grad_norm,
            grad_norm_clipped,
            scale,
        };
        e.observer.on_step(&StepEvent {
            step,
            loss: summary.loss,
            lr,
            grad_norm,
            grad_norm_clipped,
            grad_sq_norms: &updater.grad_sq_norms,
            update_sq_norms: &updater.update_sq_norms,
            param_sq_norms: if updater.measure_values {
                &updater.param_sq_norms
            } else {
                &[]
            },
            model: &self.model,
            adaptive_eps: updater.optimizer.adaptive_eps(),
            scale,
        });
        self.step += 1;
        summary
    }

    /// Runs `steps` steps, returning each step's summary.
    pub fn run(&mut self, steps: usize, observer: &mut dyn Observer<T>) -> Vec<StepSummary> {
        (0..steps).map(|_| self.step(observer)).collect()
    }

    /// Like [`Trainer::run`], but checks `control.stop` before each step and returns early
    /// (fewer summaries than `steps`) once it is set: an interrupt ends a run at a step boundary,
    /// never inside one. The flag is the core's only view of interrupts; who sets it is not its
    /// business. Each finished step is counted in `control.done`.
    pub fn run_until(
        &mut self,
        steps: usize,
        observer: &mut dyn Observer<T>,
        control: Control<'_>,
    ) -> Vec<StepSummary> {
        let mut summaries = Vec::with_capacity(steps);
        for _ in 0..steps {
            if control.stopped() {
                break;
            }
            summaries.push(self.step(observer));
            control.step_done();
        }
        summaries
    }
}

impl<T: Real> Model<T> {
    /// The loss of the current logits against `target`, with `∂loss/∂logits` in `grad_logits`.
    pub fn loss_forward_backward(
        &mut self,
        loss: LossKind,
        target: &LossTarget<'_, T>,
        e: &mut Emit<'_, T>,
    ) -> f64 {
        let value = loss.forward_backward(self.logits.view(), target, self.grad_logits.view_mut());
        if e.on {
            let v = Array2::from_elem((1, 1), T::of(value));
            e.op(
                None,
                Op::Loss(loss),
                Phase::Forward,
                &[self.logits.view()],
                v.view(),
            );
            e.op(
                None,
                Op::Loss(loss),
                Phase::Backward,
                &[self.logits.view()],
                self.grad_logits.view(),
            );
        }
        value
    }
}
