//! Log-spaced histograms of `|g|` and the schedule on which the recorder takes them.
//!
//! Bins are [`BINS_PER_DECADE`] per decade from `1e-12` to `1e6` (72 bins, 73 edges); bin `i` is
//! `edges[i] <= |g| < edges[i+1]`. Exact zeros, values below the first edge, values at or above
//! the last edge and non-finite values (NaN, ±inf) each have their own counter: nothing is dropped.

use crate::core::float::Real;
use crate::probe::trace::HistogramRecord;

/// Bins per decade of `|g|`.
pub const BINS_PER_DECADE: usize = 4;

/// The decade edges `1e-12 ..= 1e6`, written as literals so each is the exactly rounded power of ten.
const DECADES: [f64; 19] = [
    1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3,
    1e4, 1e5, 1e6,
];

/// Whether step `step` of a `total_steps` run gets histograms: step 0, the last step, and every
/// `every` steps (`every = 0`: only the first and last).
pub fn histogram_due(step: usize, every: usize, total_steps: usize) -> bool {
    step == 0 || step + 1 == total_steps || (every > 0 && step % every == 0)
}

/// Number of bins between the first and the last edge.
const BINS: usize = (DECADES.len() - 1) * BINS_PER_DECADE;

/// Cells of `a = |g|` (as `f64`) keyed by its top 16 bits, the exponent and 4 mantissa bits: a
/// cell spans at most 1/16 of its lower bound, far less than a bin (a factor 10^(1/4) ≈ 1.78), so
/// each cell holds at most one bin edge. Keys below [`LOW_KEY`] (`a < 2^-41`, under the first
/// edge) share the first cell, keys above [`HIGH_KEY`] (`a ≥ 2^21`, over the last edge, with ±inf
/// and NaN) the last.
const LOW_KEY: usize = (1023 - 41) << 4;
const HIGH_KEY: usize = (1023 + 21) << 4;
const CELLS: usize = HIGH_KEY - LOW_KEY + 1;

/// Counter slots, in magnitude order: under the first edge, the bins, at or over the last edge;
/// then exact zeros and non-finite values.
const UNDERFLOW: usize = 0;
const OVERFLOW: usize = BINS + 1;
const ZERO: usize = BINS + 2;
const NONFINITE: usize = BINS + 3;
const SLOTS: usize = BINS + 4;

/// Interleaved count tables in [`LogBins::record`].
const TABLES: usize = 4;

/// The cell of a non-negative `a` (its sign bit is clear, so the top 16 bits are the key).
#[inline(always)]
fn cell_of(a: f64) -> usize {
    ((a.to_bits() >> 48) as usize).clamp(LOW_KEY, HIGH_KEY) - LOW_KEY
}

/// The bin edges, built once and copied into each record, and the tables that bin a value with
/// one lookup and one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBins {
    edges: Vec<f64>,
    /// Slot of each cell's smallest value; a value is in that slot or, past `lower[slot]`, the next.
    cell_slot: Vec<u8>,
    /// `lower[s]`: the smallest value of slot `s + 1` (`edges[s]`; `+inf` after the last edge).
    lower: Vec<f64>,
}

impl Default for LogBins {
    fn default() -> Self {
        Self::new()
    }
}

impl LogBins {
    pub fn new() -> Self {
        let mut edges = Vec::with_capacity(BINS + 1);
        for pair in DECADES.windows(2) {
            for q in 0..BINS_PER_DECADE {
                let frac = 10f64.powf(q as f64 / BINS_PER_DECADE as f64);
                edges.push(if q == 0 { pair[0] } else { pair[0] * frac });
            }
        }
        edges.push(DECADES[DECADES.len() - 1]);
        let mut lower = edges.clone();
        lower.push(f64::INFINITY);
        // A cell's smallest value: its key with the remaining mantissa bits clear (0 for the first).
        let cell_slot = (0..CELLS)
            .map(|c| {
                let smallest = if c == 0 {
                    0.0
                } else {
                    f64::from_bits(((c + LOW_KEY) as u64) << 48)
                };
                // At most BINS + 1 = 73, so it fits a byte.
                edges.partition_point(|&e| e <= smallest) as u8
            })
            .collect();
        LogBins {
            edges,
            cell_slot,
            lower,
        }
    }

    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    /// The counter slot of `x`: bin `i` is slot `i + 1` (see [`UNDERFLOW`] .. [`NONFINITE`]).
    /// Branch-free: gradients of dead units are exact zeros, scattered unpredictably.
    #[inline(always)]
    fn slot_of(&self, x: f64) -> usize {
        let a = x.abs();
        let s = usize::from(self.cell_slot[cell_of(a)]);
        let s = s + usize::from(a >= self.lower[s]);
        let s = if a.is_finite() { s } else { NONFINITE };
        if a == 0.0 { ZERO } else { s }
    }

    /// The histogram of `|x|` over `xs`, for `layer` at `step`.
    ///
    /// Values are counted into [`TABLES`] interleaved tables summed at the end, so runs of equal
    /// slots do not wait on each other's increments.
    pub fn record<T: Real>(&self, xs: &[T], step: usize, layer: usize) -> HistogramRecord {
        let mut tables = [[0u64; SLOTS]; TABLES];
        let mut quads = xs.chunks_exact(TABLES);
        for quad in &mut quads {
            for (table, x) in tables.iter_mut().zip(quad) {
                table[self.slot_of(x.wide())] += 1;
            }
        }
        for x in quads.remainder() {
            tables[0][self.slot_of(x.wide())] += 1;
        }
        let mut slots = [0u64; SLOTS];
        for table in &tables {
            for (c, t) in slots.iter_mut().zip(table) {
                *c += t;
            }
        }
        HistogramRecord {
            step,
            layer,
            edges: self.edges.clone(),
            counts: slots[UNDERFLOW + 1..OVERFLOW].to_vec(),
            zero: slots[ZERO],
            underflow: slots[UNDERFLOW],
            overflow: slots[OVERFLOW],
            nonfinite: slots[NONFINITE],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventy_two_bins_with_exact_decade_edges() {
        let bins = LogBins::new();
        assert_eq!(bins.bins(), 72);
        assert_eq!(bins.edges()[0], 1e-12);
        assert_eq!(bins.edges()[48], 1.0);
        assert_eq!(bins.edges()[72], 1e6);
        assert!(bins.edges().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn every_edge_falls_in_the_bin_it_opens() {
        let bins = LogBins::new();
        for (i, &e) in bins.edges()[..72].iter().enumerate() {
            assert_eq!(bins.slot_of(e), i + 1, "edge {e}");
            let below = f64::from_bits(e.to_bits() - 1);
            assert_eq!(bins.slot_of(below), i, "just below edge {e}");
        }
    }

    #[test]
    fn slot_of_matches_a_search_of_the_edges_from_below_the_first_to_above_the_last() {
        let bins = LogBins::new();
        let mut x = 1e-14;
        while x < 1e8 {
            let searched = bins.edges().partition_point(|&e| e <= x);
            assert_eq!(bins.slot_of(x), searched, "{x:e}");
            assert_eq!(bins.slot_of(-x), searched, "{:e}", -x);
            x *= 1.000_37;
        }
    }

    #[test]
    fn zeros_tiny_huge_and_non_finite_values_each_have_their_counter() {
        let bins = LogBins::new();
        let xs = [
            0.0,
            -0.0,
            f64::from_bits(1), // the smallest subnormal
            f64::MIN_POSITIVE,
            9.99e-13,
            1e-12,
            1e6,
            -f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let r = bins.record(&xs, 3, 1);
        assert_eq!((r.zero, r.underflow, r.overflow, r.nonfinite), (2, 3, 2, 3));
        assert_eq!(r.counts[0], 1, "1e-12 opens bin 0");
        assert_eq!(r.counts.iter().sum::<u64>(), 1);
        assert_eq!((r.step, r.layer, r.edges.len()), (3, 1, 73));
    }

    #[test]
    fn schedule_is_first_last_and_every_n() {
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 4, 10)).collect();
        assert_eq!(due, [0, 4, 8, 9]);
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 0, 10)).collect();
        assert_eq!(due, [0, 9]);
    }
}
