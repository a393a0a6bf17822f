//! The command-line front end: the only place that touches the terminal, file layout and exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::probe::nan_origin::CheckedOrigin;
use crate::run::{RunSummary, run_recorded};
use crate::scenario::{self, Overrides, Scenario, SetOverride};

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
        /// Folder for run.json (default: reports/<scenario name>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Do not write run.json.
        #[arg(long)]
        no_report: bool,
        /// Write the final weights to this .npz file (arrays `layer{L}.weight`, `layer{L}.bias`, ...).
        #[arg(long, value_name = "PATH")]
        save_weights: Option<PathBuf>,
        /// Print every K-th step (default: about 20 lines per run).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
        every: Option<u64>,
    },
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

/// Parses the process arguments, runs, and maps the outcome to an exit code:
/// 0 completed, 2 bad input or usage (clap exits 2 on usage errors itself).
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
        } => {
            let overrides = Overrides {
                seed,
                steps: steps.map(|n| n as u64),
                set: set
                    .iter()
                    .map(|a| SetOverride::parse(a))
                    .collect::<Result<_, _>>()?,
            };
            let output = Output {
                out,
                no_report,
                save_weights,
            };
            run_command(&target, &overrides, every, &output)
        }
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

/// Where and whether `stabcheck scenario` writes its report.
#[derive(Debug, Clone)]
struct Output {
    out: Option<PathBuf>,
    no_report: bool,
    save_weights: Option<PathBuf>,
}

fn run_command(
    target: &str,
    overrides: &Overrides,
    every: Option<u64>,
    output: &Output,
) -> Result<ExitCode> {
    let s = scenario::apply_overrides(&scenario::resolve(target)?, overrides)?;
    let base_dir = Path::new(target)
        .parent()
        .filter(|_| Path::new(target).is_file());
    println!("{}", headline(&s));
    let run = run_recorded(&s, base_dir, output.save_weights.as_deref())?;
    let summary = &run.summary;
    print_steps(summary, every.map_or((s.steps / 20).max(1), |k| k as usize));
    print_final(summary);
    print_origin(&run.origin);
    eprintln!(
        "ran {} steps in {:.3} s ({:.3} ms/step, probes on)",
        summary.steps.len(),
        run.elapsed.as_secs_f64(),
        run.elapsed.as_secs_f64() * 1e3 / summary.steps.len().max(1) as f64
    );
    if !output.no_report {
        let dir = output
            .out
            .clone()
            .unwrap_or_else(|| Path::new("reports").join(&s.name));
        let path = run.into_record(&s).write(&dir)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_origin(origin: &CheckedOrigin) {
    if let Some(o) = &origin.origin {
        let layer = o
            .layer
            .map_or("the loss".to_string(), |l| format!("layer {l}"));
        println!(
            "first non-finite value ({}): step {}, {layer}, op {} ({:?}): {}",
            o.value, o.step, o.op, o.phase, o.explanation
        );
    }
    if let Some(d) = &origin.replay_divergence {
        println!(
            "warning: the replay did not reproduce step {} bit for bit (loss {} vs {}); the origin above describes the replay",
            d.step,
            num(d.original_loss),
            num(d.replayed_loss)
        );
    }
}

fn headline(s: &Scenario) -> String {
    let m = &s.model;
    let shape = match m.hidden.first() {
        Some(&w) if m.hidden.iter().all(|&x| x == w) => {
            format!("{} hidden layers of {w}", m.hidden.len())
        }
        Some(_) => format!("hidden {:?}", m.hidden),
        None => "linear model".to_string(),
    };
    format!(
        "{}: {shape}, {}, {} init (scale {}), {} lr {}, {}, {} steps, seed {}",
        s.name,
        kebab(&m.activation),
        kebab(&m.init),
        m.init_scale,
        kebab(&s.optimizer.kind),
        s.optimizer.lr,
        kebab(&s.precision),
        s.steps,
        s.seed
    )
}

/// The kebab-case name serde gives a config enum.
fn kebab<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn print_steps(summary: &RunSummary, every: usize) {
    println!(
        "{:>6}  {:>12}  {:>12}  {:>10}",
        "step", "loss", "grad-norm", "lr"
    );
    let last = summary.steps.len().saturating_sub(1);
    for s in summary
        .steps
        .iter()
        .filter(|s| s.step % every == 0 || s.step == last)
    {
        println!(
            "{:>6}  {:>12}  {:>12}  {:>10}",
            s.step,
            num(s.loss),
            num(s.grad_norm),
            num(s.lr)
        );
    }
}

fn print_final(summary: &RunSummary) {
    let (Some(first), Some(last)) = (summary.steps.first(), summary.steps.last()) else {
        return;
    };
    println!(
        "final: loss {} (initial {}, ratio {}), grad norm {}; {} parameters, checksum {:016x}",
        num(last.loss),
        num(first.loss),
        num(last.loss / first.loss),
        num(last.grad_norm),
        summary.n_params,
        summary.param_checksum
    );
}

/// Four significant digits (as snapshot tests round); non-finite values spelled as in run.json (`NaN`, `inf`, `-inf`).
fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:.3e}")
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

    #[test]
    fn numbers_spell_non_finite_values_like_run_json() {
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
        assert_eq!(num(1234.5), "1.234e3");
    }
}
