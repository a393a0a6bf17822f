//! `stabcheck report FILE`: re-renders a record with the other records found beside it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::record::Record;
use crate::record::RunRecord;

/// The run.json already in `dir`, if any (so a robust or sweep report keeps the run's charts).
pub(crate) fn existing_run(dir: &Path) -> Result<Option<RunRecord>> {
    let path = dir.join("run.json");
    Ok(if path.is_file() {
        Some(RunRecord::read(&path)?)
    } else {
        None
    })
}

/// `stabcheck report FILE`: renders the given record with the other records beside it.
pub(super) fn report_command(record: &Path, out: Option<PathBuf>) -> Result<ExitCode> {
    let source = record
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let source = if source.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        source
    };
    let dir = out.unwrap_or_else(|| source.clone());
    let mut extras = crate::report::Extras::load(&source)?;
    let run = match crate::report::kind_of(record)? {
        crate::report::RecordKind::Run => Some(RunRecord::read(record)?),
        crate::report::RecordKind::Robust => {
            extras.robust = Some(crate::record::read_json(record)?);
            existing_run(&source)?
        }
        crate::report::RecordKind::Sweep => {
            extras.sweep = Some(crate::record::read_json(record)?);
            existing_run(&source)?
        }
        crate::report::RecordKind::Fix => {
            extras.fix = Some(crate::record::read_json(record)?);
            existing_run(&source)?
        }
        crate::report::RecordKind::LrSensitivity => {
            extras.lr_sensitivity = Some(crate::record::read_json(record)?);
            existing_run(&source)?
        }
    };
    let started = std::time::Instant::now();
    let written = crate::report::render_folder(run.as_ref(), &extras, &dir)?;
    eprintln!(
        "wrote {} ({} files, {:.1} MB) in {:.1} ms",
        written.index.display(),
        written.files.len(),
        written.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}
