//! Probe overhead: deep-mlp with the no-op observer against the full recorder, in lockstep.
//!
//! Run: `taskset -c 1 cargo bench --bench probes`. Each of [`ROUNDS`] rounds trains deep-mlp
//! (300 steps from a fresh model, as `stabcheck scenario deep-mlp` runs it) three times at once,
//! in alternating blocks of steps (see [`lockstep`]): with a `Recorder` on deep-mlp's own
//! histogram schedule, with the no-op observer, and with the no-op observer again as a control.
//! It prints the median over rounds of recorder / no-op (the overhead) next to no-op / no-op
//! (the noise floor), then where the cost goes. `--once noop|recorder` runs one deep-mlp run
//! and nothing else, for instruction counts under callgrind.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use stabcheck::core::blocked::fast_sq_norm;
use stabcheck::core::model::view::Probed;
use stabcheck::core::observer::{NoopObserver, Observer, StatsWanted, StepEvent};
use stabcheck::core::train::Trainer;
use stabcheck::probe::histogram::histogram_due;
use stabcheck::probe::recorder::Recorder;
use stabcheck::run::build::build_trainer;
use stabcheck::scenario::{self, Scenario};

/// Lockstep rounds, each a whole deep-mlp run per role.
const ROUNDS: usize = 15;
/// Whole probed runs timed from inside for [`breakdown`].
const BREAKDOWN_ROUNDS: usize = 5;

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
/// out the core's fused statistics and `‖θ‖²`, which the ratio includes).
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
    fn on_start(&mut self, model: &dyn Probed<f32>) {
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
            attention: true,
            census: true,
        }
    }
}

/// Steps a trainer runs in a row in [`lockstep`] before another takes its turn.
const BLOCK: usize = 10;

/// One round in lockstep: three trainers, built alike, take turns in blocks of [`BLOCK`] steps.
/// The roles (no-op, probed, no-op control) rotate over the trainers turn by turn, so each role
/// runs the same number of blocks on each trainer (when the turns are a multiple of 3, as
/// asserted), and each turn runs the three blocks in a shuffled order, each block timed.
/// Observers only read and training is deterministic, so the trainers reach every block boundary
/// in the same state (the parameters are compared bit for bit at the end) and one recorder can
/// follow the run whichever trainer carries it.
///
/// Why this shape, from measurements here: whole runs seconds apart see the machine change under
/// them (the control of such ratios moved ±5%); a trainer's speed depends on where its buffers
/// landed in memory (two no-op trainers in one round differed by up to 7%, steadily), which
/// rotating the roles cancels; a step right after another trainer's finds its own buffers
/// evicted and runs about 6% slower, hence blocks rather than single steps; and a block right
/// after the probed one ran 1–2% slower, hence the shuffled order.
/// Returns probed / no-op and control / no-op of the summed block times, and no-op ms per step.
fn lockstep(s: &Scenario, seed: u64) -> (f64, f64, f64) {
    let build = || build_trainer::<f32>(s, None).expect("built-in data needs no files");
    let mut trainers = [build(), build(), build()];
    let mut recorder = Recorder::new(s.probe.histogram_every, s.steps);
    let mut totals = [Duration::ZERO; 3];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let turns = s.steps.div_ceil(BLOCK);
    assert_eq!(
        turns % 3,
        0,
        "each role needs as many turns on each trainer"
    );
    for turn in 0..turns {
        let steps = BLOCK.min(s.steps - turn * BLOCK);
        let mut order = [0, 1, 2];
        order.shuffle(&mut rng);
        for who in order {
            let role = (who + turn) % 3;
            let observer: &mut dyn Observer<f32> = match role {
                1 => &mut recorder,
                _ => &mut NoopObserver,
            };
            let trainer = &mut trainers[who];
            let t0 = Instant::now();
            for _ in 0..steps {
                black_box(trainer.step(observer));
            }
            totals[role] += t0.elapsed();
        }
    }
    assert_eq!(
        recorder.trace().steps.len(),
        s.steps,
        "the recorder missed steps"
    );
    let values = |t: &Trainer<f32>| -> Vec<u32> {
        t.model.params.values.iter().map(|v| v.to_bits()).collect()
    };
    assert!(
        trainers.iter().all(|t| values(t) == values(&trainers[0])),
        "observers changed the training"
    );
    let [noop, probed, control] = totals.map(|d| d.as_secs_f64());
    (probed / noop, control / noop, noop * 1e3 / s.steps as f64)
}

/// Instructions are counted, not timed, under callgrind: `--once noop` or `--once recorder` runs
/// one deep-mlp run and nothing else, so two such runs compare exactly (see the README).
fn once(s: &Scenario, which: &str) {
    let mut trainer = build_trainer::<f32>(s, None).expect("built-in data needs no files");
    match which {
        "noop" => black_box(trainer.run(s.steps, &mut NoopObserver)),
        "recorder" => {
            let mut recorder = Recorder::new(s.probe.histogram_every, s.steps);
            let run = black_box(trainer.run(s.steps, &mut recorder));
            assert_eq!(recorder.trace().steps.len(), s.steps);
            run
        }
        other => panic!("--once takes noop or recorder, not {other}"),
    };
}

fn min(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let s = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--once") {
        let which = args.get(at + 1).map_or("", String::as_str);
        // `--steps N` shortens the run for a quick look; the README's figures use all 300.
        let steps = args.iter().position(|a| a == "--steps");
        let steps = steps.and_then(|i| args.get(i + 1)?.parse().ok());
        let s = Scenario {
            steps: steps.unwrap_or(s.steps),
            ..s
        };
        return once(&s, which);
    }
    let (mut probed, mut control, mut step_ms) = (vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let (p, c, ms) = lockstep(&s, round as u64);
        probed.push(p);
        control.push(c);
        step_ms.push(ms);
    }
    println!(
        "deep-mlp (adam, 16x128, batch 64), no-op observer: {:.3} ms/step (median of {ROUNDS} lockstep rounds)",
        median(step_ms.clone())
    );
    for (what, ratios) in [
        ("full recorder / no-op", probed),
        ("control, no-op / no-op", control),
    ] {
        println!(
            "{what}: median {:.4}, rounds {:.3}..{:.3}",
            median(ratios.clone()),
            min(&ratios),
            max(&ratios)
        );
    }
    breakdown(&s, median(step_ms));
}

/// Where the probe cost goes, from [`BREAKDOWN_ROUNDS`] probed runs: the recorder's own share of
/// its run (stopwatch), and the core's fused statistics for one step (cold and cached).
fn breakdown(s: &Scenario, noop_ms: f64) {
    let (mut inside, mut histograms) = (vec![], vec![]);
    let (mut core_cold, mut core_hot) = (vec![], vec![]);
    for _ in 0..BREAKDOWN_ROUNDS {
        let mut watch = Stopwatch {
            recorder: Recorder::new(s.probe.histogram_every, s.steps),
            histogram_every: s.probe.histogram_every,
            steps: s.steps,
            per_step: Duration::ZERO,
            histogram_steps: Duration::ZERO,
        };
        let run_ms = time(s, &mut watch) * s.steps as f64;
        inside.push(watch.per_step.as_secs_f64() * 1e3 / run_ms);
        histograms.push(watch.histogram_steps.as_secs_f64() * 1e3 / run_ms);
        assert!(
            !watch.recorder.trace().histograms.is_empty(),
            "the recorder took no histograms"
        );
        let (_, mut trainer) = time_keeping(s, &mut StatsOnly);
        core_cold.push(core_passes(&mut trainer));
        core_hot.push(core_passes(&mut trainer));
    }
    println!(
        "inside the recorder, share of the probed run: {:.2}% on ordinary steps + {:.2}% on the {} histogram steps",
        100.0 * median(inside),
        100.0 * median(histograms),
        (0..s.steps)
            .filter(|&k| histogram_due(k, s.probe.histogram_every, s.steps))
            .count()
    );
    for (what, times) in [
        ("cold buffers (upper bound)", core_cold),
        ("cached buffers", core_hot),
    ] {
        let ms = median(times);
        println!(
            "core's fused statistics on {what}: {:.1} us/step = {:.2}% of a no-op step",
            1e3 * ms,
            100.0 * ms / noop_ms
        );
    }
}
