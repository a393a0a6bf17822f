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

/// The first edge's exponent: `edges[0] = 10^LOWEST_DECADE`.
const LOWEST_DECADE: f64 = -12.0;

/// Whether step `step` of a `total_steps` run gets histograms: step 0, the last step, and every
/// `every` steps (`every = 0`: only the first and last).
pub fn histogram_due(step: usize, every: usize, total_steps: usize) -> bool {
    step == 0 || step + 1 == total_steps || (every > 0 && step % every == 0)
}

/// `(log10 x − LOWEST_DECADE) · BINS_PER_DECADE` for a positive normal `x`, to within 0.11 of a
/// bin, from its bits alone: `x = m·2^e` with `1 ≤ m < 2` gives `log2 x ≈ e + (m − 1)`, off by at
/// most 0.086. A `log10` and a `floor` call here cost 13 ns per value, most of a histogram.
#[inline]
fn approx_bin(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
    let mantissa = f64::from_bits((bits & MANTISSA) | (1023 << 52));
    let log2 = exponent + (mantissa - 1.0);
    (log2 * std::f64::consts::LOG10_2 - LOWEST_DECADE) * BINS_PER_DECADE as f64
}

/// The bin edges, built once and copied into each record.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBins {
    edges: Vec<f64>,
}

impl Default for LogBins {
    fn default() -> Self {
        Self::new()
    }
}

impl LogBins {
    pub fn new() -> Self {
        let mut edges = Vec::with_capacity((DECADES.len() - 1) * BINS_PER_DECADE + 1);
        for pair in DECADES.windows(2) {
            for q in 0..BINS_PER_DECADE {
                let frac = 10f64.powf(q as f64 / BINS_PER_DECADE as f64);
                edges.push(if q == 0 { pair[0] } else { pair[0] * frac });
            }
        }
        edges.push(DECADES[DECADES.len() - 1]);
        LogBins { edges }
    }

    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    /// The bin of a finite `x` with `edges[0] <= x < edges[last]`: a guess from `x`'s bits (see
    /// [`approx_bin`]), off by at most one bin, then moved by at most a step each way so that the
    /// bin agrees exactly with the recorded edges. Branch-free: a wrong guess is common enough
    /// that mispredicted loops cost more than the two compares.
    #[inline]
    fn bin_of(&self, x: f64) -> usize {
        let last = self.bins() - 1;
        // `as` truncates toward 0 and saturates a negative guess to bin 0.
        let mut b = (approx_bin(x) as usize).min(last);
        b -= usize::from(b > 0 && x < self.edges[b]);
        b += usize::from(b < last && x >= self.edges[b + 1]);
        b
    }

    /// The histogram of `|x|` over `xs`, for `layer` at `step`.
    ///
    /// Values are counted into [`TABLES`] interleaved tables summed at the end, so runs of equal
    /// bins do not wait on each other's increments.
    pub fn record<T: Real>(&self, xs: &[T], step: usize, layer: usize) -> HistogramRecord {
        let (low, high) = (self.edges[0], self.edges[self.bins()]);
        let slots = self.bins() + SPECIALS;
        let mut tables = vec![0u64; TABLES * slots];
        for (i, x) in xs.iter().enumerate() {
            let a = x.wide().abs();
            // Branch-free: gradients of dead units are exact zeros, scattered unpredictably.
            let in_range = (a >= low) & (a < high);
            let bin = self.bin_of(if in_range { a } else { low });
            let slot = if in_range {
                bin
            } else {
                self.bins() + special(a, low)
            };
            tables[(i % TABLES) * slots + slot] += 1;
        }
        let mut counts = vec![0u64; slots];
        for table in tables.chunks_exact(slots) {
            for (c, t) in counts.iter_mut().zip(table) {
                *c += t;
            }
        }
        let specials = counts.split_off(self.bins());
        HistogramRecord {
            step,
            layer,
            edges: self.edges.clone(),
            counts,
            zero: specials[ZERO],
            underflow: specials[UNDERFLOW],
            overflow: specials[OVERFLOW],
            nonfinite: specials[NONFINITE],
        }
    }
}

/// Interleaved count tables in [`LogBins::record`].
const TABLES: usize = 4;

/// The counters after the bins: exact zeros, below the first edge, at or above the last, non-finite.
const SPECIALS: usize = 4;
const ZERO: usize = 0;
const UNDERFLOW: usize = 1;
const OVERFLOW: usize = 2;
const NONFINITE: usize = 3;

/// Which special counter an `a = |x|` outside `[low, high)` goes to (branch-free).
#[inline]
fn special(a: f64, low: f64) -> usize {
    let finite_slot = usize::from(a != 0.0) * (UNDERFLOW + usize::from(a >= low));
    if a.is_finite() {
        finite_slot
    } else {
        NONFINITE
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
            assert_eq!(bins.bin_of(e), i, "edge {e}");
            let below = f64::from_bits(e.to_bits() - 1);
            if i > 0 {
                assert_eq!(bins.bin_of(below), i - 1, "just below edge {e}");
            }
        }
    }

    #[test]
    fn bin_of_matches_a_search_of_the_edges_across_the_whole_range() {
        let bins = LogBins::new();
        let (low, high) = (bins.edges()[0], bins.edges()[72]);
        let mut x = low;
        while x < high {
            let searched = bins.edges().partition_point(|&e| e <= x) - 1;
            assert_eq!(bins.bin_of(x), searched, "{x:e}");
            x *= 1.000_37;
        }
    }

    #[test]
    fn schedule_is_first_last_and_every_n() {
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 4, 10)).collect();
        assert_eq!(due, [0, 4, 8, 9]);
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 0, 10)).collect();
        assert_eq!(due, [0, 9]);
    }
}
