//! The run record (`run.json`): the resolved scenario, the trace, the NaN origin, the verdict and
//! run metadata, serialized deterministically (timings kept in their own field).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::trace::{NanOrigin, ReplayDivergence, Trace};
use super::verdict::Verdict;
use super::{RUN_FILE, Record, nonfinite, read};
use crate::error::Error;
use crate::scenario::Scenario;

/// Everything one `stabcheck scenario` run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    /// The scenario as resolved: every default filled in, overrides applied.
    pub scenario: Scenario,
    pub steps_run: usize,
    /// The trace holds every `step_stride`-th step, plus the first, the last and every step with a
    /// non-finite value (1 = every step).
    pub step_stride: usize,
    pub parameters: usize,
    /// FNV-1a of the final parameters' bits, in hex: equal exactly when two runs are bit-identical.
    pub param_checksum: String,
    pub trace: Trace,
    pub nan_origin: Option<NanOrigin>,
    /// Set when the NaN-origin replay did not reproduce the original run bit for bit: then
    /// `nan_origin` describes the replay, not necessarily this run.
    pub replay_divergence: Option<ReplayDivergence>,
    /// The diagnosis: findings and gate results (absent in records written before diagnoses
    /// existed, which still read).
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Wall-clock figures: the only part of a record that differs between identical runs.
    pub timings: Timings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    #[serde(with = "nonfinite")]
    pub total_ms: f64,
    #[serde(with = "nonfinite")]
    pub ms_per_step: f64,
}

impl Record for RunRecord {
    fn file_name(&self) -> String {
        RUN_FILE.to_string()
    }
}

impl RunRecord {
    /// Parses a record from JSON bytes (at most [`super::MAX_RECORD_BYTES`], schema [`super::SCHEMA`]); `path`,
    /// when given, prefixes errors.
    pub fn from_json(bytes: &[u8], path: Option<&Path>) -> Result<RunRecord, Error> {
        read::parse_json(bytes, path)
    }
}

/// Keeps at most [`MAX_NONFINITE_STEPS`] extra steps beyond the stride, so a run that diverged
/// early (every later step non-finite) still stays small.
pub const MAX_NONFINITE_STEPS: usize = 16;
/// Most distinct steps that keep gradient histograms.
pub const MAX_HISTOGRAM_STEPS: usize = 100;

/// Keeps at most about `max_steps` ([`super::MAX_RECORDED_STEPS`] in a run) steps: every `stride`-th, the first and last, and
/// every step with a non-finite loss, gradient norm or layer value. Returns the stride.
pub fn downsample(trace: &mut Trace, max_steps: usize) -> usize {
    let n = trace.steps.len();
    let stride = n.div_ceil(max_steps.max(1)).max(1);
    let last = trace.steps.last().map_or(0, |s| s.step);
    let mut extra = 0;
    trace.steps.retain(|s| {
        if s.step % stride == 0 || s.step == last {
            return true;
        }
        let odd = !s.loss.is_finite()
            || !s.grad_norm.is_finite()
            || s.layers.iter().any(|l| l.nonfinite > 0);
        extra += usize::from(odd);
        odd && extra <= MAX_NONFINITE_STEPS
    });
    downsample_histograms(trace);
    stride
}

/// Keeps the histograms of at most [`MAX_HISTOGRAM_STEPS`] evenly spaced steps (first and last included).
fn downsample_histograms(trace: &mut Trace) {
    let mut steps: Vec<usize> = trace.histograms.iter().map(|h| h.step).collect();
    steps.dedup();
    if steps.len() <= MAX_HISTOGRAM_STEPS {
        return;
    }
    let every = steps.len().div_ceil(MAX_HISTOGRAM_STEPS);
    let last = steps.last().copied();
    let keep: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(i, s)| i % every == 0 || Some(**s) == last)
        .map(|(_, s)| *s)
        .collect();
    trace
        .histograms
        .retain(|h| keep.binary_search(&h.step).is_ok());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::trace::StepRecord;

    fn step(step: usize, loss: f64) -> StepRecord {
        StepRecord {
            step,
            loss,
            lr: 0.1,
            grad_norm: 1.0,
            grad_norm_clipped: 1.0,
            layers: vec![],
            transformer: None,
            precision: None,
        }
    }

    #[test]
    fn downsampling_keeps_stride_first_last_and_non_finite_steps() {
        let mut t = Trace {
            steps: (0..10)
                .map(|i| step(i, if i == 7 { f64::NAN } else { 1.0 }))
                .collect(),
            ..Trace::default()
        };
        assert_eq!(downsample(&mut t, 4), 3);
        let kept: Vec<usize> = t.steps.iter().map(|s| s.step).collect();
        assert_eq!(kept, vec![0, 3, 6, 7, 9]);
        // A run that diverged early keeps only MAX_NONFINITE_STEPS steps beyond the stride.
        let mut diverged = Trace {
            steps: (0..1000)
                .map(|i| step(i, if i >= 5 { f64::NAN } else { 1.0 }))
                .collect(),
            ..Trace::default()
        };
        assert_eq!(downsample(&mut diverged, 10), 100);
        assert_eq!(diverged.steps.len(), 10 + 1 + MAX_NONFINITE_STEPS);
        let mut short = Trace {
            steps: (0..3).map(|i| step(i, 1.0)).collect(),
            ..Trace::default()
        };
        assert_eq!(downsample(&mut short, 4), 1);
        assert_eq!(short.steps.len(), 3);
    }
}
