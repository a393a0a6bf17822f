//! Reading a scenario: bytes (size cap, UTF-8) → TOML (syntax, types, unknown keys) → validation,
//! every failure located at file:line:column.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::checker::Checker;
use super::error::{ScenarioError, ScenarioErrorKind};
use super::file_scenario::ScenarioFile;
use super::resolved::Scenario;
use super::source_map::{SourceMap, location_in};
use super::toml_error::from_toml_error;
use super::validate::validate_with;

/// Largest scenario file accepted, in bytes (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Parse and validate a scenario text; `origin` (a path, or `name (built-in)`) prefixes errors.
pub fn parse_str(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        let kind = ScenarioErrorKind::TooLarge {
            bytes: text.len() as u64,
            limit: MAX_FILE_BYTES,
        };
        return Err(ScenarioError::new(origin, None, None, kind));
    }
    let map = SourceMap::new(text);
    if let Some(err) = map.syntax_error() {
        return Err(from_toml_error(err, origin, &map));
    }
    let file: ScenarioFile = toml::from_str(text).map_err(|e| from_toml_error(&e, origin, &map))?;
    validate_with(&file, &Checker::new(origin, Some(&map)))
}

/// Read, parse and validate a scenario file (at most [`MAX_FILE_BYTES`], UTF-8).
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    let text = read_text(path, &origin)?;
    parse_str(&text, &origin)
}

fn read_text(path: &Path, origin: &str) -> Result<String, ScenarioError> {
    let read_error = |e: std::io::Error| {
        let kind = ScenarioErrorKind::Read {
            io_kind: e.kind(),
            reason: e.to_string(),
        };
        ScenarioError::new(origin, None, None, kind)
    };
    let file = File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let kind = ScenarioErrorKind::TooLarge {
            bytes: bytes.len() as u64,
            limit: MAX_FILE_BYTES,
        };
        return Err(ScenarioError::new(origin, None, None, kind));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let location = location_in(&prefix, prefix.len());
        ScenarioError::new(origin, Some(location), None, ScenarioErrorKind::NotUtf8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn loads_a_file_and_names_it_in_errors() {
        let file = write_temp(b"name = \"ok\"\nsteps = 0\n");
        let err = load_file(file.path()).unwrap_err();
        let origin = file.path().display().to_string();
        assert_eq!(
            err.to_string(),
            format!("{origin}:2:9: steps = 0 is not allowed: expected an integer in 1..=1000000")
        );
    }

    #[test]
    fn non_utf8_bytes_are_located() {
        let file = write_temp(b"name = \"ok\"\ndescription = \"caf\xe9\"\n");
        let err = load_file(file.path()).unwrap_err();
        assert_eq!(err.kind(), &ScenarioErrorKind::NotUtf8);
        assert_eq!((err.line(), err.column()), (Some(2), Some(19)));
        assert!(err.to_string().contains("is not UTF-8"), "{err}");
    }

    #[test]
    fn files_over_one_mebibyte_are_refused_without_reading_them_all() {
        let mut text = b"name = \"big\"\n".to_vec();
        text.resize(3 << 20, b'#');
        let file = write_temp(&text);
        let err = load_file(file.path()).unwrap_err();
        let expected = ScenarioErrorKind::TooLarge {
            bytes: MAX_FILE_BYTES + 1,
            limit: MAX_FILE_BYTES,
        };
        assert_eq!(err.kind(), &expected);
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = load_file(Path::new("/nonexistent/x.toml")).unwrap_err();
        let is_not_found = matches!(
            err.kind(),
            ScenarioErrorKind::Read {
                io_kind: std::io::ErrorKind::NotFound,
                ..
            }
        );
        assert!(is_not_found, "{err:?}");
        assert!(
            err.to_string()
                .starts_with("/nonexistent/x.toml: cannot read the file")
        );
    }
}
