//! Robust-run throughput: cases per second of `stabcheck robust deep-mlp` on a 1-thread and a
//! 2-thread rayon pool, alternating in one process, and the speed-up.
//!
//! Run: `cargo bench --bench robust`. Each of 3 rounds runs the same 8 deep-mlp cases (100 steps
//! each, no shrinking) on each pool; the medians are printed. With 8 cases on 2 threads the
//! ideal speed-up is 2; what is lost shows the machine (shared or hyper-threaded cores, memory
//! bandwidth), which `nproc` and the 1-thread figure help to read.

use std::time::Instant;

use stabcheck::robust::strategy::draw_cases;
use stabcheck::robust::{RobustOptions, run_robust};
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides, Scenario};

const ROUNDS: usize = 3;
const CASES: usize = 8;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let base = scenario::resolve("deep-mlp").expect("deep-mlp is built in");
    let overrides = Overrides {
        seed: None,
        steps: Some(100),
        set: Vec::new(),
    };
    let s = scenario::apply_overrides(&base, &overrides).expect("100 steps is valid");
    let options = RobustOptions {
        cases: CASES,
        seed: 1,
        shrink: false,
    };
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("a thread pool of 1 or 2 threads can be built")
    };
    let (one, two) = (pool(1), pool(2));
    let (mut rate1, mut rate2) = (vec![], vec![]);
    let mut records = Vec::new();
    for _ in 0..ROUNDS {
        for (p, rates) in [(&one, &mut rate1), (&two, &mut rate2)] {
            let t0 = Instant::now();
            let r = p.install(|| run_robust(&s, None, &options, &|| {}).expect("built-in runs"));
            rates.push(CASES as f64 / t0.elapsed().as_secs_f64());
            records.push(r);
        }
    }
    assert!(
        records.windows(2).all(|w| w[0] == w[1]),
        "every pool gives the same record"
    );
    let (r1, r2) = (median(rate1), median(rate2));
    balance_and_scaling(&s, &options, &two);
    println!(
        "robust deep-mlp ({CASES} cases x 100 steps, {ROUNDS} rounds): 1 thread {r1:.2} cases/s, \
         2 threads {r2:.2} cases/s, speed-up {:.2}x (available cores: {})",
        r2 / r1,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// Why a speed-up falls short of 2: the cases differ in size (batch 16..256), so two threads
/// cannot split 8 of them evenly; and the machine's own 2-thread scaling, measured on two copies
/// of one case.
fn balance_and_scaling(s: &Scenario, options: &RobustOptions, two: &rayon::ThreadPool) {
    let times: Vec<f64> = draw_cases(s, options.cases, options.seed)
        .iter()
        .map(|p| {
            let case = p.apply(s).expect("drawn cases validate");
            let t0 = Instant::now();
            run_recorded(&case, None, None).expect("built-in runs");
            t0.elapsed().as_secs_f64()
        })
        .collect();
    let total: f64 = times.iter().sum();
    let longest = times.iter().copied().fold(0.0, f64::max);
    let bound = total / (total / 2.0).max(longest);
    let once = |_: usize| run_recorded(s, None, None).expect("built-in runs");
    let t0 = Instant::now();
    (0..2).for_each(|i| {
        once(i);
    });
    let serial = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    two.install(|| rayon::join(|| once(0), || once(1)));
    let parallel = t0.elapsed().as_secs_f64();
    println!(
        "case times {:.2}..{:.2} s (sum {total:.2} s): best possible 2-thread speed-up for these 8 \
         cases {bound:.2}x; the same case twice: {:.2}x",
        times.iter().copied().fold(f64::INFINITY, f64::min),
        longest,
        serial / parallel
    );
}
