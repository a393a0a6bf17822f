//! Sharpness on a transformer: the sampled edge 2/λmax against full-batch gradient descent on a
//! small f64 GPT, the probe leaving a GPT run bit-identical, and `--predict` from the CLI.

use assert_cmd::Command;
use stabcheck::run::replay::predict;
use stabcheck::run::run_recorded;
use stabcheck::scenario::{Scenario, parse_str};

/// A 2-block f64 GPT trained full-batch (batch = samples = 8 sequences, so every step sees the
/// probe batch) by plain SGD at a constant `lr`.
fn full_batch_gd(lr: f64, steps: usize, every: usize) -> Scenario {
    let text = format!(
        "name = \"gpt-gd\"\nseed = 5\nsteps = {steps}\nprecision = \"f64\"\n\
         [data]\nkind = \"tokens\"\ntask = \"markov\"\nvocab = 16\ncontext = 8\nsamples = 8\nbatch = 8\n\
         [model]\nkind = \"transformer\"\nd_model = 16\nheads = 2\nblocks = 2\n\
         [optimizer]\nkind = \"sgd\"\nlr = {lr:e}\nweight_decay = 0.0\n\
         [schedule]\nkind = \"constant\"\n[probe]\nsharpness_every = {every}\n"
    );
    parse_str(&text, "gpt-gd.toml").unwrap()
}

/// On a quadratic, GD's step `k` raises the loss only if `lr·λ > 2` there (the descent lemma:
/// `L(w − lr·g) ≤ L(w) − lr·(1 − lr·λ/2)·‖g‖²`). So in a full-batch run sampled every step, every
/// rise `L_{k+1} > L_k` must come with a sampled ratio `lr·λ_k / 2 > 1`: a probe that missed the
/// top curvature (its sign, its size, the wrong batch) would show rises under the edge. Four
/// rates around the step-0 edge: under it the sharpness grows until it crosses (progressive
/// sharpening); over it the first step sheds curvature (a catapult) and the loss falls at first.
#[test]
fn full_batch_gd_on_a_gpt_raises_its_loss_only_over_the_sampled_edge() {
    let p = predict(&full_batch_gd(1.0, 1, 0), None).unwrap();
    assert!(p.sample.converged && !p.sample.preconditioned, "{p:?}");
    assert!(p.sample.sharpness > 0.0 && p.probe_batch == 8, "{p:?}");
    let edge = p.largest_stable_lr;
    assert!(
        (edge * p.sample.sharpness - 2.0).abs() < 1e-12,
        "SGD's edge is 2/λ: {p:?}"
    );
    let mut rises = 0;
    for factor in [0.5, 0.95, 1.5, 3.0] {
        let run = run_recorded(&full_batch_gd(factor * edge, 12, 1), None, None).unwrap();
        let loss: Vec<f64> = run.summary.steps.iter().map(|s| s.loss).collect();
        let ratio: Vec<f64> = run.trace.sharpness.iter().map(|s| s.ratio).collect();
        assert_eq!(ratio.len(), loss.len());
        assert!(
            (ratio[0] / factor - 1.0).abs() < 0.1,
            "step 0 at {factor}×: {ratio:?}"
        );
        for k in 0..loss.len() - 1 {
            if loss[k + 1] > loss[k] {
                rises += 1;
                assert!(
                    ratio[k] > 1.0,
                    "{factor}×: rise after step {k} at ratio {}",
                    ratio[k]
                );
            }
        }
    }
    assert!(
        rises >= 2,
        "the runs over the edge must rise somewhere: {rises}"
    );
}

#[test]
fn the_probe_leaves_a_gpt_run_bit_identical_and_samples_every_nth_step() {
    let (plain, probed) = (full_batch_gd(1e-2, 12, 0), full_batch_gd(1e-2, 12, 5));
    let (a, b) = (
        run_recorded(&plain, None, None).unwrap(),
        run_recorded(&probed, None, None).unwrap(),
    );
    let bits = |r: &stabcheck::run::RecordedRun| -> Vec<u64> {
        r.summary.steps.iter().map(|s| s.loss.to_bits()).collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a.summary.param_checksum, b.summary.param_checksum);
    let steps: Vec<usize> = b.trace.sharpness.iter().map(|s| s.step).collect();
    assert_eq!(steps, [0, 5, 10]);
    assert!(b.trace.sharpness.iter().all(|s| s.sharpness > 0.0));
    assert!(a.trace.sharpness.is_empty());
}

#[test]
fn predict_runs_on_the_builtin_transformer() {
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args(["scenario", "tiny-gpt-fast", "--predict"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("probe batch of 8 sequences"), "{text}");
    assert!(text.contains("largest stable lr"), "{text}");
    // AdamW at step 0 may only warn (the bound is pessimistic for Adam), never fail.
    assert_eq!(out.status.code(), Some(0), "{text}");
}
