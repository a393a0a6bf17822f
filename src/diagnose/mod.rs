//! Diagnoses: turn a recorded trace into findings with evidence and suggested fixes, and a verdict
//! that says whether every `[gates]` threshold held.
//!
//! Reads only the [`Trace`], the resolved [`Scenario`] and the NaN origin; never the core's live
//! state. One file per family of findings; thresholds come from `[gates]` (errors) or are named
//! constants beside the check (warnings and infos, which never fail a gate).

pub mod adam_eps;
pub mod attention;
pub mod baseline_gate;
pub mod causes;
pub mod context;
pub mod depth;
pub mod edge;
pub mod gates;
pub mod gradients;
pub mod loss;
pub mod loss_scale;
pub mod nonfinite;
pub mod oscillation;
pub mod output_logits;
pub mod post_ln;
pub mod precision;
pub mod robust_gate;
pub mod root_cause;
pub mod series;
pub mod suggest;
pub mod units;
pub mod updates;

pub use crate::record::verdict as finding;
pub use crate::record::verdict::{
    Evidence, Finding, FindingKind, GateResult, GateStatus, Outcome, Severity, Status, StepRange,
    Suggestion, Verdict,
};
pub use context::Context;

use crate::record::trace::{NanOrigin, Trace};
use crate::scenario::Scenario;
pub use gates::Gate;
use gates::GateBook;

/// Diagnoses one run. Deterministic: the same trace gives the same verdict, field for field.
pub fn run(trace: &Trace, scenario: &Scenario, nan_origin: Option<&NanOrigin>) -> Verdict {
    let cx = Context::new(trace, scenario, nan_origin);
    let mut book = GateBook::default();
    let mut findings = Vec::new();
    findings.extend(nonfinite::check(&cx, &mut book));
    findings.extend(gradients::check(&cx, &mut book));
    findings.extend(loss::check(&cx, &mut book));
    findings.extend(units::check(&cx, &mut book));
    findings.extend(updates::check(&cx, &mut book));
    findings.extend(edge::check(&cx, &mut book));
    findings.extend(attention::check(&cx, &mut book));
    findings.extend(adam_eps::check(&cx, &mut book));
    findings.extend(output_logits::check(&cx, &mut book));
    findings.extend(precision::check(&cx, &mut book));
    findings.extend(loss_scale::check(&cx, &mut book));
    let imbalance = post_ln::check(&cx, &mut book, &findings);
    findings.extend(imbalance);
    verdict(findings, book)
}

fn verdict(findings: Vec<Finding>, book: GateBook) -> Verdict {
    let findings = causes::group(findings);
    let gates = book.into_results(&findings);
    settle(gates, findings)
}

/// The verdict of these gates and findings: failed when a gate failed; unstable when an error is
/// an instability, no progress when the errors are only about progress. A baseline regression
/// says the run changed, not how it trained, so it leaves the outcome alone.
pub(crate) fn settle(gates: Vec<GateResult>, findings: Vec<Finding>) -> Verdict {
    let failed = gates.iter().any(GateResult::failed);
    let errors = || {
        (findings.iter())
            .filter(|f| f.severity == Severity::Error && f.kind != FindingKind::BaselineRegression)
    };
    let outcome = if errors().any(|f| f.kind.is_instability()) {
        Outcome::Unstable
    } else if errors().next().is_some() {
        Outcome::NoProgress
    } else {
        Outcome::Stable
    };
    Verdict {
        status: if failed { Status::Fail } else { Status::Pass },
        outcome,
        gates,
        findings,
    }
}
