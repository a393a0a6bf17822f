//! `stabcheck diagnose TRACE`: the diagnoses and gates applied to a trace of a real run (JSONL,
//! `record::trace_lines`), with run.json and the report written as for a scenario.
//!
//! A trace has no model to replay: no NaN-origin op, no parameter checksum. The gates come from
//! `--scenario` (default: every default gate), which also tells model-dependent findings what the
//! model is; its steps are set to the trace's.

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::Result;

use super::run_scenario::write_summary;
use super::scenario_json::print_json;
use super::summary::verdict_text;
use super::{Format, VerdictOutputs};
use crate::diagnose::{self, Status, Verdict};
use crate::record::atomic::write_atomic;
use crate::record::diff::DiffRecord;
use crate::record::junit::junit_xml;
use crate::record::read::read_capped;
use crate::record::trace::Trace;
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
    #[command(flatten)]
    pub outputs: VerdictOutputs,
    /// Also judge the trace against a baseline (a run.json, a trace's run.json, or a `--seeds`
    /// ensemble folder), writing diff.json; the `max_regression` gate fails (exit 1) when a
    /// statistic leaves its band.
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,
    /// With `--baseline`: how far outside its band a statistic may go, in band half-widths
    /// (default: the scenario's `[gates] max_regression`, 1).
    #[arg(long, value_name = "X", requires = "baseline")]
    pub max_regression: Option<f64>,
}

pub fn run(args: &DiagnoseArgs) -> Result<ExitCode> {
    let started = Instant::now();
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
    let baseline = (args.baseline.as_deref())
        .map(super::diff::load_runs)
        .transpose()?;
    let human = args.outputs.format == Format::Text;
    let mut verdict = diagnose::run(&trace, &s, None);
    if human {
        out!("{}", verdict_text(&verdict));
    }
    if human && trace.steps.iter().any(|st| !st.loss.is_finite()) {
        outln!(
            "note: a trace cannot be replayed, so the op that first went non-finite is unknown; the first step and module with a non-finite value are in the findings"
        );
    }
    let dir = (args.out.clone()).unwrap_or_else(|| Path::new("reports").join(&name));
    let mut record = as_record(trace, s, verdict.clone());
    let out = (!args.no_report).then_some(dir.as_path());
    let diff = match baseline.as_deref() {
        Some(base) => {
            let x = args
                .max_regression
                .unwrap_or(record.scenario.gates.max_regression);
            let (judged, d) = super::diff::baseline_gate(base, &record, (x, out), human)?;
            verdict = judged;
            record.verdict = Some(verdict.clone());
            Some(d)
        }
        None => None,
    };
    write_extras(
        args,
        (&record, &verdict),
        diff.as_ref(),
        (&dir, started.elapsed()),
    )?;
    let written = match args.no_report {
        true => None,
        false => {
            let path = record.write_in(&dir)?;
            let base = baseline.as_deref().unwrap_or_default();
            let page = crate::report::render_against(&record, base, &dir)?;
            eprintln!("wrote {} and {}", path.display(), page.index.display());
            Some(path)
        }
    };
    if !human {
        print_json(&record.scenario.name, &verdict, written.as_deref(), None)?;
    }
    Ok(match verdict.status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
    })
}

/// `--junit` and `--summary`, when asked for.
fn write_extras(
    args: &DiagnoseArgs,
    (record, verdict): (&RunRecord, &Verdict),
    diff: Option<&DiffRecord>,
    (dir, elapsed): (&Path, Duration),
) -> Result<()> {
    if let Some(path) = &args.outputs.junit {
        let xml = junit_xml(&record.scenario.name, verdict, elapsed)?;
        write_atomic(path, xml.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.outputs.summary {
        let losses: Vec<f64> = record.trace.steps.iter().map(|st| st.loss).collect();
        let index = (!args.no_report).then(|| dir.join("index.html").display().to_string());
        let facts = (&record.scenario.name[..], diff);
        write_summary(path, (verdict, &losses), facts, index.as_deref())?;
    }
    Ok(())
}

/// A trace's run record: no parameter count or checksum, no NaN-origin op, no timings.
fn as_record(trace: Trace, s: Scenario, verdict: Verdict) -> RunRecord {
    RunRecord {
        schema: SCHEMA,
        stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        steps_run: trace.steps.len(),
        scenario: s,
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
    }
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
