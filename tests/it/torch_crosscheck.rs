//! The GPT against PyTorch: tiny-gpt's initial weights, exported under state_dict names, loaded into
//! the same architecture written in PyTorch (scripts/torch_gpt_crosscheck.py); same batches, then the
//! step-0 loss, every parameter's step-0 gradient and the losses of 20 AdamW steps compared.
//!
//! Ignored by default (Debian's torch 1.13 takes ~1.5 s per tiny-gpt step); run with
//! `cargo test --test it torch_crosscheck -- --ignored --nocapture`. Needs `/usr/bin/python3` with
//! torch (Debian's `python3-torch`, 1.13 is enough). Skipped, saying so,
//! without it; `.ci/run` installs it and sets `STABCHECK_REQUIRE_TORCH=1`, under which a missing
//! torch fails the test.

use std::path::Path;
use std::process::Command;

use ndarray::{Array1, Array3};
use stabcheck::core::clip::Clip;
use stabcheck::core::data::tokens::{TokenData, TokenTask};
use stabcheck::core::gpt::state_dict::{Buffer, npz_bytes};
use stabcheck::core::gpt::train::GptTrainer;
use stabcheck::core::gpt::{Gpt, GptSpec, MlpActivation, NormPosition, TokenNorm};
use stabcheck::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
use stabcheck::core::schedule::Schedule;

pub(crate) const PYTHON: &str = "/usr/bin/python3";
const STEPS: usize = 20;
const LR: f64 = 1e-3;
const DISTINCT_BATCHES: usize = 4;
/// A gradient off by 0.1%: ten times the script's tolerance.
const SABOTAGE: f32 = 1.001;

pub(crate) fn torch_available() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import torch, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let required = std::env::var("STABCHECK_REQUIRE_TORCH").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "STABCHECK_REQUIRE_TORCH=1 but {PYTHON} cannot import torch and numpy"
        );
        eprintln!(
            "SKIPPED: {PYTHON} cannot import torch (apt install python3-torch); .ci/run installs it"
        );
    }
    ok
}

/// Periodic-copy batches like the peers' (a seeded pattern of 16 tokens repeated), from a
/// simple LCG so the data owes nothing to the code under test. Four distinct batches, cycled, so
/// the 20 steps learn something and the loss falls.
fn batches(spec: &GptSpec) -> (Array3<i64>, Array3<i64>) {
    let (b, t, v) = (spec.batch, spec.context, spec.vocab as u64);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % v
    };
    let mut seqs = Array3::<i64>::zeros((STEPS, b, t + 1));
    for s in 0..DISTINCT_BATCHES {
        for i in 0..b {
            let pattern: Vec<u64> = (0..16).map(|_| next()).collect();
            for j in 0..=t {
                seqs[(s, i, j)] = pattern[j % 16] as i64;
            }
        }
    }
    for s in DISTINCT_BATCHES..STEPS {
        let earlier = seqs
            .index_axis(ndarray::Axis(0), s % DISTINCT_BATCHES)
            .to_owned();
        seqs.index_axis_mut(ndarray::Axis(0), s).assign(&earlier);
    }
    let x = seqs.slice(ndarray::s![.., .., ..t]).to_owned();
    let y = seqs.slice(ndarray::s![.., .., 1..]).to_owned();
    (x, y)
}

fn spec_json(spec: &GptSpec) -> serde_json::Value {
    serde_json::json!({
        "spec": spec,
        "optimizer": {"kind": "adamw", "lr": LR, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1},
    })
}

/// Trains `STEPS` AdamW steps in f32, writing everything the script reads into `dir`; with
/// `sabotage`, one exported gradient is scaled by [`SABOTAGE`].
fn export(spec: GptSpec, dir: &Path, sabotage: bool) {
    let gpt = Gpt::<f32>::new(spec, 0);
    std::fs::write(
        dir.join("init.npz"),
        npz_bytes(&gpt.state_dict(Buffer::Values, "")).unwrap(),
    )
    .unwrap();
    let (x, y) = batches(&spec);
    let opt_spec = OptimizerSpec {
        betas: (0.9, 0.95),
        weight_decay: 0.1,
        ..OptimizerSpec::defaults(OptimizerKind::Adamw)
    };
    let optimizer = Optimizer::<f32>::new(opt_spec, gpt.params.len());
    let unused = TokenData::synthetic(TokenTask::Copy, spec.vocab, spec.context, spec.batch, 0);
    let schedule = Schedule::constant(LR, STEPS);
    let mut trainer = GptTrainer::new(gpt, optimizer, schedule, Clip::NONE, unused, 0);
    let mut losses = Vec::new();
    let mut grads = Vec::new();
    for s in 0..STEPS {
        let ids = |a: &Array3<i64>| {
            a.slice(ndarray::s![s, .., ..])
                .iter()
                .map(|&v| v as u32)
                .collect::<Vec<_>>()
        };
        losses.push(trainer.step_on(&ids(&x), &ids(&y)).loss.total);
        if s == 0 {
            grads = trainer.gpt.state_dict(Buffer::Grads, "grad.");
            if sabotage {
                grads[3].1.mapv_inplace(|g| g * SABOTAGE);
            }
        }
    }
    let data = vec![
        ("tokens".to_string(), x.into_dyn()),
        ("targets".to_string(), y.into_dyn()),
    ];
    std::fs::write(dir.join("data.npz"), npz_bytes(&data).unwrap()).unwrap();
    let mut rust: Vec<(String, ndarray::ArrayD<f64>)> = grads
        .into_iter()
        .map(|(n, a)| (n, a.mapv(f64::from)))
        .collect();
    rust.push(("loss".to_string(), Array1::from(losses).into_dyn()));
    std::fs::write(dir.join("rust.npz"), npz_bytes(&rust).unwrap()).unwrap();
    std::fs::write(dir.join("spec.json"), spec_json(&spec).to_string()).unwrap();
}

/// Runs the script on `spec`'s export: its success and its report.
fn run_script(spec: GptSpec, sabotage: bool) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    export(spec, dir.path(), sabotage);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/torch_gpt_crosscheck.py");
    let out = Command::new(PYTHON)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    (out.status.success(), text)
}

fn crosscheck(spec: GptSpec) {
    if torch_available() {
        let (ok, text) = run_script(spec, false);
        assert!(
            ok,
            "PyTorch disagrees with stabcheck's GPT ({spec:?}):\n{text}"
        );
    }
}

#[test]
#[ignore = "needs python3-torch and ~40 s; .ci/run runs it"]
fn the_crosscheck_catches_one_gradient_off_by_a_tenth_of_a_percent() {
    if torch_available() {
        let small = GptSpec {
            vocab: 32,
            context: 8,
            d_model: 16,
            heads: 2,
            blocks: 1,
            batch: 2,
            ..GptSpec::tiny_gpt()
        };
        let (ok, text) = run_script(small, true);
        assert!(
            !ok && text.contains("FAIL grad"),
            "a wrong gradient passed:\n{text}"
        );
    }
}

#[test]
#[ignore = "needs python3-torch and ~40 s; .ci/run runs it"]
fn tiny_gpt_matches_pytorch_loss_gradients_and_adamw_trajectory() {
    crosscheck(GptSpec::tiny_gpt());
}

#[test]
#[ignore = "needs python3-torch and ~40 s; .ci/run runs it"]
fn post_ln_qk_norm_tied_swiglu_rmsnorm_z_loss_variant_matches_pytorch() {
    crosscheck(GptSpec {
        vocab: 64,
        context: 16,
        d_model: 32,
        heads: 4,
        blocks: 2,
        mlp_activation: MlpActivation::Swiglu,
        norm: TokenNorm::Rmsnorm,
        norm_position: NormPosition::Post,
        qk_norm: true,
        tie_embeddings: true,
        bias: false,
        z_loss: 1e-4,
        batch: 4,
        ..GptSpec::tiny_gpt()
    });
}
