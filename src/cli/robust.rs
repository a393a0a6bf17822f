//! `stabcheck robust`: many perturbed runs, the stable fraction with its confidence interval, and
//! the minimal failing configuration; exit 1 when the interval's lower end is under
//! `[robust] min_stable_fraction`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::diagnose::series::fmt;
use crate::robust::{RobustOptions, RobustRecord, run_robust};
use crate::scenario::{self, Overrides, SetOverride};

#[derive(Debug, clap::Args)]
pub struct RobustArgs {
    /// A built-in scenario name or a path to a scenario TOML file.
    pub target: String,
    /// Number of perturbed runs (default: the scenario's `[robust] cases`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub cases: Option<u64>,
    /// Seed of the case draw (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the number of training steps of every case.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Override any scenario key before perturbing, e.g. `--set optimizer.lr=0.01`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Folder for robust.json and minimal-failure.toml (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not shrink the first failure.
    #[arg(long)]
    pub no_shrink: bool,
    /// Print the record as JSON on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub budget: super::BudgetArgs,
}

pub fn run(args: &RobustArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        seed: None,
        steps: args.steps,
        set: args
            .set
            .iter()
            .map(|a| SetOverride::parse(a))
            .collect::<Result<_, _>>()?,
    };
    let base = scenario::apply_overrides(&scenario::resolve(&args.target)?, &overrides)?;
    // The base scenario's estimate, per case (cases run in parallel, one per thread).
    crate::budget::Estimate::of(&base)
        .check(&args.budget.budget())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.target))?;
    let base_dir = Path::new(&args.target)
        .parent()
        .filter(|_| Path::new(&args.target).is_file());
    let options = RobustOptions {
        cases: args.cases.map_or(base.robust.cases, |n| n as usize),
        seed: args.seed.unwrap_or(base.seed),
        shrink: !args.no_shrink,
    };
    // Drawn only on a terminal: CI logs get the summary, not a stream of redraws.
    let bar =
        ProgressBar::with_draw_target(Some(options.cases as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} cases {elapsed}") {
        bar.set_style(style);
    }
    let started = std::time::Instant::now();
    let record = run_robust(&base, base_dir, &options, &|| bar.inc(1))?;
    bar.finish_and_clear();
    eprintln!(
        "ran {} cases in {:.2} s",
        record.cases.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&base.name));
    let written = record.write(&dir)?;
    for path in &written {
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        print!("{}", summary(&record));
    }
    Ok(if record.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(r: &RobustRecord) -> String {
    let n = r.cases.len();
    let mut out = format!(
        "{}: {} of {n} cases stable ({} of them without progress), {} unstable\n\
         stable fraction {} (95% Clopper-Pearson interval {} .. {}); required lower bound {}: {}\n",
        r.scenario.name,
        r.stable,
        r.no_progress,
        r.unstable,
        fmt(r.stable_fraction),
        fmt(r.interval[0]),
        fmt(r.interval[1]),
        fmt(r.min_stable_fraction),
        if r.passed { "PASS" } else { "FAIL" }
    );
    for (kind, count) in &r.finding_counts {
        out.push_str(&format!("  {:<22} in {count} of {n} cases\n", kind.name()));
    }
    if let Some(m) = &r.minimal_failure {
        out.push_str(&format!(
            "minimal failing configuration (case {} shrunk in {} runs), fails with {}:\n",
            m.from_case,
            m.shrink_runs,
            m.finding.name()
        ));
        for c in &m.changes {
            out.push_str(&format!("  {} = {} (base {})\n", c.key, c.value, c.base));
        }
        if m.changes.is_empty() {
            out.push_str("  (no change: the base scenario itself fails)\n");
        }
    }
    out
}
