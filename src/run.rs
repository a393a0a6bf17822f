//! Runs a scenario end to end in its precision and summarizes what the core measured.

use std::path::Path;

use crate::core::float::Real;
use crate::core::observer::NoopObserver;
use crate::core::train::{StepSummary, Trainer};
use crate::error::Error;
use crate::scenario::Scenario;
use crate::scenario::build::{build_trainer, is_f64};

/// The outcome of one run, in `f64` whatever the run's precision.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub steps: Vec<StepSummary>,
    pub n_params: usize,
    /// FNV-1a of the final parameters' bits: equal exactly when the runs are bit-identical.
    pub param_checksum: u64,
}

/// Builds and runs `s` for `s.steps` steps.
pub fn run_scenario(s: &Scenario, base_dir: Option<&Path>) -> Result<RunSummary, Error> {
    if is_f64(s) {
        Ok(run_in::<f64>(build_trainer(s, base_dir)?, s.steps))
    } else {
        Ok(run_in::<f32>(build_trainer(s, base_dir)?, s.steps))
    }
}

fn run_in<T: Real>(mut trainer: Trainer<T>, steps: usize) -> RunSummary {
    let steps = trainer.run(steps, &mut NoopObserver);
    RunSummary {
        steps,
        n_params: trainer.model.params.len(),
        param_checksum: checksum(&trainer.model.params.values),
    }
}

/// FNV-1a (64-bit) over each value's `f64` bit pattern.
pub fn checksum<T: Real>(values: &[T]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    values.iter().fold(OFFSET, |h, v| {
        v.wide()
            .to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_tells_bit_patterns_apart() {
        assert_ne!(checksum(&[0.0f64]), checksum(&[-0.0f64]));
        assert_ne!(checksum(&[1.0f32, 2.0]), checksum(&[2.0f32, 1.0]));
        assert_eq!(checksum(&[1.5f32]), checksum(&[1.5f64]));
        // FNV-1a of no bytes is the offset basis.
        assert_eq!(checksum::<f64>(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
