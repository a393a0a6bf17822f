//! `stabcheck fix`: search for verified repairs of a failing scenario, print the ranking with
//! its evidence, write fix.json, fixed.toml and fixed.diff; exit 0 when a verified fix was found
//! (or nothing needed fixing), 1 when none was.

use super::out::{out, outln};
use super::progress::progress_bar;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::{Format, TargetArgs};
use crate::diagnose::Status;
use crate::diagnose::series::fmt;
use crate::record::Record;
use crate::repair::{
    Candidate, DEFAULT_MAX_CANDIDATES, FixOptions, FixRecord, RunOutcome, run_fix_recorded,
};

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Override the scenario's seed (every candidate re-runs with the same seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for fix.json, fixed.toml, fixed.diff and the original's run.json and report page
    /// (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Most candidate re-runs (singles and pairs together).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CANDIDATES as u64,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_candidates: u64,
    /// Also require a robust check (`stabcheck robust`, no shrinking) of the best candidates
    /// that passed every gate.
    #[arg(long)]
    pub robust: bool,
    /// Cases of each robust check (default: the scenario's `[robust] cases`).
    #[arg(long, value_name = "N", requires = "robust",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub robust_cases: Option<u64>,
    /// `text` (the ranking for people) or `json` (fix.json's record on stdout, nothing else).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &FixArgs) -> Result<ExitCode> {
    // The budget is checked on the original scenario, per re-run.
    let (base, base_dir) = args.target.resolve(args.seed)?;
    let base_dir = base_dir.as_deref();
    let options = FixOptions {
        max_candidates: args.max_candidates as usize,
        robust_cases: args
            .robust
            .then(|| args.robust_cases.map_or(base.robust.cases, |n| n as usize)),
    };
    let started = std::time::Instant::now();
    // An upper bound: a search that verifies a single early skips the pairs.
    let bar = progress_bar(options.most_runs(), "runs (at most)");
    let (mut record, original) = run_fix_recorded(&base, base_dir, &options, &|| bar.inc(1))?;
    bar.finish_and_clear();
    record.source = Some(args.target.source(args.seed)?);
    eprintln!(
        "ran the original and {} candidates in {:.2} s",
        record.candidates.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&base.name));
    for path in record.write(&dir)? {
        eprintln!("wrote {}", path.display());
    }
    // The original's run.json and page, which shows fix.json as its "Verified fixes" section.
    let run = original.into_record(&base);
    let run_path = run.write_in(&dir)?;
    let page = crate::report::render(&run, &dir)?;
    eprintln!("wrote {} and {}", run_path.display(), page.index.display());
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string(&record)?),
        Format::Text => out!("{}", summary(&record)),
    }
    let fixed = record.original.status == Status::Pass || !record.ranking.is_empty();
    Ok(if fixed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn outcome_text(r: &RunOutcome) -> String {
    format!("{}; final loss {}", r.gates_text(), fmt(r.final_loss))
}

fn candidate_line(out: &mut String, c: &Candidate, original: &RunOutcome) {
    let _ = writeln!(
        out,
        "candidate {} ({}): {}",
        c.index,
        c.ideas.join(" + "),
        c.set_args()
    );
    let changed: Vec<String> = c
        .changes
        .iter()
        .map(|x| format!("{} {} -> {}", x.key, x.base, x.value))
        .collect();
    let _ = writeln!(
        out,
        "     changes {} key(s), size {}: {}",
        c.changes.len(),
        fmt(c.change_size),
        changed.join(", ")
    );
    let _ = writeln!(
        out,
        "     re-run: {} (original {})",
        outcome_text(&c.run),
        fmt(original.final_loss)
    );
    if let Some(r) = &c.robust {
        let _ = writeln!(
            out,
            "     robust: {} of {} cases stable, lower bound {} (required {}): {}",
            r.stable,
            r.cases,
            fmt(r.lower_bound),
            fmt(r.min_stable_fraction),
            if r.passed { "PASS" } else { "FAIL" }
        );
    }
}

fn summary(r: &FixRecord) -> String {
    let mut out = format!(
        "{}: original run: {}\n",
        r.scenario.name,
        outcome_text(&r.original)
    );
    if r.original.status == Status::Pass {
        out.push_str("nothing to fix: the original passes every gate\n");
        return out;
    }
    let pairs = r.candidates.iter().filter(|c| c.extends.is_some()).count();
    let _ = writeln!(
        out,
        "tried {} candidates ({} single, {pairs} pairs), each re-run with seed {}; {} rejected by validation, {} not tried (--max-candidates {}), {} pairs left once a fix was verified",
        r.candidates.len(),
        r.candidates.len() - pairs,
        r.scenario.seed,
        r.rejected.len(),
        r.not_tried,
        r.max_candidates,
        r.pairs_left
    );
    if r.ranking.is_empty() {
        out.push_str(
            "no verified fix: no candidate's re-run passed every gate. Closest candidates:\n",
        );
        let mut closest: Vec<&Candidate> = r.candidates.iter().collect();
        closest.sort_by_key(|c| (c.run.failed_gates.len(), c.index));
        for c in closest.iter().take(3) {
            out.push_str("  ");
            candidate_line(&mut out, c, &r.original);
        }
        return out;
    }
    let _ = writeln!(
        out,
        "{} verified fixes (re-run passed every gate{}), best first:",
        r.ranking.len(),
        if r.robust_cases.is_some() {
            " and the robust check"
        } else {
            ""
        }
    );
    for (rank, &i) in r.ranking.iter().enumerate() {
        if let Some(c) = r.candidates.get(i) {
            let _ = write!(out, "{:>2}. ", rank + 1);
            candidate_line(&mut out, c, &r.original);
        }
    }
    let unverified = r.candidates.len() - r.ranking.len();
    let _ = writeln!(
        out,
        "{unverified} candidates not verified (their re-run still failed a gate; see fix.json)"
    );
    out
}
