//! NaN origin: scenarios built so the first non-finite op is known in advance (forward overflow,
//! layernorm 0/0, backward overflow, Adam 0/0, SGD lr overflow), and a bit-for-bit replay check.

use std::path::{Path, PathBuf};

use stabcheck::core::observer::Phase;
use stabcheck::core::train::StepSummary;
use stabcheck::probe::nan_origin::first_nonfinite_step;
use stabcheck::probe::trace::NanOrigin;
use stabcheck::run::build::build_trainer;
use stabcheck::run::replay::{find_nan_origin, find_nan_origin_checked, replay};
use stabcheck::run::run_scenario;
use stabcheck::scenario::{Scenario, parse_str};
use tempfile::TempDir;

const F32_MAX: f64 = f32::MAX as f64;

fn write_csv(dir: &Path, name: &str, header: &str, rows: &[Vec<f64>]) -> PathBuf {
    let mut text = format!("{header}\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:e}")).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A scenario on the CSV at `path`; `[data]` gets `data_extra`, then `rest` follows.
fn scenario(path: &Path, data_extra: &str, rest: &str) -> Scenario {
    let text = format!(
        "name = \"nan-origin\"\nprecision = \"f32\"\n{rest}\n[data]\nkind = \"csv\"\npath = {:?}\n{data_extra}\n",
        path.display().to_string()
    );
    // `rest` may open tables, so `[data]` comes last and `rest`'s top-level keys come first.
    parse_str(&text, "nan-origin.toml").unwrap()
}

/// Runs `s`, checks the cheap trigger fires at `first_bad`, and returns the checked origin.
fn origin_of(s: &Scenario, first_bad: usize) -> NanOrigin {
    let run = run_scenario(s, None).unwrap();
    assert_eq!(first_nonfinite_step(&run.steps), Some(first_bad));
    let checked = find_nan_origin_checked(s, None, &run.steps).unwrap();
    assert_eq!(checked.replay_divergence, None, "replay must be bit-exact");
    checked.origin.expect("a non-finite run has an origin")
}

fn assert_site(o: &NanOrigin, step: usize, layer: Option<usize>, op: &str, phase: Phase) {
    assert_eq!(
        (o.step, o.layer, o.op.as_str(), o.phase),
        (step, layer, op, phase),
        "{o:#?}"
    );
}

// 1. Forward overflow. Eight rows, batch 2: the batcher shuffles, so the test asks it which row
// is batched at step 1 (the order depends only on the seed and the row count, not on the values)
// and puts x1 = 1e30 there. Weights are N(0, (1e10)²): every other row gives |z| ≈ 1e10, but that
// row's products 1e30·W exceed f32::MAX = 3.4e38 for any |W| > 3.4e8, i.e. for nearly every
// weight. So the first non-finite op is layer 0's dense.matmul, forward, at step 1.
fn forward_overflow_scenario(dir: &Path) -> Scenario {
    let rows = |huge: Option<usize>| -> Vec<Vec<f64>> {
        (0..8)
            .map(|i| {
                let x1 = if Some(i) == huge { 1e30 } else { 0.5 };
                vec![i as f64, x1, -0.25 * i as f64, (i % 2) as f64]
            })
            .collect()
    };
    let rest = "steps = 6\n[model]\nhidden = [8]\ninit = \"normal\"\ninit_std = 1e10\n\
                [optimizer]\nkind = \"sgd\"\nlr = 1e-3";
    let data = "classes = 2\nbatch = 2";
    let clean = scenario(
        &write_csv(dir, "clean.csv", "id,x1,x2,y", &rows(None)),
        data,
        rest,
    );
    let mut trainer = build_trainer::<f32>(&clean, None).unwrap();
    let batcher = &mut trainer.batcher;
    batcher.next_into(&trainer.data, &mut trainer.batch);
    let step0: Vec<f32> = trainer.batch.x.column(0).to_vec();
    batcher.next_into(&trainer.data, &mut trainer.batch);
    let id = trainer
        .batch
        .x
        .column(0)
        .iter()
        .copied()
        .find(|id| !step0.contains(id));
    let huge = id.unwrap() as usize;
    scenario(
        &write_csv(dir, "huge.csv", "id,x1,x2,y", &rows(Some(huge))),
        data,
        rest,
    )
}

#[test]
fn forward_overflow_names_the_first_dense_matmul_at_the_step_the_row_is_batched() {
    let dir = TempDir::new().unwrap();
    let o = origin_of(&forward_overflow_scenario(dir.path()), 1);
    assert_site(&o, 1, Some(0), "dense.matmul", Phase::Forward);
    assert!(o.value == "inf" || o.value == "-inf", "{}", o.value);
    assert_eq!(o.inputs.len(), 2);
    assert_eq!((o.inputs[0].rows, o.inputs[0].cols), (2, 3));
    assert_eq!(o.inputs[0].max_abs, f64::from(1e30f32));
    assert!(o.inputs[1].max_abs * 1e30 > F32_MAX);
    assert_eq!(o.inputs[0].nonfinite + o.inputs[1].nonfinite, 0);
    assert!(
        o.explanation.contains("max |h| = 1.0e30"),
        "{}",
        o.explanation
    );
    assert!(
        o.explanation
            .contains("their products exceed f32::MAX = 3.4e38")
    );
}

// 6. The replay reproduces the original losses bit for bit, and a tampered original is caught.
#[test]
fn replay_reproduces_the_original_losses_bit_for_bit() {
    let dir = TempDir::new().unwrap();
    let s = forward_overflow_scenario(dir.path());
    let original = run_scenario(&s, None).unwrap().steps;
    let replayed = replay(&s, None, 1).unwrap().replayed;
    assert_eq!(replayed.len(), 2, "steps 0 and 1 are replayed");
    for (r, o) in replayed.iter().zip(&original) {
        assert_eq!(r.step, o.step);
        assert_eq!(r.loss.to_bits(), o.loss.to_bits(), "step {}", r.step);
        assert_eq!(r.grad_norm.to_bits(), o.grad_norm.to_bits());
    }
    assert!(original[0].loss.is_finite() && !original[1].loss.is_finite());

    let mut tampered: Vec<StepSummary> = original.clone();
    tampered[0].loss = f64::from_bits(tampered[0].loss.to_bits() + 1);
    let checked = find_nan_origin_checked(&s, None, &tampered).unwrap();
    let divergence = checked
        .replay_divergence
        .expect("a one-ulp change is a divergence");
    assert_eq!(divergence.step, 0);
    assert_eq!(
        divergence.replayed_loss.to_bits(),
        original[0].loss.to_bits()
    );
}

// 2. Layernorm 0/0: every input is 0, so z = 0·W + b = 0 in every feature of every sample, the
// variance of each row is 0 and with eps = 0 the normalization is (0 − 0)/√0 = 0/0 at step 0.
fn constant_input(dir: &Path, norm: &str, eps: &str) -> Scenario {
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|i| vec![0.0, 0.0, 0.0, (i % 2) as f64])
        .collect();
    let path = write_csv(dir, "zeros.csv", "x0,x1,x2,y", &rows);
    let rest = format!("steps = 3\n[model]\nhidden = [4]\nnorm = \"{norm}\"\nnorm_eps = {eps}");
    scenario(&path, "classes = 2\nbatch = 4", &rest)
}

#[test]
fn layernorm_with_eps_zero_on_a_constant_row_is_0_over_0() {
    let dir = TempDir::new().unwrap();
    let o = origin_of(&constant_input(dir.path(), "layernorm", "0.0"), 0);
    assert_site(&o, 0, Some(0), "layernorm.normalize", Phase::Forward);
    assert_eq!(o.value, "NaN");
    let z = &o.inputs[0];
    assert_eq!(
        (z.rows, z.cols, z.min, z.max, z.nonfinite),
        (4, 4, 0.0, 0.0, 0)
    );
    assert!(
        o.explanation
            .starts_with("layernorm variance 0 with eps 0: 0/0"),
        "{}",
        o.explanation
    );
}

#[test]
fn batchnorm_with_eps_zero_on_a_constant_feature_is_0_over_0() {
    let dir = TempDir::new().unwrap();
    let o = origin_of(&constant_input(dir.path(), "batchnorm", "0.0"), 0);
    assert_site(&o, 0, Some(0), "batchnorm.normalize", Phase::Forward);
    assert!(
        o.explanation
            .starts_with("batchnorm variance 0 with eps 0: 0/0")
    );
}

#[test]
fn layernorm_with_eps_on_the_same_data_stays_finite() {
    let dir = TempDir::new().unwrap();
    let s = constant_input(dir.path(), "layernorm", "1e-5");
    let run = run_scenario(&s, None).unwrap();
    assert_eq!(first_nonfinite_step(&run.steps), None);
    let checked = find_nan_origin_checked(&s, None, &run.steps).unwrap();
    assert_eq!((checked.origin, checked.replay_divergence), (None, None));
    assert_eq!(find_nan_origin(&s, None, 0).unwrap(), None);
}

// No op qualifies when the non-finite value predates the step: with init_std = 1e45 every initial
// weight is ±inf in f32 (1e45·|N(0, 1)| > f32::MAX unless |N| < 3.4e-7), so step 0's first op,
// layer 0's dense.matmul, already reads non-finite W and is reported as the first op with a
// non-finite output (not dense.bias, whose listed input b is finite but whose z is not).
#[test]
fn nonfinite_initial_weights_fall_back_to_the_first_nonfinite_op() {
    let dir = TempDir::new().unwrap();
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|i| vec![1.0, i as f64, (i % 2) as f64])
        .collect();
    let path = write_csv(dir.path(), "plain.csv", "x0,x1,y", &rows);
    let rest = "steps = 2\n[model]\nhidden = [3]\ninit = \"normal\"\ninit_std = 1e45";
    let o = origin_of(&scenario(&path, "classes = 2\nbatch = 4", rest), 0);
    assert_site(&o, 0, Some(0), "dense.matmul", Phase::Forward);
    assert_eq!(o.inputs[1].nonfinite, 6, "all 2×3 weights are ±inf");
    assert_eq!(o.inputs[0].nonfinite, 0);
    assert!(
        o.explanation.contains("W already held 6 non-finite values"),
        "{}",
        o.explanation
    );
}

// 3. Backward overflow. Two identical rows x = (1e-30, …) with labels 0 and 1, depth 10, width 4,
// identity activations, orthogonal init with gain g = 1e4, zero biases, so each layer scales a
// row's norm by exactly g (up to rounding) both ways. Forward: |logits| ≤ 2e-30·g¹¹ = 2e14, finite.
// The two rows share their logits, so their softmax gradients are (−p1, p1)/2 and (p0, −p0)/2, and
// the larger has norm between 0.5/√2 = 0.35 and 1/√2 = 0.71. Each dense.grad_input multiplies that
// norm by g; after layer i's it is ‖dl‖·g^(11−i). For i = 2 that is at most 0.71e36 < f32::MAX, so
// nothing overflows before; for i = 1 it is at least 0.35e40, and the largest of 4 elements is at
// least half the norm, 1.8e39 > f32::MAX. Weight gradients stay ≤ 2·2e-30·0.71·g¹⁰ ≈ 3e10. So the
// first overflow is layer 1's dense.grad_input at step 0, whose input grad_out has max |x| between
// 0.35e36/2 and 0.71e36.
#[test]
fn exploding_gradients_overflow_first_in_layer_1_grad_input() {
    let dir = TempDir::new().unwrap();
    let rows = vec![
        vec![1e-30, 1e-30, 1e-30, 1e-30, 0.0],
        vec![1e-30, 1e-30, 1e-30, 1e-30, 1.0],
    ];
    let path = write_csv(dir.path(), "tiny.csv", "a,b,c,d,y", &rows);
    let rest = "steps = 2\n[model]\ndepth = 10\nwidth = 4\nactivation = \"identity\"\n\
                init = \"orthogonal\"\ninit_scale = 1e4\n[optimizer]\nkind = \"sgd\"\nlr = 1e-3";
    let o = origin_of(&scenario(&path, "classes = 2\nbatch = 2", rest), 0);
    assert_site(&o, 0, Some(1), "dense.grad_input", Phase::Backward);
    assert!(o.value == "inf" || o.value == "-inf", "{}", o.value);
    let grad_out = &o.inputs[0];
    assert!(
        (1.7e35..=7.1e35).contains(&grad_out.max_abs),
        "{grad_out:?}"
    );
    assert!(
        o.explanation
            .contains("the product with Wᵀ exceeds f32::MAX")
    );
}

// 4. Adam 0/0. Input x1 is 0 in every row, so row 1 of layer 0's weight gradient xᵀ·dz is exactly
// 0; with eps = 0 Adam's first step there is m/(√v + eps) = 0/0. Every other gradient element is a
// generic sum of nonzero products (tanh is 0 only at 0), and the output layer is updated first, so
// the first NaN is layer 0's adam.update at step 0, element [1, 0] of its 3×4 weight. The loss and
// gradient norm of step 0 are finite (the update comes after them): the cheap trigger fires at
// step 1 and the replay must step back to 0.
fn dead_input(dir: &Path, eps: &str) -> Scenario {
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|i| vec![0.3 + i as f64, 0.0, 1.0 - 0.4 * i as f64, (i % 2) as f64])
        .collect();
    let path = write_csv(dir, "dead.csv", "x0,x1,x2,y", &rows);
    let rest = format!(
        "steps = 3\n[model]\nhidden = [4]\nactivation = \"tanh\"\n\
         [optimizer]\nkind = \"adam\"\neps = {eps}"
    );
    scenario(&path, "classes = 2\nbatch = 4", &rest)
}

#[test]
fn adam_with_eps_zero_and_a_zero_gradient_is_0_over_0() {
    let dir = TempDir::new().unwrap();
    let o = origin_of(&dead_input(dir.path(), "0.0"), 1);
    assert_site(&o, 0, Some(0), "adam.update", Phase::Update);
    assert_eq!(o.value, "NaN");
    assert_eq!((o.inputs[0].rows, o.inputs[0].cols), (3, 4));
    assert!(
        o.explanation
            .starts_with("0/0: gradient and second moment 0 with eps 0"),
        "{}",
        o.explanation
    );
    assert!(o.explanation.contains("[1, 0]"), "{}", o.explanation);
}

#[test]
fn adam_with_eps_on_the_same_data_stays_finite() {
    let dir = TempDir::new().unwrap();
    let run = run_scenario(&dead_input(dir.path(), "1e-8"), None).unwrap();
    assert_eq!(first_nonfinite_step(&run.steps), None);
}

// 5. SGD with lr = 1e38 on a regression whose targets are 1e6: the MSE gradient of the logits is
// 2(ŷ − y)/4 ≈ −5e5 per row, so the output bias gradient is ≈ −2e6 and lr·g ≈ 2e44 > f32::MAX. The
// output layer (index depth = 1) is updated first, so its sgd.update at step 0 is the origin; the
// loss and gradient norm of step 0 are finite, so the trigger fires at step 1.
#[test]
fn sgd_with_an_absurd_lr_overflows_in_the_output_update() {
    let dir = TempDir::new().unwrap();
    let rows: Vec<Vec<f64>> = (0..4)
        .map(|i| vec![1.0, 0.5 + 0.1 * i as f64, 1e6])
        .collect();
    let path = write_csv(dir.path(), "reg.csv", "x0,x1,y", &rows);
    let rest = "steps = 2\n[model]\nhidden = [3]\nactivation = \"identity\"\n[loss]\nkind = \"mse\"\n\
                [optimizer]\nkind = \"sgd\"\nlr = 1e38";
    let o = origin_of(&scenario(&path, "outputs = 1\nbatch = 4", rest), 1);
    assert_site(&o, 0, Some(1), "sgd.update", Phase::Update);
    assert!(o.value == "inf" || o.value == "-inf", "{}", o.value);
    assert!(o.inputs[0].max_abs * f64::from(1e38f32) > F32_MAX);
    assert!(
        o.explanation
            .starts_with("update lr·g exceeds f32::MAX = 3.4e38"),
        "{}",
        o.explanation
    );
}

#[test]
fn first_nonfinite_step_reads_loss_and_grad_norm() {
    let at = |step, loss, grad_norm| StepSummary {
        step,
        loss,
        lr: 0.1,
        grad_norm,
        grad_norm_clipped: grad_norm,
        scale: None,
    };
    let healthy = [at(0, 1.0, 2.0), at(1, 0.5, 1.0)];
    assert_eq!(first_nonfinite_step(&healthy), None);
    let bad_grad = [
        at(0, 1.0, 2.0),
        at(1, 0.5, f64::INFINITY),
        at(2, f64::NAN, 1.0),
    ];
    assert_eq!(first_nonfinite_step(&bad_grad), Some(1));
    assert_eq!(first_nonfinite_step(&[at(0, f64::NAN, 1.0)]), Some(0));
}
