//! `stabcheck diagnose TRACE`: the diagnoses and gates applied to a trace of a real run (JSONL,
//! `record::trace_lines`), with run.json and the report written as for a scenario.
//!
//! A trace has no model to replay: no NaN-origin op, no parameter checksum. The gates come from
//! `--scenario` (default: every default gate), which also tells model-dependent findings what the
//! model is; its steps are set to the trace's.

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::summary::verdict_text;
use crate::diagnose::{self, Status};
use crate::record::atomic::write_atomic;
use crate::record::read::read_capped;
use crate::record::trace_lines::{from_jsonl, to_jsonl, to_lines};
use crate::record::{Record, RunRecord, SCHEMA, Timings};
use crate::run::RecordedRun;
use crate::scenario::{self, Scenario};

#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// The trace: JSONL, one object per step (`stabcheck_torch.py` writes it from PyTorch).
    pub trace: PathBuf,
    /// The scenario whose gates judge the trace (a built-in name or a TOML file; default: the
    /// default gates).
    #[arg(long, value_name = "NAME|PATH")]
    pub scenario: Option<String>,
    /// Folder for run.json and the report (default: reports/<trace file stem>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write neither run.json nor the report.
    #[arg(long)]
    pub no_report: bool,
}

pub fn run(args: &DiagnoseArgs) -> Result<ExitCode> {
    let bytes = read_capped(&args.trace)?;
    let text = String::from_utf8_lossy(&bytes);
    let trace = from_jsonl(&text, &args.trace)?;
    let stem = (args.trace.file_stem())
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = (stem.chars())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = judge(args.scenario.as_deref(), &name, trace.steps.len())?;
    let verdict = diagnose::run(&trace, &s, None);
    out!("{}", verdict_text(&verdict));
    if trace.steps.iter().any(|st| !st.loss.is_finite()) {
        outln!(
            "note: a trace cannot be replayed, so the op that first went non-finite is unknown; the first step and module with a non-finite value are in the findings"
        );
    }
    let passed = verdict.status == Status::Pass;
    if !args.no_report {
        let dir = args
            .out
            .clone()
            .unwrap_or_else(|| Path::new("reports").join(&name));
        let record = RunRecord {
            schema: SCHEMA,
            stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: s,
            steps_run: trace.steps.len(),
            step_stride: 1,
            parameters: 0,
            param_checksum: String::new(),
            trace,
            nan_origin: None,
            replay_divergence: None,
            verdict: Some(verdict),
            timings: Timings {
                total_ms: f64::NAN,
                ms_per_step: f64::NAN,
            },
        };
        let path = record.write_in(&dir)?;
        let page = crate::report::render(&record, &dir)?;
        eprintln!("wrote {} and {}", path.display(), page.index.display());
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The scenario whose gates judge a trace of `steps` steps, named `name`.
fn judge(target: Option<&str>, name: &str, steps: usize) -> Result<Scenario> {
    let mut s = match target {
        Some(t) => scenario::resolve(t)?,
        None => scenario::parse_str("name = \"trace\"\n", "(default gates)")?,
    };
    s.steps = steps.max(1);
    if !name.is_empty() {
        s.name = name.to_string();
    }
    Ok(s)
}

/// The run as trace lines, its layers named as records name them (`layer L` becomes `layerL`,
/// as in saved weights).
pub(super) fn write_trace(path: &Path, run: &RecordedRun) -> Result<()> {
    let t = &run.trace;
    let layers = t.steps.first().map_or(0, |s| s.layers.len());
    let names: Vec<String> = (0..layers)
        .map(|l| {
            t.layer_names
                .get(l)
                .cloned()
                .unwrap_or_else(|| format!("layer{l}"))
        })
        .collect();
    let text = to_jsonl(&to_lines(t, &names))?;
    write_atomic(path, text.as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
