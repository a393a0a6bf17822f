//! Clopper–Pearson ("exact") binomial confidence intervals for the stable fraction.
//!
//! For `k` stable runs of `n`, the 95% interval is `[B(0.025; k, n−k+1), B(0.975; k+1, n−k)]` with
//! `B(q; a, b)` the Beta quantile (statrs), and the ends pinned to 0 and 1 when `k = 0` or `k = n`.
//! It never undercovers, which is why a small count reads conservatively: 62 stable of 64 has a
//! lower bound of 0.89, 64 of 64 a lower bound of 0.944.

use statrs::distribution::{Beta, ContinuousCDF};

/// The two-sided Clopper–Pearson interval at `confidence` (e.g. 0.95); `None` when `n = 0`.
pub fn clopper_pearson(k: usize, n: usize, confidence: f64) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let alpha = 1.0 - confidence;
    let (k, n) = (k as f64, n as f64);
    let lower = if k == 0.0 {
        0.0
    } else {
        Beta::new(k, n - k + 1.0).ok()?.inverse_cdf(alpha / 2.0)
    };
    let upper = if k == n {
        1.0
    } else {
        Beta::new(k + 1.0, n - k)
            .ok()?
            .inverse_cdf(1.0 - alpha / 2.0)
    };
    Some((lower, upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        // docs/conventions.md: 62 of 64 has a lower bound of 0.89. Independently, by bisection on the
        // binomial CDF (P(X >= 62 | p) = 0.025 and P(X <= 62 | p) = 0.025): 0.89163, 0.99619.
        let (lo, hi) = clopper_pearson(62, 64, 0.95).unwrap();
        assert!((lo - 0.8916).abs() < 5e-4, "{lo}");
        assert!((hi - 0.9962).abs() < 5e-4, "{hi}");
        // All stable: the lower bound is (α/2)^(1/n) = 0.025^(1/64) = 0.9440.
        let (lo, hi) = clopper_pearson(64, 64, 0.95).unwrap();
        assert!((lo - 0.025f64.powf(1.0 / 64.0)).abs() < 1e-6, "{lo}");
        assert_eq!(hi, 1.0);
        // None stable: the upper bound is 1 − 0.025^(1/n).
        let (lo, hi) = clopper_pearson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-6, "{hi}");
        assert_eq!(clopper_pearson(0, 0, 0.95), None);
    }
}
