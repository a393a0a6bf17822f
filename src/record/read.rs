//! Reading any schema-1 record (run.json, robust.json, sweep.json, shards) with a size cap and the
//! schema checked first, so an old or foreign file gets that message rather than a field error.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{MAX_RECORD_BYTES, SCHEMA};
use crate::error::Error;

/// Reads `path` as a record of type `T`, refusing files over [`MAX_RECORD_BYTES`] and schemas
/// other than [`SCHEMA`]; every error names the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = read_capped(path)?;
    let bad = |message: String| Error::Record {
        path: Some(path.to_path_buf()),
        message,
    };
    #[derive(Deserialize)]
    struct SchemaOnly {
        schema: Option<u64>,
    }
    match serde_json::from_slice::<SchemaOnly>(&bytes) {
        Ok(SchemaOnly { schema: Some(v) }) if v == u64::from(SCHEMA) => {}
        Ok(SchemaOnly { schema }) => {
            return Err(bad(format!(
                "schema {schema:?} is not supported: this stabcheck reads schema {SCHEMA}"
            )));
        }
        Err(e) => return Err(bad(e.to_string())),
    }
    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
}

/// The file's bytes, refusing more than [`MAX_RECORD_BYTES`] without reading past the cap.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(Error::Record {
            path: Some(path.to_path_buf()),
            message: format!("over the {MAX_RECORD_BYTES}-byte limit for a record"),
        });
    }
    Ok(bytes)
}
