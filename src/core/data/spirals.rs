//! Spirals: `classes` interleaved 2-D spiral arms (the CS231n toy problem), classification only.
//!
//! Class `k` gets `samples / classes` points, plus one for the first `samples % classes` classes.
//! Its `n` points have radius `r = linspace(0, 1, n)` and angle `θ = 4k + 4r + 0.2·N(0, 1)`, and sit
//! at `(r sin θ, r cos θ)`. Rows are grouped by class (0 first), and the noise is drawn from the data
//! stream in row order; the batcher shuffles, so the grouping does not reach training.

use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{Dataset, Targets, Task};

/// Standard deviation of the angular noise, in radians.
pub const ANGLE_NOISE: f64 = 0.2;

/// Generates `samples` spiral points in `classes` arms, in `f64`.
pub(super) fn generate(samples: usize, classes: usize, rng: &mut ChaCha8Rng) -> Dataset<f64> {
    let mut x = Array2::zeros((samples, 2));
    let mut labels = Vec::with_capacity(samples);
    for class in 0..classes {
        let count = samples / classes + usize::from(class < samples % classes);
        for i in 0..count {
            // linspace(0, 1, count): a single point sits at r = 0, as numpy's does.
            let r = if count > 1 {
                i as f64 / (count - 1) as f64
            } else {
                0.0
            };
            let noise: f64 = rng.sample(StandardNormal);
            let theta = 4.0 * class as f64 + 4.0 * r + ANGLE_NOISE * noise;
            let row = labels.len();
            x[[row, 0]] = r * theta.sin();
            x[[row, 1]] = r * theta.cos();
            labels.push(class);
        }
    }
    Dataset {
        x,
        targets: Targets::Classes(labels),
        task: Task::Classification { classes },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    use crate::core::data::{DataKind, DataSpec, load};

    fn spirals(samples: usize, classes: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let spec = DataSpec {
            kind: DataKind::Spirals,
            inputs: Some(2),
            task: Task::Classification { classes },
            samples: Some(samples),
            input_scale: 1.0,
            path: None,
        };
        let data: Dataset<f64> = load(&spec, seed).expect("valid spirals spec");
        match data.targets {
            Targets::Classes(labels) => (data.x, labels),
            Targets::Values(_) => panic!("spirals must have class targets"),
        }
    }

    #[test]
    fn samples_split_as_evenly_as_possible_with_labels_in_range() {
        let (x, labels) = spirals(11, 3, 1);
        assert_eq!(x.dim(), (11, 2));
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
        let (_, labels) = spirals(300, 7, 1);
        let counts: Vec<usize> = (0..7)
            .map(|k| labels.iter().filter(|&&c| c == k).count())
            .collect();
        assert_eq!(counts, vec![43, 43, 43, 43, 43, 43, 42]);
    }

    #[test]
    fn each_arm_has_radii_linspace_0_to_1_and_noisy_angles_near_its_arm() {
        let (x, labels) = spirals(30, 3, 4);
        let mut noisy = 0;
        for (row, &class) in labels.iter().enumerate() {
            let i = row - 10 * class;
            let r = i as f64 / 9.0;
            let radius = x[[row, 0]].hypot(x[[row, 1]]);
            assert!(
                (radius - r).abs() < 1e-12,
                "row {row}: radius {radius}, expected {r}"
            );
            if r > 0.0 {
                // atan2(sin θ, cos θ) recovers θ mod 2π; the noise is 0.2·N(0,1), so 1.2 is 6σ.
                let angle = x[[row, 0]].atan2(x[[row, 1]]);
                let offset = angle - (4.0 * class as f64 + 4.0 * r);
                let wrapped = offset - (offset / TAU).round() * TAU;
                assert!(
                    wrapped.abs() < 1.2,
                    "row {row}: angle off its arm by {wrapped}"
                );
                noisy += usize::from(wrapped.abs() > 0.01);
            }
        }
        assert!(noisy > 15, "only {noisy} of 27 angles carry visible noise");
    }

    #[test]
    fn same_seed_same_points_other_seed_other_points() {
        assert_eq!(spirals(40, 4, 9), spirals(40, 4, 9));
        assert_ne!(spirals(40, 4, 9).0, spirals(40, 4, 10).0);
    }

    #[test]
    fn every_class_present_when_samples_at_least_classes() {
        let (_, labels) = spirals(5, 5, 2);
        assert_eq!(labels, vec![0, 1, 2, 3, 4]);
    }
}
