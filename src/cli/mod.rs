//! The command-line front end: the only place that touches the terminal, file layout and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod fix;
mod interrupt;
#[cfg(test)]
mod kill_tests;
mod merge;
mod out;
mod predict;
mod report;
mod robust;
mod run_scenario;
mod summary;
mod sweep;

use out::outln;
pub(crate) use report::existing_run;
use report::report_command;
use run_scenario::{Output, base_dir_of, run_command};

use crate::scenario::{self, Overrides, SetOverride};

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
        #[command(flatten)]
        budget: BudgetArgs,
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

/// `--max-memory` and `--max-flops`: the resource budget a run is checked against before it is built.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct BudgetArgs {
    /// Refuse a run whose estimated peak memory is over this (e.g. 16GiB, 512MiB, bytes).
    #[arg(long, value_name = "SIZE", value_parser = crate::budget::parse_size, default_value = "4GiB")]
    pub max_memory: u64,
    /// Refuse a run whose estimated training FLOPs are over this (e.g. 1e15).
    #[arg(long, value_name = "FLOPS", value_parser = crate::budget::parse_flops, default_value = "1e13")]
    pub max_flops: f64,
}

impl BudgetArgs {
    pub fn budget(&self) -> crate::budget::Budget {
        crate::budget::Budget {
            max_memory_bytes: self.max_memory,
            max_flops: self.max_flops,
        }
    }
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
            budget,
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
                budget: budget.budget(),
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
        Command::Schema => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&scenario::json_schema())?
            );
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
