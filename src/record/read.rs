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
    parse_json(&read_capped(path)?, Some(path))
}

/// Parses JSON `bytes` as a record of type `T` (the schema checked first); errors give `path`
/// when known, then the line, column and field: `line 3, column 24 at `stabcheck_version`: ...`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], path: Option<&Path>) -> Result<T, Error> {
    let bad = |message: String| Error::Record {
        path: path.map(Path::to_path_buf),
        message,
    };
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(bad(format!(
            "over the {MAX_RECORD_BYTES}-byte limit for a record"
        )));
    }
    #[derive(Deserialize)]
    struct SchemaOnly {
        schema: Option<u64>,
    }
    match serde_json::from_slice::<SchemaOnly>(bytes) {
        Ok(SchemaOnly { schema: Some(v) }) if v == u64::from(SCHEMA) => {}
        Ok(SchemaOnly { schema }) => {
            let found = schema.map_or("no `schema` field".to_string(), |v| format!("schema {v}"));
            return Err(bad(format!(
                "{found} is not supported: this stabcheck reads records of schema {SCHEMA}"
            )));
        }
        Err(e) => return Err(bad(located(&e, None))),
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json)
        .map_err(|e| bad(located(e.inner(), Some(e.path().to_string()))))
}

/// serde_json's message with its location moved to the front and the field path added.
pub(crate) fn located(inner: &serde_json::Error, field: Option<String>) -> String {
    let message = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    let field = field
        .filter(|f| f != ".")
        .map(|f| format!(" at `{f}`"))
        .unwrap_or_default();
    format!(
        "line {}, column {}{field}: {message}",
        inner.line(),
        inner.column()
    )
}

/// The file's bytes, refusing more than [`MAX_RECORD_BYTES`] without reading past the cap.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |io| Error::Io {
        path: path.to_path_buf(),
        io,
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
