//! Runs a scenario end to end in its precision and summarizes what the core measured.

pub mod build;
pub mod gpt;
pub mod precision_check;
pub mod replay;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use std::time::{Duration, Instant};

use crate::core::float::Real;
use crate::core::observer::NoopObserver;
use crate::core::train::{Control, StepSummary, Trainer};
use crate::diagnose::{self, Verdict};
use crate::error::Error;
use crate::probe::nan_origin::{CheckedOrigin, first_nonfinite_step};
use crate::probe::recorder::Recorder;
use crate::probe::sharpness::run_with_sharpness;
use crate::record::atomic::save_npz;
use crate::record::trace::Trace;
use crate::record::{MAX_RECORDED_STEPS, RunRecord, SCHEMA, Timings, downsample};
use crate::scenario::Scenario;
use build::{build_trainer, is_f64};
use gpt::{build_gpt_trainer, gpt_recorded_in};
use replay::replay_checked;

/// The outcome of one run, in `f64` whatever the run's precision.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub steps: Vec<StepSummary>,
    pub n_params: usize,
    /// FNV-1a of the final parameters' bits: equal exactly when the runs are bit-identical.
    pub param_checksum: u64,
}

/// A run watched by the probes: the summary, the trace, and the NaN origin when one was found.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRun {
    pub summary: RunSummary,
    pub trace: Trace,
    pub origin: CheckedOrigin,
    /// The diagnosis of the full (not downsampled) trace.
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// Within `elapsed`: training with the probes on, the NaN-origin replay (zero on a healthy
    /// run), and the diagnoses.
    pub train_elapsed: Duration,
    pub replay_elapsed: Duration,
    pub diagnose_elapsed: Duration,
}

/// Builds and runs `s` with the probe recorder attached; when a step went non-finite, replays the
/// run to name the op where it started (a healthy run never replays).
///
/// `save_weights`: where to write the final weights (`.npz`, the run's precision), if anywhere.
pub fn run_recorded(
    s: &Scenario,
    base_dir: Option<&Path>,
    save_weights: Option<&Path>,
) -> Result<RecordedRun, Error> {
    let (stop, done) = (AtomicBool::new(false), AtomicUsize::new(0));
    run_recorded_until(
        s,
        base_dir,
        save_weights,
        Control {
            stop: &stop,
            done: &done,
        },
    )
}

/// [`run_recorded`] that stops at the next step boundary once `control.stop` is set (Ctrl-C),
/// with [`Error::Interrupted`]: an interrupted run has no verdict and writes nothing. Finished
/// steps are counted in `control.done`.
pub fn run_recorded_until(
    s: &Scenario,
    base_dir: Option<&Path>,
    save_weights: Option<&Path>,
    stop: Control<'_>,
) -> Result<RecordedRun, Error> {
    let started = Instant::now();
    let (summary, trace) = match (s.transformer(), is_f64(s)) {
        (Some(t), true) => {
            gpt_recorded_in::<f64>(build_gpt_trainer(s, t, base_dir)?, s, save_weights, stop)?
        }
        (Some(t), false) => {
            gpt_recorded_in::<f32>(build_gpt_trainer(s, t, base_dir)?, s, save_weights, stop)?
        }
        (None, true) => recorded_in::<f64>(build_trainer(s, base_dir)?, s, save_weights, stop)?,
        (None, false) => recorded_in::<f32>(build_trainer(s, base_dir)?, s, save_weights, stop)?,
    };
    let train_elapsed = started.elapsed();
    let origin = find_origin(s, base_dir, &summary.steps, &trace)?;
    let replay_elapsed = started.elapsed() - train_elapsed;
    let diagnosing = Instant::now();
    let verdict = diagnose::run(&trace, s, origin.origin.as_ref());
    let diagnose_elapsed = diagnosing.elapsed();
    Ok(RecordedRun {
        summary,
        trace,
        origin,
        verdict,
        elapsed: started.elapsed(),
        train_elapsed,
        replay_elapsed,
        diagnose_elapsed,
    })
}

/// The NaN origin, replayed from the first step whose loss or gradient norm is non-finite, or
/// (earlier, when an update made a weight non-finite while the step still looked finite) the first
/// step whose recorded layers hold a non-finite value.
fn find_origin(
    s: &Scenario,
    base_dir: Option<&Path>,
    steps: &[StepSummary],
    trace: &Trace,
) -> Result<CheckedOrigin, Error> {
    let by_layers = trace
        .steps
        .iter()
        .find(|r| r.layers.iter().any(|l| l.nonfinite > 0))
        .map(|r| r.step);
    let trigger = match (first_nonfinite_step(steps), by_layers) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    replay_checked(s, base_dir, steps, trigger)
}

fn recorded_in<T: Real>(
    mut trainer: Trainer<T>,
    s: &Scenario,
    save_weights: Option<&Path>,
    stop: Control<'_>,
) -> Result<(RunSummary, Trace), Error> {
    let mut recorder = Recorder::<T>::new(s.probe.histogram_every, s.steps);
    let every = s.probe.sharpness_every;
    let (steps, sharpness) =
        run_with_sharpness(&mut trainer, s.steps, every, s.seed, &mut recorder, stop);
    if steps.len() < s.steps {
        return Err(Error::Interrupted {
            step: steps.len(),
            steps: s.steps,
        });
    }
    let summary = RunSummary {
        steps,
        n_params: trainer.model.params.len(),
        param_checksum: checksum(&trainer.model.params.values),
    };
    if let Some(path) = save_weights {
        save_npz(path, &trainer.model.params)?;
    }
    let mut trace = recorder.into_trace();
    trace.sharpness = sharpness;
    Ok((summary, trace))
}

impl RecordedRun {
    /// The run.json record of this run (long traces downsampled in place, not copied).
    pub fn into_record(self, s: &Scenario) -> RunRecord {
        let mut trace = self.trace;
        let step_stride = downsample(&mut trace, MAX_RECORDED_STEPS);
        let total_ms = self.elapsed.as_secs_f64() * 1e3;
        RunRecord {
            schema: SCHEMA,
            stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: s.clone(),
            steps_run: self.summary.steps.len(),
            step_stride,
            parameters: self.summary.n_params,
            param_checksum: format!("{:016x}", self.summary.param_checksum),
            trace,
            nan_origin: self.origin.origin,
            replay_divergence: self.origin.replay_divergence,
            verdict: Some(self.verdict),
            timings: Timings {
                total_ms,
                ms_per_step: total_ms / self.summary.steps.len().max(1) as f64,
            },
        }
    }
}

/// Builds and runs `s` for `s.steps` steps.
pub fn run_scenario(s: &Scenario, base_dir: Option<&Path>) -> Result<RunSummary, Error> {
    if s.transformer().is_some() {
        let run = run_recorded(s, base_dir, None)?;
        return Ok(run.summary);
    }
    if is_f64(s) {
        Ok(run_in::<f64>(build_trainer(s, base_dir)?, s.steps))
    } else {
        Ok(run_in::<f32>(build_trainer(s, base_dir)?, s.steps))
    }
}

fn run_in<T: Real>(mut trainer: Trainer<T>, steps: usize) -> RunSummary {
    let steps = trainer.run(steps, &mut NoopObserver);
    RunSummary {
        steps,
        n_params: trainer.model.params.len(),
        param_checksum: checksum(&trainer.model.params.values),
    }
}

/// FNV-1a (64-bit) over each value's `f64` bit pattern.
pub fn checksum<T: Real>(values: &[T]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    values.iter().fold(OFFSET, |h, v| {
        v.wide()
            .to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_tells_bit_patterns_apart() {
        assert_ne!(checksum(&[0.0f64]), checksum(&[-0.0f64]));
        assert_ne!(checksum(&[1.0f32, 2.0]), checksum(&[2.0f32, 1.0]));
        assert_eq!(checksum(&[1.5f32]), checksum(&[1.5f64]));
        // FNV-1a of no bytes is the offset basis.
        assert_eq!(checksum::<f64>(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
