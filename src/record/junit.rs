//! JUnit XML for CI systems: one test suite per scenario, one test case per `[gates]` key.
//!
//! A failed gate's test case carries the summaries of the error findings that failed it, so a CI
//! page shows "max_grad_norm: global gradient norm 1.2e9 at step 0 exceeds 1000" without a click.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::verdict::{GateStatus, Severity, Verdict};
use crate::error::Error;

/// The JUnit XML of one scenario's verdict.
pub fn junit_xml(scenario: &str, verdict: &Verdict, elapsed: Duration) -> Result<String, Error> {
    let classname = format!("stabcheck.{scenario}");
    let mut suite = TestSuite::new(classname.clone());
    suite.set_time(elapsed);
    for gate in &verdict.gates {
        let status = if gate.status == GateStatus::Pass {
            TestCaseStatus::success()
        } else if gate.status == GateStatus::NotJudged {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "not judged: {}",
                gate.reason.as_deref().unwrap_or("not measured")
            ));
            status
        } else {
            let reasons: Vec<String> = verdict
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error && f.gate == Some(gate.gate))
                .map(|f| format!("{}: {}", f.kind.name(), f.summary))
                .collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!(
                    "gate {} failed: measured {}, limit {}",
                    gate.gate,
                    super::text::fmt(gate.measured),
                    super::text::fmt(gate.threshold)
                ))
                .set_type("stabcheck.gate")
                .set_description(reasons.join("\n"));
            status
        };
        let mut case = TestCase::new(gate.gate.key(), status);
        case.set_classname(classname.clone());
        case.set_system_out(gate.description.clone());
        suite.add_test_case(case);
    }
    let mut report = Report::new("stabcheck");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| Error::serialize("the JUnit XML", e))
}
