//! Sharding `robust` and `sweep` across machines: `--shard K/N` runs every index `i` with
//! `i mod N = K - 1` (like nextest's `--partition count:K/N`) and writes `shard-K-of-N.json`;
//! [`merge`] checks that the shards belong together and rebuilds the unsharded record byte for
//! byte.
//!
//! A robust shard shrinks its own first failure: the unsharded run shrinks the globally first
//! failing case, which is the first failure of whichever shard holds it, and shrinking is
//! deterministic, so merging needs no runs.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::record::robust::RobustRecord;
pub use crate::record::shard::{Shard, ShardData, ShardRecord};
use crate::record::sweep::SweepRecord;
use crate::record::verdict::Outcome;
use crate::scenario::Scenario;

/// The unsharded record rebuilt from its shards.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    Robust(Box<RobustRecord>),
    Sweep(Box<SweepRecord>),
}

impl ShardRecord {
    /// Everything that must agree between shards of one run: all but the shard and its results.
    fn identity(&self) -> (String, &Scenario, usize, String) {
        let what = match &self.data {
            ShardData::Robust {
                seed,
                cases_total,
                shrink,
                ..
            } => format!("robust seed {seed}, {cases_total} cases, shrink {shrink}"),
            ShardData::Sweep {
                x, y, cells_total, ..
            } => format!("sweep {x:?} {y:?} {cells_total} cells"),
        };
        (
            self.stabcheck_version.clone(),
            &self.scenario,
            self.shard.count,
            what,
        )
    }
}

fn mismatch(path: &Path, message: String) -> Error {
    Error::Record {
        path: Some(path.to_path_buf()),
        message,
    }
}

/// Checks that `shards` (with the files they came from) are all N shards of one run, each once,
/// and rebuilds the unsharded record.
pub fn merge(shards: &[(PathBuf, ShardRecord)]) -> Result<Merged, Error> {
    let Some((first_path, first)) = shards.first() else {
        return Err(mismatch(Path::new("."), "no shard files given".into()));
    };
    let n = first.shard.count;
    let mut seen = vec![None::<&Path>; n];
    for (path, s) in shards {
        if s.identity() != first.identity() {
            return Err(mismatch(
                path,
                format!(
                    "does not belong with {}: the scenario, version, shard count and run settings must all match",
                    first_path.display()
                ),
            ));
        }
        let slot = &mut seen[s.shard.index - 1];
        if let Some(other) = slot {
            return Err(mismatch(
                path,
                format!(
                    "shard {}/{n} is also given as {}",
                    s.shard.index,
                    other.display()
                ),
            ));
        }
        *slot = Some(path);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| seen[k - 1].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(mismatch(
            first_path,
            format!(
                "shards {} are missing: every shard 1/{n}..{n}/{n} is needed",
                missing.join(", ")
            ),
        ));
    }
    match &first.data {
        ShardData::Robust { .. } => merge_robust(shards).map(|r| Merged::Robust(Box::new(r))),
        ShardData::Sweep { .. } => merge_sweep(shards).map(|r| Merged::Sweep(Box::new(r))),
    }
}

fn merge_robust(shards: &[(PathBuf, ShardRecord)]) -> Result<RobustRecord, Error> {
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    let (mut seed, mut total) = (0, 0);
    for (_, s) in shards {
        if let ShardData::Robust {
            seed: sd,
            cases_total,
            cases: c,
            minimal_failure,
            ..
        } = &s.data
        {
            (seed, total) = (*sd, *cases_total);
            cases.extend(c.iter().cloned());
            failures.extend(minimal_failure.iter().map(|m| (**m).clone()));
        }
    }
    cases.sort_by_key(|c| c.index);
    check_indices(&shards[0].0, cases.iter().map(|c| c.index), total)?;
    let first_bad = cases
        .iter()
        .find(|c| c.outcome == Outcome::Unstable)
        .map(|c| c.index);
    let minimal = first_bad.and_then(|i| failures.into_iter().find(|m| m.from_case == i));
    Ok(RobustRecord::new(
        &shards[0].1.scenario,
        seed,
        cases,
        minimal,
    ))
}

fn merge_sweep(shards: &[(PathBuf, ShardRecord)]) -> Result<SweepRecord, Error> {
    let mut cells = Vec::new();
    let mut axes = None;
    let mut total = 0;
    for (_, s) in shards {
        if let ShardData::Sweep {
            x,
            y,
            cells_total,
            cells: c,
        } = &s.data
        {
            axes = Some((x.clone(), y.clone()));
            total = *cells_total;
            cells.extend(c.iter().cloned());
        }
    }
    cells.sort_by_key(|c| c.index);
    check_indices(&shards[0].0, cells.iter().map(|c| c.index), total)?;
    let Some((x, y)) = axes else {
        return Err(mismatch(&shards[0].0, "no sweep shard given".into()));
    };
    Ok(SweepRecord {
        schema: crate::record::SCHEMA,
        stabcheck_version: shards[0].1.stabcheck_version.clone(),
        scenario: shards[0].1.scenario.clone(),
        x,
        y,
        cells,
    })
}

/// The merged indices must be exactly `0..total`, each once.
fn check_indices(
    path: &Path,
    sorted: impl Iterator<Item = usize>,
    total: usize,
) -> Result<(), Error> {
    let mut expected = 0;
    for i in sorted {
        if i != expected {
            return Err(mismatch(
                path,
                format!(
                    "the shards do not cover cases 0..{total} exactly once (case {expected} is missing or repeated)"
                ),
            ));
        }
        expected += 1;
    }
    if expected != total {
        return Err(mismatch(
            path,
            format!("the shards hold {expected} of {total} cases"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
