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

mod hand_built {
    //! The rules on hand-built traces whose right answer is known.
    use stabcheck::diagnose::{self, FindingKind, Gate, GateStatus, Severity, Verdict};
    use stabcheck::probe::trace::{StepRecord, Trace};
    use stabcheck::record::transformer::{BlockStats, HeadStats, TransformerStats};
    use stabcheck::scenario;

    /// 60 steps of a one-block, one-head model; `head(i)` gives step i's (logit, entropy).
    fn trace(head: impl Fn(usize) -> (f64, f64)) -> Trace {
        let steps = (0..60)
            .map(|i| {
                let (logit_max, entropy) = head(i);
                let heads = vec![HeadStats {
                    logit_max,
                    entropy_mean: entropy,
                    entropy_min: entropy,
                }];
                StepRecord {
                    step: i,
                    loss: 2.0 * 0.98f64.powi(i as i32),
                    lr: 1e-3,
                    grad_norm: 1.0,
                    grad_norm_clipped: 1.0,
                    layers: vec![],
                    transformer: Some(TransformerStats {
                        blocks: vec![BlockStats {
                            heads,
                            residual_rms: 1.0,
                        }],
                        uniform_entropy: 2.0,
                        ..TransformerStats::default()
                    }),
                    precision: None,
                }
            })
            .collect();
        Trace {
            steps,
            layer_names: vec!["blocks.0.attn.qkv".to_string()],
            ..Trace::default()
        }
    }

    fn diagnose(t: &Trace) -> Verdict {
        let s = scenario::parse_str("name = \"att\"\nsteps = 60\n", "att.toml").unwrap();
        diagnose::run(t, &s, None)
    }

    fn gate(v: &Verdict) -> GateStatus {
        let g = v.gates.iter().find(|g| g.gate == Gate::MaxAttentionLogit);
        g.expect("listed when attention was measured").status
    }

    fn has(v: &Verdict, kind: FindingKind, severity: Severity) -> bool {
        v.findings
            .iter()
            .any(|f| f.kind == kind && f.severity == severity)
    }

    #[test]
    fn a_logit_over_the_gate_fails_it_from_its_first_step_and_one_just_under_passes() {
        let over = diagnose(&trace(|i| (if i >= 30 { 60.0 } else { 1.0 }, 1.5)));
        let f = over
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::AttentionLogitGrowth)
            .expect("fires");
        assert_eq!(
            (f.steps.first, f.measured, f.layers.clone()),
            (30, 60.0, vec![0])
        );
        assert_eq!(gate(&over), GateStatus::Fail);
        let under = diagnose(&trace(|i| (if i >= 30 { 49.9 } else { 1.0 }, 1.5)));
        assert!(!has(
            &under,
            FindingKind::AttentionLogitGrowth,
            Severity::Error
        ));
        assert_eq!(gate(&under), GateStatus::Pass);
    }

    #[test]
    fn a_collapse_before_the_run_goes_nan_is_still_reported_and_nan_never_passes_the_gate() {
        let t = trace(|i| match i {
            0..20 => (1.0, 1.5),
            20..40 => (20.0, 0.01),
            _ => (f64::NAN, f64::NAN),
        });
        let v = diagnose(&t);
        assert!(has(
            &v,
            FindingKind::AttentionEntropyCollapse,
            Severity::Warning
        ));
        assert_eq!(gate(&v), GateStatus::NotJudged, "{:?}", v.gates);
        let calm = diagnose(&trace(|_| (1.0, 0.21)));
        assert!(!has(
            &calm,
            FindingKind::AttentionEntropyCollapse,
            Severity::Warning
        ));
    }
}
