//! Log-spaced histograms of `|g|` and the schedule on which the recorder takes them.
//!
//! Bins are [`BINS_PER_DECADE`] per decade from `1e-12` to `1e6` (72 bins, 73 edges); bin `i` is
//! `edges[i] <= |g| < edges[i+1]`. Exact zeros, values below the first edge, values at or above
//! the last edge and non-finite values (NaN, ±inf) each have their own counter: nothing is dropped.

use std::marker::PhantomData;

use crate::core::float::Real;
use crate::record::trace::HistogramRecord;

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
    step == 0 || step + 1 == total_steps || (every > 0 && step.is_multiple_of(every))
}

/// Number of bins between the first and the last edge.
const BINS: usize = (DECADES.len() - 1) * BINS_PER_DECADE;

/// Mantissa bits kept in a cell key: a cell spans at most 1/16 of its lower bound, far less than
/// a bin (a factor 10^(1/4) ≈ 1.78), so each cell holds at most one bin edge.
const KEY_MANTISSA_BITS: u32 = 4;
/// Binary exponents of the first and last keyed cells: values under `2^-41 · 17/16` (zero and
/// everything else under the first edge) share the first cell, values from `2^21` (all over the
/// last edge, with `+inf` and NaN) the last.
const LOW_EXPONENT: u64 = 41;
const HIGH_EXPONENT: u64 = 21;
const CELLS: usize = ((LOW_EXPONENT + HIGH_EXPONENT) << KEY_MANTISSA_BITS) as usize + 1;

/// Counter slots, in magnitude order: exact zeros, under the first edge, the bins, at or over the
/// last edge, non-finite values. The order is what lets one comparison of magnitude bits place
/// a value in its cell's slot or the next.
const ZERO: usize = 0;
const UNDERFLOW: usize = 1;
const FIRST_BIN: usize = 2;
const OVERFLOW: usize = FIRST_BIN + BINS;
const NONFINITE: usize = OVERFLOW + 1;
const SLOTS: usize = NONFINITE + 1;

/// Interleaved count tables in [`LogBins::record`].
const TABLES: usize = 4;

/// The bin edges, built once and copied into each record, and the tables that bin a value of `T`
/// with one lookup and one integer comparison of its magnitude bits ([`Real::magnitude_bits`]):
/// no widening, no float compare, no branch (gradients of dead units are exact zeros, scattered
/// unpredictably).
#[derive(Debug, Clone, PartialEq)]
pub struct LogBins<T> {
    edges: Vec<f64>,
    /// Slot of each cell's smallest value; a value is in that slot or, from `lower[slot]` on, the
    /// next.
    cell_slot: Box<[u8; CELLS]>,
    /// `lower[s]`: the smallest magnitude bits of slot `s + 1`. 256 entries, so that indexing by
    /// a `u8` needs no bounds check; past [`NONFINITE`] they are never read.
    lower: Box<[u64; 256]>,
    _float: PhantomData<fn() -> T>,
}

impl<T: Real> Default for LogBins<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> LogBins<T> {
    pub fn new() -> Self {
        let mut edges = Vec::with_capacity(BINS + 1);
        for pair in DECADES.windows(2) {
            for q in 0..BINS_PER_DECADE {
                let frac = 10f64.powf(q as f64 / BINS_PER_DECADE as f64);
                edges.push(if q == 0 { pair[0] } else { pair[0] * frac });
            }
        }
        edges.push(DECADES[DECADES.len() - 1]);
        let mut lower = Box::new([u64::MAX; 256]);
        lower[ZERO] = 1;
        for (i, &e) in edges.iter().enumerate() {
            lower[UNDERFLOW + i] = Self::smallest_at_least(e);
        }
        lower[OVERFLOW] = T::infinity().magnitude_bits();
        let mut cell_slot = Box::new([0u8; CELLS]);
        for (c, slot) in cell_slot.iter_mut().enumerate().skip(1) {
            let smallest = T::from_magnitude_bits(((c + Self::low_key()) as u64) << Self::shift());
            // At most NONFINITE = 75, so it fits a byte.
            *slot = slot_by_search(&edges, smallest.wide()) as u8;
        }
        LogBins {
            edges,
            cell_slot,
            lower,
            _float: PhantomData,
        }
    }

    fn shift() -> u32 {
        T::MANTISSA_BITS - KEY_MANTISSA_BITS
    }

    fn low_key() -> usize {
        ((T::EXPONENT_BIAS - LOW_EXPONENT) << KEY_MANTISSA_BITS) as usize
    }

    /// The magnitude bits of the smallest `T` whose value is at least `e` (`e` positive, finite
    /// and within `T`'s range).
    fn smallest_at_least(e: f64) -> u64 {
        let mut bits = T::of(e).magnitude_bits();
        if T::from_magnitude_bits(bits).wide() < e {
            bits += 1;
        }
        while bits > 0 && T::from_magnitude_bits(bits - 1).wide() >= e {
            bits -= 1;
        }
        bits
    }

    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    /// The counter slot of `x` (see [`ZERO`] .. [`NONFINITE`]).
    #[inline(always)]
    fn slot_of(&self, x: T) -> usize {
        let bits = x.magnitude_bits();
        let key = (bits >> Self::shift()) as usize;
        let cell = key.clamp(Self::low_key(), Self::low_key() + CELLS - 1) - Self::low_key();
        let s = self.cell_slot[cell];
        usize::from(s) + usize::from(bits >= self.lower[usize::from(s)])
    }

    /// The histogram of `|x|` over `xs`, for `layer` at `step`.
    ///
    /// Values are counted into [`TABLES`] interleaved tables summed at the end, so runs of equal
    /// slots do not wait on each other's increments.
    pub fn record(&self, xs: &[T], step: usize, layer: usize) -> HistogramRecord {
        let mut tables = [[0u64; SLOTS]; TABLES];
        let mut quads = xs.chunks_exact(TABLES);
        for quad in &mut quads {
            for (table, &x) in tables.iter_mut().zip(quad) {
                table[self.slot_of(x)] += 1;
            }
        }
        for &x in quads.remainder() {
            tables[0][self.slot_of(x)] += 1;
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
            counts: slots[FIRST_BIN..OVERFLOW].to_vec(),
            zero: slots[ZERO],
            underflow: slots[UNDERFLOW],
            overflow: slots[OVERFLOW],
            nonfinite: slots[NONFINITE],
        }
    }
}

/// The slot of `a = |x|` by a search of the edges: the definition the tables must reproduce.
fn slot_by_search(edges: &[f64], a: f64) -> usize {
    if a == 0.0 {
        ZERO
    } else if !a.is_finite() {
        NONFINITE
    } else {
        UNDERFLOW + edges.partition_point(|&e| e <= a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seventy_two_bins_with_exact_decade_edges() {
        let bins = LogBins::<f64>::new();
        assert_eq!(bins.bins(), 72);
        assert_eq!(bins.edges()[0], 1e-12);
        assert_eq!(bins.edges()[48], 1.0);
        assert_eq!(bins.edges()[72], 1e6);
        assert!(bins.edges().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(bins, LogBins::<f64>::new().clone());
    }

    #[test]
    fn every_edge_falls_in_the_bin_it_opens() {
        let bins = LogBins::<f64>::new();
        for (i, &e) in bins.edges().iter().enumerate() {
            assert_eq!(bins.slot_of(e), FIRST_BIN + i, "edge {e}");
            let below = f64::from_bits(e.to_bits() - 1);
            assert_eq!(bins.slot_of(below), UNDERFLOW + i, "just below edge {e}");
        }
        let bins = LogBins::<f32>::new();
        for (i, &e) in bins.edges().iter().enumerate() {
            let at = f32::from_magnitude_bits(LogBins::<f32>::smallest_at_least(e));
            assert!(at.wide() >= e && f32::from_bits(at.to_bits() - 1).wide() < e);
            assert_eq!(bins.slot_of(at), FIRST_BIN + i, "edge {e}");
            let below = f32::from_bits(at.to_bits() - 1);
            assert_eq!(bins.slot_of(below), UNDERFLOW + i, "just below edge {e}");
        }
    }

    /// The tables against [`slot_by_search`] on values of `T` from bit patterns `step` apart,
    /// both signs: every cell, edge neighbourhood aside, is visited many times over.
    fn matches_search<T: Real>(bins: &LogBins<T>, bits: impl Iterator<Item = u64>) -> usize {
        let mut checked = 0;
        for b in bits {
            let x = T::from_magnitude_bits(b);
            let searched = slot_by_search(bins.edges(), x.wide().abs());
            assert_eq!(bins.slot_of(x), searched, "{:e}", x.wide());
            assert_eq!(bins.slot_of(-x), searched, "-{:e}", x.wide());
            checked += 1;
        }
        checked
    }

    #[test]
    fn slot_of_matches_a_search_of_the_edges_on_sampled_f32_magnitudes_and_a_sweep_of_f64() {
        // Every 1021st (prime) of the 2^31 magnitudes, plus the
        // specials reaches every cell many times and lands on no regular pattern.
        let f32_bits = (0..=0x7fff_ffffu64)
            .step_by(1021)
            .chain([0x7f80_0000, 0x7fc0_0000]);
        assert!(matches_search(&LogBins::<f32>::new(), f32_bits) > 2_000_000);
        let bins = LogBins::<f64>::new();
        let mut x = 1e-14f64;
        let mut sweep = vec![0, 1, f64::INFINITY.to_bits(), f64::NAN.to_bits()];
        while x < 1e8 {
            sweep.push(x.to_bits());
            x *= 1.000_37;
        }
        assert!(matches_search(&bins, sweep.into_iter()) > 60_000);
    }

    #[test]
    fn zeros_tiny_huge_and_non_finite_values_each_have_their_counter() {
        let bins = LogBins::<f64>::new();
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
