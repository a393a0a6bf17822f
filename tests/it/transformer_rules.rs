//! output-logit-divergence, adam-epsilon and post-ln-imbalance on hand-built traces whose
//! right answer is known.

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
                precision: None,
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
fn an_unwarmed_output_imbalance_is_an_error_with_harm_a_warning_without_and_silent_with_warmup() {
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
