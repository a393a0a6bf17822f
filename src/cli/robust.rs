//! `stabcheck robust`: many perturbed runs, the stable fraction with its confidence interval, and
//! the minimal failing configuration; exit 1 when the interval's lower end is under
//! `[robust] min_stable_fraction`.

use super::out::{out, outln};
use crate::diagnose::robust_gate::{RobustEvidence, cases_needed};
use crate::record::Record;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::progress::progress_bar;
use anyhow::Result;

use super::{Format, TargetArgs};
use crate::diagnose::series::fmt;
use crate::report::{Extras, render_folder};
use crate::robust::shard::{Shard, ShardData, ShardRecord};
use crate::robust::{RobustOptions, RobustRecord, run_cases};
use crate::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct RobustArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of perturbed runs (default: the scenario's `[robust] cases`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub cases: Option<u64>,
    /// Seed of the case draw (default: the scenario's seed). Not the scenario's seed: each case
    /// runs the base seed, or a drawn one with `[robust] vary_seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for robust.json and minimal-failure.toml (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not shrink the first failure.
    #[arg(long)]
    pub no_shrink: bool,
    /// `text` (a summary for people) or `json` (robust.json's record on stdout, nothing else).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run only shard K of N (cases i with i mod N = K-1) and write shard-K-of-N.json; combine
    /// the shards with `stabcheck merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
}

pub fn run(args: &RobustArgs) -> Result<ExitCode> {
    // The budget is checked per case (cases run in parallel, one per thread).
    let (base, base_dir) = args.target.resolve(None)?;
    let options = RobustOptions {
        cases: args.cases.map_or(base.robust.cases, |n| n as usize),
        seed: args.seed.unwrap_or(base.seed),
        shrink: !args.no_shrink,
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&base.name));
    warn_if_unreachable(options.cases, base.robust.min_stable_fraction);
    let shard = args.shard;
    let keep = move |i: usize| shard.is_none_or(|s| s.contains(i));
    let count = (0..options.cases).filter(|&i| keep(i)).count();
    let bar = progress_bar(count, "cases");
    let started = std::time::Instant::now();
    let (cases, mut minimal) =
        run_cases(&base, base_dir.as_deref(), &options, &keep, &|| bar.inc(1))?;
    bar.finish_and_clear();
    // minimal-failure.toml is written into the report folder: its data path must not be
    // relative to the scenario's.
    if let Some(m) = minimal.as_mut() {
        crate::scenario::anchor_paths(&mut m.scenario, base_dir.as_deref());
    }
    eprintln!(
        "ran {} cases in {:.2} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(s) = shard {
        let data = ShardData::Robust {
            seed: options.seed,
            cases_total: options.cases,
            cases,
            minimal_failure: minimal.map(Box::new),
            shrink: options.shrink,
        };
        let path = ShardRecord::new(s, &base, data).write_in(&dir)?;
        eprintln!("wrote {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let record = RobustRecord::new(&base, options.seed, cases, minimal);
    finish(&record, &dir, args.format == Format::Json)
}

/// The robustness gate of `stabcheck scenario --robust`: the scenario's own `[robust]` cases and
/// seed, with the first failure shrunk.
pub fn gate(s: &Scenario, base_dir: Option<&Path>) -> Result<RobustRecord> {
    let options = RobustOptions {
        cases: s.robust.cases,
        seed: s.seed,
        shrink: true,
    };
    warn_if_unreachable(options.cases, s.robust.min_stable_fraction);
    let bar = progress_bar(options.cases, "robust cases");
    let (cases, mut minimal) = run_cases(s, base_dir, &options, &|_| true, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(m) = minimal.as_mut() {
        crate::scenario::anchor_paths(&mut m.scenario, base_dir);
    }
    Ok(RobustRecord::new(s, options.seed, cases, minimal))
}

/// Says before running that `cases` can never clear `min_stable_fraction`: even all of them
/// stable gives a Clopper-Pearson lower bound under it.
fn warn_if_unreachable(cases: usize, min_stable_fraction: f64) {
    match cases_needed(min_stable_fraction) {
        Some(needed) if cases < needed => eprintln!(
            "warning: the robust gate cannot pass with {cases} cases: even {cases} of {cases} \
             stable has a 95% lower bound of {} < min_stable_fraction {}; it needs at least \
             {needed} cases",
            fmt(0.025f64.powf(1.0 / cases.max(1) as f64)),
            fmt(min_stable_fraction)
        ),
        None => eprintln!(
            "warning: the robust gate cannot pass: min_stable_fraction {} is not reachable by a \
             95% lower bound with any number of cases",
            fmt(min_stable_fraction)
        ),
        Some(_) => {}
    }
}

/// The robust record's numbers for [`Verdict::with_robust`](crate::diagnose::Verdict).
pub fn evidence(r: &RobustRecord) -> RobustEvidence {
    RobustEvidence {
        stable: r.stable,
        cases: r.cases.len(),
        interval: r.interval,
        min_stable_fraction: r.min_stable_fraction,
        finding_counts: r.finding_counts.clone(),
    }
}

/// Writes robust.json (and minimal-failure.toml) and the report, prints the summary or the JSON;
/// exit 1 when the interval's lower end is under `[robust] min_stable_fraction`.
pub fn finish(record: &RobustRecord, dir: &Path, json: bool) -> Result<ExitCode> {
    for path in record.write(dir)? {
        eprintln!("wrote {}", path.display());
    }
    let mut extras = Extras::load(dir)?;
    extras.robust = Some(record.clone());
    // A run.json already in the folder shows its verdict with this robust gate folded in, so the
    // page's banner and this command's exit code agree.
    let whole = |steps: usize| crate::diagnose::StepRange {
        first: 0,
        last: steps.saturating_sub(1),
    };
    let run = super::existing_run(dir)?.map(|mut r| {
        let steps = r.scenario.steps;
        r.verdict = r
            .verdict
            .take()
            .map(|v| v.with_robust(&evidence(record), whole(steps)));
        r
    });
    let written = render_folder(run.as_ref(), &extras, dir)?;
    eprintln!("wrote {}", written.index.display());
    if json {
        outln!("{}", serde_json::to_string(record)?);
    } else {
        out!("{}", summary(record));
    }
    Ok(if record.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn summary(r: &RobustRecord) -> String {
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
