//! The train loop: batch → forward → loss → backward → penalties → clip → scheduled update → step event.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::clip::Clip;
use super::data::{Batch, BatchTargets, Batcher, Dataset};
use super::float::Real;
use super::loss::{LossKind, LossTarget};
use super::model::Model;
use super::model::emit::Emit;
use super::observer::{Observer, Phase, StepEvent};
use super::optim::Optimizer;
use super::regularize::Penalties;
use super::schedule::Schedule;

/// What one step measured, kept by the core itself so a run is useful with no probe attached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub grad_norm_clipped: f64,
}

/// Everything a run needs, built once; [`Trainer::step`] allocates nothing.
#[derive(Debug, Clone)]
pub struct Trainer<T> {
    pub model: Model<T>,
    pub optimizer: Optimizer<T>,
    pub schedule: Schedule,
    pub clip: Clip,
    pub penalties: Penalties,
    pub loss: LossKind,
    /// Learning-rate multiplier of each layer (`depth + 1` entries), from `[[optimizer.groups]]`.
    pub lr_scales: Vec<f64>,
    pub data: Dataset<T>,
    pub batcher: Batcher,
    pub batch: Batch<T>,
    update_sq_norms: Vec<f64>,
    /// The next step to run (0-based).
    pub step: usize,
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
        let update_sq_norms = vec![0.0; model.params.segments.len()];
        Trainer {
            model,
            optimizer,
            schedule,
            clip,
            penalties,
            loss,
            lr_scales,
            data,
            batcher,
            batch,
            update_sq_norms,
            step: 0,
        }
    }

    /// Runs one training step and reports it to `observer`.
    pub fn step(&mut self, observer: &mut dyn Observer<T>) -> StepSummary {
        let step = self.step;
        self.batcher.next_into(&self.data, &mut self.batch);
        let mut e = Emit::new(observer, step);
        let x = self.batch.x.view();
        self.model.forward(x, &mut e);
        let data_loss = {
            let target = match &self.batch.targets {
                BatchTargets::Classes(labels) => LossTarget::Classes(labels),
                BatchTargets::Values(v) => LossTarget::Values(v.view()),
            };
            let m = &mut self.model;
            m.loss_forward_backward(self.loss, &target, &mut e)
        };
        self.model.backward(x, &mut e);
        let penalty = self.penalties.apply(&mut self.model.params);
        let grad_norm = self.model.params.grad_norm();
        let grad_norm_clipped = self.clip.apply(&mut self.model.params.grads, grad_norm);
        let lr = self.schedule.lr_at(step);
        self.update(lr, &mut e);
        let summary = StepSummary {
            step,
            loss: data_loss + penalty,
            lr,
            grad_norm,
            grad_norm_clipped,
        };
        e.observer.on_step(&StepEvent {
            step,
            loss: summary.loss,
            lr,
            grad_norm,
            grad_norm_clipped,
            update_sq_norms: &self.update_sq_norms,
            model: &self.model,
        });
        self.step += 1;
        summary
    }

    /// Runs `steps` steps, returning each step's summary.
    pub fn run(&mut self, steps: usize, observer: &mut dyn Observer<T>) -> Vec<StepSummary> {
        (0..steps).map(|_| self.step(observer)).collect()
    }

    fn update(&mut self, lr: f64, e: &mut Emit<'_, T>) {
        self.optimizer.begin_step();
        let params = &mut self.model.params;
        for (k, seg) in params.segments.iter().enumerate() {
            let r = seg.range();
            let seg_lr = lr * self.lr_scales.get(seg.layer).copied().unwrap_or(1.0);
            self.update_sq_norms[k] = self.optimizer.update_segment(
                seg,
                &mut params.values[r.clone()],
                &params.grads[r.clone()],
                seg_lr,
            );
            if e.on {
                let shape = (seg.rows, seg.cols);
                let value = ArrayView2::from_shape(shape, &params.values[r.clone()]);
                let grad = ArrayView2::from_shape(shape, &params.grads[r]);
                if let (Ok(value), Ok(grad)) = (value, grad) {
                    e.op(
                        Some(seg.layer),
                        self.optimizer.op_name(),
                        Phase::Update,
                        &[grad],
                        value,
                    );
                }
            }
        }
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
                loss.name(),
                Phase::Forward,
                &[self.logits.view()],
                v.view(),
            );
            e.op(
                None,
                loss.name(),
                Phase::Backward,
                &[self.logits.view()],
                self.grad_logits.view(),
            );
        }
        value
    }
}
