//! The command-line front end: the only place that touches the terminal, file layout and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod diagnose;
mod diff;
mod fix;
mod interrupt;
#[cfg(test)]
mod kill_tests;
mod lr_sensitivity;
mod merge;
mod out;
mod precision_check;
mod predict;
mod progress;
mod report;
mod robust;
mod run_scenario;
mod scenario_json;
mod summary;
mod sweep;
mod target;

use out::outln;
pub(crate) use report::existing_run;
use report::report_command;
pub use target::{BudgetArgs, TargetArgs, VerdictOutputs};

use crate::scenario;

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
    Scenario(run_scenario::ScenarioArgs),
    /// Render the SVG charts and index.html of a record (run.json, robust.json or sweep.json,
    /// with the other records found beside it) into a folder.
    Report {
        /// The record to render, or a folder holding one (its run.json, else its robust.json,
        /// sweep.json, fix.json or lr-sensitivity.json).
        record: PathBuf,
        /// Folder for the report (default: the record's own folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Another run (its run.json or folder) drawn over this one: loss and per-layer
        /// gradient norms in the interactive charts, the loss in a static chart.
        #[arg(long, value_name = "RUN")]
        compare: Option<PathBuf>,
    },
    /// Run many perturbed copies of a scenario: the stable fraction with a 95% confidence
    /// interval, the findings, and the first failure shrunk to a minimal failing configuration.
    Robust(robust::RobustArgs),
    /// Run a grid over one or two scenario keys and draw the stability map.
    Sweep(sweep::SweepArgs),
    /// Final loss against learning rate for a scenario and its variants (for a transformer:
    /// with qk-layernorm and z-loss), and each one's LR sensitivity (Wortsman et al. 2023).
    LrSensitivity(lr_sensitivity::LrSensitivityArgs),
    /// Combine the shard files of a `robust --shard` or `sweep --shard` run into its record.
    Merge(merge::MergeArgs),
    /// Search for verified repairs: try candidate fixes for each failing gate, re-run each with
    /// the same seed, rank the ones that pass every gate, write fixed.toml and fixed.diff.
    Fix(fix::FixArgs),
    /// Compare a run with a baseline (a run.json or a seed ensemble) statistic by statistic
    /// against the baseline's noise bands; exit 1 when one leaves its band.
    Diff(diff::DiffArgs),
    /// Apply the diagnoses and gates to a trace of a real run (JSONL, one object per step);
    /// exit 1 when a gate fails.
    Diagnose(diagnose::DiagnoseArgs),
    /// List the built-in scenarios.
    List,
    /// Validate a scenario file without running it.
    Check {
        /// Path to a scenario TOML file (or a built-in name).
        target: String,
    },
    /// Print the scenario format as a JSON Schema (for editor completion and validation).
    Schema {
        /// Print instead the JSON Schema of one line of a trace (`stabcheck diagnose` input).
        #[arg(long)]
        trace: bool,
    },
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
        Command::Scenario(args) => run_scenario::run(&args),
        Command::Report {
            record,
            out,
            compare,
        } => report_command(&record, out, compare.as_deref()),
        Command::Robust(args) => robust::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::LrSensitivity(args) => lr_sensitivity::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Fix(args) => fix::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Diagnose(args) => diagnose::run(&args),
        Command::List => {
            for name in scenario::builtin_names() {
                let description = scenario::resolve(name)
                    .map(|s| s.description)
                    .unwrap_or_default();
                outln!("{name:<24} {description}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { target } => {
            let s = scenario::resolve(&target)?;
            outln!(
                "ok: {target} is a valid scenario ({}, {} steps)",
                s.name,
                s.steps
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { trace } => {
            let schema = match trace {
                true => crate::record::trace_schema::trace_json_schema(),
                false => scenario::json_schema(),
            };
            outln!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
    }
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
