//! The crate's error type: bad input and I/O only. Instability is a result, never an error.

use std::path::PathBuf;

use crate::core::data::DataError;
use crate::scenario::ScenarioError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scenario file (or a built-in name, or an override) is malformed or invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario's data could not be generated or loaded (e.g. a bad CSV cell).
    #[error(transparent)]
    Data(#[from] DataError),
    /// `[model] weights` or `--save-weights` failed (missing file, wrong array names or shapes).
    #[error(transparent)]
    Weights(#[from] crate::core::weights::WeightsError),
    /// A token-data text file could not be read or is not UTF-8 (file:line:column named).
    #[error(transparent)]
    TokenFile(#[from] crate::core::data::tokens::TokenFileError),
    /// A command or probe that is written for MLPs only was asked to run a transformer.
    #[error(
        "{what} works on MLP scenarios only so far, and this scenario has model.kind = \"transformer\"; `stabcheck scenario` runs it with every per-step probe, the diagnoses and the gates"
    )]
    NotForTransformer { what: &'static str },
    /// The batch asks for more samples than the data has (possible only when a CSV file is shorter
    /// than the scenario expects).
    #[error(
        "data.batch = {batch} is larger than the {samples} samples the data provides: use a batch of at most {samples}"
    )]
    BatchTooLarge { batch: usize, samples: usize },
    /// The model built on the loaded data (a CSV file decides the input count) is over the limits
    /// validation enforces: 2^28 parameters, 2^26 activation values per batch.
    #[error(
        "with the {inputs} input columns the data provides, the model would have {parameters} parameters and {activations} activation values per batch; the limits are 268435456 and 67108864: use fewer input columns, narrower layers or a smaller batch"
    )]
    ModelTooLarge {
        inputs: usize,
        parameters: u128,
        activations: u128,
    },
    /// The scenario's estimated memory or compute is over the run's budget (see `crate::budget`):
    /// refused before anything is built.
    #[error(
        "the scenario needs an estimated {estimate} of {resource} ({parts}), over the budget of {budget}: use {advice}"
    )]
    OverBudget {
        /// `memory` or `compute`.
        resource: &'static str,
        estimate: String,
        budget: String,
        /// The estimate's parts, in words.
        parts: String,
        /// Which keys to shrink, and the flag that raises the budget.
        advice: &'static str,
    },
    /// The run was interrupted (Ctrl-C) before step `step` of `steps`: it has no verdict and wrote
    /// nothing, so the previous report stays as it was.
    #[error("interrupted before step {step} of {steps}: no verdict, nothing written")]
    Interrupted { step: usize, steps: usize },
    /// A record could not be read back: malformed JSON, a wrong schema, over the size cap. The
    /// message is serde's, rewritten to lead with the line, column and field, so it is the whole
    /// story (attaching serde's error as well would print it twice).
    #[error("{}{message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Record {
        path: Option<PathBuf>,
        message: String,
    },
    /// A record, scenario or page could not be serialized (a serde or XML writer failure).
    #[error("could not serialize {what}")]
    Serialize {
        /// The file or thing being written, e.g. `robust.json`.
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A report chart could not be drawn (a plotting-library failure, not bad data: non-finite
    /// values are drawn as gaps and markers).
    #[error("could not draw the {chart} chart: {message}")]
    Chart { chart: String, message: String },
    /// A file could not be read or written. The I/O error is in the message and deliberately
    /// not the `source()`: `{:#}` prints a chain, and the OS reason once is enough.
    #[error("{}: {io}", path.display())]
    Io { path: PathBuf, io: std::io::Error },
}

impl Error {
    /// A serialization failure of `what` (a file name or a description), keeping its source.
    pub fn serialize(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Serialize {
            what: what.into(),
            source: Box::new(source),
        }
    }
}
