//! Probe overhead: deep-mlp steps with the no-op observer against the full recorder, alternating.
//!
//! Run: `cargo bench --bench probes` (pin with `taskset -c 0`). Each of 9 rounds times one
//! whole deep-mlp run (300 steps from a fresh model) with the no-op observer, one with a fresh
//! `Recorder` on deep-mlp's own histogram schedule, and one more with the no-op observer as a
//! control, and one asking only for the core's fused statistics; the medians' ratios are
//! printed: recorder / no-op (the overhead) next to no-op / no-op (the noise floor of this
//! machine at this moment), and the share of the probed run spent inside the recorder.

use std::hint::black_box;
use std::time::{Duration, Instant};

use stabcheck::core::blocked::fast_sq_norm;
use stabcheck::core::model::Model;
use stabcheck::core::observer::{NoopObserver, Observer, StatsWanted, StepEvent};
use stabcheck::core::train::Trainer;
use stabcheck::probe::histogram::histogram_due;
use stabcheck::probe::recorder::Recorder;
use stabcheck::scenario::{self, Scenario, build::build_trainer};

const ROUNDS: usize = 9;

/// ms per step of one whole deep-mlp run (built untimed, from step 0, as `stabcheck scenario`
/// runs it): a run continued for thousands of steps drifts into subnormal gradients and times
/// something no scenario does.
fn time(s: &Scenario, observer: &mut dyn Observer<f32>) -> f64 {
    time_keeping(s, observer).0
}

/// [`time`], also returning the trained model.
fn time_keeping(s: &Scenario, observer: &mut dyn Observer<f32>) -> (f64, Trainer<f32>) {
    let mut trainer = build_trainer::<f32>(s, None).expect("built-in data needs no files");
    let t0 = Instant::now();
    black_box(trainer.run(s.steps, observer));
    (t0.elapsed().as_secs_f64() * 1e3 / s.steps as f64, trainer)
}

/// ms the core's fused statistics take for one step of `trainer`'s model. On buffers a whole
/// step old (out of cache) this bounds their cost inside the passes from above; run again at
/// once, on buffers just read (cached, as they are right after being written in the passes),
/// it estimates that cost.
fn core_passes(trainer: &mut Trainer<f32>) -> f64 {
    let t0 = Instant::now();
    for h in &mut trainer.model.hidden {
        h.measure_forward();
        let grad_out = h.grad_out.as_slice().expect("owned standard-layout buffer");
        black_box(fast_sq_norm(grad_out));
    }
    t0.elapsed().as_secs_f64() * 1e3
}

/// The recorder with a stopwatch around its `on_step`: the time spent inside the probes, a share
/// of the same run and so far steadier on a noisy machine than a ratio of two runs (it leaves
/// out the core's fused `‖θ‖²`, which the ratio includes).
struct Stopwatch {
    recorder: Recorder<f32>,
    histogram_every: usize,
    steps: usize,
    per_step: Duration,
    histogram_steps: Duration,
}

impl Observer<f32> for Stopwatch {
    fn wants_stats(&self) -> StatsWanted {
        self.recorder.wants_stats()
    }
    fn on_start(&mut self, model: &Model<f32>) {
        self.recorder.on_start(model);
    }
    fn on_step(&mut self, event: &StepEvent<'_, f32>) {
        let t0 = Instant::now();
        self.recorder.on_step(event);
        match histogram_due(event.step, self.histogram_every, self.steps) {
            true => self.histogram_steps += t0.elapsed(),
            false => self.per_step += t0.elapsed(),
        }
    }
}

/// Asks the core for every fused statistic the recorder uses and records nothing: the core's
/// share of the probe cost, which the stopwatch above cannot see.
struct StatsOnly;

impl Observer<f32> for StatsOnly {
    fn wants_stats(&self) -> StatsWanted {
        StatsWanted {
            param_norms: true,
            buffer_sums: true,
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let s = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    time(&s, &mut NoopObserver);
    let (mut noop, mut probed, mut control) = (vec![], vec![], vec![]);
    let (mut inside, mut histograms, mut core_only) = (vec![], vec![], vec![]);
    let (mut core_cold, mut core_hot) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        noop.push(time(&s, &mut NoopObserver));
        let mut watch = Stopwatch {
            recorder: Recorder::new(s.probe.histogram_every, s.steps),
            histogram_every: s.probe.histogram_every,
            steps: s.steps,
            per_step: Duration::ZERO,
            histogram_steps: Duration::ZERO,
        };
        let ms = time(&s, &mut watch);
        probed.push(ms);
        let run_ms = ms * s.steps as f64;
        inside.push(watch.per_step.as_secs_f64() * 1e3 / run_ms);
        histograms.push(watch.histogram_steps.as_secs_f64() * 1e3 / run_ms);
        let trace = watch.recorder.trace();
        assert_eq!(trace.steps.len(), s.steps, "the recorder missed steps");
        assert!(
            !trace.histograms.is_empty(),
            "the recorder took no histograms"
        );
        control.push(time(&s, &mut NoopObserver));
        let (ms, mut trainer) = time_keeping(&s, &mut StatsOnly);
        core_only.push(ms);
        core_cold.push(core_passes(&mut trainer));
        core_hot.push(core_passes(&mut trainer));
    }
    let base = median(noop.clone());
    println!("deep-mlp (adam, 16x128, batch 64) no-op observer: {base:.3} ms/step");
    println!("full recorder / no-op: {:.3}", median(probed) / base);
    println!("control, no-op / no-op: {:.3}", median(control) / base);
    println!(
        "core's fused statistics only / no-op: {:.3}",
        median(core_only) / base
    );
    for (what, times) in [
        ("cold buffers (upper bound)", core_cold),
        ("cached buffers", core_hot),
    ] {
        let ms = median(times);
        println!(
            "core's fused statistics on {what}: {:.1} us/step = {:.2}% of a no-op step",
            1e3 * ms,
            100.0 * ms / base
        );
    }
    println!(
        "inside the recorder, share of the probed run: {:.2}% on ordinary steps + {:.2}% on the {} histogram steps",
        100.0 * median(inside),
        100.0 * median(histograms),
        (0..s.steps)
            .filter(|&k| histogram_due(k, s.probe.histogram_every, s.steps))
            .count()
    );
}
