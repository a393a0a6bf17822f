//! The robustness record (`robust.json`, schema 1) and the minimal failing scenario
//! (`minimal-failure.toml`), both written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CONFIDENCE;
use super::interval::clopper_pearson;
use super::strategy::Perturbation;
use crate::diagnose::{FindingKind, Outcome};
use crate::error::Error;
use crate::record::atomic::write_atomic;
use crate::scenario::{Scenario, ScenarioFile};

/// One case: what was perturbed and what the diagnoses said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseResult {
    pub index: usize,
    pub perturbation: Perturbation,
    pub outcome: Outcome,
    /// Error-severity finding kinds, in the verdict's order.
    pub errors: Vec<FindingKind>,
    /// FNV-1a of the final parameters: equal exactly when two runs are bit-identical.
    pub param_checksum: String,
}

/// One scenario key the minimal failure changes from the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub key: String,
    pub base: String,
    pub value: String,
}

/// The first failing case shrunk toward the base scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinimalFailure {
    /// Index of the case it was shrunk from.
    pub from_case: usize,
    /// The finding it still fails with.
    pub finding: FindingKind,
    pub perturbation: Perturbation,
    pub changes: Vec<Change>,
    /// Runs spent shrinking.
    pub shrink_runs: usize,
    /// The complete scenario, replayable with `stabcheck scenario minimal-failure.toml`.
    pub scenario: Scenario,
}

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
        note(
            "model.init_scale",
            base.model.init_scale.to_string(),
            scenario.model.init_scale.to_string(),
        );
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

    /// The scenario as a TOML file with a header saying what it is.
    pub fn to_toml(&self) -> Result<String, Error> {
        let body =
            toml::to_string(&ScenarioFile::from(&self.scenario)).map_err(|e| Error::Record {
                path: None,
                message: format!("could not write the minimal failure as TOML: {e}"),
            })?;
        let mut head = format!(
            "# Minimal failing configuration found by `stabcheck robust` (shrunk from case {}).\n\
             # It fails with `{}`. Replay: stabcheck scenario minimal-failure.toml\n",
            self.from_case,
            self.finding.name()
        );
        for c in &self.changes {
            head.push_str(&format!(
                "# changed: {} = {} (base {})\n",
                c.key, c.value, c.base
            ));
        }
        Ok(format!("{head}\n{body}"))
    }
}

/// Everything `stabcheck robust` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    pub scenario: Scenario,
    /// Seed of the case draw.
    pub seed: u64,
    pub cases: Vec<CaseResult>,
    /// Cases without an error-severity instability finding ("stable"; slow progress counts as
    /// stable, DESIGN.md), of which `no_progress` made no progress; `unstable` the rest.
    pub stable: usize,
    pub no_progress: usize,
    pub unstable: usize,
    pub stable_fraction: f64,
    /// Clopper–Pearson interval of the stable fraction at `confidence`.
    pub interval: [f64; 2],
    pub confidence: f64,
    /// `[robust] min_stable_fraction`; the gate passes when `interval[0]` reaches it.
    pub min_stable_fraction: f64,
    pub passed: bool,
    /// Error finding kinds over all cases and in how many cases each occurred, most frequent first.
    pub finding_counts: Vec<(FindingKind, usize)>,
    pub minimal_failure: Option<MinimalFailure>,
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
            schema: 1,
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
        let json = serde_json::to_string(self).map_err(|e| Error::Record {
            path: None,
            message: e.to_string(),
        })?;
        let path = dir.join("robust.json");
        write_atomic(&path, format!("{json}\n").as_bytes())?;
        let mut written = vec![path];
        if let Some(m) = &self.minimal_failure {
            let toml_path = dir.join("minimal-failure.toml");
            write_atomic(&toml_path, m.to_toml()?.as_bytes())?;
            written.push(toml_path);
        }
        Ok(written)
    }
}
