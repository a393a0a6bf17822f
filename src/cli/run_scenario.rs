//! `stabcheck scenario`: run, diagnose and gate one scenario (optionally with the robust gate),
//! write run.json, the report and JUnit, and map the verdict to an exit code.

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::summary::{headline, print_final, print_replay_warning, print_steps, verdict_text};
use super::{Format, interrupt, robust};
use crate::diagnose::{Status, Verdict};
use crate::record::Record;
use crate::record::atomic::write_atomic;
use crate::record::junit::junit_xml;
use crate::run::run_recorded_until;
use crate::scenario::{self, Overrides};

/// Where and whether `stabcheck scenario` writes its report, and in which format it prints.
#[derive(Debug, Clone)]
pub(super) struct Output {
    pub(super) out: Option<PathBuf>,
    pub(super) no_report: bool,
    pub(super) save_weights: Option<PathBuf>,
    pub(super) format: Format,
    pub(super) junit: Option<PathBuf>,
    pub(super) budget: crate::budget::Budget,
    pub(super) robust: bool,
}

pub(super) fn run_command(
    target: &str,
    overrides: &Overrides,
    every: Option<u64>,
    output: &Output,
) -> Result<ExitCode> {
    let s = scenario::apply_overrides(&scenario::resolve(target)?, overrides)?;
    let base_dir = base_dir_of(target);
    crate::budget::Estimate::of(&s)
        .check(&output.budget)
        .map_err(|e| anyhow::anyhow!("{target}: {e}"))?;
    let text = output.format == Format::Text;
    let stop = interrupt::stop_flag();
    if text {
        outln!("{}", headline(&s));
    }
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&s.name));
    let mut run = match run_recorded_until(&s, base_dir, output.save_weights.as_deref(), stop) {
        Err(crate::Error::Interrupted { step, steps }) => {
            return Ok(interrupted(step, steps, &dir));
        }
        other => other?,
    };
    let summary = &run.summary;
    if text {
        print_steps(summary, every.map_or((s.steps / 20).max(1), |k| k as usize));
        print_final(summary);
        print_replay_warning(&run.origin);
        out!("{}", verdict_text(&run.verdict));
    }
    let steps_run = summary.steps.len().max(1) as f64;
    eprintln!(
        "ran {} steps in {:.3} s: training with probes {:.3} s ({:.3} ms/step), NaN-origin replay {:.3} s, diagnosis {:.2} ms",
        summary.steps.len(),
        run.elapsed.as_secs_f64(),
        run.train_elapsed.as_secs_f64(),
        run.train_elapsed.as_secs_f64() * 1e3 / steps_run,
        run.replay_elapsed.as_secs_f64(),
        run.diagnose_elapsed.as_secs_f64() * 1e3
    );
    if interrupt::interrupted() {
        return Ok(interrupted(run.summary.steps.len(), s.steps, &dir));
    }
    // One verdict everywhere: the robust gate joins the run's verdict before anything is written.
    let robust = if output.robust {
        let r = robust::gate(&s, base_dir)?;
        let whole = crate::diagnose::StepRange {
            first: 0,
            last: s.steps.saturating_sub(1),
        };
        run.verdict = run.verdict.with_robust(&robust::evidence(&r), whole);
        if text {
            out!("{}", robust::summary(&r));
            outln!("{}", combined_verdict_line(&run.verdict));
        }
        Some(r)
    } else {
        None
    };
    if let Some(path) = &output.junit {
        let xml = junit_xml(&s.name, &run.verdict, run.elapsed)?;
        write_atomic(path, xml.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    let passed = run.verdict.status == Status::Pass;
    let json = (!text).then(|| run.verdict.clone());
    let mut report = None;
    if !output.no_report {
        let writing = std::time::Instant::now();
        let record = run.into_record(&s);
        let path = record.write_in(&dir)?;
        if let Some(r) = &robust {
            r.write(&dir)?;
        }
        let record_ms = writing.elapsed().as_secs_f64() * 1e3;
        let rendering = std::time::Instant::now();
        let written = crate::report::render(&record, &dir)?;
        eprintln!(
            "wrote {} in {record_ms:.1} ms and {} ({} files) in {:.1} ms",
            path.display(),
            written.index.display(),
            written.files.len(),
            rendering.elapsed().as_secs_f64() * 1e3
        );
        report = Some(path);
    }
    if let Some(verdict) = json {
        let out = JsonOutput {
            scenario: &s.name,
            verdict: &verdict,
            record: report.as_deref(),
            robust: robust.as_ref().map(|r| RobustGate {
                stable_fraction: r.stable_fraction,
                interval: r.interval,
                min_stable_fraction: r.min_stable_fraction,
                passed: r.passed,
            }),
        };
        outln!("{}", serde_json::to_string(&out)?);
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// "verdict with the robust gate: FAIL (unstable): 1 of 13 gates failed: min_stable_fraction".
fn combined_verdict_line(v: &Verdict) -> String {
    let word = match v.status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
    };
    let outcome = match v.outcome {
        crate::diagnose::Outcome::Stable => "stable",
        crate::diagnose::Outcome::Unstable => "unstable",
        crate::diagnose::Outcome::NoProgress => "no-progress",
    };
    format!(
        "verdict with the robust gate: {word} ({outcome}): {}",
        v.gate_summary()
    )
}

/// The folder of a scenario file (relative data paths start there); `None` for a built-in name.
pub(super) fn base_dir_of(target: &str) -> Option<&Path> {
    Path::new(target)
        .parent()
        .filter(|_| Path::new(target).is_file())
}

/// Says on stderr that the run stopped and nothing was written, and gives the interrupt's exit code.
fn interrupted(step: usize, steps: usize, dir: &Path) -> ExitCode {
    eprintln!(
        "interrupted after {step} of {steps} steps: no verdict; nothing was written, so the previous report in {} (if any) is kept",
        dir.display()
    );
    ExitCode::from(interrupt::INTERRUPTED_EXIT)
}

/// The `--format json` object: the scenario name, its verdict (as in run.json) and the record's
/// path (`null` with `--no-report`).
#[derive(serde::Serialize)]
struct JsonOutput<'a> {
    scenario: &'a str,
    verdict: &'a Verdict,
    record: Option<&'a Path>,
    /// With `--robust`: the robustness gate (robust.json holds the cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    robust: Option<RobustGate>,
}

#[derive(serde::Serialize)]
struct RobustGate {
    stable_fraction: f64,
    interval: [f64; 2],
    min_stable_fraction: f64,
    passed: bool,
}
