//! Runs that rebuild a trainer from a scenario for a probe: the NaN-origin replay and the step-0
//! sharpness of `--predict`. The probes themselves (`probe::nan_origin`, `probe::sharpness`) only
//! observe a trainer they are given.

use std::path::Path;

use num_traits::Float;

use super::build::{build_trainer, is_f64};
use crate::core::float::Real;
use crate::core::observer::NoopObserver;
use crate::core::train::{StepSummary, Trainer};
use crate::error::Error;
use crate::probe::nan_origin::{
    CheckedOrigin, Hyper, OriginChecker, OriginReplay, ParamWatch, first_divergence,
    first_nonfinite_step,
};
use crate::probe::sharpness::{PREDICT_OPTIONS, Prediction, SharpnessProbe};
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

/// Replays `s` in its precision (see [`find_nan_origin`]).
pub fn replay(
    s: &Scenario,
    base_dir: Option<&Path>,
    first_bad_step: usize,
) -> Result<OriginReplay, Error> {
    if is_f64(s) {
        replay_in::<f64>(s, base_dir, first_bad_step)
    } else {
        replay_in::<f32>(s, base_dir, first_bad_step)
    }
}

fn replay_in<T: Real>(
    s: &Scenario,
    base_dir: Option<&Path>,
    first_bad_step: usize,
) -> Result<OriginReplay, Error> {
    let mut trainer = build_trainer::<T>(s, base_dir)?;
    let mut watch = ParamWatch::default();
    let mut replayed = Vec::with_capacity(first_bad_step + 1);
    while trainer.step < first_bad_step && watch.first_nonfinite_params.is_none() {
        replayed.push(trainer.step(&mut watch));
    }
    if let Some(step) = watch.first_nonfinite_params {
        // That step's update left a parameter non-finite: examine it again from a fresh build.
        trainer = build_trainer::<T>(s, base_dir)?;
        trainer.run(step, &mut NoopObserver);
    }
    let mut checker = OriginChecker::new(hyper_of(s, &trainer));
    let summary = trainer.step(&mut checker);
    if watch.first_nonfinite_params.is_none() {
        replayed.push(summary);
    }
    Ok(OriginReplay {
        origin: checker.origin,
        replayed,
    })
}

/// The hyperparameters in effect at `trainer`'s next step.
fn hyper_of<T: Real>(s: &Scenario, trainer: &Trainer<T>) -> Hyper {
    Hyper {
        precision: T::NAME,
        max: <T as Float>::max_value().wide(),
        norm_eps: s.mlp().map_or(0.0, |m| m.norm_eps),
        optimizer_eps: s.optimizer.eps,
        lr: trainer.schedule.lr_at(trainer.step),
        lr_scales: trainer.updater.lr_scales.clone(),
    }
}

/// The step-0 sharpness of `s` (no training), with [`PREDICT_OPTIONS`].
pub fn predict(s: &Scenario, base_dir: Option<&Path>) -> Result<Prediction, Error> {
    if s.transformer().is_some() {
        let what = "`--predict` (the step-0 sharpness)";
        return Err(Error::NotForTransformer { what });
    }
    fn at_step_0<T: Real>(trainer: Trainer<T>, seed: u64) -> Prediction {
        let mut probe = SharpnessProbe::new(&trainer, seed, PREDICT_OPTIONS);
        let sample = probe.sample(&trainer);
        let constant = trainer.updater.optimizer.spec().stability_constant();
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
    Ok(if is_f64(s) {
        at_step_0(build_trainer::<f64>(s, base_dir)?, s.seed)
    } else {
        at_step_0(build_trainer::<f32>(s, base_dir)?, s.seed)
    })
}
