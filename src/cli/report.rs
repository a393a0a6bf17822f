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

/// The record a folder stands for: its run.json, else the first other record present.
fn record_in(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    use crate::record::{FIX_FILE, LR_SENSITIVITY_FILE, ROBUST_FILE, SWEEP_FILE};
    let names = [
        "run.json",
        ROBUST_FILE,
        SWEEP_FILE,
        FIX_FILE,
        LR_SENSITIVITY_FILE,
    ];
    match names.iter().map(|n| path.join(n)).find(|p| p.is_file()) {
        Some(found) => Ok(found),
        None => anyhow::bail!(
            "{}: a folder without a record (run.json, robust.json, sweep.json, fix.json or \
             lr-sensitivity.json)",
            path.display()
        ),
    }
}

/// The run drawn over this one, labelled by its scenario, seed and file.
fn compared(path: &Path) -> Result<(String, RunRecord)> {
    let file = record_in(path)?;
    if crate::report::kind_of(&file)? != crate::report::RecordKind::Run {
        anyhow::bail!(
            "{}: --compare takes a run record (run.json)",
            file.display()
        );
    }
    let run = RunRecord::read(&file)?;
    // The folder first: two runs of one scenario and seed differ only in where they are.
    let folder = file
        .parent()
        .and_then(Path::file_name)
        .map_or(String::new(), |f| format!("{}: ", f.to_string_lossy()));
    let label = format!("{folder}{} seed {}", run.scenario.name, run.scenario.seed);
    Ok((label, run))
}

/// `stabcheck report FILE`: renders the given record with the other records beside it.
pub(super) fn report_command(
    record: &Path,
    out: Option<PathBuf>,
    compare: Option<&Path>,
) -> Result<ExitCode> {
    let record = &record_in(record)?;
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
    extras.compare = compare.map(compared).transpose()?;
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
    if extras.compare.is_some() && run.is_none() {
        anyhow::bail!(
            "--compare draws a run over a run: {} has no run.json beside it",
            record.display()
        );
    }
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
