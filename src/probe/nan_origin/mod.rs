//! Exact NaN/Inf provenance: replay a failed run deterministically and name the first op that
//! turned finite inputs into a non-finite output.
//!
//! Costs nothing on healthy runs: [`first_nonfinite_step`] reads the step summaries the core keeps
//! anyway, and only when it finds a non-finite loss or gradient norm does [`find_nan_origin`]
//! rebuild the run from the start, replay it with a cheap parameter watch, and watch the one step
//! that went bad op by op. The replay must match the original run bit for bit;
//! [`find_nan_origin_checked`] verifies that against the original losses.

mod checker;
mod explain;
mod explain_update;

use std::path::Path;

use num_traits::Float;
use serde::{Deserialize, Serialize};

pub use self::checker::{NonFinite, first_nonfinite, summarize};
use self::checker::{OriginChecker, ParamWatch};
pub use self::explain::Hyper;
use crate::core::float::Real;
use crate::core::observer::NoopObserver;
use crate::core::train::{StepSummary, Trainer};
use crate::error::Error;
use crate::probe::trace::NanOrigin;
use crate::scenario::Scenario;
use crate::scenario::build::{build_trainer, is_f64};

/// The first step whose loss or global gradient norm is non-finite: the cheap trigger of a replay.
pub fn first_nonfinite_step(summaries: &[StepSummary]) -> Option<usize> {
    summaries
        .iter()
        .find(|s| !s.loss.is_finite() || !s.grad_norm.is_finite())
        .map(|s| s.step)
}

/// A replay and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginReplay {
    /// The first op of the examined step with a non-finite output: the op that made a non-finite
    /// value from finite inputs, or, when its inputs were already non-finite, where the damage
    /// from before the step first shows. `None` when the examined step stayed finite.
    pub origin: Option<NanOrigin>,
    /// The summaries of every replayed step, in step order.
    pub replayed: Vec<StepSummary>,
}

/// A replayed step whose loss differs in its bits from the original run's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplayDivergence {
    pub step: usize,
    #[serde(with = "crate::record::nonfinite")]
    pub original_loss: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub replayed_loss: f64,
}

/// The origin found by [`find_nan_origin_checked`], and whether the replay was faithful.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedOrigin {
    pub origin: Option<NanOrigin>,
    /// The first step (`0..=first bad step`) whose replayed loss bits differ from the original's;
    /// `None` when the replay reproduced the original run bit for bit. When `Some`, `origin`
    /// describes the replay, not necessarily the original run.
    pub replay_divergence: Option<ReplayDivergence>,
}

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
    let Some(first_bad_step) = first_nonfinite_step(original) else {
        return Ok(CheckedOrigin {
            origin: None,
            replay_divergence: None,
        });
    };
    let replay = replay(s, base_dir, first_bad_step)?;
    Ok(CheckedOrigin {
        replay_divergence: first_divergence(original, &replay.replayed),
        origin: replay.origin,
    })
}

/// The first step present in both lists whose loss bits differ.
pub fn first_divergence(
    original: &[StepSummary],
    replayed: &[StepSummary],
) -> Option<ReplayDivergence> {
    replayed.iter().find_map(|r| {
        let o = original.iter().find(|o| o.step == r.step)?;
        (o.loss.to_bits() != r.loss.to_bits()).then_some(ReplayDivergence {
            step: r.step,
            original_loss: o.loss,
            replayed_loss: r.loss,
        })
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
        norm_eps: s.model.norm_eps,
        optimizer_eps: s.optimizer.eps,
        lr: trainer.schedule.lr_at(trainer.step),
        lr_scales: trainer.updater.lr_scales.clone(),
    }
}
