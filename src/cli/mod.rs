//! The command-line front end: the only place that touches the terminal, file layout and exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod fix;
mod merge;
mod predict;
mod robust;
mod summary;
mod sweep;

use crate::diagnose::{Status, Verdict};
use crate::record::RunRecord;
use crate::record::atomic::write_atomic;
use crate::record::junit::junit_xml;
use crate::run::run_recorded;
use crate::scenario::{self, Overrides, SetOverride};
use summary::{headline, print_final, print_replay_warning, print_steps, verdict_text};

/// Numerical-stability diagnostics for neural-network training.
#[derive(Debug, Parser)]
#[command(name = "stabcheck", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (a built-in name or a TOML file) and print a per-step summary.
    Scenario {
        /// A built-in scenario name (see `stabcheck list`) or a path to a scenario TOML file.
        target: String,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the number of training steps.
        #[arg(long)]
        steps: Option<usize>,
        /// Override any scenario key, e.g. `--set optimizer.lr=0.5` (value parsed as TOML; a bare
        /// word is a string); validated like the file. Repeatable; a later one wins.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Folder for run.json and the report (default: reports/<scenario name>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write neither run.json nor the report.
        #[arg(long)]
        no_report: bool,
        /// Write the final weights to this .npz file (arrays `layer{L}.weight`, `layer{L}.bias`, ...).
        #[arg(long, value_name = "PATH")]
        save_weights: Option<PathBuf>,
        /// Print every K-th step (default: about 20 lines per run).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
        every: Option<u64>,
        /// `text` (a summary for people) or `json` (only JSON on stdout: the verdict and where
        /// the record went; messages go to stderr).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write JUnit XML (one test case per gate) to this file, for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Do not train: print the step-0 sharpness and the largest stable learning rate of the
        /// optimizer (exit 1 when the scenario's lr is above it).
        #[arg(long)]
        predict: bool,
        /// Also gate on robustness: run the `[robust]` cases and fail (exit 1) when the stable
        /// fraction's lower confidence bound is under `[robust] min_stable_fraction`.
        #[arg(long)]
        robust: bool,
    },
    /// Render the SVG charts and index.html of a record (run.json, robust.json or sweep.json,
    /// with the other records found beside it) into a folder.
    Report {
        /// The record to render.
        record: PathBuf,
        /// Folder for the report (default: the record's own folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run many perturbed copies of a scenario: the stable fraction with a 95% confidence
    /// interval, the findings, and the first failure shrunk to a minimal failing configuration.
    Robust(robust::RobustArgs),
    /// Run a grid over one or two scenario keys and draw the stability map.
    Sweep(sweep::SweepArgs),
    /// Combine the shard files of a `robust --shard` or `sweep --shard` run into its record.
    Merge(merge::MergeArgs),
    /// Search for verified repairs: try candidate fixes for each failing gate, re-run each with
    /// the same seed, rank the ones that pass every gate, write fixed.toml and fixed.diff.
    Fix(fix::FixArgs),
    /// List the built-in scenarios.
    List,
    /// Validate a scenario file without running it.
    Check {
        /// Path to a scenario TOML file (or a built-in name).
        target: String,
    },
    /// Print the scenario format as a JSON Schema (for editor completion and validation).
    Schema,
}

/// What `stabcheck scenario` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Parses the process arguments, runs, and maps the outcome to an exit code:
/// 0 completed with every gate held, 1 a gate failed, 2 bad input or usage (clap exits 2 on usage errors itself).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scenario {
            target,
            seed,
            steps,
            set,
            every,
            out,
            no_report,
            save_weights,
            format,
            junit,
            predict,
            robust,
        } => {
            let overrides = Overrides {
                seed,
                steps: steps.map(|n| n as u64),
                set: set
                    .iter()
                    .map(|a| SetOverride::parse(a))
                    .collect::<Result<_, _>>()?,
            };
            if predict {
                let s = scenario::apply_overrides(&scenario::resolve(&target)?, &overrides)?;
                return predict::run(&s, base_dir_of(&target), format);
            }
            let output = Output {
                out,
                no_report,
                save_weights,
                format,
                junit,
                robust,
            };
            run_command(&target, &overrides, every, &output)
        }
        Command::Report { record, out } => report_command(&record, out),
        Command::Robust(args) => robust::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Fix(args) => fix::run(&args),
        Command::List => {
            for name in scenario::builtin_names() {
                let description = scenario::resolve(name)
                    .map(|s| s.description)
                    .unwrap_or_default();
                println!("{name:<24} {description}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { target } => {
            let s = scenario::resolve(&target)?;
            println!(
                "ok: {target} is a valid scenario ({}, {} steps)",
                s.name, s.steps
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&scenario::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where and whether `stabcheck scenario` writes its report, and in which format it prints.
#[derive(Debug, Clone)]
struct Output {
    out: Option<PathBuf>,
    no_report: bool,
    save_weights: Option<PathBuf>,
    format: Format,
    junit: Option<PathBuf>,
    robust: bool,
}

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
fn report_command(record: &Path, out: Option<PathBuf>) -> Result<ExitCode> {
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

fn run_command(
    target: &str,
    overrides: &Overrides,
    every: Option<u64>,
    output: &Output,
) -> Result<ExitCode> {
    let s = scenario::apply_overrides(&scenario::resolve(target)?, overrides)?;
    let base_dir = base_dir_of(target);
    let text = output.format == Format::Text;
    if text {
        println!("{}", headline(&s));
    }
    let run = run_recorded(&s, base_dir, output.save_weights.as_deref())?;
    let summary = &run.summary;
    if text {
        print_steps(summary, every.map_or((s.steps / 20).max(1), |k| k as usize));
        print_final(summary);
        print_replay_warning(&run.origin);
        anstream::print!("{}", verdict_text(&run.verdict));
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
    if let Some(path) = &output.junit {
        let xml = junit_xml(&s.name, &run.verdict, run.elapsed)?;
        write_atomic(path, xml.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    let mut passed = run.verdict.status == Status::Pass;
    let json = (!text).then(|| run.verdict.clone());
    let robust = if output.robust {
        let r = robust::gate(&s, base_dir)?;
        passed &= r.passed;
        if text {
            print!("{}", robust::summary(&r));
        }
        Some(r)
    } else {
        None
    };
    let mut report = None;
    if !output.no_report {
        let dir = output
            .out
            .clone()
            .unwrap_or_else(|| Path::new("reports").join(&s.name));
        let writing = std::time::Instant::now();
        let record = run.into_record(&s);
        let path = record.write(&dir)?;
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
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The folder of a scenario file (relative data paths start there); `None` for a built-in name.
fn base_dir_of(target: &str) -> Option<&Path> {
    Path::new(target)
        .parent()
        .filter(|_| Path::new(target).is_file())
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
