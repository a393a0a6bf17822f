//! The schema layer: every serialized record type, its file name, and the one way records are
//! written (atomically) and read back (size cap, schema checked first).
//!
//! Producers (`run`, `robust`, `repair`) build these types and write them; `report` reads only
//! these types, so it can render a record made on another machine. Schema 1 throughout: the
//! version is bumped on any incompatible change.

pub mod atomic;
pub mod curve;
pub mod diff;
pub mod finding_kind;
pub mod fix;
pub mod gate;
pub mod junit;
pub mod lr_sensitivity;
pub mod markdown;
pub mod nonfinite;
pub mod precision;
pub mod precision_check;
pub mod read;
pub mod robust;
pub mod run;
pub mod shard;
pub mod sweep;
pub mod text;
pub mod trace;
pub mod trace_lines;
pub mod trace_schema;
pub mod transformer;
pub mod verdict;

pub use read::read_json;
pub use run::{MAX_HISTOGRAM_STEPS, MAX_NONFINITE_STEPS, RunRecord, Timings, downsample};

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Version of every record format; bumped on any incompatible change.
pub const SCHEMA: u32 = 1;
/// Longest trace kept in a run record; longer runs are downsampled ([`downsample`]).
pub const MAX_RECORDED_STEPS: usize = 2000;
/// Largest record read back (a 10,000-step deep-mlp record measures 18.2 MB).
pub const MAX_RECORD_BYTES: u64 = 256 << 20;

/// File names in a report folder.
pub const RUN_FILE: &str = "run.json";
pub const ROBUST_FILE: &str = "robust.json";
pub const SWEEP_FILE: &str = "sweep.json";
pub const FIX_FILE: &str = "fix.json";
pub const DIFF_FILE: &str = "diff.json";
pub const LR_SENSITIVITY_FILE: &str = "lr-sensitivity.json";
pub const MINIMAL_FAILURE_FILE: &str = "minimal-failure.toml";
pub const FIXED_TOML_FILE: &str = "fixed.toml";
pub const FIXED_DIFF_FILE: &str = "fixed.diff";

/// A serialized record: its file name and the one way every record is written and read.
pub trait Record: Serialize + DeserializeOwned {
    /// The file name in a report folder (`run.json`, `shard-2-of-4.json`, ...).
    fn file_name(&self) -> String;

    /// Compact JSON; the same record always gives the same bytes.
    fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::serialize(self.file_name(), e))
    }

    /// Writes `dir/<file_name>` atomically, with a final newline, and returns its path.
    fn write_in(&self, dir: &Path) -> Result<PathBuf, Error> {
        let path = dir.join(self.file_name());
        let mut json = self.to_json()?;
        json.push('\n');
        atomic::write_atomic(&path, json.as_bytes())?;
        Ok(path)
    }

    /// Reads a record of this type, refusing files over [`MAX_RECORD_BYTES`] and other schema
    /// versions; errors name the file.
    fn read(path: &Path) -> Result<Self, Error> {
        read_json(path)
    }
}
