//! Attention-logit growth and attention-entropy collapse: each fires on the scenario built to
//! trigger it and stays silent on the reference and on the repaired twin, over seeds 1-5.

use stabcheck::diagnose::{FindingKind, Gate, GateStatus, Severity, Verdict};
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides, SetOverride, apply_overrides};

fn verdict(name: &str, seed: u64) -> Verdict {
    let overrides = Overrides {
        seed: Some(seed),
        ..Overrides::default()
    };
    let s = apply_overrides(&scenario::resolve(name).unwrap(), &overrides).unwrap();
    let run = run_recorded(&s, None, None).unwrap();
    run.verdict
}

fn has(v: &Verdict, kind: FindingKind, severity: Severity) -> bool {
    v.findings
        .iter()
        .any(|f| f.kind == kind && f.severity == severity)
}

fn gate(v: &Verdict) -> GateStatus {
    let g = v.gates.iter().find(|g| g.gate == Gate::MaxAttentionLogit);
    g.expect("a transformer lists max_attention_logit").status
}

#[test]
fn attention_logit_growth_fires_at_lr_0_1_and_not_with_qk_norm_nor_at_the_reference_lr() {
    use FindingKind::{AttentionEntropyCollapse as Collapse, AttentionLogitGrowth as Growth};
    for seed in 1..=5 {
        let hot = verdict("gpt-attn-logit-growth", seed);
        assert!(
            has(&hot, Growth, Severity::Error),
            "seed {seed}: {:?}",
            hot.findings
        );
        assert!(has(&hot, Collapse, Severity::Warning), "seed {seed}");
        assert_eq!(gate(&hot), GateStatus::Fail, "seed {seed}");
        let growth = hot.findings.iter().find(|f| f.kind == Growth).unwrap();
        assert!(!growth.layers.is_empty(), "names the attention layers");
        let fix = growth.suggestion.as_ref().expect("a fix");
        assert_eq!(fix.set, ["model.qk_norm=true"]);
        for name in ["gpt-attn-logit-growth-qk-norm", "tiny-gpt-fast"] {
            let calm = verdict(name, seed);
            assert!(!has(&calm, Growth, Severity::Error), "{name} seed {seed}");
            assert!(
                !has(&calm, Collapse, Severity::Warning),
                "{name} seed {seed}"
            );
            assert_eq!(gate(&calm), GateStatus::Pass, "{name} seed {seed}");
        }
    }
}

#[test]
fn an_mlp_lists_no_attention_gate() {
    let s = scenario::resolve("deep-mlp").unwrap();
    let s = apply_overrides(
        &s,
        &Overrides {
            steps: Some(5),
            set: vec![SetOverride::parse("model.depth=2").unwrap()],
            ..Overrides::default()
        },
    )
    .unwrap();
    let v = run_recorded(&s, None, None).unwrap().verdict;
    assert!(v.gates.iter().all(|g| g.gate != Gate::MaxAttentionLogit));
}
