//! The run record (`run.json`, schema 1): the resolved scenario, the trace, the NaN origin and run
//! metadata, serialized deterministically (timings kept in their own field), written atomically.

pub mod atomic;
pub mod nonfinite;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::probe::trace::{NanOrigin, Trace};
use crate::scenario::Scenario;

/// Version of the run.json format; bumped on any incompatible change.
pub const SCHEMA: u32 = 1;
/// Longest trace kept in a record; longer runs are downsampled (see [`downsample`]).
pub const MAX_RECORDED_STEPS: usize = 2000;
/// Largest run.json read back (a 10,000-step deep-mlp record is a few MB).
pub const MAX_RECORD_BYTES: u64 = 256 << 20;

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

impl RunRecord {
    /// Compact JSON; the same record always gives the same bytes.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::Record {
            path: None,
            message: e.to_string(),
        })
    }

    /// Writes `dir/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<std::path::PathBuf, Error> {
        let path = dir.join("run.json");
        let mut json = self.to_json()?;
        json.push('\n');
        atomic::write_atomic(&path, json.as_bytes())?;
        Ok(path)
    }

    /// Reads a record, refusing files over [`MAX_RECORD_BYTES`] and other schema versions; errors
    /// name the file, line and column.
    pub fn read(path: &Path) -> Result<RunRecord, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let bad = |message: String| Error::Record {
            path: Some(path.to_path_buf()),
            message,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_RECORD_BYTES {
            return Err(bad(format!(
                "{len} bytes is over the {MAX_RECORD_BYTES}-byte limit for a record"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("line {}, column {}: {e}", e.line(), e.column())))?;
        match value.get("schema").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA) => {}
            other => {
                return Err(bad(format!(
                    "schema {other:?} is not supported: this stabcheck reads schema {SCHEMA}"
                )));
            }
        }
        serde_json::from_str(&text)
            .map_err(|e| bad(format!("line {}, column {}: {e}", e.line(), e.column())))
    }
}

/// Keeps at most about [`MAX_RECORDED_STEPS`] steps: every `stride`-th, the first and last, and
/// every step with a non-finite loss, gradient norm or layer value. Returns the stride.
pub fn downsample(trace: &mut Trace, max_steps: usize) -> usize {
    let n = trace.steps.len();
    let stride = n.div_ceil(max_steps.max(1)).max(1);
    if stride == 1 {
        return 1;
    }
    let last = trace.steps.last().map_or(0, |s| s.step);
    trace.steps.retain(|s| {
        let odd = !s.loss.is_finite()
            || !s.grad_norm.is_finite()
            || s.layers.iter().any(|l| l.nonfinite > 0);
        s.step % stride == 0 || s.step == last || odd
    });
    stride
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::trace::StepRecord;

    fn step(step: usize, loss: f64) -> StepRecord {
        StepRecord {
            step,
            loss,
            lr: 0.1,
            grad_norm: 1.0,
            grad_norm_clipped: 1.0,
            layers: vec![],
        }
    }

    #[test]
    fn downsampling_keeps_stride_first_last_and_non_finite_steps() {
        let mut t = Trace {
            steps: (0..10)
                .map(|i| step(i, if i == 7 { f64::NAN } else { 1.0 }))
                .collect(),
            histograms: vec![],
        };
        assert_eq!(downsample(&mut t, 4), 3);
        let kept: Vec<usize> = t.steps.iter().map(|s| s.step).collect();
        assert_eq!(kept, vec![0, 3, 6, 7, 9]);
        let mut short = Trace {
            steps: (0..3).map(|i| step(i, 1.0)).collect(),
            histograms: vec![],
        };
        assert_eq!(downsample(&mut short, 4), 1);
        assert_eq!(short.steps.len(), 3);
    }
}
