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
pub mod net;
pub mod power;

use rand_distr::{Distribution, StandardNormal};

use self::hvp::HvpOperator;
use self::limit::preconditioner_sqrt;
use self::power::{PowerOptions, top_algebraic_eigenvalue};
use crate::core::float::Real;
use crate::core::gpt::train::GptTrainer;
use crate::core::observer::Observer;
use crate::core::optim::Optimizer;
use crate::core::params::Segment;
use crate::core::rng::{Stream, stream_rng};
use crate::core::train::{Control, StepSummary, Trainer};
use crate::record::trace::SharpnessSample;

/// Power-iteration budget of the samples recorded during training: at most 20 HVPs per run
/// (twice that when λmax needs the shifted run), stopping when the residual is within 1% of the
/// estimate (`‖r‖² ≤ 1e-4·θ²`, see [`power`]).
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

/// What a sample reads of a trainer (MLP or GPT) at the step it is about to take.
#[derive(Debug, Clone, Copy)]
pub struct ProbePoint<'a, T> {
    /// The next step (0-based) and its learning rate.
    pub step: usize,
    pub lr: f64,
    pub optimizer: &'a Optimizer<T>,
    pub segments: &'a [Segment],
    /// Per-layer lr multipliers (empty: all 1).
    pub lr_scales: &'a [f64],
    pub values: &'a [T],
}

impl<'a, T: Real> ProbePoint<'a, T> {
    pub fn of_mlp(trainer: &'a Trainer<T>) -> Self {
        ProbePoint {
            step: trainer.step,
            lr: trainer.schedule.lr_at(trainer.step),
            optimizer: &trainer.updater.optimizer,
            segments: &trainer.model.params.segments,
            lr_scales: &trainer.updater.lr_scales,
            values: &trainer.model.params.values,
        }
    }

    pub fn of_gpt(trainer: &'a GptTrainer<T>) -> Self {
        ProbePoint {
            step: trainer.step,
            lr: trainer.schedule.lr_at(trainer.step),
            optimizer: &trainer.optimizer,
            segments: &trainer.gpt.params.segments,
            lr_scales: &[],
            values: &trainer.gpt.params.values,
        }
    }
}

impl SharpnessProbe {
    /// A probe of `trainer`'s model and data; `seed` is the scenario seed.
    pub fn new<T: Real>(trainer: &Trainer<T>, seed: u64, options: PowerOptions) -> Self {
        let m = &trainer.model;
        let hvp = HvpOperator::new(&m.spec, &trainer.data, m.batch, trainer.loss, seed);
        Self::with(hvp, seed, options)
    }

    /// A probe of a GPT trainer's model on its probe batch (see [`net::ProbeNet::gpt`]).
    pub fn for_gpt<T: Real>(trainer: &GptTrainer<T>, seed: u64, options: PowerOptions) -> Self {
        Self::with(
            HvpOperator::gpt(trainer.gpt.spec, &trainer.data),
            seed,
            options,
        )
    }

    fn with(hvp: HvpOperator, seed: u64, options: PowerOptions) -> Self {
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
        self.sample_at(ProbePoint::of_mlp(trainer))
    }

    /// The sharpness at `at`'s weights, against its optimizer's limit at its lr.
    pub fn sample_at<T: Real>(&mut self, at: ProbePoint<'_, T>) -> SharpnessSample {
        let spec = *at.optimizer.spec();
        let limit = spec.stability_constant() / at.lr;
        let mut sample = SharpnessSample {
            step: at.step,
            lr: at.lr,
            sharpness: f64::NAN,
            preconditioned: false,
            limit,
            ratio: f64::NAN,
            hvps: 0,
            converged: false,
        };
        if at.values.iter().any(|v| !v.is_finite()) {
            return sample;
        }
        self.hvp.load(at.values);
        let grad = self.hvp.center_grad();
        self.hvp.scale = preconditioner_sqrt(at.optimizer, at.segments, at.lr_scales, grad);
        sample.preconditioned = self.hvp.scale.is_some();
        let hvp = &mut self.hvp;
        let r = top_algebraic_eigenvalue(&self.start, self.options, |v, out| hvp.apply(v, out));
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
    control: Control<'_>,
) -> (Vec<StepSummary>, Vec<SharpnessSample>) {
    if every == 0 {
        return (trainer.run_until(steps, observer, control), Vec::new());
    }
    let mut probe = SharpnessProbe::new(trainer, seed, RECORD_OPTIONS);
    let mut samples = Vec::with_capacity(steps / every + 1);
    let mut summaries = Vec::with_capacity(steps);
    for _ in 0..steps {
        if control.stopped() {
            break;
        }
        if trainer.step.is_multiple_of(every) {
            samples.push(probe.sample(trainer));
        }
        summaries.push(trainer.step(observer));
        control.step_done();
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
