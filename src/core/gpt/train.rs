//! One GPT training step: next batch, forward, loss, backward, global-norm clipping, optimizer update.
//!
//! The order and the conventions are the MLP trainer's (`core::train`): the schedule gives the
//! rate of 0-based step t, clipping sees the global norm in `f64`, the optimizer updates each
//! segment with its own state. Weight decay follows the optimizer's rule (weight matrices and
//! embeddings only). Every buffer is allocated in [`GptTrainer::new`]: a step allocates nothing.

use super::Gpt;
use super::token_loss::TokenLoss;
use crate::core::clip::Clip;
use crate::core::data::batcher::Batcher;
use crate::core::data::tokens::TokenData;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{NoopObserver, Observer, Op, Phase, StepEvent};
use crate::core::optim::Optimizer;
use crate::core::params::{Segment, sq_norm};
use crate::core::precision::policy::Policy;
use crate::core::precision::scaler::{ScaleStep, ScalerSpec};
use crate::core::precision::step::Precision;
use crate::core::schedule::Schedule;
use crate::core::train::StepSummary;
use ndarray::ArrayView2;

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GptStep {
    pub step: usize,
    pub loss: TokenLoss,
    pub lr: f64,
    /// Global gradient norm before clipping, and after it.
    pub grad_norm: f64,
    pub grad_norm_clipped: f64,
    /// `‖Δθ‖` of the update actually applied.
    pub update_norm: f64,
    /// The loss scale and skip decision, in a run with loss scaling.
    pub scale: Option<ScaleStep>,
}

impl GptStep {
    /// The step as the MLP trainer summarizes one (the loss is the total, z-loss included).
    pub fn summary(&self) -> StepSummary {
        StepSummary {
            step: self.step,
            loss: self.loss.total,
            lr: self.lr,
            grad_norm: self.grad_norm,
            grad_norm_clipped: self.grad_norm_clipped,
            scale: self.scale,
        }
    }
}

/// A GPT with its optimizer, schedule, clipping and token data.
#[derive(Debug, Clone)]
pub struct GptTrainer<T> {
    pub gpt: Gpt<T>,
    pub optimizer: Optimizer<T>,
    pub schedule: Schedule,
    pub clip: Clip,
    pub data: TokenData,
    pub batcher: Batcher,
    pub tokens: Vec<u32>,
    pub targets: Vec<u32>,
    /// The next step to run (0-based).
    pub step: usize,
    /// Per segment, for the step event: `‖g‖²` before clipping, `‖Δθ‖²`, `‖θ‖²` after the update.
    grad_sq: Vec<f64>,
    update_sq: Vec<f64>,
    param_sq: Vec<f64>,
    /// The probe-order layer of each segment, under which its update is reported.
    segment_layers: Vec<usize>,
    /// The 16-bit policy and loss scaling (inactive by default).
    pub precision: Precision<T>,
}

impl<T: Real> GptTrainer<T> {
    /// `data` must have the model's vocabulary and context (the scenario layer checks it); the
    /// batcher draws `gpt.spec.batch` sequences per step with the run's shuffle stream.
    pub fn new(
        gpt: Gpt<T>,
        optimizer: Optimizer<T>,
        schedule: Schedule,
        clip: Clip,
        data: TokenData,
        seed: u64,
    ) -> Self {
        let n = gpt.spec.tokens();
        let segments = gpt.params.segments.len();
        let batcher = Batcher::new(data.samples(), gpt.spec.batch, seed);
        let segment_layers = gpt.segment_layers();
        GptTrainer {
            gpt,
            optimizer,
            schedule,
            clip,
            data,
            batcher,
            tokens: vec![0; n],
            targets: vec![0; n],
            step: 0,
            grad_sq: vec![0.0; segments],
            update_sq: vec![0.0; segments],
            param_sq: vec![0.0; segments],
            segment_layers,
            precision: Precision::off(),
        }
    }

    /// Trains under `policy` (none: f32) with loss scaling `scaler`; the weights are rounded
    /// to the policy's format now if it stores them in 16 bits.
    /// The layers in `keep` stay f32 (`f32_layers`).
    pub fn set_precision(&mut self, policy: Option<Policy>, scaler: ScalerSpec, keep: &[usize]) {
        let segments = (self.gpt.matmul_segments(), self.segment_layers.clone());
        self.precision = Precision::new(policy, scaler, segments, keep);
        if let Some(p) = policy {
            self.gpt.set_policy(p, keep);
        }
        self.precision.store_initial(&mut self.gpt.params);
    }

    /// Trains on the next batch of the data.
    pub fn step(&mut self) -> GptStep {
        self.step_observed(&mut NoopObserver)
    }

    /// [`GptTrainer::step`], reported to `observer` (its `on_start` before step 0).
    pub fn step_observed(&mut self, observer: &mut dyn Observer<T>) -> GptStep {
        self.data
            .next_batch(&mut self.batcher, &mut self.tokens, &mut self.targets);
        let (tokens, targets) = (
            std::mem::take(&mut self.tokens),
            std::mem::take(&mut self.targets),
        );
        let out = self.step_on_observed(&tokens, &targets, observer);
        (self.tokens, self.targets) = (tokens, targets);
        out
    }

    /// Trains on the given batch (`batch × context` tokens and next-token targets). The
    /// gradients stay in `gpt.params.grads` (clipped) for whoever wants to read them.
    pub fn step_on(&mut self, tokens: &[u32], targets: &[u32]) -> GptStep {
        self.step_on_observed(tokens, targets, &mut NoopObserver)
    }

    /// [`GptTrainer::step_on`], reported to `observer`. The per-segment norms cost a pass over
    /// the gradients (and, when asked, the values) that the unobserved step does not make.
    pub fn step_on_observed(
        &mut self,
        tokens: &[u32],
        targets: &[u32],
        observer: &mut dyn Observer<T>,
    ) -> GptStep {
        let step = self.step;
        if step == 0 {
            observer.on_start(&self.gpt);
        }
        let wanted = observer.wants_stats();
        self.gpt.set_attention_stats(wanted.attention);
        self.gpt.set_buffer_sums(wanted.buffer_sums);
        let mut e = Emit::new(observer, step);
        let active = self.precision.active();
        self.gpt.grad_scale = self.precision.loss_scale();
        self.precision.before_forward(&mut self.gpt.params, &mut e);
        let loss = self.gpt.forward_backward_reported(tokens, targets, &mut e);
        let params = &mut self.gpt.params;
        let scale = match active {
            true => {
                let found_inf = self.precision.after_backward(params, &mut e);
                Some(self.precision.decide(found_inf))
            }
            false => None,
        };
        let skipped = scale.is_some_and(|s| s.skipped);
        for (sq, seg) in self.grad_sq.iter_mut().zip(&params.segments) {
            *sq = sq_norm(&params.grads[seg.range()]);
        }
        // The global norm as the sum of the segments' (the order clipping has always used).
        let grad_norm = self.grad_sq.iter().sum::<f64>().sqrt();
        let grad_norm_clipped = self.clip.apply(&mut params.grads, grad_norm);
        let lr = self.schedule.lr_at(step);
        if skipped {
            self.update_sq.fill(0.0);
        } else {
            self.optimizer.begin_step();
        }
        for (k, seg) in params.segments.iter().enumerate() {
            if skipped {
                self.param_sq[k] = sq_norm(&params.values[seg.range()]);
                continue;
            }
            let r = seg.range();
            let values = &mut params.values[r.clone()];
            let grads = &params.grads[r];
            // `‖θ‖²` in the update's own pass (bit-identical to `sq_norm` of the new values).
            let m = (self.optimizer).update_segment_measured(
                seg,
                values,
                grads,
                lr,
                wanted.param_norms,
            );
            self.update_sq[k] = m.change_sq;
            if wanted.param_norms {
                self.param_sq[k] = m.value_sq;
            }
            if e.on {
                report_update(
                    &mut e,
                    self.optimizer.op(),
                    seg,
                    values,
                    grads,
                    self.segment_layers[k],
                );
            }
        }
        if !skipped {
            self.precision
                .after_update(params, &mut self.optimizer, &mut e);
        }
        let observer = e.observer;
        self.step += 1;
        let out = GptStep {
            step,
            loss,
            lr,
            grad_norm,
            grad_norm_clipped,
            update_norm: self.update_sq.iter().sum::<f64>().sqrt(),
            scale: scale.filter(|_| self.precision.scaler_on()),
        };
        observer.on_step(&StepEvent {
            step,
            loss: loss.total,
            lr,
            grad_norm,
            grad_norm_clipped,
            grad_sq_norms: &self.grad_sq,
            update_sq_norms: &self.update_sq,
            param_sq_norms: if wanted.param_norms {
                &self.param_sq
            } else {
                &[]
            },
            model: &self.gpt,
            adaptive_eps: self.optimizer.adaptive_eps(),
            scale: out.scale,
        });
        out
    }
}

/// One segment's update as an op event: input its gradient, output the updated values.
fn report_update<T: Real>(
    e: &mut Emit<'_, T>,
    op: Op,
    seg: &Segment,
    values: &[T],
    grads: &[T],
    layer: usize,
) {
    let shape = (seg.rows, seg.cols);
    let (value, grad) = (
        ArrayView2::from_shape(shape, values),
        ArrayView2::from_shape(shape, grads),
    );
    if let (Ok(value), Ok(grad)) = (value, grad) {
        e.op(Some(layer), op, Phase::Update, &[grad], value);
    }
}

#[cfg(test)]
#[path = "train_tests.rs"]
mod tests;
