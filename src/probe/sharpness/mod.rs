//! The sharpness probe: λmax of the loss Hessian (preconditioned for adaptive optimizers) on a
//! fixed probe batch, by power iteration on finite-difference Hessian-vector products, every
//! `[probe] sharpness_every` steps, next to the optimizer's stability limit ([`limit`]).
//!
//! Deterministic: the first start vector is Gaussian from the scenario seed's
//! [`Stream::Sharpness`]; each later sample starts from the previous eigenvector estimate (a warm
//! start: the top direction moves slowly, so few iterations are needed). Reads the trainer, never
//! writes it: a run is bit-identical with the probe on and off.

pub mod hvp;
pub mod limit;
pub mod power;

use std::sync::atomic::{AtomicBool, Ordering};

use rand_distr::{Distribution, StandardNormal};

use self::hvp::HvpOperator;
use self::limit::preconditioner_sqrt;
use self::power::{PowerOptions, top_eigenvalue};
use crate::core::float::Real;
use crate::core::observer::Observer;
use crate::core::rng::{Stream, stream_rng};
use crate::core::train::{StepSummary, Trainer};
use crate::record::trace::SharpnessSample;

/// Power-iteration budget of the samples recorded during training: at most 20 HVPs, stopping
/// when successive estimates agree to 1e-4 relative.
pub const RECORD_OPTIONS: PowerOptions = PowerOptions {
    max_iterations: 20,
    tolerance: 1e-4,
};

/// Budget of `--predict` (one sample, so it can afford to converge further).
pub const PREDICT_OPTIONS: PowerOptions = PowerOptions {
    max_iterations: 200,
    tolerance: 1e-9,
};

/// Takes sharpness samples of one run.
#[derive(Debug, Clone)]
pub struct SharpnessProbe {
    pub hvp: HvpOperator,
    start: Vec<f64>,
    options: PowerOptions,
}

impl SharpnessProbe {
    /// A probe of `trainer`'s model and data; `seed` is the scenario seed.
    pub fn new<T: Real>(trainer: &Trainer<T>, seed: u64, options: PowerOptions) -> Self {
        let m = &trainer.model;
        let hvp = HvpOperator::new(&m.spec, &trainer.data, m.batch, trainer.loss, seed);
        let mut rng = stream_rng(seed, Stream::Sharpness);
        let start = (0..hvp.len())
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        SharpnessProbe {
            hvp,
            start,
            options,
        }
    }

    /// Samples in the probe batch.
    pub fn batch(&self) -> usize {
        self.hvp.batch()
    }

    /// The sharpness at the weights `trainer` will update next (step `trainer.step`).
    pub fn sample<T: Real>(&mut self, trainer: &Trainer<T>) -> SharpnessSample {
        let step = trainer.step;
        let lr = trainer.schedule.lr_at(step);
        let spec = *trainer.updater.optimizer.spec();
        let limit = spec.stability_constant() / lr;
        let values = &trainer.model.params.values;
        let mut sample = SharpnessSample {
            step,
            lr,
            sharpness: f64::NAN,
            preconditioned: false,
            limit,
            ratio: f64::NAN,
            hvps: 0,
            converged: false,
        };
        if values.iter().any(|v| !v.is_finite()) {
            return sample;
        }
        self.hvp.load(values);
        let u = &trainer.updater;
        let segments = &trainer.model.params.segments;
        let grad = self.hvp.center_grad();
        self.hvp.scale = preconditioner_sqrt(&u.optimizer, segments, &u.lr_scales, grad);
        sample.preconditioned = self.hvp.scale.is_some();
        let hvp = &mut self.hvp;
        let r = top_eigenvalue(&self.start, self.options, |v, out| hvp.apply(v, out));
        if r.eigenvalue.is_finite() {
            self.start = r.vector;
        }
        sample.sharpness = r.eigenvalue;
        sample.ratio = r.eigenvalue / limit;
        sample.hvps = r.iterations;
        sample.converged = r.converged;
        sample
    }
}

/// Runs `steps` steps, taking a sharpness sample before the update of every step that is a
/// multiple of `every` (step 0 included; `every = 0` takes none). `seed` is the scenario seed.
pub fn run_with_sharpness<T: Real>(
    trainer: &mut Trainer<T>,
    steps: usize,
    every: usize,
    seed: u64,
    observer: &mut dyn Observer<T>,
    stop: &AtomicBool,
) -> (Vec<StepSummary>, Vec<SharpnessSample>) {
    if every == 0 {
        return (trainer.run_until(steps, observer, stop), Vec::new());
    }
    let mut probe = SharpnessProbe::new(trainer, seed, RECORD_OPTIONS);
    let mut samples = Vec::with_capacity(steps / every + 1);
    let mut summaries = Vec::with_capacity(steps);
    for _ in 0..steps {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if trainer.step.is_multiple_of(every) {
            samples.push(probe.sample(trainer));
        }
        summaries.push(trainer.step(observer));
    }
    (summaries, samples)
}

/// The step-0 sharpness of a scenario and the largest stable learning rate it implies.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub sample: SharpnessSample,
    /// `c` of the optimizer: stable while `lr · sharpness < c`.
    pub constant: f64,
    /// `c / sharpness` (NaN when the sharpness is not positive and finite).
    pub largest_stable_lr: f64,
    pub probe_batch: usize,
}
