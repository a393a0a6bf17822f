//! Building the robustness record from the cases run, and writing it with the minimal failing
//! scenario. The types themselves are in `record::robust`.

use std::path::{Path, PathBuf};

use super::CONFIDENCE;
use super::interval::clopper_pearson;
use crate::error::Error;
use crate::record::atomic::write_atomic;
use crate::record::robust::Perturbation;
pub use crate::record::robust::{CaseResult, Change, MinimalFailure, RobustRecord};
use crate::record::verdict::{FindingKind, Outcome};
use crate::record::{MINIMAL_FAILURE_FILE, Record, SCHEMA};
use crate::scenario::Scenario;

impl MinimalFailure {
    pub fn new(
        from_case: usize,
        finding: FindingKind,
        perturbation: Perturbation,
        base: &Scenario,
        scenario: Scenario,
        shrink_runs: usize,
    ) -> Self {
        let mut changes = Vec::new();
        let mut note = |key: &str, a: String, b: String| {
            if a != b {
                changes.push(Change {
                    key: key.to_string(),
                    base: a,
                    value: b,
                });
            }
        };
        note("seed", base.seed.to_string(), scenario.seed.to_string());
        note(
            "optimizer.lr",
            base.optimizer.lr.to_string(),
            scenario.optimizer.lr.to_string(),
        );
        let init = |s: &Scenario| s.init_key().1.to_string();
        note(base.init_key().0, init(base), init(&scenario));
        note(
            "data.batch",
            base.data.batch.to_string(),
            scenario.data.batch.to_string(),
        );
        note(
            "data.input_scale",
            base.data.input_scale.to_string(),
            scenario.data.input_scale.to_string(),
        );
        MinimalFailure {
            from_case,
            finding,
            perturbation,
            changes,
            shrink_runs,
            scenario,
        }
    }
}

impl RobustRecord {
    pub fn new(
        base: &Scenario,
        seed: u64,
        cases: Vec<CaseResult>,
        minimal_failure: Option<MinimalFailure>,
    ) -> Self {
        let n = cases.len();
        let unstable = cases
            .iter()
            .filter(|c| c.outcome == Outcome::Unstable)
            .count();
        let no_progress = cases
            .iter()
            .filter(|c| c.outcome == Outcome::NoProgress)
            .count();
        let stable = n - unstable;
        let (lo, hi) = clopper_pearson(stable, n, CONFIDENCE).unwrap_or((0.0, 1.0));
        let mut counts: Vec<(FindingKind, usize)> = Vec::new();
        for c in &cases {
            let mut seen: Vec<FindingKind> = c.errors.clone();
            seen.dedup();
            for kind in seen {
                match counts.iter_mut().find(|(k, _)| *k == kind) {
                    Some(entry) => entry.1 += 1,
                    None => counts.push((kind, 1)),
                }
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        let min = base.robust.min_stable_fraction;
        RobustRecord {
            schema: SCHEMA,
            stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: base.clone(),
            seed,
            cases,
            stable,
            no_progress,
            unstable,
            stable_fraction: if n == 0 {
                0.0
            } else {
                stable as f64 / n as f64
            },
            interval: [lo, hi],
            confidence: CONFIDENCE,
            min_stable_fraction: min,
            passed: lo >= min,
            finding_counts: counts,
            minimal_failure,
        }
    }

    /// Writes `dir/robust.json` and, when there is one, `dir/minimal-failure.toml`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut written = vec![self.write_in(dir)?];
        if let Some(m) = &self.minimal_failure {
            let toml_path = dir.join(MINIMAL_FAILURE_FILE);
            write_atomic(&toml_path, m.to_toml()?.as_bytes())?;
            written.push(toml_path);
        }
        Ok(written)
    }
}
