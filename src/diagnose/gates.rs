//! The gate ledger: every `[gates]` key with its threshold and the worst value measured against it.
//!
//! A gate fails exactly when an error-severity finding names it, so the verdict, the findings
//! and the JUnit test cases can never disagree. A gate whose quantity could not be measured on
//! the run (NaN) is "not judged", with the reason, never a pass.

pub use crate::record::gate::Gate;
use crate::record::verdict::{Finding, GateResult, GateStatus, Severity};

/// Why a gate measured NaN, when the check knows better than "no finite value".
const UNMEASURED: &str = "the quantity has no finite value on this run";

/// Gate measurements collected while the diagnoses run.
#[derive(Debug, Default)]
pub struct GateBook {
    entries: Vec<GateResult>,
}

impl GateBook {
    /// Records the worst value of a gated quantity; the pass/fail is settled by the findings.
    /// A NaN `measured` makes the gate "not judged" (see [`GateBook::unmeasured_because`]).
    pub fn record(&mut self, gate: Gate, threshold: f64, measured: f64, description: &str) {
        self.entries.push(GateResult {
            gate,
            threshold,
            measured,
            status: GateStatus::Pass,
            reason: measured.is_nan().then(|| UNMEASURED.to_string()),
            description: description.to_string(),
        });
    }

    /// Says why `gate` could not be measured, if it could not (its measured value is NaN).
    pub fn unmeasured_because(&mut self, gate: Gate, reason: &str) {
        for entry in self.entries.iter_mut().filter(|e| e.gate == gate) {
            if entry.measured.is_nan() {
                entry.reason = Some(reason.to_string());
            }
        }
    }

    /// One result per gate, in [`Gate`] order: failed when an error finding names it, not
    /// judged when its quantity could not be measured, passed otherwise.
    pub fn into_results(mut self, findings: &[Finding]) -> Vec<GateResult> {
        for entry in &mut self.entries {
            let failed = findings
                .iter()
                .any(|f| f.severity == Severity::Error && f.gate == Some(entry.gate));
            entry.status = if failed {
                entry.reason = None;
                GateStatus::Fail
            } else if entry.measured.is_nan() {
                GateStatus::NotJudged
            } else {
                entry.reason = None;
                GateStatus::Pass
            };
        }
        self.entries.sort_by_key(|g| g.gate);
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
        book.record(Gate::MaxLossSpike, 5.0, 9.0, "spikes");
        book.record(Gate::MaxGradNorm, 1e3, 2e3, "norms");
        let steps = StepRange { first: 0, last: 1 };
        let warning = Draft::new(FindingKind::ExplodingGradients, Severity::Warning, steps)
            .gate(Gate::MaxGradNorm, 1e3, 2e3)
            .done();
        let error = Draft::new(FindingKind::LossSpike, Severity::Error, steps)
            .gate(Gate::MaxLossSpike, 5.0, 9.0)
            .done();
        let results = book.into_results(&[warning, error]);
        let names: Vec<_> = results.iter().map(|g| (g.gate, g.status)).collect();
        assert_eq!(
            names,
            [
                (Gate::MaxGradNorm, GateStatus::Pass),
                (Gate::MaxLossSpike, GateStatus::Fail)
            ]
        );
    }

    #[test]
    fn a_nan_measurement_is_not_judged_with_its_reason_never_a_pass() {
        let mut book = GateBook::default();
        book.record(Gate::MaxLossSpike, 5.0, f64::NAN, "spikes");
        book.unmeasured_because(Gate::MaxLossSpike, "the loss reached 0");
        let results = book.into_results(&[]);
        assert_eq!(results[0].status, GateStatus::NotJudged);
        assert_eq!(results[0].reason.as_deref(), Some("the loss reached 0"));
    }

    #[test]
    fn gate_keys_round_trip_through_serde_and_match_their_names() {
        for (i, gate) in Gate::ALL.into_iter().enumerate() {
            assert_eq!(gate as usize, i, "ALL is in declaration order");
            let json = serde_json::to_string(&gate).unwrap();
            assert_eq!(json, format!("\"{}\"", gate.key()));
            assert_eq!(serde_json::from_str::<Gate>(&json).unwrap(), gate);
        }
        assert!(serde_json::from_str::<Gate>("\"max_grad_nrom\"").is_err());
    }
}
