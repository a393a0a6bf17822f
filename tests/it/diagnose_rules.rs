//! Every diagnosis rule on hand-built traces whose right answer is known: each built once to
//! trigger the rule and once not to (just under the threshold, or the same shape at a harmless
//! size). Real runs of the built-in scenarios are checked in `tests/catalogue.rs`.

use stabcheck::core::observer::Phase;
use stabcheck::diagnose::{
    self, FindingKind, Gate, GateStatus, Outcome, Severity, Status, Verdict,
};
use stabcheck::probe::trace::{LayerStats, NanOrigin, StepRecord, Trace};
use stabcheck::scenario::{self, Scenario};

const STEPS: usize = 100;
const LAYERS: usize = 3;

fn scenario() -> Scenario {
    let text = "name = \"rules\"\nsteps = 100\n[model]\ndepth = 2\nwidth = 8\n";
    scenario::parse_str(text, "rules.toml").unwrap()
}

/// A healthy run: loss 2·0.99^t, gradient norm 1, every layer ordinary.
fn healthy() -> Trace {
    let steps = (0..STEPS)
        .map(|t| StepRecord {
            step: t,
            loss: 2.0 * 0.99f64.powi(t as i32),
            lr: 1e-3,
            grad_norm: 1.0,
            grad_norm_clipped: 1.0,
            layers: (0..LAYERS)
                .map(|l| LayerStats {
                    layer: l,
                    weight_grad_norm: 0.5,
                    bias_grad_norm: 0.1,
                    input_grad_norm: (l > 0).then_some(0.3),
                    weight_norm: 10.0,
                    update_ratio: 1e-3,
                    activation_mean: 0.1,
                    activation_std: 1.0,
                    activation_max_abs: 3.0,
                    ..LayerStats::default()
                })
                .collect(),
            transformer: None,
            precision: None,
        })
        .collect();
    Trace {
        steps,
        ..Trace::default()
    }
}

fn diagnose(trace: &Trace) -> Verdict {
    diagnose::run(trace, &scenario(), None)
}

fn errors(v: &Verdict) -> Vec<FindingKind> {
    v.errors().map(|f| f.kind).collect()
}

fn with(f: impl Fn(usize, &mut StepRecord)) -> Trace {
    let mut t = healthy();
    for (i, s) in t.steps.iter_mut().enumerate() {
        f(i, s);
    }
    t
}

#[test]
fn a_healthy_trace_passes_every_gate_with_no_finding() {
    let v = diagnose(&healthy());
    assert_eq!((v.status, v.outcome), (Status::Pass, Outcome::Stable));
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert!(
        v.gates.iter().all(|g| g.status == GateStatus::Pass),
        "{:#?}",
        v.gates
    );
}

#[test]
fn loss_spike_is_loss_over_the_running_median() {
    let spiky = |height: f64| with(move |i, s| s.loss = if i == 50 { 1.0 * height } else { 1.0 });
    let v = diagnose(&spiky(10.0));
    let f = v
        .errors()
        .find(|f| f.kind == FindingKind::LossSpike)
        .unwrap();
    assert_eq!((f.measured, f.steps.first), (10.0, 50));
    assert!(!errors(&diagnose(&spiky(4.9))).contains(&FindingKind::LossSpike));
}

#[test]
fn divergence_is_a_sustained_rise_not_a_spike() {
    let rising = with(|i, s| s.loss = 1.0 + 0.05 * i as f64);
    assert!(errors(&diagnose(&rising)).contains(&FindingKind::LossDivergence));
    let one_spike = with(|i, s| s.loss = if i == 50 { 3.0 } else { 1.0 });
    assert!(!errors(&diagnose(&one_spike)).contains(&FindingKind::LossDivergence));
}

#[test]
fn oscillation_needs_alternation_and_a_period_2_swing() {
    let zigzag = |amp: f64| with(move |i, s| s.loss = 1.0 + amp * (i % 2) as f64);
    // The window is the last 40 steps (a quarter of 100 is under the 40-step minimum): 20 at 1.3
    // and 20 at 1.0, so the median is 1.15 and the period-2 amplitude 0.3 / 1.15 = 0.261 > 0.1.
    let v = diagnose(&zigzag(0.3));
    let f = v
        .errors()
        .find(|f| f.kind == FindingKind::LossOscillation)
        .unwrap();
    assert!((f.measured - 0.3 / 1.15).abs() < 1e-12, "{}", f.measured);
    // ±0.1 around a median of 1.05 swings by 0.095: under the gate.
    assert!(!errors(&diagnose(&zigzag(0.1))).contains(&FindingKind::LossOscillation));
    // Large changes that do not keep alternating (period 4: up, up, down, down) are no
    // period-2 oscillation, however big.
    let period_4 = with(|i, s| s.loss = 1.0 + ((i / 2) % 2) as f64);
    assert!(!errors(&diagnose(&period_4)).contains(&FindingKind::LossOscillation));
}

#[test]
fn a_flat_loss_is_no_progress_not_instability() {
    let flat = with(|_, s| s.loss = 2.0);
    let v = diagnose(&flat);
    assert_eq!(errors(&v), [FindingKind::NoProgress]);
    assert_eq!((v.status, v.outcome), (Status::Fail, Outcome::NoProgress));
}

#[test]
fn a_converged_run_with_tiny_gradients_is_neither_vanishing_nor_a_plateau() {
    let converged = with(|i, s| {
        s.loss = 2.0 * 0.8f64.powi(i as i32).max(1e-6);
        // The gradient shrinks with the loss, down to 2e-9 at the minimum.
        s.grad_norm = 1e-3 * s.loss;
    });
    let v = diagnose(&converged);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    let stuck = with(|_, s| s.grad_norm = 1e-9);
    assert!(errors(&diagnose(&stuck)).contains(&FindingKind::VanishingGradients));
}

#[test]
fn global_gradient_norm_above_the_gate_is_exploding() {
    let big = |g: f64| with(move |i, s| s.grad_norm = if i == 10 { g } else { 1.0 });
    let v = diagnose(&big(2e3));
    let f = v.errors().next().unwrap();
    assert_eq!(
        (f.kind, f.gate),
        (FindingKind::ExplodingGradients, Some(Gate::MaxGradNorm))
    );
    assert!(errors(&diagnose(&big(999.0))).is_empty());
}

#[test]
fn per_layer_spread_names_vanishing_or_exploding_by_direction() {
    let spread = |norms: [f64; LAYERS]| {
        with(move |_, s| {
            for (l, n) in s.layers.iter_mut().zip(norms) {
                l.weight_grad_norm = n;
            }
        })
    };
    let kinds = |norms| errors(&diagnose(&spread(norms)));
    assert_eq!(kinds([1e-6, 1e-3, 1.0]), [FindingKind::VanishingGradients]);
    assert_eq!(kinds([1.0, 1e-3, 1e-6]), [FindingKind::ExplodingGradients]);
    assert!(
        kinds([1e-3, 1e-2, 9.0]).is_empty(),
        "a spread of 9e3 is under 1e4"
    );
}

#[test]
fn dead_units_count_only_in_the_last_window() {
    let dead_from = |start: usize, end: usize| {
        with(move |i, s| {
            s.layers[0].dead_fraction = if (start..end).contains(&i) { 0.8 } else { 0.0 };
        })
    };
    let v = diagnose(&dead_from(60, STEPS));
    let f = v.errors().next().unwrap();
    assert_eq!(
        (f.kind, f.layers.clone(), f.measured),
        (FindingKind::DeadUnits, vec![0], 0.8)
    );
    assert!(
        errors(&diagnose(&dead_from(0, 50))).is_empty(),
        "recovered units are not dead"
    );
}

#[test]
fn saturated_units_over_the_gate_fail_it() {
    let sat = |x: f64| with(move |_, s| s.layers[1].saturated_fraction = x);
    assert_eq!(errors(&diagnose(&sat(0.6))), [FindingKind::SaturatedUnits]);
    assert!(errors(&diagnose(&sat(0.4))).is_empty());
}

#[test]
fn update_ratios_gate_on_the_last_window_not_on_one_early_step() {
    // A layer that starts near zero moves by more than its own norm on its first steps and then
    // trains normally: not a failure.
    let early = with(|i, s| s.layers[1].update_ratio = if i < 3 { 50.0 } else { 1e-3 });
    assert!(errors(&diagnose(&early)).is_empty());
    // Updates as large as the weights at every step of the last window: thrashing.
    let window = stabcheck::diagnose::series::window_len(STEPS);
    let thrash =
        with(move |i, s| s.layers[1].update_ratio = if i >= STEPS - window { 2.0 } else { 1e-3 });
    let v = diagnose(&thrash);
    let f = v.errors().next().unwrap();
    assert_eq!(
        (f.kind, f.measured, f.steps.first),
        (FindingKind::UpdateRatio, 2.0, STEPS - window)
    );
    let frozen = with(|_, s| s.layers[2].update_ratio = 1e-7);
    let v = diagnose(&frozen);
    assert!(errors(&v).is_empty());
    let w = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::UpdateRatio)
        .unwrap();
    assert_eq!((w.severity, w.layers.clone()), (Severity::Warning, vec![2]));
}

#[test]
fn weights_still_multiplying_in_the_second_half_fail_the_growth_gate() {
    let growing =
        |rate: f64| with(move |i, s| s.layers[0].weight_norm = 10.0 * rate.powi(i as i32));
    // The second half runs from recorded index 50 to 99: growth rate^49.
    assert_eq!(
        errors(&diagnose(&growing(1.1))),
        [FindingKind::WeightGrowth],
        "1.1^49 = 106.7 > 100"
    );
    assert!(
        errors(&diagnose(&growing(1.09))).is_empty(),
        "1.09^49 = 68.1 < 100"
    );
}

#[test]
fn weights_grown_from_a_tiny_init_to_their_trained_size_pass() {
    // 1e-4 at step 0, 1e4x larger by step 20, then level: learning, not a runaway.
    let grown =
        with(|i, s| s.layers[0].weight_norm = 1e-4 * 10f64.powf(4.0 * (i.min(20) as f64) / 20.0));
    assert!(errors(&diagnose(&grown)).is_empty());
}

#[test]
fn root_cause_is_the_earliest_anomaly_named_apart_from_the_first_non_finite_op() {
    // Layer 1's update ratio is 3.2 at step 0; layer 2's matmul overflows at step 4.
    let mut t = with(|i, s| {
        if i == 0 {
            s.layers[1].update_ratio = 3.2;
        }
        if i >= 4 {
            s.loss = f64::INFINITY;
            s.grad_norm = f64::NAN;
            s.layers[2].nonfinite = 10;
        }
    });
    t.steps.truncate(10);
    let origin = NanOrigin {
        step: 4,
        layer: Some(2),
        module: None,
        op: "dense.matmul".into(),
        phase: Phase::Forward,
        value: "inf".into(),
        inputs: Vec::new(),
        explanation: "a product overflowed".into(),
    };
    let v = diagnose::run(&t, &scenario(), Some(&origin));
    assert_eq!(v.findings[0].kind, FindingKind::Nonfinite);
    assert_eq!(
        v.findings[0].summary,
        "root cause: layer 1, update/weight ratio 3.2 at step 0 (healthy ≈ 1e-3); \
         first inf: output layer 2 forward dense.matmul at step 4"
    );
    let cause = &v.findings[1];
    assert_eq!(
        (cause.kind, cause.layers.clone(), cause.steps.first),
        (FindingKind::RootCause, vec![1], 0)
    );
    let gate = v.gates.iter().find(|g| g.gate == Gate::Nonfinite).unwrap();
    assert_eq!((gate.status, gate.measured), (GateStatus::Fail, 6.0));
}

#[test]
fn a_gate_fails_exactly_when_an_error_finding_names_it() {
    for trace in [
        healthy(),
        with(|_, s| s.loss = 2.0),
        with(|_, s| s.grad_norm = 5e3),
    ] {
        let v = diagnose(&trace);
        for g in &v.gates {
            let named = v.errors().any(|f| f.gate == Some(g.gate));
            assert_eq!(g.failed(), named, "{}", g.gate);
        }
        assert_eq!(
            v.status == Status::Pass,
            !v.gates.iter().any(|g| g.failed())
        );
    }
}

#[test]
fn a_loss_that_reaches_exactly_zero_leaves_the_spike_gate_not_judged_never_passed() {
    let zero = with(|i, s| s.loss = if i < 3 { 2.0 } else { 0.0 });
    let v = diagnose(&zero);
    let spike = v
        .gates
        .iter()
        .find(|g| g.gate == Gate::MaxLossSpike)
        .unwrap();
    assert_eq!(spike.status, GateStatus::NotJudged, "{spike:?}");
    assert!(spike.measured.is_nan() && spike.reason.is_some());
    assert!(
        v.gate_summary().contains("not judged"),
        "{}",
        v.gate_summary()
    );
    // From exactly 0 back to the initial loss is an infinite spike, not a NaN that passes.
    let back = with(|i, s| s.loss = if (3..50).contains(&i) { 0.0 } else { 2.0 });
    let v = diagnose(&back);
    let spike = v
        .gates
        .iter()
        .find(|g| g.gate == Gate::MaxLossSpike)
        .unwrap();
    assert_eq!(
        (spike.status, spike.measured),
        (GateStatus::Fail, f64::INFINITY)
    );
}

#[test]
fn a_divergence_after_a_minimum_fails_though_the_loss_never_passes_its_start() {
    // 2 → 2/4000 over 50 steps, then × 790 over the last 50: 0.395, a fifth of the start.
    let dip = with(|i, s| {
        let t = i as f64;
        s.loss = if i < 50 {
            2.0 * 4000f64.powf(-t / 50.0)
        } else {
            2.0 / 4000.0 * 790f64.powf((t - 50.0) / 49.0)
        };
    });
    let v = diagnose(&dip);
    assert!(errors(&v).contains(&FindingKind::LossDivergence), "{v:#?}");
    assert!(!v.findings.iter().any(|f| f.kind == FindingKind::Plateau));
    // The same fall, then noise inside the converged band (1% of the start): a minimum.
    let noisy = with(|i, s| {
        let t = i as f64;
        s.loss = 2.0 * 4000f64.powf(-t.min(50.0) / 50.0) * if i % 3 == 0 { 5.0 } else { 1.0 };
    });
    assert!(errors(&diagnose(&noisy)).is_empty());
}

#[test]
fn a_transient_rise_that_recovers_is_a_warning_not_a_divergence() {
    // Up to 3x the start by step 30, back to 0.5x by the end (momentum's transient growth).
    let bump = with(|i, s| {
        let t = i as f64;
        s.loss = 2.0 * (1.0 + 2.0 * (-(t - 30.0).powi(2) / 200.0).exp()) * 0.993f64.powf(t);
    });
    let v = diagnose(&bump);
    assert!(errors(&v).is_empty(), "{v:#?}");
    let w = v
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::LossDivergence);
    assert_eq!(w.map(|f| f.severity), Some(Severity::Warning));
}

#[test]
fn a_loss_that_overflows_after_its_peak_is_not_said_to_have_recovered() {
    // Up 10x per step from step 50, infinite from step 80: no "rose and then recovered" warning.
    let overflow = with(|i, s| {
        s.loss = match i {
            0..50 => 2.0,
            50..80 => 2.0 * 10f64.powi(i as i32 - 49),
            _ => f64::INFINITY,
        }
    });
    let v = diagnose(&overflow);
    assert!(
        !v.findings.iter().any(|f| f.summary.contains("recovered")),
        "{v:#?}"
    );
}

/// A trace with layer names (a transformer's state_dict modules) names the layer in findings by
/// index and module, so a finding maps onto the user's own model.
#[test]
fn findings_name_a_named_layer_by_its_module() {
    let mut thrash = with(|_, s| s.layers[1].update_ratio = 2.0);
    let names = ["tok_emb", "blocks.0.attn.qkv", "head"];
    thrash.layer_names = names.iter().map(|n| n.to_string()).collect();
    let v = diagnose(&thrash);
    let f = v.errors().next().expect("an update-ratio error");
    assert!(
        f.summary.contains("layer 1 (blocks.0.attn.qkv)"),
        "{}",
        f.summary
    );
    let unnamed = diagnose(&with(|_, s| s.layers[1].update_ratio = 2.0));
    let m = &unnamed.errors().next().unwrap().summary;
    assert!(m.contains("layer 1") && !m.contains("layer 1 ("), "{m}");
}
