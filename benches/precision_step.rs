//! The cost of 16-bit emulation: a plain training step under each precision policy as a ratio to
//! the f32 step, on deep-mlp and on tiny-gpt (the peers' workloads, built from the catalogue).
//!
//! Run: `cargo bench --bench precision_step` (pin it with `taskset -c 0`). Policies are timed in
//! alternating rounds so drift on a shared machine hits each alike; the printed numbers are the
//! medians of the per-round ratios to the f32 step of the same round. No observer is attached
//! (rounding without a census), as a run without probes pays. Target (issue 20): bf16-mixed
//! within 1.5x of f32 on both.

use std::hint::black_box;
use std::time::Instant;

use stabcheck::core::observer::NoopObserver;
use stabcheck::run::build::build_trainer;
use stabcheck::run::gpt::build_gpt_trainer;
use stabcheck::scenario::{self, Overrides, Scenario, SetOverride, apply_overrides};

const ROUNDS: usize = 7;

fn scenario(name: &str, precision: &str) -> Scenario {
    let overrides = Overrides {
        set: vec![
            SetOverride::parse(&format!("precision=\"{precision}\"")).expect("a valid --set"),
        ],
        ..Overrides::default()
    };
    apply_overrides(&scenario::resolve(name).expect("built in"), &overrides).expect("valid")
}

/// A closure that runs `n` steps of `name` under `precision`.
fn stepper(name: &str, precision: &str) -> Box<dyn FnMut(usize)> {
    let s = scenario(name, precision);
    match s.transformer().cloned() {
        Some(t) => {
            let mut tr = build_gpt_trainer::<f32>(&s, &t, None).expect("built-in data");
            Box::new(move |n| {
                for _ in 0..n {
                    black_box(tr.step());
                }
            })
        }
        None => {
            let mut tr = build_trainer::<f32>(&s, None).expect("built-in data");
            Box::new(move |n| {
                for _ in 0..n {
                    black_box(tr.step(&mut NoopObserver));
                }
            })
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let policies = ["f32", "bf16-mixed", "fp16-mixed", "bf16", "fp16"];
    for (name, steps) in [("deep-mlp", 40), ("tiny-gpt", 3)] {
        let mut runs: Vec<_> = policies.iter().map(|p| stepper(name, p)).collect();
        runs.iter_mut().for_each(|r| r(1));
        let mut ratios = vec![Vec::new(); policies.len()];
        let mut f32_ms = Vec::new();
        for _ in 0..ROUNDS {
            let times: Vec<f64> = (runs.iter_mut())
                .map(|r| {
                    let t0 = Instant::now();
                    r(steps);
                    t0.elapsed().as_secs_f64() * 1e3 / steps as f64
                })
                .collect();
            f32_ms.push(times[0]);
            for (k, t) in times.iter().enumerate() {
                ratios[k].push(t / times[0]);
            }
        }
        println!(
            "{name}: f32 step {:.2} ms (median of {ROUNDS} rounds)",
            median(f32_ms)
        );
        for (k, p) in policies.iter().enumerate().skip(1) {
            println!("  {p:<11} / f32 = {:.3}", median(ratios[k].clone()));
        }
    }
}
