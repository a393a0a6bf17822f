//! What a diagnosis says: findings with evidence and a suggested fix, gate results, the verdict.
//!
//! These types are serialized into run.json (`verdict`) and printed by `--format json`; floats go
//! through `record::nonfinite` so NaN and infinities survive.

use serde::{Deserialize, Serialize};

pub use super::finding_kind::FindingKind;
use super::gate::Gate;

/// How much a finding matters. Only `Error` findings can fail a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Steps `first..=last` (0-based) over which a finding was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRange {
    pub first: usize,
    pub last: usize,
}

/// One named measured number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub name: String,
    #[serde(with = "crate::record::nonfinite")]
    pub value: f64,
}

/// A concrete change to the scenario: each entry is a `--set` argument (`optimizer.lr=3e-4`),
/// so a fix can be applied and re-run as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suggestion {
    pub set: Vec<String>,
    pub why: String,
}

/// A step a chart marks, and the value of the finding's quantity there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    pub step: usize,
    #[serde(with = "crate::record::nonfinite")]
    pub value: f64,
}

/// One diagnosis with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The `[gates]` key whose threshold this finding crossed (error findings always have one).
    pub gate: Option<Gate>,
    /// Layers involved (hidden `0..depth`, the output layer is `depth`); empty for global ones.
    pub layers: Vec<usize>,
    pub steps: StepRange,
    /// The number that triggered the finding, compared with `threshold`.
    #[serde(with = "crate::record::nonfinite")]
    pub measured: f64,
    #[serde(with = "crate::record::nonfinite::option")]
    pub threshold: Option<f64>,
    /// One line: what happened, with the numbers.
    pub summary: String,
    /// Why it matters and how the numbers were measured, in plain language.
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    pub suggestion: Option<Suggestion>,
    /// For an error that follows from another: the kind of the finding that explains it (the
    /// verdict's cause, listed first; see `diagnose::causes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequence_of: Option<FindingKind>,
    /// Steps a chart should mark, with the value it marks them at (the loss of each spike step
    /// over the gate): the report draws markers from the verdict, never by diagnosing again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
}

/// What became of one gate on one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateStatus {
    Pass,
    Fail,
    /// The gated quantity could not be measured on this run (see `reason`): neither a pass nor
    /// a failure.
    NotJudged,
}

/// One `[gates]` key: its threshold, the worst value measured against it, and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GateResultFile")]
pub struct GateResult {
    /// The key in `[gates]`, e.g. `max_grad_norm`.
    pub gate: Gate,
    /// The threshold (`nonfinite`: 0 values allowed when "forbid", infinity when "allow").
    #[serde(with = "crate::record::nonfinite")]
    pub threshold: f64,
    /// The worst value of the gated quantity over the run (NaN when it could not be measured).
    #[serde(with = "crate::record::nonfinite")]
    pub measured: f64,
    pub status: GateStatus,
    /// Why the gate was not judged (set exactly when `status` is `not-judged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the gate checks, in one line.
    pub description: String,
}

impl GateResult {
    pub fn failed(&self) -> bool {
        self.status == GateStatus::Fail
    }

    /// "pass", "FAIL" or "not judged", as the summary and the report print it.
    pub fn word(&self) -> &'static str {
        match self.status {
            GateStatus::Pass => "pass",
            GateStatus::Fail => "FAIL",
            GateStatus::NotJudged => "not judged",
        }
    }
}

/// A gate result as written, also in records made before gates could be "not judged" (they
/// carry `passed: bool` instead of `status`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GateResultFile {
    gate: Gate,
    #[serde(with = "crate::record::nonfinite")]
    threshold: f64,
    #[serde(with = "crate::record::nonfinite")]
    measured: f64,
    #[serde(default)]
    status: Option<GateStatus>,
    #[serde(default)]
    passed: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    description: String,
}

impl TryFrom<GateResultFile> for GateResult {
    type Error = String;

    fn try_from(f: GateResultFile) -> Result<Self, String> {
        let status = match (f.status, f.passed) {
            (Some(status), None) => status,
            (None, Some(true)) => GateStatus::Pass,
            (None, Some(false)) => GateStatus::Fail,
            _ => return Err("a gate result needs exactly one of `status` and `passed`".into()),
        };
        Ok(GateResult {
            gate: f.gate,
            threshold: f.threshold,
            measured: f.measured,
            status,
            reason: f.reason,
            description: f.description,
        })
    }
}

/// Whether the CI gate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
}

/// What kind of run this was (docs/conventions.md: "stable" means no error-severity instability finding;
/// slow progress is its own outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Stable,
    Unstable,
    NoProgress,
}

/// The diagnosis of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub status: Status,
    pub outcome: Outcome,
    pub gates: Vec<GateResult>,
    /// The cause first (the error that explains the others), its root cause, its consequences,
    /// then warnings and infos (see `diagnose::causes`).
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// "all 12 gates held", "11 of 12 gates held, 1 not judged", or "2 of 12 gates failed:
    /// max_grad_norm, nonfinite".
    pub fn gate_summary(&self) -> String {
        let failed: Vec<&str> = self
            .gates
            .iter()
            .filter(|g| g.failed())
            .map(|g| g.gate.key())
            .collect();
        let unjudged = self
            .gates
            .iter()
            .filter(|g| g.status == GateStatus::NotJudged)
            .count();
        if failed.is_empty() && unjudged == 0 {
            format!("all {} gates held", self.gates.len())
        } else if failed.is_empty() {
            format!(
                "{} of {} gates held, {unjudged} not judged",
                self.gates.len() - unjudged,
                self.gates.len()
            )
        } else {
            format!(
                "{} of {} gates failed: {}",
                failed.len(),
                self.gates.len(),
                failed.join(", ")
            )
        }
    }

    /// The error findings (the ones that can fail a gate).
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}
