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
    /// The batch asks for more samples than the data has (possible only when a CSV file is shorter
    /// than the scenario expects).
    #[error(
        "data.batch = {batch} is larger than the {samples} samples the data provides: use a batch of at most {samples}"
    )]
    BatchTooLarge { batch: usize, samples: usize },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
