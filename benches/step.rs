//! Training-step throughput: one f32 step of the peers' deep-mlp workload against a large GEMM.
//!
//! Run: `cargo bench --bench step` (pin it with `taskset -c 0` for steadier numbers). Prints the median ms/step, the step's GFLOP/s (nominal
//! `6 · Σ(in·out) · batch` FLOPs, the peers' definition in ../shared/peers/common.py), the same
//! run's 1024³ f32 GEMM GFLOP/s, and their ratio. Step and GEMM are measured in alternating rounds
//! so drift on a shared machine hits both alike; compare ratios, not absolute times.

use std::hint::black_box;
use std::time::Instant;

use ndarray::Array2;
use stabcheck::core::observer::{NoopObserver, Observer, OpEvent};
use stabcheck::core::optim::OptimizerKind;
use stabcheck::core::tensor::matmul_into;
use stabcheck::core::train::Trainer;
use stabcheck::run::build::build_trainer;
use stabcheck::scenario;

const ROUNDS: usize = 9;
const STEPS_PER_ROUND: usize = 200;
const GEMM_N: usize = 1024;

fn peer_workload() -> Trainer<f32> {
    let mut s = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    s.optimizer.kind = OptimizerKind::Sgd;
    s.optimizer.lr = 0.01;
    let s = s
        .revalidate()
        .expect("sgd with lr 0.01 is a valid deep-mlp");
    build_trainer::<f32>(&s, None).expect("built-in data needs no files")
}

fn nominal_flops(t: &Trainer<f32>) -> f64 {
    let macs: usize = (0..=t.model.depth())
        .map(|l| {
            let d = t.model.dense(l);
            d.fan_in * d.fan_out
        })
        .sum();
    6.0 * macs as f64 * t.model.batch as f64
}

/// Asks for every op event and looks at none: the cost of building and delivering them.
struct EveryOp(usize);

impl Observer<f32> for EveryOp {
    fn wants_ops(&self) -> bool {
        true
    }
    fn on_op(&mut self, event: &OpEvent<'_, f32>) {
        self.0 += event.inputs.len();
    }
}

fn time_steps(trainer: &mut Trainer<f32>, observer: &mut dyn Observer<f32>) -> f64 {
    let t0 = Instant::now();
    for _ in 0..STEPS_PER_ROUND {
        black_box(trainer.step(observer));
    }
    t0.elapsed().as_secs_f64() * 1e3 / STEPS_PER_ROUND as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut trainer = peer_workload();
    let flops = nominal_flops(&trainer);
    trainer.run(30, &mut NoopObserver);

    let a = Array2::<f32>::from_shape_fn((GEMM_N, GEMM_N), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 * 0.1
    });
    let b = a.t().to_owned();
    let mut c = Array2::<f32>::zeros((GEMM_N, GEMM_N));
    let gemm_flops = 2.0 * (GEMM_N as f64).powi(3);

    let (mut step_ms, mut control_ms, mut ops_ms, mut gemm_gflops) =
        (vec![], vec![], vec![], vec![]);
    let mut every_op = EveryOp(0);
    for _ in 0..ROUNDS {
        step_ms.push(time_steps(&mut trainer, &mut NoopObserver));
        let t0 = Instant::now();
        matmul_into(1.0, a.view(), b.view(), 0.0, c.view_mut());
        black_box(&c);
        gemm_gflops.push(gemm_flops / t0.elapsed().as_secs_f64() / 1e9);
        control_ms.push(time_steps(&mut trainer, &mut NoopObserver));
        ops_ms.push(time_steps(&mut trainer, &mut every_op));
    }
    black_box(every_op.0);
    let ms = median(step_ms);
    let step_gflops = flops / (ms * 1e-3) / 1e9;
    let gemm = median(gemm_gflops);
    println!(
        "deep-mlp f32 step (sgd, batch {}): {ms:.3} ms/step, {:.1} MFLOP/step, {step_gflops:.1} GFLOP/s",
        trainer.model.batch,
        flops / 1e6
    );
    println!("{GEMM_N}^3 f32 GEMM: {gemm:.1} GFLOP/s");
    println!("step / GEMM throughput ratio: {:.2}", step_gflops / gemm);
    println!(
        "no-op observer, control (no-op / no-op): {:.3}",
        median(control_ms) / ms
    );
    println!(
        "every op event delivered / no-op: {:.3}",
        median(ops_ms) / ms
    );
}
