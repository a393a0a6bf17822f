//! Training data: the data spec, the in-memory dataset, and `load`, which dispatches to the generators.
//!
//! Every dataset is generated (or parsed) in `f64`, every random draw coming from
//! `stream_rng(seed, Stream::DataGen)`; then `input_scale` multiplies the inputs (the targets are
//! already fixed, so it changes only what the model sees) and the result is cast to `T`. So the data
//! depends on (seed, spec) alone, never on the model. Kinds: [`teacher`] (classification and
//! regression), [`spirals`], [`csv`]. The seeded epoch batcher is in [`batcher`].

pub mod batcher;
pub mod csv;
pub mod csv_error;
pub mod spirals;
pub mod teacher;
pub mod tokens;

use std::fmt;
use std::path::PathBuf;

use ndarray::Array2;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::float::Real;
use crate::core::rng::{Stream, stream_rng};

pub use self::batcher::{Batch, BatchTargets, Batcher};
pub use self::csv_error::{CsvError, CsvErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    TeacherClassification,
    TeacherRegression,
    Spirals,
    Csv,
    /// Token sequences for a transformer (`core::data::tokens`), not feature vectors.
    Tokens,
}

impl DataKind {
    /// The kebab-case name used in scenario files and messages.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::TeacherClassification => "teacher-classification",
            DataKind::TeacherRegression => "teacher-regression",
            DataKind::Spirals => "spirals",
            DataKind::Csv => "csv",
            DataKind::Tokens => "tokens",
        }
    }
}

/// What the targets are: class labels in `0..classes`, or `outputs` real values per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Classification { classes: usize },
    Regression { outputs: usize },
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Classification { classes } => write!(f, "classification into {classes} classes"),
            Task::Regression { outputs } => write!(f, "regression with {outputs} outputs"),
        }
    }
}

/// Everything that decides a dataset, apart from the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    pub kind: DataKind,
    /// Input features; required by the teacher kinds, 2 (or unset) for spirals, checked against CSV.
    pub inputs: Option<usize>,
    pub task: Task,
    /// Number of samples; required by the synthetic kinds, the first N rows of a CSV file.
    pub samples: Option<usize>,
    /// Multiplies every input after the targets are computed.
    pub input_scale: f64,
    /// The CSV file (kind `csv` only).
    pub path: Option<PathBuf>,
}

/// Targets of a whole dataset, one per row of `x`.
#[derive(Debug, Clone)]
pub enum Targets<T> {
    Classes(Vec<usize>),
    Values(Array2<T>),
}

/// Inputs `x` (`[samples, inputs]`) with their targets.
#[derive(Debug, Clone)]
pub struct Dataset<T> {
    pub x: Array2<T>,
    pub targets: Targets<T>,
    pub task: Task,
}

impl<T: Real> Dataset<T> {
    pub fn len(&self) -> usize {
        self.x.nrows()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn inputs(&self) -> usize {
        self.x.ncols()
    }
    /// Number of classes (classification) or target values per sample (regression).
    pub fn outputs(&self) -> usize {
        match self.task {
            Task::Classification { classes } => classes,
            Task::Regression { outputs } => outputs,
        }
    }
}

/// Why a dataset could not be made. Every variant's message is a full sentence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A setting this data kind needs is not set.
    #[error("data kind `{kind}` needs `{key}` in [data], but it is not set")]
    MissingKey {
        kind: &'static str,
        key: &'static str,
    },
    /// A size (`inputs`, `samples`, `classes`, `outputs`) is zero.
    #[error("`{key}` in [data] must be at least 1, but it is 0")]
    ZeroSize { key: &'static str },
    /// The data kind cannot produce the requested task.
    #[error("data kind `{kind}` cannot make {task}; it makes {supported} targets only")]
    TaskMismatch {
        kind: &'static str,
        task: Task,
        supported: &'static str,
    },
    /// Spirals are two-dimensional.
    #[error("data kind `spirals` is 2-D, so `inputs` must be 2, but it is {found}")]
    SpiralInputs { found: usize },
    /// The CSV file is missing, too large or malformed (the message names file, line and column).
    #[error(transparent)]
    Csv(#[from] CsvError),
}

/// Makes the dataset `spec` describes, drawing from the data stream of `seed`.
pub fn load<T: Real>(spec: &DataSpec, seed: u64) -> Result<Dataset<T>, DataError> {
    check_sizes(spec)?;
    let kind = spec.kind.name();
    let missing = |key| DataError::MissingKey { kind, key };
    let mismatch = |supported| DataError::TaskMismatch {
        kind,
        task: spec.task,
        supported,
    };
    let mut rng = stream_rng(seed, Stream::DataGen);
    let data = match (spec.kind, spec.task) {
        (DataKind::TeacherClassification, Task::Regression { .. }) => {
            Err(mismatch("classification"))
        }
        (DataKind::TeacherRegression, Task::Classification { .. }) => Err(mismatch("regression")),
        (DataKind::TeacherClassification | DataKind::TeacherRegression, task) => {
            let inputs = spec.inputs.ok_or_else(|| missing("inputs"))?;
            let samples = spec.samples.ok_or_else(|| missing("samples"))?;
            Ok(teacher::generate(inputs, samples, task, &mut rng))
        }
        (DataKind::Spirals, Task::Regression { .. }) => Err(mismatch("classification")),
        (DataKind::Spirals, Task::Classification { classes }) => match spec.inputs {
            Some(found) if found != 2 => Err(DataError::SpiralInputs { found }),
            _ => {
                let samples = spec.samples.ok_or_else(|| missing("samples"))?;
                Ok(spirals::generate(samples, classes, &mut rng))
            }
        },
        (DataKind::Csv, task) => {
            let path = spec.path.as_deref().ok_or_else(|| missing("path"))?;
            Ok(csv::read(path, task, spec.inputs, spec.samples)?)
        }
        // Token sequences are not feature vectors: `tokens::TokenData` builds them.
        (DataKind::Tokens, _) => Err(mismatch("token-sequence")),
    }?;
    Ok(scale_and_cast(data, spec.input_scale))
}

fn check_sizes(spec: &DataSpec) -> Result<(), DataError> {
    let (task_key, task_size) = match spec.task {
        Task::Classification { classes } => ("classes", classes),
        Task::Regression { outputs } => ("outputs", outputs),
    };
    let sizes = [
        ("inputs", spec.inputs),
        ("samples", spec.samples),
        (task_key, Some(task_size)),
    ];
    match sizes.into_iter().find(|(_, size)| *size == Some(0)) {
        Some((key, _)) => Err(DataError::ZeroSize { key }),
        None => Ok(()),
    }
}

/// Multiplies the inputs by `input_scale` in `f64`, then casts inputs and targets to `T`.
fn scale_and_cast<T: Real>(data: Dataset<f64>, input_scale: f64) -> Dataset<T> {
    let targets = match data.targets {
        Targets::Classes(classes) => Targets::Classes(classes),
        Targets::Values(values) => Targets::Values(values.mapv(T::of)),
    };
    Dataset {
        x: data.x.mapv(|v| T::of(v * input_scale)),
        targets,
        task: data.task,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: DataKind, inputs: Option<usize>, task: Task) -> DataSpec {
        DataSpec {
            kind,
            inputs,
            task,
            samples: Some(50),
            input_scale: 1.0,
            path: None,
        }
    }

    #[test]
    fn input_scale_multiplies_inputs_but_leaves_targets_alone() {
        let task = Task::Regression { outputs: 3 };
        let plain = spec(DataKind::TeacherRegression, Some(4), task);
        let scaled = DataSpec {
            input_scale: 10.0,
            ..plain.clone()
        };
        let a: Dataset<f64> = load(&plain, 5).expect("valid spec");
        let b: Dataset<f64> = load(&scaled, 5).expect("valid spec");
        assert_eq!(b.x, a.x.mapv(|v| v * 10.0));
        match (a.targets, b.targets) {
            (Targets::Values(ya), Targets::Values(yb)) => assert_eq!(ya, yb),
            _ => panic!("regression data must have value targets"),
        }
    }

    #[test]
    fn f32_data_is_the_f64_data_rounded() {
        let s = spec(DataKind::Spirals, None, Task::Classification { classes: 3 });
        let a: Dataset<f64> = load(&s, 8).expect("valid spec");
        let b: Dataset<f32> = load(&s, 8).expect("valid spec");
        assert_eq!(b.x, a.x.mapv(|v| v as f32));
        assert_eq!(
            (b.len(), b.inputs(), b.outputs(), b.is_empty()),
            (50, 2, 3, false)
        );
    }

    #[test]
    fn spec_problems_are_typed_errors_with_sentences() {
        let classify = Task::Classification { classes: 4 };
        let cases = [
            (
                spec(DataKind::TeacherRegression, Some(4), classify),
                "cannot make classification",
            ),
            (
                spec(DataKind::Spirals, Some(3), classify),
                "must be 2, but it is 3",
            ),
            (
                spec(DataKind::Spirals, None, Task::Regression { outputs: 1 }),
                "cannot make",
            ),
            (
                spec(DataKind::TeacherClassification, None, classify),
                "needs `inputs`",
            ),
            (spec(DataKind::Csv, None, classify), "needs `path`"),
            (
                spec(DataKind::TeacherClassification, Some(0), classify),
                "`inputs` in [data] must",
            ),
            (
                spec(DataKind::Spirals, None, Task::Classification { classes: 0 }),
                "`classes`",
            ),
        ];
        for (s, expected) in cases {
            let message = load::<f64>(&s, 1).expect_err("invalid spec").to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }
}
