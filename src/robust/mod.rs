//! Property-based robustness: run a scenario under many perturbations, measure the stable
//! fraction with a confidence interval, and shrink the first failure to a minimal failing
//! configuration that replays as a scenario file.
//!
//! Cases are drawn up front from the seed (`strategy`), run in parallel with rayon, and gathered
//! in index order, so `robust.json` is bit-identical whatever the thread count; each single run
//! stays single-threaded (docs/conventions.md, "Determinism").

pub mod axis;
pub mod interval;
pub mod lr_sensitivity;
pub mod record;
pub mod shard;
pub mod shrink;
pub mod strategy;
pub mod sweep;

use std::path::Path;

use rayon::prelude::*;

use crate::diagnose::{FindingKind, Outcome};
use crate::error::Error;
use crate::run::run_recorded;
use crate::scenario::Scenario;
pub use record::{CaseResult, Change, MinimalFailure, RobustRecord};
use strategy::{Perturbation, draw_cases};

/// Confidence level of the stable-fraction interval.
pub const CONFIDENCE: f64 = 0.95;

/// How `stabcheck robust` runs.
#[derive(Debug, Clone)]
pub struct RobustOptions {
    /// Cases to run (default: `[robust] cases`).
    pub cases: usize,
    /// Seed of the case draw (default: the scenario's seed).
    pub seed: u64,
    /// Shrink the first failure to a minimal failing configuration.
    pub shrink: bool,
}

/// Runs one case and returns its outcome, error kinds and parameter checksum.
fn run_case(
    s: &Scenario,
    base_dir: Option<&Path>,
) -> Result<(Outcome, Vec<FindingKind>, u64), Error> {
    let run = run_recorded(s, base_dir, None)?;
    let errors = run.verdict.errors().map(|f| f.kind).collect();
    Ok((run.verdict.outcome, errors, run.summary.param_checksum))
}

/// Runs every case of `base` (in parallel; results in index order) and shrinks the first
/// failure. `progress` is called once per finished case (from any thread).
pub fn run_robust(
    base: &Scenario,
    base_dir: Option<&Path>,
    options: &RobustOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<RobustRecord, Error> {
    let (cases, minimal_failure) = run_cases(base, base_dir, options, &|_| true, progress)?;
    Ok(RobustRecord::new(
        base,
        options.seed,
        cases,
        minimal_failure,
    ))
}

/// Runs the cases whose index `keep` accepts (all, or one shard's) and shrinks the first unstable
/// one among them. The draw is always of all `options.cases`, so a case's perturbation does not
/// depend on the sharding, and a shard's first failure shrinks exactly as in an unsharded run.
pub fn run_cases(
    base: &Scenario,
    base_dir: Option<&Path>,
    options: &RobustOptions,
    keep: &(dyn Fn(usize) -> bool + Sync),
    progress: &(dyn Fn() + Sync),
) -> Result<(Vec<CaseResult>, Option<MinimalFailure>), Error> {
    let perturbations = draw_cases(base, options.cases, options.seed);
    let chosen: Vec<(usize, &Perturbation)> = perturbations
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .collect();
    let cases: Vec<CaseResult> = chosen
        .par_iter()
        .map(|&(index, p)| {
            let s = p.apply(base)?;
            let (outcome, errors, checksum) = run_case(&s, base_dir)?;
            progress();
            Ok(CaseResult {
                index,
                perturbation: p.clone(),
                outcome,
                errors,
                param_checksum: format!("{checksum:016x}"),
            })
        })
        .collect::<Result<_, Error>>()?;
    let minimal_failure = if options.shrink {
        minimal_failure(base, base_dir, &cases)?
    } else {
        None
    };
    Ok((cases, minimal_failure))
}

/// Shrinks the first unstable case toward the base while it still fails with its target finding.
fn minimal_failure(
    base: &Scenario,
    base_dir: Option<&Path>,
    cases: &[CaseResult],
) -> Result<Option<MinimalFailure>, Error> {
    let Some(first) = cases.iter().find(|c| c.outcome == Outcome::Unstable) else {
        return Ok(None);
    };
    let Some(target) = shrink::target_kind(&first.errors) else {
        return Ok(None);
    };
    let identity = Perturbation::identity(base);
    let mut failure: Option<Error> = None;
    let mut oracle = |p: &Perturbation| {
        let outcome = p
            .apply(base)
            .map_err(Error::from)
            .and_then(|s| run_case(&s, base_dir));
        match outcome {
            Ok((_, errors, _)) => errors.contains(&target),
            Err(e) => {
                failure.get_or_insert(e);
                false
            }
        }
    };
    let (best, runs) = shrink::shrink(&identity, &first.perturbation, &mut oracle);
    if let Some(e) = failure {
        return Err(e);
    }
    // Its own name, so replaying it writes its own report instead of over the base's.
    let mut scenario = best.apply(base)?;
    scenario.name = format!("{}-minimal-failure", base.name);
    scenario.description = format!(
        "{} — minimal failing configuration found by stabcheck robust ({})",
        base.description,
        target.name()
    );
    let scenario = scenario.revalidate()?;
    Ok(Some(MinimalFailure::new(
        first.index,
        target,
        best,
        base,
        scenario,
        runs,
    )))
}
