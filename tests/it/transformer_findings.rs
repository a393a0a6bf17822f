//! output-logit-divergence, post-ln-imbalance and adam-epsilon: each fires on the scenario built
//! to trigger it and stays silent on the reference and on the repaired twin, over seeds 1-5.

use stabcheck::diagnose::{Finding, FindingKind, Gate, GateStatus, Severity, Verdict};
use stabcheck::run::run_recorded;

fn verdict(name: &str, seed: u64, sets: &[&str]) -> Verdict {
    let s = crate::helpers::builtin_with(name, Some(seed), sets);
    run_recorded(&s, None, None).unwrap().verdict
}

fn find(v: &Verdict, kind: FindingKind) -> Option<&Finding> {
    v.findings.iter().find(|f| f.kind == kind)
}

fn gate(v: &Verdict, g: Gate) -> GateStatus {
    let r = v.gates.iter().find(|r| r.gate == g);
    r.unwrap_or_else(|| panic!("a transformer lists {g}"))
        .status
}

/// The finding fires as an error naming its gate on `hot`, and neither fires nor fails the gate
/// on `calm` (the repaired twin) nor on tiny-gpt-fast, for seeds 1-5.
fn fires_only_where_built(kind: FindingKind, g: Gate, hot: (&str, &[&str]), calm: (&str, &[&str])) {
    for seed in 1..=5 {
        let v = verdict(hot.0, seed, hot.1);
        let f = find(&v, kind).unwrap_or_else(|| panic!("{kind:?} seed {seed}: {:?}", v.findings));
        assert_eq!(
            (f.severity, f.gate),
            (Severity::Error, Some(g)),
            "seed {seed}"
        );
        assert!(f.suggestion.is_some(), "seed {seed}: a fix is suggested");
        assert_eq!(gate(&v, g), GateStatus::Fail, "seed {seed}");
        for (name, sets) in [calm, ("tiny-gpt-fast", &[][..])] {
            let v = verdict(name, seed, sets);
            assert!(
                find(&v, kind).is_none(),
                "{name} seed {seed}: {:?}",
                v.findings
            );
            assert_eq!(gate(&v, g), GateStatus::Pass, "{name} seed {seed}");
        }
    }
}

#[test]
fn output_logit_divergence_fires_without_z_loss_and_not_with_it() {
    fires_only_where_built(
        FindingKind::OutputLogitDivergence,
        Gate::MaxLogZ,
        ("gpt-logit-divergence", &[]),
        ("gpt-logit-divergence-z-loss", &[]),
    );
    let v = verdict("gpt-logit-divergence", 7, &[]);
    let f = find(&v, FindingKind::OutputLogitDivergence).unwrap();
    assert_eq!(f.suggestion.as_ref().unwrap().set, ["loss.z_loss=1e-4"]);
    assert!(f.measured > 20.0, "{}", f.measured);
}

#[test]
fn post_ln_imbalance_fails_post_ln_without_warmup_and_not_with_warmup_or_pre_ln() {
    fires_only_where_built(
        FindingKind::PostLnImbalance,
        Gate::MaxOutputGradImbalance,
        ("gpt-post-ln-no-warmup", &[]),
        ("gpt-post-ln-warmup", &[]),
    );
    for seed in 1..=5 {
        let pre = verdict(
            "gpt-post-ln-no-warmup",
            seed,
            &["model.norm_position=\"pre\""],
        );
        assert!(
            find(&pre, FindingKind::PostLnImbalance).is_none(),
            "seed {seed}"
        );
        let g = pre
            .gates
            .iter()
            .find(|r| r.gate == Gate::MaxOutputGradImbalance)
            .unwrap();
        assert!(
            g.measured < 20.0,
            "seed {seed}: pre-LN imbalance {}",
            g.measured
        );
    }
}

#[test]
fn post_ln_imbalance_that_did_no_harm_is_only_a_warning() {
    // Two post-LN blocks at the same lr, no warm-up: the same step-0 imbalance, and the run
    // trains (Xiong et al.'s failure needs depth).
    let sets = ["model.blocks=2"];
    let v = verdict("gpt-post-ln-no-warmup", 7, &sets);
    let f = find(&v, FindingKind::PostLnImbalance).expect("the hazard is reported");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.measured > 50.0, "{}", f.measured);
    assert_eq!(gate(&v, Gate::MaxOutputGradImbalance), GateStatus::Pass);
}

#[test]
fn adam_epsilon_fires_at_eps_1e_2_and_not_at_1e_4() {
    fires_only_where_built(
        FindingKind::AdamEpsilon,
        Gate::MinGradRmsOverEps,
        ("gpt-adam-eps-large", &[]),
        ("gpt-adam-eps-large", &["optimizer.eps=1e-4"]),
    );
    let v = verdict("gpt-adam-eps-large", 7, &[]);
    let f = find(&v, FindingKind::AdamEpsilon).unwrap();
    assert!(!f.layers.is_empty(), "names the layers");
    assert!(
        !FindingKind::AdamEpsilon.is_instability(),
        "damped, not unstable"
    );
}

/// tiny-gpt itself (200 steps at ~80 ms) over seeds 1-5: no transformer finding, every transformer
/// gate passes. Kept out of the default run for its two minutes; CI runs it with the trust checks.
#[test]
#[ignore = "5 tiny-gpt runs: cargo test trust -- --ignored (CI runs it)"]
fn trust_tiny_gpt_raises_no_transformer_finding_over_seeds_1_to_5() {
    use FindingKind::*;
    let kinds = [
        AttentionLogitGrowth,
        AttentionEntropyCollapse,
        OutputLogitDivergence,
        AdamEpsilon,
        PostLnImbalance,
    ];
    let verdicts: Vec<Verdict> = std::thread::scope(|s| {
        let runs: Vec<_> = (1..=5)
            .map(|seed| s.spawn(move || verdict("tiny-gpt", seed, &[])))
            .collect();
        runs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (seed, v) in (1..=5).zip(&verdicts) {
        for kind in kinds {
            assert!(find(v, kind).is_none(), "seed {seed}: {:?}", v.findings);
        }
        for g in [
            Gate::MaxAttentionLogit,
            Gate::MinGradRmsOverEps,
            Gate::MaxLogZ,
            Gate::MaxOutputGradImbalance,
        ] {
            assert_eq!(gate(v, g), GateStatus::Pass, "seed {seed} {g}");
        }
    }
}

/// Beyond the built examples: the three rules stay silent on healthy variants of tiny-gpt-fast in
/// f64, with a 5x larger init, trained 4x longer, and under momentum SGD (which has no ε, so its
/// gate is not listed at all).
#[test]
fn the_output_eps_and_imbalance_rules_stay_silent_across_precision_init_length_and_optimizer() {
    use FindingKind::{AdamEpsilon, OutputLogitDivergence, PostLnImbalance};
    let variants: [&[&str]; 4] = [
        &["precision=\"f64\""],
        &["model.init_std=0.1"],
        &["steps=320"],
        &[
            "optimizer.kind=\"momentum\"",
            "optimizer.lr=0.1",
            "optimizer.weight_decay=0.0",
        ],
    ];
    for sets in variants {
        let v = verdict("tiny-gpt-fast", 3, sets);
        for kind in [OutputLogitDivergence, AdamEpsilon, PostLnImbalance] {
            assert!(find(&v, kind).is_none(), "{sets:?}: {:?}", v.findings);
        }
    }
    let sgd = verdict("tiny-gpt-fast", 3, variants[3]);
    assert!(sgd.gates.iter().all(|g| g.gate != Gate::MinGradRmsOverEps));
}
