//! The perturbations `stabcheck robust` draws: a proptest strategy over the `[robust]` ranges,
//! sampled deterministically from the run's seed, and their application to a scenario.
//!
//! lr, init_scale and input_scale are multiplicative on the base values and log-uniform; batch is
//! absolute, uniform in its range and clamped to the samples; the seed is any u64 when
//! `vary_seed`, else the base seed (docs/conventions.md, "[robust] ranges"). On a transformer the
//! init multiplier scales `model.init_std` and the input scale stays 1 (token data has none).

pub use crate::record::robust::Perturbation;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::scenario::{Overrides, Scenario, ScenarioError, SetOverride, apply_overrides};

impl Perturbation {
    /// The base scenario unchanged.
    pub fn identity(base: &Scenario) -> Self {
        Perturbation {
            lr_scale: 1.0,
            init_scale_scale: 1.0,
            batch: base.data.batch,
            input_scale_scale: 1.0,
            seed: base.seed,
        }
    }

    /// The scenario this case runs: the base with the perturbation applied and revalidated.
    pub fn apply(&self, base: &Scenario) -> Result<Scenario, ScenarioError> {
        let (init_key, init) = base.init_key();
        let mut set = vec![
            format!("optimizer.lr={:e}", base.optimizer.lr * self.lr_scale),
            format!("{init_key}={:e}", init * self.init_scale_scale),
            format!("data.batch={}", self.batch),
        ];
        // Token data has no input scale (its robust range is [1, 1]); writing the key would be refused.
        if !base.has_token_data() {
            let input_scale = base.data.input_scale * self.input_scale_scale;
            set.push(format!("data.input_scale={input_scale:e}"));
        }
        let overrides = Overrides {
            seed: Some(self.seed),
            steps: None,
            set: set
                .iter()
                .map(|a| SetOverride::parse(a))
                .collect::<Result<_, _>>()?,
        };
        apply_overrides(base, &overrides)
    }
}

/// Log-uniform in `[lo, hi]`; `lo == hi` (valid in `[robust]`, and token data's input scale)
/// is that value: proptest's float sampler panics on `lo..=lo` ("invalid range").
fn log_uniform([lo, hi]: [f64; 2]) -> BoxedStrategy<f64> {
    if lo >= hi {
        return Just(lo).boxed();
    }
    (lo.ln()..=hi.ln()).prop_map(f64::exp).boxed()
}

/// `n` cases drawn from the `[robust]` ranges with a ChaCha RNG seeded by `seed`: the same seed
/// always gives the same cases, in the same order, whatever the thread count later.
pub fn draw_cases(base: &Scenario, n: usize, seed: u64) -> Vec<Perturbation> {
    let r = &base.robust;
    let max_batch = base.data.samples.unwrap_or(usize::MAX);
    let batch_lo = r.batch[0].min(max_batch);
    let batch_hi = r.batch[1].min(max_batch).max(batch_lo);
    let vary_seed = r.vary_seed;
    let base_seed = base.seed;
    let strategy = (
        log_uniform(r.lr),
        log_uniform(r.init_scale),
        batch_lo..=batch_hi,
        log_uniform(r.input_scale),
        // Scenario seeds are TOML integers (i64), so a shrunk case can be written back as a file.
        0..=i64::MAX as u64,
    )
        .prop_map(move |(lr, init, batch, input, s)| Perturbation {
            lr_scale: lr,
            init_scale_scale: init,
            batch,
            input_scale_scale: input,
            seed: if vary_seed { s } else { base_seed },
        });
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        crate::scenario::resolve("deep-mlp").unwrap()
    }

    #[test]
    fn the_same_seed_draws_the_same_cases_and_another_seed_others() {
        let b = base();
        assert_eq!(draw_cases(&b, 16, 3), draw_cases(&b, 16, 3));
        assert_ne!(draw_cases(&b, 16, 3), draw_cases(&b, 16, 4));
    }

    #[test]
    fn cases_stay_inside_the_robust_ranges() {
        let b = base();
        for p in draw_cases(&b, 200, 1) {
            assert!((0.3..=3.0).contains(&p.lr_scale), "{p:?}");
            assert!((0.5..=2.0).contains(&p.init_scale_scale), "{p:?}");
            assert!((16..=256).contains(&p.batch), "{p:?}");
            assert!((0.1..=10.0).contains(&p.input_scale_scale), "{p:?}");
        }
    }

    /// Regression: `[robust]` accepts `lo == hi`, which once panicked inside proptest.
    #[test]
    fn a_degenerate_range_draws_its_one_value_instead_of_panicking() {
        let mut b = base();
        b.robust.lr = [2.0, 2.0];
        b.robust.input_scale = [0.5, 0.5];
        for p in draw_cases(&b, 20, 1) {
            assert_eq!((p.lr_scale, p.input_scale_scale), (2.0, 0.5), "{p:?}");
            assert!((0.5..=2.0).contains(&p.init_scale_scale), "{p:?}");
        }
    }

    #[test]
    fn applying_a_perturbation_changes_exactly_those_keys() {
        let b = base();
        let p = Perturbation {
            lr_scale: 2.0,
            init_scale_scale: 0.5,
            batch: 32,
            input_scale_scale: 10.0,
            seed: 99,
        };
        let s = p.apply(&b).unwrap();
        assert_eq!(s.optimizer.lr, 2e-3);
        assert_eq!(s.mlp().unwrap().init_scale, 0.5);
        assert_eq!(s.data.batch, 32);
        assert_eq!(s.data.input_scale, 10.0);
        assert_eq!(s.seed, 99);
        assert_eq!(Perturbation::identity(&b).apply(&b).unwrap(), b);
    }
}
