//! Grouping error findings under their cause: one instability usually trips several gates (a
//! blow-up saturates tanh units, whose gradients then vanish, and the loss makes no progress), and
//! a user must read the cause and its fix first, not nine errors for one event.
//!
//! The cause is chosen by mechanism, not by severity or order of discovery:
//! 1. a non-finite value (its root-cause finding stays beside it as its explanation);
//! 2. steps too large for the landscape: divergence, spikes, oscillation, exploding gradients,
//!    runaway weights or updates, the edge of stability, attention logits growing until attention
//!    collapses; among these the earliest onset leads;
//! 3. dead or saturated units (a blow-up produces them; they rarely produce a blow-up);
//! 4. vanishing gradients (saturation and dead units produce them);
//! 5. slow progress, a consequence of everything above;
//! 6. the `[robust]` neighbourhood failing (`--robust`), which explains none of the run's own.
//!
//! Every other error finding is marked `consequence_of` the cause's kind. Nothing is dropped and
//! no gate changes: grouping only orders and labels.

use super::finding::{Finding, FindingKind, Severity};

/// The rank of a kind as a cause: lower explains higher.
fn rank(kind: FindingKind) -> u8 {
    use FindingKind::*;
    match kind {
        Nonfinite | RootCause => 0,
        LossDivergence
        | LossSpike
        | LossOscillation
        | ExplodingGradients
        | WeightGrowth
        | UpdateRatio
        | EdgeOfStability
        | AttentionLogitGrowth
        | AttentionEntropyCollapse
        | OutputLogitDivergence
        | PostLnImbalance
        | Fp16Overflow
        | LossScaleCollapse => 1,
        DeadUnits | SaturatedUnits | AdamEpsilon | GradientUnderflow | LostUpdates => 2,
        VanishingGradients | DepthScaling => 3,
        NoProgress | Plateau => 4,
        // The neighbourhood's failures are not this run's: the run's own cause comes first.
        NotRobust | BaselineRegression => 5,
    }
}

/// Index of the error finding that explains the others, if any.
fn cause(findings: &[Finding]) -> Option<usize> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity == Severity::Error && f.kind != FindingKind::RootCause)
        .min_by_key(|(_, f)| (rank(f.kind), f.steps.first))
        .map(|(i, _)| i)
}

/// Marks every other error finding as a consequence of the cause and orders the findings: the
/// cause, its root-cause explanation, its consequences, then warnings and infos by first step.
pub fn group(mut findings: Vec<Finding>) -> Vec<Finding> {
    let Some(at) = cause(&findings) else {
        return findings;
    };
    let kind = findings[at].kind;
    for (i, f) in findings.iter_mut().enumerate() {
        let explains = f.kind == FindingKind::RootCause;
        f.consequence_of = (i != at && f.severity == Severity::Error && !explains).then_some(kind);
    }
    let place = |i: usize, f: &Finding| match (f.severity, f.kind) {
        _ if i == at => 0,
        (Severity::Error, FindingKind::RootCause) => 1,
        (Severity::Error, _) => 2,
        (Severity::Warning, _) => 3,
        (Severity::Info, _) => 4,
    };
    let mut indexed: Vec<(usize, Finding)> = findings.drain(..).enumerate().collect();
    indexed.sort_by_key(|(i, f)| (place(*i, f), rank(f.kind), f.steps.first));
    indexed.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::context::Draft;
    use crate::diagnose::finding::StepRange;

    fn finding(kind: FindingKind, severity: Severity, first: usize) -> Finding {
        Draft::new(kind, severity, StepRange { first, last: 99 }).done()
    }

    #[test]
    fn a_blow_up_leads_its_saturation_and_vanishing_consequences() {
        use FindingKind::*;
        let grouped = group(vec![
            finding(VanishingGradients, Severity::Error, 0),
            finding(SaturatedUnits, Severity::Error, 70),
            finding(Plateau, Severity::Warning, 75),
            finding(LossDivergence, Severity::Error, 40),
            finding(NoProgress, Severity::Error, 90),
        ]);
        let kinds: Vec<_> = grouped.iter().map(|f| (f.kind, f.consequence_of)).collect();
        assert_eq!(
            kinds,
            [
                (LossDivergence, None),
                (SaturatedUnits, Some(LossDivergence)),
                (VanishingGradients, Some(LossDivergence)),
                (NoProgress, Some(LossDivergence)),
                (Plateau, None),
            ]
        );
    }

    #[test]
    fn without_a_blow_up_vanishing_gradients_are_the_cause() {
        use FindingKind::*;
        let grouped = group(vec![
            finding(NoProgress, Severity::Error, 90),
            finding(VanishingGradients, Severity::Error, 0),
        ]);
        assert_eq!(grouped[0].kind, VanishingGradients);
        assert_eq!(grouped[1].consequence_of, Some(VanishingGradients));
    }

    #[test]
    fn the_earliest_of_the_large_step_family_leads() {
        use FindingKind::*;
        let grouped = group(vec![
            finding(LossDivergence, Severity::Error, 50),
            finding(ExplodingGradients, Severity::Error, 0),
        ]);
        assert_eq!(grouped[0].kind, ExplodingGradients);
    }
}
