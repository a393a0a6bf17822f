//! `stabcheck scenario`: run, diagnose and gate one scenario (optionally with the robust gate),
//! write run.json, the report and JUnit, and map the verdict to an exit code.

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::scenario_json::print_json;
use super::summary::{headline, print_final, print_replay_warning, print_steps, verdict_text};
use super::{Format, TargetArgs, VerdictOutputs, interrupt, robust};
use crate::diagnose::{Status, Verdict};
use crate::record::Record;
use crate::record::atomic::write_atomic;
use crate::record::diff::DiffRecord;
use crate::record::junit::junit_xml;
use crate::record::markdown::{SummaryFacts, summary_markdown};
use crate::robust::RobustRecord;
use crate::run::{RecordedRun, run_recorded_until};
use crate::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for run.json and the report (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write neither run.json nor the report.
    #[arg(long)]
    pub no_report: bool,
    /// Write the final weights to this .npz file (arrays `layer{L}.weight`, `layer{L}.bias`, ...).
    #[arg(long, value_name = "PATH")]
    pub save_weights: Option<PathBuf>,
    /// Print every K-th step (default: about 20 lines per run).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub every: Option<u64>,
    #[command(flatten)]
    pub outputs: VerdictOutputs,
    /// Do not train: print the step-0 sharpness and the largest stable learning rate of the
    /// optimizer (exit 1 when the scenario's lr is above it).
    #[arg(long)]
    pub predict: bool,
    /// Also gate on robustness: run the `[robust]` cases and fail (exit 1) when the stable
    /// fraction's lower confidence bound is under `[robust] min_stable_fraction`.
    #[arg(long)]
    pub robust: bool,
    /// Run the scenario in f32 and under bf16-mixed, fp16-mixed, bf16 and fp16, and report
    /// where each parts from f32: the first step and layer off by 2x, overflow and underflow per
    /// layer, the final-loss gap (precision-check.json). Exits 1 when the scenario's own policy
    /// (the f32 run for an f32 scenario) fails a gate.
    #[arg(long, conflicts_with_all = ["predict", "robust"])]
    pub precision_check: bool,
    /// Run the scenario with seeds S, S+1, ..., S+N-1 (S: the scenario's seed) and write each
    /// run's record as DIR/seed-S/run.json: a baseline ensemble for `stabcheck diff`. Exits 1
    /// when any run fails a gate.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000),
          conflicts_with_all = ["predict", "robust", "precision_check", "save_weights", "junit", "summary", "no_report"])]
    pub seeds: Option<u64>,
    /// Also judge the run against a baseline (a run.json or a `--seeds` ensemble folder) as
    /// `stabcheck diff` does, writing diff.json; exit 1 when a statistic leaves its band.
    #[arg(long, value_name = "DIR", conflicts_with = "seeds")]
    pub baseline: Option<PathBuf>,
    /// With `--baseline`: how far outside its band a statistic may go, in band half-widths
    /// (default: the scenario's `[gates] max_regression`, 1).
    #[arg(long, value_name = "X", requires = "baseline")]
    pub max_regression: Option<f64>,
    /// Also write the run as a trace (JSONL, one object per step, the format `stabcheck
    /// diagnose` reads and `stabcheck_torch.py` writes) to this file.
    #[arg(long, value_name = "FILE", conflicts_with = "seeds")]
    pub trace: Option<PathBuf>,
}

pub(super) fn run(args: &ScenarioArgs) -> Result<ExitCode> {
    let (s, base_dir) = args.target.resolve(args.seed)?;
    if args.predict {
        return super::predict::run(&s, base_dir.as_deref(), args.outputs.format);
    }
    let base_dir = base_dir.as_deref();
    let text = args.outputs.format == Format::Text;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&s.name));
    if let Some(n) = args.seeds {
        return super::diff::run_seeds(&s, base_dir, &dir, n);
    }
    if args.precision_check {
        let dir = (!args.no_report).then_some(dir.as_path());
        return super::precision_check::run(&s, base_dir, dir, args.outputs.format);
    }
    let baseline = (args.baseline.as_deref())
        .map(super::diff::load_runs)
        .transpose()?;
    // The handler goes in before the headline: a caller (or test) that interrupts as soon as it
    // reads the headline must never meet the default SIGINT action (or SIG_IGN inherited from a
    // background shell, which silently ran the whole run).
    let stop = interrupt::stop_flag();
    if text {
        outln!("{}", headline(&s));
    }
    let save = args.save_weights.as_deref();
    let recorded = super::progress::with_steps(s.steps, stop, |control| {
        run_recorded_until(&s, base_dir, save, control)
    });
    let mut run = match recorded {
        Err(crate::Error::Interrupted { step, steps }) => {
            return Ok(interrupted(step, steps, &dir));
        }
        other => other?,
    };
    if text {
        print_run(
            &run,
            args.every.map_or((s.steps / 20).max(1), |k| k as usize),
        );
    }
    print_timings(&run);
    if interrupt::interrupted() {
        return Ok(interrupted(run.summary.steps.len(), s.steps, &dir));
    }
    // One verdict everywhere: the robust gate joins the run's verdict before anything is written.
    let robust = if args.robust {
        let (verdict, r) = robust_gate(&s, base_dir, run.verdict, text)?;
        run.verdict = verdict;
        Some(r)
    } else {
        None
    };
    if let Some(path) = &args.trace {
        super::diagnose::write_trace(path, &run)?;
    }
    let out = (!args.no_report).then_some(dir.as_path());
    let max_regression = args.max_regression.unwrap_or(s.gates.max_regression);
    let diff = match baseline.as_deref() {
        Some(base) => {
            let head = run.clone().into_record(&s);
            let (verdict, d) =
                super::diff::baseline_gate(base, &head, (max_regression, out), text)?;
            run.verdict = verdict;
            Some(d)
        }
        None => None,
    };
    if let Some(path) = &args.outputs.junit {
        let xml = junit_xml(&s.name, &run.verdict, run.elapsed)?;
        write_atomic(path, xml.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.outputs.summary {
        let index = (!args.no_report).then(|| dir.join("index.html").display().to_string());
        let losses: Vec<f64> = run.summary.steps.iter().map(|st| st.loss).collect();
        let facts = (&s.name[..], diff.as_ref());
        write_summary(path, (&run.verdict, &losses), facts, index.as_deref())?;
    }
    let passed = run.verdict.status == Status::Pass;
    let verdict = run.verdict.clone();
    let record = (!args.no_report)
        .then(|| write_report(run, (&s, baseline.as_deref()), robust.as_ref(), &dir))
        .transpose()?;
    if !text {
        print_json(&s.name, &verdict, record.as_deref(), robust.as_ref())?;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The per-step table, the final numbers, a replay warning and the verdict.
fn print_run(run: &RecordedRun, every: usize) {
    print_steps(&run.summary, every);
    print_final(&run.summary);
    print_replay_warning(&run.origin);
    out!("{}", verdict_text(&run.verdict));
}

/// Where the time went, on stderr (so stdout is identical for identical runs).
fn print_timings(run: &RecordedRun) {
    let summary = &run.summary;
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
}

/// Runs the `[robust]` cases and joins their gate to `verdict`.
fn robust_gate(
    s: &Scenario,
    base_dir: Option<&Path>,
    verdict: Verdict,
    text: bool,
) -> Result<(Verdict, RobustRecord)> {
    let r = robust::gate(s, base_dir)?;
    let whole = crate::diagnose::StepRange {
        first: 0,
        last: s.steps.saturating_sub(1),
    };
    let verdict = verdict.with_robust(&robust::evidence(&r), whole);
    if text {
        out!("{}", robust::summary(&r));
        outln!("{}", combined_verdict_line(&verdict));
    }
    Ok((verdict, r))
}

/// The `--summary` markdown of a run with these `losses`, written atomically.
pub(super) fn write_summary(
    path: &Path,
    (verdict, losses): (&Verdict, &[f64]),
    (scenario, diff): (&str, Option<&DiffRecord>),
    report: Option<&str>,
) -> Result<()> {
    let facts = SummaryFacts {
        scenario,
        steps: losses.len(),
        initial_loss: losses.first().copied().unwrap_or(f64::NAN),
        final_loss: losses.last().copied().unwrap_or(f64::NAN),
        report,
        diff,
    };
    write_atomic(path, summary_markdown(verdict, &facts).as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Writes run.json (and robust.json), then the report page; returns run.json's path.
fn write_report(
    run: RecordedRun,
    (s, baseline): (&Scenario, Option<&[crate::record::RunRecord]>),
    robust: Option<&RobustRecord>,
    dir: &Path,
) -> Result<PathBuf> {
    let writing = std::time::Instant::now();
    let record = run.into_record(s);
    let path = record.write_in(dir)?;
    if let Some(r) = robust {
        r.write(dir)?;
    }
    let record_ms = writing.elapsed().as_secs_f64() * 1e3;
    let rendering = std::time::Instant::now();
    let written = crate::report::render_against(&record, baseline.unwrap_or_default(), dir)?;
    eprintln!(
        "wrote {} in {record_ms:.1} ms and {} ({} files) in {:.1} ms",
        path.display(),
        written.index.display(),
        written.files.len(),
        rendering.elapsed().as_secs_f64() * 1e3
    );
    Ok(path)
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

/// Says on stderr that the run stopped and nothing was written, and gives the interrupt's exit code.
fn interrupted(step: usize, steps: usize, dir: &Path) -> ExitCode {
    eprintln!(
        "interrupted after {step} of {steps} steps: no verdict; nothing was written, so the previous report in {} (if any) is kept",
        dir.display()
    );
    ExitCode::from(interrupt::INTERRUPTED_EXIT)
}
