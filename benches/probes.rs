//! Probe overhead: deep-mlp steps with the no-op observer against the full recorder, alternating.
//!
//! Run: `cargo bench --bench probes` (pin with `taskset -c 0`). Each of 9 rounds times 100 steps
//! with the no-op observer, 100 with a fresh `Recorder`, and 100 more with the no-op observer as
//! a control; the medians' ratios are printed: recorder / no-op (the overhead) next to
//! no-op / no-op (the noise floor of this machine at this moment).

use std::hint::black_box;
use std::time::Instant;

use stabcheck::core::observer::{NoopObserver, Observer};
use stabcheck::core::train::Trainer;
use stabcheck::probe::recorder::Recorder;
use stabcheck::scenario::{self, build::build_trainer};

const ROUNDS: usize = 9;
const STEPS: usize = 100;

fn time(trainer: &mut Trainer<f32>, observer: &mut dyn Observer<f32>) -> f64 {
    let t0 = Instant::now();
    for _ in 0..STEPS {
        black_box(trainer.step(observer));
    }
    t0.elapsed().as_secs_f64() * 1e3 / STEPS as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let s = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    let mut trainer = build_trainer::<f32>(&s, None).expect("built-in data needs no files");
    trainer.run(30, &mut NoopObserver);
    let (mut noop, mut probed, mut control) = (vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        noop.push(time(&mut trainer, &mut NoopObserver));
        let mut recorder = Recorder::<f32>::new(s.probe.histogram_every, STEPS);
        probed.push(time(&mut trainer, &mut recorder));
        black_box(recorder.trace().steps.len());
        control.push(time(&mut trainer, &mut NoopObserver));
    }
    let base = median(noop.clone());
    println!("deep-mlp (adam, 16x128, batch 64) no-op observer: {base:.3} ms/step");
    println!("full recorder / no-op: {:.3}", median(probed) / base);
    println!("control, no-op / no-op: {:.3}", median(control) / base);
}
