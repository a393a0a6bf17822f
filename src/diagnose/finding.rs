//! What a diagnosis says: findings with evidence and a suggested fix, gate results, the verdict.
//!
//! These types are serialized into run.json (`verdict`) and printed by `--format json`; floats go
//! through `record::nonfinite` so NaN and infinities survive.

use serde::{Deserialize, Serialize};

/// How much a finding matters. Only `Error` findings can fail a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The family a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A NaN or infinity in the loss, a gradient, an activation or a weight.
    Nonfinite,
    /// The earliest anomaly that explains a later non-finite value.
    RootCause,
    ExplodingGradients,
    VanishingGradients,
    /// Depth-wise gradient scaling at step 0 compared with mean-field theory.
    DepthScaling,
    LossDivergence,
    LossSpike,
    LossOscillation,
    /// The final loss is not far enough below the initial loss.
    NoProgress,
    /// The loss stopped improving over the last window while still high.
    Plateau,
    DeadUnits,
    SaturatedUnits,
    /// Update-to-weight ratios orders of magnitude away from ~1e-3.
    UpdateRatio,
    WeightGrowth,
    /// Sharpness near or past the optimizer's stability limit (needs the sharpness probe).
    EdgeOfStability,
}

impl FindingKind {
    /// Whether this kind makes a run "unstable" (DESIGN.md conventions): slow progress does not.
    pub fn is_instability(self) -> bool {
        !matches!(
            self,
            FindingKind::NoProgress | FindingKind::Plateau | FindingKind::DepthScaling
        )
    }

    /// The kebab-case name used in JSON and printed output.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Nonfinite => "nonfinite",
            FindingKind::RootCause => "root-cause",
            FindingKind::ExplodingGradients => "exploding-gradients",
            FindingKind::VanishingGradients => "vanishing-gradients",
            FindingKind::DepthScaling => "depth-scaling",
            FindingKind::LossDivergence => "loss-divergence",
            FindingKind::LossSpike => "loss-spike",
            FindingKind::LossOscillation => "loss-oscillation",
            FindingKind::NoProgress => "no-progress",
            FindingKind::Plateau => "plateau",
            FindingKind::DeadUnits => "dead-units",
            FindingKind::SaturatedUnits => "saturated-units",
            FindingKind::UpdateRatio => "update-ratio",
            FindingKind::WeightGrowth => "weight-growth",
            FindingKind::EdgeOfStability => "edge-of-stability",
        }
    }
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

/// One diagnosis with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The `[gates]` key whose threshold this finding crossed (error findings always have one).
    pub gate: Option<String>,
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
}

/// One `[gates]` key: its threshold, the worst value measured against it, and whether it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateResult {
    /// The key in `[gates]`, e.g. `max_grad_norm`.
    pub gate: String,
    /// The threshold (`nonfinite`: 0 values allowed when "forbid", infinity when "allow").
    #[serde(with = "crate::record::nonfinite")]
    pub threshold: f64,
    /// The worst value of the gated quantity over the run (NaN when it could not be measured).
    #[serde(with = "crate::record::nonfinite")]
    pub measured: f64,
    pub passed: bool,
    /// What the gate checks, in one line.
    pub description: String,
}

/// Whether the CI gate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
}

/// What kind of run this was (DESIGN.md: "stable" means no error-severity instability finding;
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
    /// Errors first, then warnings, then infos; within a severity, by first step.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// "all 12 gates held", or "2 of 12 gates failed: max_grad_norm, nonfinite".
    pub fn gate_summary(&self) -> String {
        let failed: Vec<&str> = self
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.gate.as_str())
            .collect();
        if failed.is_empty() {
            format!("all {} gates held", self.gates.len())
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
