//! Atomic file writes: write a temp file in the target folder, flush it to disk, rename it into place.
//!
//! A rename within one folder is atomic on POSIX file systems, so a reader (or a later run) sees
//! either the old complete file or the new complete file, never a half-written one, even if the
//! process is killed mid-write.

use std::io::Write;
use std::path::Path;

use crate::core::float::Real;
use crate::core::params::Params;
use crate::core::weights::npz_bytes;
use crate::error::Error;

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |io| Error::Io {
        path: path.to_path_buf(),
        io,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".stabcheck-").suffix(".tmp");
    // tempfile creates 0600 files; a report is for other users and CI jobs to read (umask applies).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    pause_before_rename_for_tests(path);
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename itself durable; failing to sync a directory is not fatal on every platform.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes every parameter of `params` to the `.npz` file `path` atomically (arrays named
/// `layer{L}.weight`, `layer{L}.bias`, ..., in the run's precision).
pub fn save_npz<T: Real>(path: &Path, params: &Params<T>) -> Result<(), Error> {
    write_atomic(path, &npz_bytes(params)?)
}

/// Names the file (`run.json`, `index.html`, or `*` for any) before whose rename a write sleeps
/// for a minute, so `cli::kill_tests` can kill its child process exactly between "temp file
/// complete" and "renamed into place". Only the library's own unit-test build reads it: the
/// binary users run never pauses.
#[cfg(test)]
pub(crate) const PAUSE_BEFORE_RENAME_VAR: &str = "STABCHECK_TEST_PAUSE_BEFORE_RENAME";

#[cfg(not(test))]
fn pause_before_rename_for_tests(_: &Path) {}

#[cfg(test)]
fn pause_before_rename_for_tests(path: &Path) {
    let Some(wanted) = std::env::var_os(PAUSE_BEFORE_RENAME_VAR) else {
        return;
    };
    let name = path.file_name().unwrap_or_default();
    if wanted == "*" || wanted == name {
        eprintln!(
            "{PAUSE_BEFORE_RENAME_VAR}: pausing before renaming the temp file to {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("sub/run.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.json")]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("run.json");
        write_atomic(&path, b"good").unwrap();
        // A directory where the file should go makes the rename fail; the good file is untouched.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::create_dir(blocked.join("run.json")).unwrap();
        assert!(write_atomic(&blocked.join("run.json"), b"bad").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"good");
    }
}
