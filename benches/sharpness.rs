//! Cost of the sharpness probe on deep-mlp: one estimate as a multiple of one training step, and
//! the whole-run overhead at a given `sharpness_every`.
//!
//! Run: `cargo bench --bench sharpness` (pin with `taskset -c 0`). Prints the median step time
//! (no-op observer), the median time and HVP count of one estimate (warm-started, as in a run),
//! and a 300-step run with samples every 100 and every 50 steps against one without.

use std::hint::black_box;
use std::time::Instant;

use stabcheck::core::observer::NoopObserver;
use stabcheck::core::train::Trainer;
use stabcheck::probe::sharpness::{RECORD_OPTIONS, SharpnessProbe, run_with_sharpness};
use stabcheck::run::build::build_trainer;
use stabcheck::scenario::{self, Scenario};

const ROUNDS: usize = 5;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn trainer(s: &Scenario) -> Trainer<f32> {
    build_trainer::<f32>(s, None).expect("built-in data needs no files")
}

fn whole_run_ms(s: &Scenario, every: usize) -> f64 {
    let mut t = trainer(s);
    let t0 = Instant::now();
    black_box(run_with_sharpness(
        &mut t,
        s.steps,
        every,
        s.seed,
        &mut NoopObserver,
        stabcheck::core::train::Control {
            stop: &std::sync::atomic::AtomicBool::new(false),
            done: &std::sync::atomic::AtomicUsize::new(0),
        },
    ));
    t0.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let s = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    let mut t = trainer(&s);
    t.run(30, &mut NoopObserver);
    let mut probe = SharpnessProbe::new(&t, s.seed, RECORD_OPTIONS);
    probe.sample(&t);
    let (mut step_ms, mut sample_ms, mut hvps) = (vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..20 {
            black_box(t.step(&mut NoopObserver));
        }
        step_ms.push(t0.elapsed().as_secs_f64() * 1e3 / 20.0);
        let t0 = Instant::now();
        let sample = probe.sample(&t);
        sample_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        hvps.push(sample.hvps as f64);
    }
    let (step, sample) = (median(step_ms), median(sample_ms));
    let hvps = median(hvps);
    println!("deep-mlp (adam, 16x128, batch 64, f32): {step:.3} ms/step");
    println!(
        "one sharpness estimate (probe batch {}, f64): {sample:.1} ms = {:.0} steps, {hvps} HVPs ({:.1} steps per HVP)",
        probe.batch(),
        sample / step,
        sample / step / hvps
    );
    let base = whole_run_ms(&s, 0);
    for every in [100, 50] {
        let probed = whole_run_ms(&s, every);
        println!(
            "300-step run, sharpness_every = {every}: {probed:.0} ms against {base:.0} ms without ({:.2}x)",
            probed / base
        );
    }
}
