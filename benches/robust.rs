//! Robust-run throughput: cases per second of `stabcheck robust deep-mlp` on a 1-thread and a
//! 2-thread rayon pool, alternating in one process, and the speed-up.
//!
//! Run: `cargo bench --bench robust`. Each of 3 rounds runs the same 8 deep-mlp cases (100 steps
//! each, no shrinking) on each pool; the medians are printed. With 8 cases on 2 threads the
//! ideal speed-up is 2; what is lost shows the machine (shared or hyper-threaded cores, memory
//! bandwidth), which `nproc` and the 1-thread figure help to read.

use std::time::Instant;

use stabcheck::robust::{RobustOptions, run_robust};
use stabcheck::scenario::{self, Overrides};

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
    println!(
        "robust deep-mlp ({CASES} cases x 100 steps, {ROUNDS} rounds): 1 thread {r1:.2} cases/s, \
         2 threads {r2:.2} cases/s, speed-up {:.2}x (available cores: {})",
        r2 / r1,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
