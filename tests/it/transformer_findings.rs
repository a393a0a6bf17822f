//! output-logit-divergence, post-ln-imbalance and adam-epsilon: each fires on the scenario built
//! to trigger it and stays silent on the reference and on the repaired twin, over seeds 1-5.

use stabcheck::diagnose::{Finding, FindingKind, Gate, GateStatus, Severity, Verdict};
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides, SetOverride, apply_overrides};

fn verdict(name: &str, seed: u64, sets: &[&str]) -> Verdict {
    let overrides = Overrides {
        seed: Some(seed),
        set: sets
            .iter()
            .map(|a| SetOverride::parse(a).unwrap())
            .collect(),
        ..Overrides::default()
    };
    let s = apply_overrides(&scenario::resolve(name).unwrap(), &overrides).unwrap();
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

mod hand_built {
    //! The three rules on hand-built traces whose right answer is known.
    use stabcheck::core::params::ParamKind;
    use stabcheck::diagnose::{self, FindingKind, Gate, GateStatus, Severity, Verdict};
    use stabcheck::probe::trace::{LayerStats, StepRecord, TensorInfo, Trace};
    use stabcheck::record::transformer::TransformerStats;
    use stabcheck::scenario;

    /// Layers `blocks.0.attn.qkv`, `blocks.0.ln1` and `head` with their tensors: a 4x4 matrix,
    /// a norm gain of 4, and a 4x2 head.
    fn layout() -> (Vec<String>, Vec<TensorInfo>) {
        let names = ["blocks.0.attn.qkv", "blocks.0.ln1", "head"];
        let tensor = |name: &str, kind, len| TensorInfo {
            name: name.to_string(),
            kind,
            len,
        };
        let tensors = vec![
            tensor("blocks.0.attn.qkv.weight", ParamKind::Weight, 16),
            tensor("blocks.0.ln1.weight", ParamKind::NormGain, 4),
            tensor("head.weight", ParamKind::Weight, 8),
        ];
        (names.iter().map(|n| n.to_string()).collect(), tensors)
    }

    /// 60 steps; `step(i)` gives (loss, lr, log Z, RMS(g)/ε of the three tensors, ‖∂L/∂W‖ of the
    /// three layers).
    fn trace(step: impl Fn(usize) -> (f64, f64, f64, [f64; 3], [f64; 3])) -> Trace {
        let (layer_names, tensors) = layout();
        let steps = (0..60)
            .map(|i| {
                let (loss, lr, log_z, eps, grads) = step(i);
                let layers = (0..3)
                    .map(|l| LayerStats {
                        layer: l,
                        weight_grad_norm: grads[l],
                        ..LayerStats::default()
                    })
                    .collect();
                StepRecord {
                    step: i,
                    loss,
                    lr,
                    grad_norm: 1.0,
                    grad_norm_clipped: 1.0,
                    layers,
                    transformer: Some(TransformerStats {
                        log_z_mean: log_z,
                        log_z_max: log_z,
                        grad_rms_over_eps: eps.to_vec(),
                        ..TransformerStats::default()
                    }),
                }
            })
            .collect();
        Trace {
            steps,
            layer_names,
            tensors,
            ..Trace::default()
        }
    }

    fn diagnose(t: &Trace) -> Verdict {
        let s = scenario::parse_str("name = \"hand\"\nsteps = 60\n", "hand.toml").unwrap();
        diagnose::run(t, &s, None)
    }

    fn status(v: &Verdict, g: Gate) -> GateStatus {
        v.gates.iter().find(|r| r.gate == g).unwrap().status
    }

    fn learning(i: usize) -> f64 {
        2.0 * 0.98f64.powi(i as i32)
    }

    const CALM: [f64; 3] = [1e4, 1e4, 1e4];
    const GRADS: [f64; 3] = [1.0, 0.5, 1.0];

    #[test]
    fn log_z_over_20_either_way_fails_from_its_first_step_and_19_9_passes() {
        for far in [25.0, -25.0] {
            let v = diagnose(&trace(|i| {
                (
                    learning(i),
                    1e-3,
                    if i >= 30 { far } else { 3.5 },
                    CALM,
                    GRADS,
                )
            }));
            let f = v
                .findings
                .iter()
                .find(|f| f.kind == FindingKind::OutputLogitDivergence);
            let f = f.expect("fires");
            assert_eq!((f.steps.first, f.measured), (30, 25.0), "{far}");
            assert_eq!(status(&v, Gate::MaxLogZ), GateStatus::Fail);
        }
        let v = diagnose(&trace(|i| {
            (
                learning(i),
                1e-3,
                if i >= 30 { 19.9 } else { 3.5 },
                CALM,
                GRADS,
            )
        }));
        assert_eq!(status(&v, Gate::MaxLogZ), GateStatus::Pass);
        let nan = diagnose(&trace(|i| {
            (
                learning(i),
                1e-3,
                if i >= 30 { f64::NAN } else { 3.5 },
                CALM,
                GRADS,
            )
        }));
        assert_eq!(
            status(&nan, Gate::MaxLogZ),
            GateStatus::NotJudged,
            "NaN never passes"
        );
    }

    #[test]
    fn adam_epsilon_judges_weight_matrices_only_and_not_once_the_run_has_converged() {
        let damped = [0.5, 1e4, 1e4];
        let v = diagnose(&trace(|i| (learning(i), 1e-3, 3.5, damped, GRADS)));
        let f = v
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::AdamEpsilon)
            .expect("fires");
        assert_eq!((f.measured, f.layers.clone()), (0.5, vec![0]));
        // A norm gain with a structurally tiny gradient is not a damped weight.
        let gain = diagnose(&trace(|i| {
            (learning(i), 1e-3, 3.5, [1e4, 1e-6, 1e4], GRADS)
        }));
        assert_eq!(status(&gain, Gate::MinGradRmsOverEps), GateStatus::Pass);
        // Small gradients after the loss reached ~0 are the end of training, not ε's doing.
        let converged = |i: usize| if i < 20 { (2.0, CALM) } else { (1e-9, damped) };
        let v = diagnose(&trace(|i| {
            (converged(i).0, 1e-3, 3.5, converged(i).1, GRADS)
        }));
        assert_eq!(status(&v, Gate::MinGradRmsOverEps), GateStatus::Pass);
    }

    #[test]
    fn an_unwarmed_output_imbalance_is_an_error_with_harm_a_warning_without_and_silent_with_warmup()
    {
        // RMS: qkv 1/4, head 100/√8 = 35.4: the ratio is 141.
        let grads = [1.0, 0.5, 100.0];
        let stuck = diagnose(&trace(|_| (2.0, 1e-3, 3.5, CALM, grads)));
        let f = stuck
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::PostLnImbalance)
            .expect("fires");
        assert_eq!(f.severity, Severity::Error, "{:?}", stuck.findings);
        assert!(
            (f.measured - 100.0 / 8f64.sqrt() * 4.0).abs() < 1e-9,
            "{}",
            f.measured
        );
        let fine = diagnose(&trace(|i| (learning(i), 1e-3, 3.5, CALM, grads)));
        let f = fine
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::PostLnImbalance)
            .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            status(&fine, Gate::MaxOutputGradImbalance),
            GateStatus::Pass
        );
        let warm = |i: usize| 1e-3 * ((i + 1) as f64 / 10.0).min(1.0);
        let warmed = diagnose(&trace(|i| (2.0, warm(i), 3.5, CALM, grads)));
        assert!(
            warmed
                .findings
                .iter()
                .all(|f| f.kind != FindingKind::PostLnImbalance)
        );
        let balanced = diagnose(&trace(|_| (2.0, 1e-3, 3.5, CALM, [1.0, 0.5, 1.0])));
        assert!(
            balanced
                .findings
                .iter()
                .all(|f| f.kind != FindingKind::PostLnImbalance)
        );
    }
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
