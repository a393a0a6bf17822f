//! 16-bit policies end to end: each precision scenario of the catalogue fails or passes as built,
//! with the f32 reference (and the bf16 or scaled twin) passing; the numbers the findings give
//! are checked against the trace; every policy is deterministic across runs and thread counts.

use assert_cmd::Command;
use stabcheck::diagnose::{Finding, FindingKind, Outcome, Status, Verdict};
use stabcheck::run::{RecordedRun, run_recorded};

fn run(name: &str, sets: &[&str]) -> RecordedRun {
    let s = crate::helpers::builtin_with(name, None, sets);
    run_recorded(&s, None, None).unwrap()
}

fn find(v: &Verdict, kind: FindingKind) -> &Finding {
    let found = v.findings.iter().find(|f| f.kind == kind);
    found.unwrap_or_else(|| panic!("no {kind:?} in {:?}", v.findings))
}

fn evidence(f: &Finding, name: &str) -> f64 {
    let e = f.evidence.iter().find(|e| e.name == name);
    e.unwrap_or_else(|| panic!("no evidence {name} in {f:?}"))
        .value
}

fn assert_passes(run: &RecordedRun, label: &str) {
    let v = &run.verdict;
    let errors: Vec<_> = v.errors().map(|f| f.kind).collect();
    assert!(errors.is_empty(), "{label}: {errors:?}");
    assert_eq!(
        (v.status, v.outcome),
        (Status::Pass, Outcome::Stable),
        "{label}"
    );
}

#[test]
fn fp16_activation_overflow_names_the_op_and_value_and_passes_in_bf16_and_f32() {
    for seed in ["7", "1", "2"] {
        let r = run("fp16-activation-overflow", &[&format!("seed={seed}")]);
        let f = find(&r.verdict, FindingKind::Fp16Overflow);
        assert!(evidence(f, "first_crossed_value") >= 65520.0, "{f:?}");
        assert_eq!(f.layers, vec![0], "only the first dense layer overflows");
        let origin = r.origin.origin.as_ref().expect("a NaN run has an origin");
        assert_eq!(origin.op, "cast.fp16", "seed {seed}");
    }
    for twin in ["precision=\"bf16-mixed\"", "precision=\"f32\""] {
        assert_passes(&run("fp16-activation-overflow", &[twin]), twin);
    }
}

#[test]
fn a_layer_kept_in_f32_rounds_nothing_and_repairs_the_overflow() {
    let r = run("fp16-activation-overflow", &["f32_layers=[0]"]);
    assert_passes(&r, "f32_layers=[0]");
    for s in &r.trace.steps {
        let p = s.precision.as_ref().unwrap();
        assert!(
            p.layers.iter().all(|l| l.layer != 0),
            "layer 0 rounded: {p:?}"
        );
        assert!(
            p.layers
                .iter()
                .any(|l| l.layer == 1 && l.activations.is_some())
        );
    }
    let v = run("fp16-activation-overflow", &[]).verdict;
    let f = find(&v, FindingKind::Fp16Overflow);
    let fix = f.suggestion.as_ref().unwrap();
    assert_eq!(
        fix.set,
        vec!["f32_layers=[0]".to_string()],
        "the overflowing layer, kept"
    );
}

#[test]
fn f32_layers_needs_a_16_bit_policy_and_layers_of_the_model() {
    use stabcheck::scenario::{self, Overrides, SetOverride, apply_overrides};
    let base = scenario::resolve("fp16-activation-overflow").unwrap();
    for (set, says) in [
        ("f32_layers=[3]", "0..3"),
        ("f32_layers=[0, 0]", "distinct"),
        ("f32_layers=[-1]", "0..3"),
    ] {
        let o = Overrides {
            set: vec![SetOverride::parse(set).unwrap()],
            ..Overrides::default()
        };
        let e = apply_overrides(&base, &o).unwrap_err().to_string();
        assert!(e.contains("f32_layers") && e.contains(says), "{set}: {e}");
    }
    let f32 = scenario::resolve("deep-mlp").unwrap();
    let o = Overrides {
        set: vec![SetOverride::parse("f32_layers=[0]").unwrap()],
        ..Overrides::default()
    };
    let e = apply_overrides(&f32, &o).unwrap_err().to_string();
    assert!(e.contains("16-bit"), "{e}");
}

#[test]
fn fp16_scale_collapse_skips_every_step_halving_the_scale_and_bf16_trains() {
    let r = run("fp16-scale-collapse", &[]);
    let f = find(&r.verdict, FindingKind::LossScaleCollapse);
    assert!(evidence(f, "min_loss_scale") < 1.0, "{f:?}");
    let steps = &r.trace.steps;
    assert_eq!(evidence(f, "skipped_steps") as usize, steps.len());
    // GradScaler's backoff, step by step: each skipped step halves the next step's scale.
    for pair in steps.windows(2).take(40) {
        let (a, b) = (
            pair[0].precision.as_ref().unwrap(),
            pair[1].precision.as_ref().unwrap(),
        );
        assert!(a.skipped);
        assert_eq!(b.loss_scale.unwrap(), a.loss_scale.unwrap() * 0.5);
    }
    assert_passes(
        &run("fp16-scale-collapse", &["precision=\"bf16-mixed\""]),
        "bf16-mixed",
    );
}

#[test]
fn fp16_dynamic_scale_grows_skips_one_overflowing_step_and_passes() {
    let r = run("fp16-dynamic-scale", &[]);
    assert_passes(&r, "fp16-dynamic-scale");
    let scales: Vec<(f64, bool)> = (r.trace.steps.iter())
        .map(|s| s.precision.as_ref().unwrap())
        .map(|p| (p.loss_scale.unwrap(), p.skipped))
        .collect();
    let skipped: Vec<usize> = (0..scales.len()).filter(|&i| scales[i].1).collect();
    assert!(
        !skipped.is_empty(),
        "a scaled gradient overflows once the scale has grown"
    );
    for &i in &skipped {
        assert!(scales[i].0 > 65536.0, "it grew first: {scales:?}");
        if let Some(next) = scales.get(i + 1) {
            assert_eq!(next.0, scales[i].0 * 0.5);
        }
    }
    // Growth every 50 clean steps: step 50 runs at 2^17.
    assert_eq!((scales[49].0, scales[50].0), (65536.0, 131072.0));
}

#[test]
fn fp16_grad_underflow_flushes_gradients_that_a_static_scale_saves() {
    let plain = run("fp16-grad-underflow", &[]);
    let f = find(&plain.verdict, FindingKind::GradientUnderflow);
    let (flushed, zeros) = (
        evidence(f, "flushed_fraction"),
        evidence(f, "zero_fraction"),
    );
    assert!(flushed > 0.05, "{flushed}");
    let suggestion = f.suggestion.as_ref().expect("a static scale is suggested");
    assert!(
        suggestion
            .set
            .iter()
            .any(|s| s.starts_with("loss_scale.init=")),
        "{suggestion:?}"
    );
    let scaled = run("fp16-grad-underflow-scaled", &[]);
    assert_passes(&scaled, "scaled");
    let gate = |r: &RecordedRun| {
        let g = r
            .verdict
            .gates
            .iter()
            .find(|g| g.gate.key() == "max_grad_flushed_fraction");
        g.unwrap().measured
    };
    assert!(
        gate(&scaled) < flushed / 10.0,
        "{} vs {flushed}",
        gate(&scaled)
    );
    // Reported with and without (`cargo test -- --nocapture` prints it).
    println!(
        "fp16-grad-underflow: flushed {flushed:.4}, zero {zeros:.4}; scaled: flushed {:.4}",
        gate(&scaled)
    );
    assert_passes(&run("fp16-grad-underflow", &["precision=\"f32\""]), "f32");
}

#[test]
fn bf16_lost_updates_fails_pure_and_passes_with_f32_master_weights() {
    let r = run("bf16-lost-updates", &[]);
    let f = find(&r.verdict, FindingKind::LostUpdates);
    assert!(evidence(f, "lost_update_fraction") > 0.25, "{f:?}");
    assert_eq!(r.verdict.outcome, Outcome::NoProgress);
    assert_passes(
        &run("bf16-lost-updates", &["precision=\"bf16-mixed\""]),
        "bf16-mixed",
    );
    assert_passes(&run("bf16-lost-updates", &["precision=\"f32\""]), "f32");
}

/// run.json without timings, from the binary under `RAYON_NUM_THREADS=threads`.
fn record(threads: &str, args: &[&str]) -> String {
    let dir = tempfile::TempDir::new().unwrap();
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args(args)
        .args(["--out", dir.path().to_str().unwrap()])
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("run.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("timings");
    value.to_string()
}

#[test]
fn every_policy_gives_identical_run_json_across_runs_and_thread_counts() {
    for p in ["bf16-mixed", "fp16-mixed", "bf16", "fp16"] {
        let precision = format!("precision=\"{p}\"");
        for name in ["tiny-gpt-fast", "deep-mlp"] {
            let args = [
                "scenario",
                name,
                "--steps",
                "12",
                "--set",
                &precision,
                "--set",
                "loss_scale.kind=\"dynamic\"",
            ];
            let one = record("1", &args);
            assert_eq!(one, record("2", &args), "{name} {p}");
            assert!(one.contains("\"loss_scale\""), "{name} {p}");
        }
    }
}

/// `stabcheck scenario NAME --precision-check --format json` under `RAYON_NUM_THREADS=threads`:
/// the exit code and the record.
fn precision_check(threads: &str, name: &str) -> (Option<i32>, serde_json::Value) {
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args([
            "scenario",
            name,
            "--precision-check",
            "--no-report",
            "--format",
            "json",
        ])
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

#[test]
fn precision_check_finds_where_fp16_parts_from_f32_and_that_bf16_does_not() {
    let (code, r) = precision_check("2", "fp16-activation-overflow");
    assert_eq!(
        code,
        Some(1),
        "the scenario's own policy, fp16-mixed, fails"
    );
    assert_eq!(r["reference"]["status"], "pass");
    let policy = |p: &str| {
        let all = r["policies"].as_array().unwrap();
        all.iter().find(|x| x["precision"] == p).unwrap().clone()
    };
    let fp16 = policy("fp16-mixed");
    let at = &fp16["departure"];
    assert_eq!(
        (at["step"].as_u64(), at["layer"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(fp16["layers"][0]["overflow"].as_u64().unwrap() > 0);
    let bf16 = policy("bf16-mixed");
    assert!(bf16["departure"].is_null(), "{bf16}");
    assert!(bf16["loss_gap"].as_f64().unwrap().abs() < 0.01, "{bf16}");
    assert_eq!(bf16["status"], "pass");
    let (_, again) = precision_check("1", "fp16-activation-overflow");
    assert_eq!(r, again, "identical at any thread count");
}

/// The four precision rules stay silent on healthy 16-bit runs across models, seeds,
/// optimizers, scaling and a long run; and on f32 runs their gates are not even listed.
#[test]
fn precision_rules_stay_silent_on_healthy_runs_across_variants() {
    let rules = [
        FindingKind::Fp16Overflow,
        FindingKind::GradientUnderflow,
        FindingKind::LossScaleCollapse,
        FindingKind::LostUpdates,
    ];
    let dynamic = "loss_scale.kind=\"dynamic\"";
    let cases: &[(&str, &[&str])] = &[
        ("deep-mlp", &["precision=\"bf16-mixed\"", "seed=1"]),
        ("deep-mlp", &["precision=\"fp16-mixed\"", dynamic, "seed=2"]),
        (
            "tiny-gpt-fast",
            &["precision=\"fp16-mixed\"", dynamic, "seed=3"],
        ),
        (
            "tiny-gpt-fast",
            &[
                "precision=\"bf16-mixed\"",
                "optimizer.kind=\"momentum\"",
                "optimizer.lr=0.1",
            ],
        ),
        ("fp16-dynamic-scale", &["steps=600"]),
    ];
    for (name, sets) in cases {
        let r = run(name, sets);
        let fired = (r.verdict.findings.iter()).find(|f| rules.contains(&f.kind));
        if let Some(f) = fired {
            panic!("{name} {sets:?}: {:?} {}", f.kind, f.summary);
        }
    }
    let f32 = run("deep-mlp", &["steps=50"]);
    let keys: Vec<&str> = f32.verdict.gates.iter().map(|g| g.gate.key()).collect();
    for key in [
        "max_cast_overflow",
        "max_grad_flushed_fraction",
        "min_loss_scale",
        "max_skipped_fraction",
        "max_lost_update_fraction",
    ] {
        assert!(!keys.contains(&key), "{key} listed for an f32 run");
    }
}
