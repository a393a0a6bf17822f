//! The robustness record (`robust.json`) and the minimal failing scenario
//! (`minimal-failure.toml`): what `stabcheck robust` measured, as the report reads it.

use serde::{Deserialize, Serialize};

use super::verdict::{FindingKind, Outcome};
use super::{MINIMAL_FAILURE_FILE, ROBUST_FILE, Record};
use crate::error::Error;
use crate::scenario::{Scenario, ScenarioFile};

/// One robustness case: multipliers on the base scenario, an absolute batch, and a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Perturbation {
    pub lr_scale: f64,
    pub init_scale_scale: f64,
    pub batch: usize,
    pub input_scale_scale: f64,
    pub seed: u64,
}

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
    /// The scenario as a TOML file with a header saying what it is.
    pub fn to_toml(&self) -> Result<String, Error> {
        let body = toml::to_string(&ScenarioFile::from(&self.scenario))
            .map_err(|e| Error::serialize(MINIMAL_FAILURE_FILE, e))?;
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
    /// stable, docs/conventions.md), of which `no_progress` made no progress; `unstable` the rest.
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

impl Record for RobustRecord {
    fn file_name(&self) -> String {
        ROBUST_FILE.to_string()
    }
}
