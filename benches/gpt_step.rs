//! Training-step throughput of the peers' tiny-gpt workload (../shared/peers/gpt_common.py) in f32.
//!
//! Run: `taskset -c 0 cargo bench --bench gpt_step`. A step is forward + loss + backward + AdamW
//! (lr 1e-3, betas (0.9, 0.95), weight decay 0.1), as the peers time it. Prints the median
//! ms/step, GFLOP/s on the peers' nominal 5,435,817,984 FLOP/step, the same run's 1024³ GEMM
//! GFLOP/s and their ratio, in alternating rounds; then the full recorder's cost as a ratio to
//! the plain step in the same run. Compare ratios across tools, not absolute times.

use std::hint::black_box;
use std::time::Instant;

use ndarray::Array2;
use stabcheck::core::clip::Clip;
use stabcheck::core::data::tokens::{TokenData, TokenTask};
use stabcheck::core::gpt::train::GptTrainer;
use stabcheck::core::gpt::{Gpt, GptSpec};
use stabcheck::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
use stabcheck::core::schedule::Schedule;
use stabcheck::core::tensor::matmul_into;
use stabcheck::probe::recorder::Recorder;

const ROUNDS: usize = 5;
/// Rounds of the probe-overhead comparison (plain, probed, plain again in each).
const PROBE_ROUNDS: usize = 9;
const STEPS_PER_ROUND: usize = 10;
const GEMM_N: usize = 1024;
/// gpt_common.flops_per_step(): 6 · 819,200 matmul weights · 1024 tokens + attention's 402,653,184.
const FLOPS_PER_STEP: f64 = 5_435_817_984.0;

/// tiny-gpt on seeded copy sequences (the data does not change the work of a step).
fn trainer() -> GptTrainer<f32> {
    let spec = GptSpec::tiny_gpt();
    let gpt = Gpt::<f32>::new(spec, 0);
    let opt_spec = OptimizerSpec {
        betas: (0.9, 0.95),
        weight_decay: 0.1,
        ..OptimizerSpec::defaults(OptimizerKind::Adamw)
    };
    let optimizer = Optimizer::new(opt_spec, gpt.params.len());
    let data = TokenData::synthetic(TokenTask::Copy, spec.vocab, spec.context, 1024, 0);
    GptTrainer::new(
        gpt,
        optimizer,
        Schedule::constant(1e-3, 1000),
        Clip::NONE,
        data,
        0,
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut step = trainer();
    for _ in 0..3 {
        black_box(step.step());
    }
    let a = Array2::<f32>::from_shape_fn((GEMM_N, GEMM_N), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 * 0.1
    });
    let b = a.t().to_owned();
    let mut c = Array2::<f32>::zeros((GEMM_N, GEMM_N));
    let (mut step_ms, mut gemm_gflops) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..STEPS_PER_ROUND {
            black_box(step.step());
        }
        step_ms.push(t0.elapsed().as_secs_f64() * 1e3 / STEPS_PER_ROUND as f64);
        let t0 = Instant::now();
        matmul_into(1.0, a.view(), b.view(), 0.0, c.view_mut());
        black_box(&c);
        gemm_gflops.push(2.0 * (GEMM_N as f64).powi(3) / t0.elapsed().as_secs_f64() / 1e9);
    }
    let ms = median(step_ms);
    let gflops = FLOPS_PER_STEP / (ms * 1e-3) / 1e9;
    let gemm = median(gemm_gflops);
    println!(
        "tiny-gpt f32 step (adamw, batch 16 × 64 tokens): {ms:.2} ms/step, {gflops:.1} GFLOP/s"
    );
    println!("{GEMM_N}^3 f32 GEMM: {gemm:.1} GFLOP/s");
    println!("step / GEMM throughput ratio: {:.2}", gflops / gemm);
    probe_overhead(&mut step);
}

/// The full per-step recorder (every layer's statistics, a histogram every 10th step, as
/// `stabcheck scenario` attaches it) against the plain step, in alternating rounds of the same
/// trainer: the median of the per-round ratios, and a plain/plain control.
fn probe_overhead(step: &mut GptTrainer<f32>) {
    let mut recorder = Recorder::<f32>::new(10, 1_000_000);
    let mut round = |probed: bool| {
        let t0 = Instant::now();
        for _ in 0..STEPS_PER_ROUND {
            if probed {
                black_box(step.step_observed(&mut recorder));
            } else {
                black_box(step.step());
            }
        }
        t0.elapsed().as_secs_f64()
    };
    let (mut ratios, mut controls) = (vec![], vec![]);
    for _ in 0..PROBE_ROUNDS {
        let plain = round(false);
        let probed = round(true);
        let again = round(false);
        ratios.push(probed / (0.5 * (plain + again)));
        controls.push(again / plain);
    }
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
    println!(
        "full probes / plain step: {:.4} (median of {PROBE_ROUNDS} rounds, {lo:.3}-{hi:.3}); \
         control plain / plain: {:.4}",
        median(ratios),
        median(controls)
    );
}
