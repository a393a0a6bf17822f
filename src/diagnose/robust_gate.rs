//! The robust gate folded into a run's verdict, so `stabcheck scenario --robust` has one verdict
//! everywhere: the text, `--format json`, run.json, JUnit and the report's banner.
//!
//! Takes plain numbers (the caller runs the cases), so diagnoses stay independent of `robust`.

use super::context::Draft;
use super::finding::{Finding, FindingKind, GateResult, GateStatus, Severity, StepRange, Verdict};
use super::gates::Gate;
use super::series::fmt;

/// What the `[robust]` cases measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustEvidence {
    pub stable: usize,
    pub cases: usize,
    /// The 95% Clopper-Pearson interval of the stable fraction.
    pub interval: [f64; 2],
    pub min_stable_fraction: f64,
    /// Each error kind with the number of cases it occurred in, most frequent first.
    pub finding_counts: Vec<(FindingKind, usize)>,
}

impl Verdict {
    /// This verdict with the robust gate added: a `min_stable_fraction` gate result and, when its
    /// lower bound is under the threshold, an error finding that fails it (and the run).
    /// An earlier robust gate in the verdict is replaced, not repeated.
    pub fn with_robust(mut self, r: &RobustEvidence, steps: StepRange) -> Verdict {
        self.gates.retain(|g| g.gate != Gate::MinStableFraction);
        self.findings.retain(|f| f.kind != FindingKind::NotRobust);
        let held = r.interval[0] >= r.min_stable_fraction;
        let failed = !held;
        self.gates.push(GateResult {
            gate: Gate::MinStableFraction,
            threshold: r.min_stable_fraction,
            measured: r.interval[0],
            status: if failed {
                GateStatus::Fail
            } else {
                GateStatus::Pass
            },
            reason: None,
            description: "lower end of the 95% Clopper-Pearson interval of the stable fraction over the [robust] cases".into(),
        });
        if failed {
            self.findings.push(finding(r, steps));
        }
        super::settle(self.gates, super::causes::group(self.findings))
    }
}

fn finding(r: &RobustEvidence, steps: StepRange) -> Finding {
    let common: Vec<String> = r
        .finding_counts
        .iter()
        .take(3)
        .map(|(k, n)| format!("{} in {n}", k.name()))
        .collect();
    Draft::new(FindingKind::NotRobust, Severity::Error, steps)
        .gate(Gate::MinStableFraction, r.min_stable_fraction, r.interval[0])
        .summary(format!(
            "only {} of {} perturbed runs are stable (95% interval {} .. {}, required lower bound {}); {}",
            r.stable,
            r.cases,
            fmt(r.interval[0]),
            fmt(r.interval[1]),
            fmt(r.min_stable_fraction),
            if common.is_empty() {
                "no error finding counted".to_string()
            } else {
                common.join(", ")
            }
        ))
        .explain(
            "The scenario's [robust] ranges perturb lr, init scale, batch and input scale around \
             it; the run itself may be stable while its neighbourhood is not. robust.json holds \
             the cases and minimal-failure.toml the first failure, shrunk."
                .to_string(),
        )
        .evidence("stable cases", r.stable as f64)
        .evidence("cases", r.cases as f64)
        .done()
}

/// The fewest cases with which the gate can pass at all: the 95% Clopper-Pearson lower bound of
/// N stable of N is `0.025^(1/N)`, which must reach `min_stable_fraction`.
pub fn cases_needed(min_stable_fraction: f64) -> Option<usize> {
    if min_stable_fraction <= 0.0 {
        return Some(1);
    }
    let reachable = min_stable_fraction < 1.0;
    if !reachable {
        return None;
    }
    Some((0.025f64.ln() / min_stable_fraction.ln()).ceil().max(1.0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Outcome, Status};

    #[test]
    fn cases_needed_is_where_n_of_n_first_clears_the_bound() {
        // 0.025^(1/35) = 0.8999, 0.025^(1/36) = 0.9026.
        assert_eq!(cases_needed(0.9), Some(36));
        assert!(0.025f64.powf(1.0 / 35.0) < 0.9 && 0.025f64.powf(1.0 / 36.0) >= 0.9);
        assert_eq!(cases_needed(0.99), Some(368));
        assert_eq!(
            cases_needed(1.0),
            None,
            "no count reaches a lower bound of 1"
        );
    }

    #[test]
    fn a_failed_robust_gate_fails_a_passing_run_and_is_named() {
        let pass = Verdict {
            status: Status::Pass,
            outcome: Outcome::Stable,
            gates: Vec::new(),
            findings: Vec::new(),
        };
        let r = RobustEvidence {
            stable: 36,
            cases: 64,
            interval: [0.43, 0.69],
            min_stable_fraction: 0.9,
            finding_counts: vec![(FindingKind::DeadUnits, 8)],
        };
        let steps = StepRange {
            first: 0,
            last: 299,
        };
        let v = pass.clone().with_robust(&r, steps);
        assert_eq!((v.status, v.outcome), (Status::Fail, Outcome::Unstable));
        assert_eq!(v.findings[0].kind, FindingKind::NotRobust);
        assert!(v.gates[0].failed());
        let ok = RobustEvidence {
            interval: [0.944, 1.0],
            stable: 64,
            ..r
        };
        let v = pass.with_robust(&ok, steps);
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.gates[0].status, GateStatus::Pass);
    }
}
