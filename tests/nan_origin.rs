//! NaN origin: scenarios built so the first non-finite op is known in advance (forward overflow,
//! layernorm 0/0, backward overflow, Adam 0/0, SGD lr overflow), and a bit-for-bit replay check.

use std::path::{Path, PathBuf};

use stabcheck::core::observer::Phase;
use stabcheck::core::train::StepSummary;
use stabcheck::probe::nan_origin::{
    find_nan_origin, find_nan_origin_checked, first_nonfinite_step, replay,
};
use stabcheck::probe::trace::NanOrigin;
use stabcheck::run::run_scenario;
use stabcheck::scenario::build::build_trainer;
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
