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

    /// The bin of a finite `x` with `edges[0] <= x < edges[last]`: a `log10` guess, then moved by
    /// at most a step so that the bin agrees exactly with the recorded edges.
    fn bin_of(&self, x: f64) -> usize {
        let last = self.bins() - 1;
        let guess = ((x.log10() - LOWEST_DECADE) * BINS_PER_DECADE as f64).floor();
        let mut b = if guess <= 0.0 {
            0
        } else {
            (guess as usize).min(last)
        };
        while b > 0 && x < self.edges[b] {
            b -= 1;
        }
        while b < last && x >= self.edges[b + 1] {
            b += 1;
        }
        b
    }

    /// The histogram of `|x|` over `xs`, for `layer` at `step`.
    pub fn record<T: Real>(&self, xs: &[T], step: usize, layer: usize) -> HistogramRecord {
        let mut h = HistogramRecord {
            step,
            layer,
            edges: self.edges.clone(),
            counts: vec![0; self.bins()],
            zero: 0,
            underflow: 0,
            overflow: 0,
            nonfinite: 0,
        };
        let (low, high) = (self.edges[0], self.edges[self.bins()]);
        for x in xs {
            let a = x.wide().abs();
            if !a.is_finite() {
                h.nonfinite += 1;
            } else if a == 0.0 {
                h.zero += 1;
            } else if a < low {
                h.underflow += 1;
            } else if a >= high {
                h.overflow += 1;
            } else {
                h.counts[self.bin_of(a)] += 1;
            }
        }
        h
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
    fn schedule_is_first_last_and_every_n() {
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 4, 10)).collect();
        assert_eq!(due, [0, 4, 8, 9]);
        let due: Vec<usize> = (0..10).filter(|&s| histogram_due(s, 0, 10)).collect();
        assert_eq!(due, [0, 9]);
    }
}
