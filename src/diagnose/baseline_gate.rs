//! The baseline comparison folded into a run's verdict as the `max_regression` gate, so
//! `--baseline` has one verdict everywhere: the text, `--format json`, run.json, JUnit, the
//! markdown summary and the report's banner.
//!
//! Takes plain numbers (the caller computes the diff), so diagnoses stay independent of `diff`.

use super::context::Draft;
use super::finding::{Finding, FindingKind, GateResult, GateStatus, Severity, StepRange, Verdict};
use super::gates::Gate;
use super::series::fmt;

/// What the comparison with the baseline measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineEvidence {
    /// The gate: how far outside its band a statistic may go, in band half-widths.
    pub max_regression: f64,
    /// The largest excess of any statistic, in band half-widths (0 inside every band).
    pub max_excess: f64,
    /// Runs in the baseline ensemble.
    pub runs: usize,
    /// Statistics beyond `max_regression`.
    pub excursions: usize,
    /// The first one: its headline ("layer 3 weight_norm at steps 0-0"), head / baseline ratio
    /// and the steps of its window.
    pub first: Option<(String, f64, [usize; 2])>,
    /// The first excursion's layer index in the head run, when it is a layer's statistic.
    pub layer: Option<usize>,
}

impl Verdict {
    /// This verdict with the `max_regression` gate added and, when a statistic left its band by
    /// more than the gate allows, an error finding that fails it. An earlier baseline gate in
    /// the verdict is replaced, not repeated.
    pub fn with_baseline(mut self, b: &BaselineEvidence) -> Verdict {
        self.gates.retain(|g| g.gate != Gate::MaxRegression);
        self.findings
            .retain(|f| f.kind != FindingKind::BaselineRegression);
        let failed = b.first.is_some();
        self.gates.push(GateResult {
            gate: Gate::MaxRegression,
            threshold: b.max_regression,
            measured: b.max_excess,
            status: if failed {
                GateStatus::Fail
            } else {
                GateStatus::Pass
            },
            reason: None,
            description: "largest excess of any compared statistic over its baseline noise band, in band half-widths".into(),
        });
        if let Some(first) = &b.first {
            self.findings.push(finding(b, first));
        }
        super::settle(self.gates, super::causes::group(self.findings))
    }
}

fn finding(b: &BaselineEvidence, (what, ratio, steps): &(String, f64, [usize; 2])) -> Finding {
    let at = StepRange {
        first: steps[0],
        last: steps[1],
    };
    Draft::new(FindingKind::BaselineRegression, Severity::Error, at)
        .gate(Gate::MaxRegression, b.max_regression, b.max_excess)
        .layers(b.layer.into_iter().collect())
        .summary(format!(
            "{} statistic(s) left the baseline's noise band; first: {what}, {}x the baseline's mean (largest excess {} band half-widths, allowed {})",
            b.excursions,
            fmt(*ratio),
            fmt(b.max_excess),
            fmt(b.max_regression)
        ))
        .explain(format!(
            "Each statistic (loss; per layer weight norm, activation std, gradient norm, update \
             ratio), log-averaged over step windows, was compared with the band the baseline's \
             {} seed run(s) allow (docs/diff.md). Leaving it means this change altered training, \
             not that training is unstable: if the change is intended, refresh the baseline.",
            b.runs
        ))
        .evidence("ratio to the baseline", *ratio)
        .evidence("statistics outside their band", b.excursions as f64)
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Outcome, Status};

    fn pass() -> Verdict {
        Verdict {
            status: Status::Pass,
            outcome: Outcome::Stable,
            gates: Vec::new(),
            findings: Vec::new(),
        }
    }

    fn evidence(first: bool) -> BaselineEvidence {
        BaselineEvidence {
            max_regression: 1.0,
            max_excess: if first { 3.4 } else { 0.87 },
            runs: 5,
            excursions: usize::from(first) * 2,
            first: first.then(|| ("layer 3 weight_norm at steps 0-0".to_string(), 0.5, [0, 0])),
            layer: first.then_some(3),
        }
    }

    #[test]
    fn a_regression_fails_a_stable_run_without_calling_it_unstable() {
        let v = pass().with_baseline(&evidence(true));
        // A change against main is not an instability: the outcome stays stable.
        assert_eq!((v.status, v.outcome), (Status::Fail, Outcome::Stable));
        let f = &v.findings[0];
        assert_eq!(
            (f.kind, f.layers.as_slice()),
            (FindingKind::BaselineRegression, &[3][..])
        );
        assert!(f.summary.contains("layer 3 weight_norm") && f.summary.contains("0.5x"));
        assert_eq!(
            (v.gates[0].gate, v.gates[0].measured),
            (Gate::MaxRegression, 3.4)
        );
        assert!(v.gates[0].failed());
        // Judged again: replaced, not repeated.
        let again = v.with_baseline(&evidence(false));
        assert_eq!(again.status, Status::Pass);
        assert_eq!(again.gates.len(), 1);
        assert!(again.findings.is_empty());
        assert_eq!(again.gates[0].status, GateStatus::Pass);
    }
}
