//! Robust summaries of per-step series: medians over finite values, windows, log-linear fits.
//!
//! Diagnoses judge trends and levels with medians, not means or single steps, so one noisy
//! mini-batch neither raises nor hides a finding.

pub use crate::record::text::fmt;

/// Steps in "the last window" of an `n`-step run: a tenth of the run, at least 10 (or all of it).
pub fn window_len(n: usize) -> usize {
    (n / 10).max(10).min(n)
}

/// Median of the finite values (NaN when there are none).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

/// `x > limit`, false for NaN: a quantity that could not be measured crosses no threshold.
pub fn above(x: f64, limit: f64) -> bool {
    x > limit
}

/// `x < limit`, false for NaN.
pub fn below(x: f64, limit: f64) -> bool {
    x < limit
}

/// Largest finite value and its index (`None` when nothing is finite).
pub fn argmax_finite(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &x)| (i, x))
}

/// Smallest finite value and its index.
pub fn argmin_finite(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &x)| (i, x))
}

/// Least-squares slope of `ys` against `xs`, over the pairs where both are finite; `None` with
/// fewer than two such pairs or no spread in `xs`.
pub fn slope(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(&x, &y)| (x, y))
        .collect();
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_skips_non_finite_values_instead_of_sorting_them_in() {
        assert_eq!(median([3.0, f64::NAN, 1.0, f64::INFINITY, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median([f64::NAN]).is_nan());
    }

    #[test]
    fn slope_of_a_line_is_exact_and_ignores_non_finite_points() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        let ys = [1.0, 3.0, f64::NAN, 7.0];
        assert_eq!(slope(&xs, &ys), Some(2.0));
        assert_eq!(slope(&[1.0, 1.0], &[0.0, 5.0]), None);
    }

    #[test]
    fn window_is_a_tenth_but_at_least_ten_steps() {
        assert_eq!(window_len(300), 30);
        assert_eq!(window_len(50), 10);
        assert_eq!(window_len(4), 4);
    }
}
