//! The epoch batcher: which samples form each mini-batch, copied into a preallocated batch.
//!
//! As DESIGN's conventions say: the sample order is reshuffled at the start of every epoch by one
//! `stream_rng(seed, Stream::Shuffle)` generator kept for the whole run (so epochs differ, and the
//! order never depends on the model); a partial last batch is dropped; `batch == samples` is full
//! batch, in the dataset's own order, never shuffled.
//!
//! No allocation per step: the order `Vec` is made once and shuffled in place, and `next_into`
//! copies rows into the arrays of a [`Batch`] made once by [`Batcher::alloc_batch`].

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Targets};
use crate::core::float::Real;
use crate::core::rng::{Stream, stream_rng};

/// Targets of one mini-batch, row `i` belonging to row `i` of the batch's `x`.
#[derive(Debug, Clone)]
pub enum BatchTargets<T> {
    Classes(Vec<usize>),
    Values(Array2<T>),
}

/// One mini-batch: inputs `x` (`[batch, inputs]`) and their targets.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    pub x: Array2<T>,
    pub targets: BatchTargets<T>,
}

/// Hands out mini-batches of sample indices, epoch after epoch.
#[derive(Debug, Clone)]
pub struct Batcher {
    batch: usize,
    order: Vec<usize>,
    /// Position in `order` of the next batch's first sample.
    cursor: usize,
    epoch: usize,
    full_batch: bool,
    rng: ChaCha8Rng,
}

impl Batcher {
    /// A batcher over `samples` samples in batches of `batch`, shuffled by `seed`'s shuffle stream.
    ///
    /// The caller validates `batch <= samples`; a larger `batch` is clamped to `samples` (full batch).
    pub fn new(samples: usize, batch: usize, seed: u64) -> Self {
        let batch = batch.min(samples);
        let full_batch = batch == samples;
        let mut batcher = Batcher {
            batch,
            order: (0..samples).collect(),
            cursor: 0,
            epoch: 0,
            full_batch,
            rng: stream_rng(seed, Stream::Shuffle),
        };
        batcher.shuffle();
        batcher
    }

    /// A batch of the right shapes for `data`, to be filled by [`Batcher::next_into`].
    pub fn alloc_batch<T: Real>(&self, data: &Dataset<T>) -> Batch<T> {
        let targets = match &data.targets {
            Targets::Classes(_) => BatchTargets::Classes(vec![0; self.batch]),
            Targets::Values(values) => {
                BatchTargets::Values(Array2::zeros((self.batch, values.ncols())))
            }
        };
        Batch {
            x: Array2::zeros((self.batch, data.inputs())),
            targets,
        }
    }

    /// Copies the next mini-batch of `data` into `out`, starting a new (reshuffled) epoch when
    /// fewer than `batch` samples remain in this one.
    ///
    /// # Panics
    /// If `out` was not made by [`Batcher::alloc_batch`] for a dataset shaped like `data`.
    pub fn next_into<T: Real>(&mut self, data: &Dataset<T>, out: &mut Batch<T>) {
        self.advance();
        let picked = &self.order[self.cursor - self.batch..self.cursor];
        assert_eq!(
            out.x.dim(),
            (self.batch, data.inputs()),
            "batch made for another dataset"
        );
        for (mut row, &sample) in out.x.rows_mut().into_iter().zip(picked) {
            row.assign(&data.x.row(sample));
        }
        match (&data.targets, &mut out.targets) {
            (Targets::Classes(all), BatchTargets::Classes(batch)) => {
                for (slot, &sample) in batch.iter_mut().zip(picked) {
                    *slot = all[sample];
                }
            }
            (Targets::Values(all), BatchTargets::Values(batch)) => {
                for (mut row, &sample) in batch.rows_mut().into_iter().zip(picked) {
                    row.assign(&all.row(sample));
                }
            }
            _ => panic!("batch targets do not match the dataset's kind of targets"),
        }
    }

    /// The sample indices of the next mini-batch (the same order [`Batcher::next_into`] uses),
    /// for data that is not a [`Dataset`] (token sequences).
    pub fn next_indices(&mut self) -> &[usize] {
        self.advance();
        &self.order[self.cursor - self.batch..self.cursor]
    }

    /// Moves the cursor past the next batch, starting a new (reshuffled) epoch when fewer than
    /// `batch` samples remain in this one.
    fn advance(&mut self) {
        if self.cursor + self.batch > self.order.len() {
            self.epoch += 1;
            self.cursor = 0;
            self.shuffle();
        }
        self.cursor += self.batch;
    }

    /// The 0-based epoch the most recent batch came from (0 before the first batch).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    fn shuffle(&mut self) {
        if !self.full_batch {
            self.order.shuffle(&mut self.rng);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::Task;

    /// Ten samples whose input is their own index, so a batch row says which sample it holds.
    fn indexed(samples: usize) -> Dataset<f64> {
        let x = Array2::from_shape_fn((samples, 2), |(i, j)| (i * 10 + j) as f64);
        let task = Task::Classification { classes: samples };
        Dataset {
            x,
            targets: Targets::Classes((0..samples).collect()),
            task,
        }
    }

    /// The sample indices of the next batch, checking every row's targets belong to its inputs.
    fn next_samples(
        batcher: &mut Batcher,
        data: &Dataset<f64>,
        out: &mut Batch<f64>,
    ) -> Vec<usize> {
        batcher.next_into(data, out);
        let BatchTargets::Classes(classes) = &out.targets else {
            panic!("class targets")
        };
        let samples: Vec<usize> = out.x.column(0).iter().map(|&v| v as usize / 10).collect();
        assert_eq!(&samples, classes, "targets must travel with their inputs");
        assert!(
            out.x
                .rows()
                .into_iter()
                .zip(&samples)
                .all(|(row, &s)| row[1] == (s * 10 + 1) as f64)
        );
        samples
    }

    #[test]
    fn two_batches_per_epoch_each_epoch_a_fresh_permutation_remainder_dropped() {
        let data = indexed(10);
        let mut batcher = Batcher::new(10, 4, 3);
        let mut out = batcher.alloc_batch(&data);
        let mut epochs = Vec::new();
        for epoch in 0..6 {
            let mut seen = next_samples(&mut batcher, &data, &mut out);
            assert_eq!(batcher.epoch(), epoch, "first batch of epoch {epoch}");
            seen.extend(next_samples(&mut batcher, &data, &mut out));
            assert_eq!(
                batcher.epoch(),
                epoch,
                "second batch of epoch {epoch}: no third fits"
            );
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 8, "epoch {epoch} repeats a sample: {seen:?}");
            epochs.push(seen);
        }
        for (a, b) in epochs.iter().zip(&epochs[1..]) {
            assert_ne!(a, b, "consecutive epochs must be shuffled differently");
        }
        // Which two samples are dropped changes with the shuffle, so none is dropped forever.
        let mut ever: Vec<usize> = epochs.concat();
        ever.sort_unstable();
        ever.dedup();
        assert_eq!(ever, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn first_epoch_is_the_shuffle_stream_applied_to_the_identity() {
        let data = indexed(10);
        let mut expected: Vec<usize> = (0..10).collect();
        expected.shuffle(&mut stream_rng(42, Stream::Shuffle));
        let mut batcher = Batcher::new(10, 5, 42);
        let mut out = batcher.alloc_batch(&data);
        let mut first = next_samples(&mut batcher, &data, &mut out);
        first.extend(next_samples(&mut batcher, &data, &mut out));
        assert_eq!(first, expected);
        let other: Vec<usize> = {
            let mut b = Batcher::new(10, 5, 43);
            next_samples(&mut b, &data, &mut out)
        };
        assert_ne!(
            other,
            expected[..5],
            "another seed must shuffle differently"
        );
    }

    #[test]
    fn full_batch_keeps_the_dataset_order_every_epoch() {
        let data = indexed(7);
        let mut batcher = Batcher::new(7, 7, 9);
        let mut out = batcher.alloc_batch(&data);
        for epoch in 0..3 {
            assert_eq!(
                next_samples(&mut batcher, &data, &mut out),
                (0..7).collect::<Vec<_>>()
            );
            assert_eq!(batcher.epoch(), epoch);
        }
    }

    #[test]
    fn regression_targets_are_copied_row_by_row_into_the_same_buffer() {
        let x = Array2::from_shape_fn((6, 1), |(i, _)| i as f64);
        let values = Array2::from_shape_fn((6, 2), |(i, j)| (100 * i + j) as f64);
        let task = Task::Regression { outputs: 2 };
        let data = Dataset {
            x,
            targets: Targets::Values(values),
            task,
        };
        let mut batcher = Batcher::new(6, 4, 1);
        let mut out = batcher.alloc_batch(&data);
        let (x_buffer, y_buffer) = match &out.targets {
            BatchTargets::Values(y) => (out.x.as_ptr(), y.as_ptr()),
            BatchTargets::Classes(_) => panic!("value targets"),
        };
        for _ in 0..5 {
            batcher.next_into(&data, &mut out);
            let BatchTargets::Values(y) = &out.targets else {
                panic!("value targets")
            };
            for (row, sample) in out.x.column(0).iter().enumerate() {
                assert_eq!(
                    y.row(row).to_vec(),
                    vec![100.0 * sample, 100.0 * sample + 1.0]
                );
            }
            // next_into writes into the arrays alloc_batch made; it never replaces them.
            assert_eq!((out.x.as_ptr(), y.as_ptr()), (x_buffer, y_buffer));
        }
    }
}
