//! Verified repairs (`stabcheck fix`): propose candidate fixes for each failing finding, re-run
//! each with the same seed, and keep only the ones whose re-run passed every gate.
//!
//! Candidates come from the finding's own suggestion and the idea table (`candidates`); singles
//! run first, then pairs (an improved single plus a candidate for a finding still failing in its
//! re-run) when no single passed, in chunks until one passes. Runs go in parallel with rayon and are gathered in index
//! order, so `fix.json` is identical whatever the thread count; each run stays single-threaded.

pub mod candidates;
mod candidates_precision;
pub mod changes;
pub mod record;
pub mod search;

use std::path::Path;

use crate::diagnose::Status;
use crate::error::Error;
use crate::robust::{RobustOptions, run_robust};
use crate::run::{RecordedRun, run_recorded};
use crate::scenario::{MAX_NAME_LEN, Scenario};
pub use record::{Candidate, FixRecord, Phase, RobustCheck, RunOutcome};
use search::{Planned, Planner, Tried, improved, rank, run_all};

/// Default of `--max-candidates`: re-runs allowed beyond the original's.
pub const DEFAULT_MAX_CANDIDATES: usize = 24;

/// Pairs run in chunks of this many (a constant, so the result never depends on the thread
/// count); the search stops after the first chunk that verifies a fix.
pub const PAIR_CHUNK: usize = 8;

/// With `--robust`, how many candidates that passed every gate get a robust check (in rank
/// order): each check is `robust_cases` runs.
pub const ROBUST_CHECKS: usize = 3;

/// How `stabcheck fix` searches.
#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Candidate re-runs allowed (singles and pairs together).
    pub max_candidates: usize,
    /// With `Some(cases)`, a candidate is verified only when a robust check of that many cases
    /// also passes (`[robust] min_stable_fraction`).
    pub robust_cases: Option<usize>,
}

impl FixOptions {
    /// The most runs a search makes: the original, every candidate, and the robust checks.
    pub fn most_runs(&self) -> usize {
        1 + self.max_candidates + self.robust_cases.map_or(0, |n| n * ROBUST_CHECKS)
    }
}

impl Default for FixOptions {
    fn default() -> Self {
        FixOptions {
            max_candidates: DEFAULT_MAX_CANDIDATES,
            robust_cases: None,
        }
    }
}

/// Runs `base`, searches for repairs of its failing gates, and returns what was tried and found.
pub fn run_fix(
    base: &Scenario,
    base_dir: Option<&Path>,
    options: &FixOptions,
) -> Result<FixRecord, Error> {
    run_fix_recorded(base, base_dir, options, &|| {}).map(|(record, _)| record)
}

/// [`run_fix`], also returning the original's run (for its run.json and report page).
/// `progress` is called once per finished run (the original, each candidate, each robust case),
/// from any thread; at most [`FixOptions::most_runs`] calls.
pub fn run_fix_recorded(
    base: &Scenario,
    base_dir: Option<&Path>,
    options: &FixOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<(FixRecord, RecordedRun), Error> {
    let first = run_recorded(base, base_dir, None)?;
    progress();
    let original = RunOutcome::of(&first);
    let mut planner = Planner::new(base, options.max_candidates);
    let mut tried: Vec<Tried> = Vec::new();
    let mut pairs_left = 0;
    if first.verdict.status == Status::Fail {
        planner.propose(base, &first.verdict, None);
        tried = run_all((base, base_dir), planner.take(), 0, progress)?;
        if !tried.iter().any(|t| t.candidate.verified) {
            for single in improved(&tried, &original) {
                planner.propose(&single.scenario, &single.verdict, Some(single));
            }
            pairs_left = run_pairs((base, base_dir), planner.take(), &mut tried, progress)?;
        }
    }
    let mut candidates: Vec<Candidate> = tried.iter().map(|t| t.candidate.clone()).collect();
    if let Some(cases) = options.robust_cases {
        robust_checks(&tried, (&mut candidates, base_dir), cases, progress)?;
    }
    let ranking = rank(&candidates);
    let fixed = match ranking.first() {
        Some(&i) => Some(renamed(&tried[i].scenario, base)?),
        None => None,
    };
    let record = FixRecord {
        schema: 1,
        stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: base.clone(),
        original,
        max_candidates: options.max_candidates,
        robust_cases: options.robust_cases,
        candidates,
        rejected: planner.rejected,
        not_tried: planner.over_budget,
        pairs_left,
        ranking,
        fixed,
        source: None,
    };
    Ok((record, first))
}

/// Runs the planned pairs in chunks of [`PAIR_CHUNK`] until a chunk verifies a fix; returns how
/// many pairs were left unrun.
fn run_pairs(
    (base, base_dir): (&Scenario, Option<&Path>),
    mut pairs: Vec<Planned>,
    tried: &mut Vec<Tried>,
    progress: &(dyn Fn() + Sync),
) -> Result<usize, Error> {
    while !pairs.is_empty() {
        let rest = pairs.split_off(pairs.len().min(PAIR_CHUNK));
        let planned = std::mem::replace(&mut pairs, rest);
        let chunk = run_all((base, base_dir), planned, tried.len(), progress)?;
        let verified = chunk.iter().any(|t| t.candidate.verified);
        tried.extend(chunk);
        if verified {
            break;
        }
    }
    Ok(pairs.len())
}

/// Robust-checks the best [`ROBUST_CHECKS`] candidates that passed every gate; the others stay
/// unverified (a fix under `--robust` must have passed its check).
fn robust_checks(
    tried: &[Tried],
    (candidates, base_dir): (&mut [Candidate], Option<&Path>),
    cases: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<(), Error> {
    let passed = rank(candidates);
    for c in candidates.iter_mut() {
        c.verified = false;
    }
    for &i in passed.iter().take(ROBUST_CHECKS) {
        let s = &tried[i].scenario;
        let options = RobustOptions {
            cases,
            seed: s.seed,
            shrink: false,
        };
        let r = run_robust(s, base_dir, &options, progress)?;
        candidates[i].robust = Some(RobustCheck {
            cases: r.cases.len(),
            stable: r.stable,
            lower_bound: r.interval[0],
            min_stable_fraction: r.min_stable_fraction,
            passed: r.passed,
        });
        candidates[i].verified = r.passed;
    }
    Ok(())
}

/// The repair under its own name (`<name>-fixed`), so replaying it writes its own report; the
/// original name when that would be too long.
fn renamed(fixed: &Scenario, base: &Scenario) -> Result<Scenario, Error> {
    let mut s = fixed.clone();
    let name = format!("{}-fixed", base.name);
    if name.len() <= MAX_NAME_LEN {
        s.name = name;
    }
    s.description = format!("{} (repaired by stabcheck fix)", base.description);
    Ok(s.revalidate()?)
}
