//! Runs that rebuild a trainer from a scenario for a probe: the NaN-origin replay and the step-0
//! sharpness of `--predict`, for an MLP or a transformer. The probes themselves (`probe::nan_origin`, `probe::sharpness`) only
//! observe a trainer they are given.

use std::path::Path;

use num_traits::Float;

use super::build::{build_trainer, is_f64};
use super::gpt::build_gpt_trainer;
use crate::core::float::Real;
use crate::core::gpt::train::GptTrainer;
use crate::core::model::view::Probed;
use crate::core::observer::{NoopObserver, Observer};
use crate::core::train::{StepSummary, Trainer};
use crate::error::Error;
use crate::probe::nan_origin::{
    CheckedOrigin, Hyper, OriginChecker, OriginReplay, ParamWatch, first_divergence,
    first_nonfinite_step,
};
use crate::probe::sharpness::{PREDICT_OPTIONS, Prediction, ProbePoint, SharpnessProbe};
use crate::record::trace::NanOrigin;
use crate::scenario::Scenario;

/// Replays `s` from the start and names the op where the first non-finite value appeared.
///
/// Steps `0..first_bad_step` run with only a parameter watch (no op events). If some update left a
/// parameter non-finite before `first_bad_step` (an update can do that while its step's loss and
/// gradient norm are finite), that step is the one examined; otherwise `first_bad_step` is. The
/// examined step runs with op-level checking.
pub fn find_nan_origin(
    s: &Scenario,
    base_dir: Option<&Path>,
    first_bad_step: usize,
) -> Result<Option<NanOrigin>, Error> {
    Ok(replay(s, base_dir, first_bad_step)?.origin)
}

/// [`find_nan_origin`] from the original run's summaries: finds the first bad step with
/// [`first_nonfinite_step`] (no replay at all when there is none) and checks that every replayed
/// loss has the original's bits.
pub fn find_nan_origin_checked(
    s: &Scenario,
    base_dir: Option<&Path>,
    original: &[StepSummary],
) -> Result<CheckedOrigin, Error> {
    replay_checked(s, base_dir, original, first_nonfinite_step(original))
}

/// Replays `s` to step `trigger` (no replay at all when `None`) and checks that every replayed
/// loss has the bits of the same step in `original`.
pub fn replay_checked(
    s: &Scenario,
    base_dir: Option<&Path>,
    original: &[StepSummary],
    trigger: Option<usize>,
) -> Result<CheckedOrigin, Error> {
    let Some(first_bad_step) = trigger else {
        return Ok(CheckedOrigin {
            origin: None,
            replay_divergence: None,
        });
    };
    let replayed = replay(s, base_dir, first_bad_step)?;
    Ok(CheckedOrigin {
        replay_divergence: first_divergence(original, &replayed.replayed),
        origin: replayed.origin,
    })
}

/// Replays `s` in its precision (see [`find_nan_origin`]), an MLP or a transformer.
pub fn replay(
    s: &Scenario,
    base_dir: Option<&Path>,
    first_bad_step: usize,
) -> Result<OriginReplay, Error> {
    match (s.transformer(), is_f64(s)) {
        (Some(t), true) => replay_in(
            || build_gpt_trainer::<f64>(s, t, base_dir),
            s,
            first_bad_step,
        ),
        (Some(t), false) => replay_in(
            || build_gpt_trainer::<f32>(s, t, base_dir),
            s,
            first_bad_step,
        ),
        (None, true) => replay_in(|| build_trainer::<f64>(s, base_dir), s, first_bad_step),
        (None, false) => replay_in(|| build_trainer::<f32>(s, base_dir), s, first_bad_step),
    }
}

/// What a replay needs of a trainer, the MLP's or the GPT's.
trait Replayable<T: Real> {
    /// The next step to run (0-based).
    fn next_step(&self) -> usize;
    fn step_with(&mut self, observer: &mut dyn Observer<T>) -> StepSummary;
    /// The hyperparameters in effect at the next step.
    fn hyper(&self, s: &Scenario) -> Hyper;
    /// Each probe layer's module name (none for the MLP).
    fn layer_names(&self) -> Vec<String>;
}

impl<T: Real> Replayable<T> for Trainer<T> {
    fn next_step(&self) -> usize {
        self.step
    }
    fn step_with(&mut self, observer: &mut dyn Observer<T>) -> StepSummary {
        self.step(observer)
    }
    fn hyper(&self, s: &Scenario) -> Hyper {
        Hyper {
            norm_eps: s.mlp().map_or(0.0, |m| m.norm_eps),
            lr: self.schedule.lr_at(self.step),
            lr_scales: self.updater.lr_scales.clone(),
            ..base_hyper::<T>(s)
        }
    }
    fn layer_names(&self) -> Vec<String> {
        Vec::new()
    }
}

impl<T: Real> Replayable<T> for GptTrainer<T> {
    fn next_step(&self) -> usize {
        self.step
    }
    fn step_with(&mut self, observer: &mut dyn Observer<T>) -> StepSummary {
        self.step_observed(observer).summary()
    }
    fn hyper(&self, s: &Scenario) -> Hyper {
        Hyper {
            norm_eps: s.transformer().map_or(0.0, |t| t.norm_eps),
            lr: self.schedule.lr_at(self.step),
            ..base_hyper::<T>(s)
        }
    }
    fn layer_names(&self) -> Vec<String> {
        let gpt = &self.gpt;
        (0..gpt.layer_count())
            .map(|l| gpt.layer_name(l).unwrap_or_default())
            .collect()
    }
}

fn base_hyper<T: Real>(s: &Scenario) -> Hyper {
    Hyper {
        precision: T::NAME,
        max: <T as Float>::max_value().wide(),
        norm_eps: 0.0,
        optimizer_eps: s.optimizer.eps,
        lr: 0.0,
        lr_scales: Vec::new(),
    }
}

fn replay_in<T: Real, R: Replayable<T>>(
    build: impl Fn() -> Result<R, Error>,
    s: &Scenario,
    first_bad_step: usize,
) -> Result<OriginReplay, Error> {
    let mut trainer = build()?;
    let mut watch = ParamWatch::default();
    let mut replayed = Vec::with_capacity(first_bad_step + 1);
    while trainer.next_step() < first_bad_step && watch.first_nonfinite_params.is_none() {
        replayed.push(trainer.step_with(&mut watch));
    }
    if let Some(step) = watch.first_nonfinite_params {
        // That step's update left a parameter non-finite: examine it again from a fresh build.
        trainer = build()?;
        while trainer.next_step() < step {
            trainer.step_with(&mut NoopObserver);
        }
    }
    let mut checker = OriginChecker::new(trainer.hyper(s)).with_layer_names(trainer.layer_names());
    let summary = trainer.step_with(&mut checker);
    if watch.first_nonfinite_params.is_none() {
        replayed.push(summary);
    }
    Ok(OriginReplay {
        origin: checker.origin,
        replayed,
    })
}

/// The step-0 sharpness of `s` (no training), with [`PREDICT_OPTIONS`], MLP or transformer.
pub fn predict(s: &Scenario, base_dir: Option<&Path>) -> Result<Prediction, Error> {
    fn at_step_0<T: Real>(mut probe: SharpnessProbe, at: ProbePoint<'_, T>) -> Prediction {
        let sample = probe.sample_at(at);
        let constant = at.optimizer.spec().stability_constant();
        let largest_stable_lr = if sample.sharpness > 0.0 && sample.sharpness.is_finite() {
            constant / sample.sharpness
        } else {
            f64::NAN
        };
        Prediction {
            sample,
            constant,
            largest_stable_lr,
            probe_batch: probe.batch(),
        }
    }
    fn mlp<T: Real>(t: Trainer<T>, seed: u64) -> Prediction {
        at_step_0(
            SharpnessProbe::new(&t, seed, PREDICT_OPTIONS),
            ProbePoint::of_mlp(&t),
        )
    }
    fn gpt<T: Real>(t: GptTrainer<T>, seed: u64) -> Prediction {
        at_step_0(
            SharpnessProbe::for_gpt(&t, seed, PREDICT_OPTIONS),
            ProbePoint::of_gpt(&t),
        )
    }
    let seed = s.seed;
    Ok(match (s.transformer(), is_f64(s)) {
        (Some(t), true) => gpt(build_gpt_trainer::<f64>(s, t, base_dir)?, seed),
        (Some(t), false) => gpt(build_gpt_trainer::<f32>(s, t, base_dir)?, seed),
        (None, true) => mlp(build_trainer::<f64>(s, base_dir)?, seed),
        (None, false) => mlp(build_trainer::<f32>(s, base_dir)?, seed),
    })
}
