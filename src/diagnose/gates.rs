//! The gate ledger: every `[gates]` key with its threshold and the worst value measured against it.
//!
//! A gate fails exactly when an error-severity finding names it, so the verdict, the findings
//! and the JUnit test cases can never disagree.

use super::finding::{Finding, GateResult, Severity};

/// Every gate, in the order `[gates]` documents them (and JUnit lists them).
pub const GATE_ORDER: [&str; 13] = [
    "nonfinite",
    "max_grad_norm",
    "min_grad_norm",
    "max_layer_grad_ratio",
    "max_loss_spike",
    "max_loss_growth",
    "max_loss_oscillation",
    "max_final_loss_ratio",
    "max_dead_fraction",
    "max_saturated_fraction",
    "max_update_ratio",
    "max_weight_growth",
    "max_sharpness_ratio",
];

/// Gate measurements collected while the diagnoses run.
#[derive(Debug, Default)]
pub struct GateBook {
    entries: Vec<GateResult>,
}

impl GateBook {
    /// Records the worst value of a gated quantity; the pass/fail is settled by the findings.
    pub fn record(&mut self, gate: &str, threshold: f64, measured: f64, description: &str) {
        self.entries.push(GateResult {
            gate: gate.to_string(),
            threshold,
            measured,
            passed: true,
            description: description.to_string(),
        });
    }

    /// One result per gate in [`GATE_ORDER`]; a gate fails when an error finding names it.
    pub fn into_results(mut self, findings: &[Finding]) -> Vec<GateResult> {
        for entry in &mut self.entries {
            entry.passed = !findings
                .iter()
                .any(|f| f.severity == Severity::Error && f.gate.as_deref() == Some(&entry.gate));
        }
        let rank = |g: &GateResult| {
            GATE_ORDER
                .iter()
                .position(|k| *k == g.gate)
                .unwrap_or(GATE_ORDER.len())
        };
        self.entries.sort_by_key(rank);
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::context::Draft;
    use crate::diagnose::finding::{FindingKind, StepRange};

    #[test]
    fn a_gate_fails_only_when_an_error_finding_names_it() {
        let mut book = GateBook::default();
        book.record("max_loss_spike", 5.0, 9.0, "spikes");
        book.record("max_grad_norm", 1e3, 2e3, "norms");
        let steps = StepRange { first: 0, last: 1 };
        let warning = Draft::new(FindingKind::ExplodingGradients, Severity::Warning, steps)
            .gate("max_grad_norm", 1e3, 2e3)
            .done();
        let error = Draft::new(FindingKind::LossSpike, Severity::Error, steps)
            .gate("max_loss_spike", 5.0, 9.0)
            .done();
        let results = book.into_results(&[warning, error]);
        let names: Vec<_> = results
            .iter()
            .map(|g| (g.gate.as_str(), g.passed))
            .collect();
        assert_eq!(names, [("max_grad_norm", true), ("max_loss_spike", false)]);
    }
}
