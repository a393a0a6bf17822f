//! Teacher-network data: Gaussian inputs labelled by a fixed random one-hidden-layer tanh network.
//!
//! The teacher is `y = tanh(x W1) W2` with [`TEACHER_HIDDEN`] = 32 hidden units, zero biases, and
//! weights `N(0, 1/fan_in)` (LeCun normal): `W1` is `[inputs, 32]`, `W2` is `[32, outputs]`, where
//! `outputs` is the number of classes or of regression targets. Inputs are `x ~ N(0, 1)`,
//! `[samples, inputs]`. Classification labels are the argmax of the teacher's outputs (the first
//! index on a tie); regression targets are the outputs themselves.
//!
//! Draw order from the data stream (a contract: tests recompute it): `W1` row by row, then `W2` row
//! by row, then `x` row by row. The teacher comes first, so a larger `samples` only appends rows.

use ndarray::{Array2, Axis};
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Targets, Task};
use crate::core::init::gaussian_matrix;

/// Hidden units of the teacher network.
pub const TEACHER_HIDDEN: usize = 32;

/// Generates `samples` rows of teacher data for `task`, in `f64`.
pub(super) fn generate(
    inputs: usize,
    samples: usize,
    task: Task,
    rng: &mut ChaCha8Rng,
) -> Dataset<f64> {
    let outputs = match task {
        Task::Classification { classes } => classes,
        Task::Regression { outputs } => outputs,
    };
    let w1 = gaussian_matrix(inputs, TEACHER_HIDDEN, (1.0 / inputs as f64).sqrt(), rng);
    let w2 = gaussian_matrix(
        TEACHER_HIDDEN,
        outputs,
        (1.0 / TEACHER_HIDDEN as f64).sqrt(),
        rng,
    );
    let x = gaussian_matrix(samples, inputs, 1.0, rng);
    let y = x.dot(&w1).mapv(f64::tanh).dot(&w2);
    let targets = match task {
        Task::Classification { .. } => Targets::Classes(argmax_rows(&y)),
        Task::Regression { .. } => Targets::Values(y),
    };
    Dataset { x, targets, task }
}

/// Index of the largest entry of each row (the first one on a tie).
fn argmax_rows(y: &Array2<f64>) -> Vec<usize> {
    y.axis_iter(Axis(0))
        .map(|row| {
            let mut best = 0;
            for (k, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = k;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::{DataKind, DataSpec, load};
    use crate::core::rng::{Stream, stream_rng};
    use rand::RngExt;
    use rand_distr::StandardNormal;

    fn spec(task: Task, inputs: usize, samples: usize) -> DataSpec {
        let kind = match task {
            Task::Classification { .. } => DataKind::TeacherClassification,
            Task::Regression { .. } => DataKind::TeacherRegression,
        };
        DataSpec {
            kind,
            inputs: Some(inputs),
            task,
            samples: Some(samples),
            input_scale: 1.0,
            path: None,
        }
    }

    fn classes_of(data: &Dataset<f64>) -> &[usize] {
        match &data.targets {
            Targets::Classes(c) => c,
            Targets::Values(_) => panic!("classification data must have class targets"),
        }
    }

    /// Recomputes the documented contract with plain loops and scalar draws.
    fn labels_by_hand(seed: u64, inputs: usize, classes: usize, samples: usize) -> Vec<usize> {
        let mut rng = stream_rng(seed, Stream::DataGen);
        let mut normal = |std: f64| std * rng.sample::<f64, _>(StandardNormal);
        let w1: Vec<f64> = (0..inputs * 32)
            .map(|_| normal((1.0 / inputs as f64).sqrt()))
            .collect();
        let w2: Vec<f64> = (0..32 * classes)
            .map(|_| normal((1.0f64 / 32.0).sqrt()))
            .collect();
        let x: Vec<f64> = (0..samples * inputs).map(|_| normal(1.0)).collect();
        (0..samples)
            .map(|s| {
                let h: Vec<f64> = (0..32)
                    .map(|j| {
                        (0..inputs)
                            .map(|i| x[s * inputs + i] * w1[i * 32 + j])
                            .sum::<f64>()
                            .tanh()
                    })
                    .collect();
                let out: Vec<f64> = (0..classes)
                    .map(|k| (0..32).map(|j| h[j] * w2[j * classes + k]).sum())
                    .collect();
                (0..classes).fold(0, |best, k| if out[k] > out[best] { k } else { best })
            })
            .collect()
    }

    #[test]
    fn labels_match_an_independent_evaluation_of_the_documented_teacher() {
        let data: Dataset<f64> =
            load(&spec(Task::Classification { classes: 5 }, 7, 40), 21).expect("valid");
        assert_eq!(classes_of(&data), labels_by_hand(21, 7, 5, 40).as_slice());
    }

    #[test]
    fn classification_shapes_and_every_class_present() {
        let data: Dataset<f64> =
            load(&spec(Task::Classification { classes: 10 }, 64, 2048), 7).expect("valid");
        assert_eq!(data.x.dim(), (2048, 64));
        let mut counts = [0usize; 10];
        for &c in classes_of(&data) {
            counts[c] += 1; // indexing panics if a label is out of range
        }
        assert!(counts.iter().all(|&n| n > 0), "class counts {counts:?}");
    }

    #[test]
    fn regression_targets_have_the_teacher_output_shape_and_vary() {
        let data: Dataset<f64> =
            load(&spec(Task::Regression { outputs: 3 }, 8, 100), 7).expect("valid");
        let Targets::Values(y) = &data.targets else {
            panic!("regression needs values")
        };
        assert_eq!((data.x.dim(), y.dim()), ((100, 8), (100, 3)));
        // Finite, and not constant (a zero teacher would pass a shape check).
        assert!(y.iter().all(|v| v.is_finite()) && y.std(0.0) > 0.05);
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data_more_samples_append() {
        let s = spec(Task::Classification { classes: 4 }, 6, 60);
        let a: Dataset<f64> = load(&s, 1).expect("valid");
        let b: Dataset<f64> = load(&s, 1).expect("valid");
        let c: Dataset<f64> = load(&s, 2).expect("valid");
        assert_eq!((&a.x, classes_of(&a)), (&b.x, classes_of(&b)));
        assert_ne!(a.x, c.x);
        let longer: Dataset<f64> =
            load(&spec(Task::Classification { classes: 4 }, 6, 90), 1).expect("valid");
        assert_eq!(longer.x.slice(ndarray::s![..60, ..]), a.x);
        assert_eq!(&classes_of(&longer)[..60], classes_of(&a));
    }

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        let y = ndarray::array![[1.0, 3.0, 3.0], [-1.0, -2.0, -1.0], [0.0, 0.0, 5.0]];
        assert_eq!(argmax_rows(&y), vec![1, 0, 2]);
    }
}
