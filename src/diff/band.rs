//! Noise bands: where one more run of the baseline would fall, per statistic and window of steps.
//!
//! Statistics are compared in natural-log space (norms and ratios are positive and vary by
//! factors), averaged over a window of steps (one step is mostly mini-batch noise). For `n ≥ 3`
//! baseline runs, a head value `h` has `z = (h − mean) / (s·√(1 + 1/n))`, which for a run drawn
//! like the baseline's follows Student's t with `n − 1` degrees of freedom; the band's half-width
//! is the t quantile that leaves `alpha / comparisons` outside (Bonferroni over every statistic,
//! layer and window compared), so a seed change alone fails with probability at most `alpha`
//! (if the window means are normal in log space: an assumption, checked by the false-alarm test).
//! Below 3 runs there is no noise estimate and the band is a factor of 2 either way.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Smallest band std, in log units (1%): statistics that every seed gives alike (a constant lr,
/// a frozen layer) would otherwise get a zero-width band.
pub const STD_FLOOR: f64 = 0.01;

/// Family-wise false-alarm probability of one diff whose head differs from the baseline only by
/// its seed.
pub const ALPHA: f64 = 0.01;

/// Half-width of the band, in `z` units, for `n` baseline runs and `comparisons` compared values.
/// `None` below 3 runs (the caller uses a factor-of-2 band).
pub fn half_width(n: usize, comparisons: usize) -> Option<f64> {
    if n < 3 {
        return None;
    }
    let p = ALPHA / comparisons.max(1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    Some(t.inverse_cdf(1.0 - p / 2.0))
}

/// `ln v`, with 0 (a dead layer's std) taken as 1e-30 so it stays comparable; `None` when `v` is
/// non-finite or negative.
pub fn log_of(v: f64) -> Option<f64> {
    (v.is_finite() && v >= 0.0).then(|| v.max(1e-30).ln())
}

/// Mean of `log_of` over `values`; `None` when any is non-finite (or there are none).
pub fn window_mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        sum += log_of(v)?;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

/// A band: the baseline's mean and the std one new run's value has about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub mean: f64,
    pub std: f64,
}

impl Band {
    /// From the baseline runs' window means (finite ones only), the std at least `floor`; `None`
    /// without any.
    pub fn of(values: &[f64], floor: f64) -> Option<Band> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let spread = match n {
            1 => 0.0,
            _ => {
                let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
                (var * (1.0 + 1.0 / n as f64)).sqrt()
            }
        };
        Some(Band {
            mean,
            std: spread.max(floor),
        })
    }

    /// `z` of a head window mean; ±inf when the head is non-finite there.
    pub fn z(&self, head: Option<f64>) -> f64 {
        match head {
            Some(h) => (h - self.mean) / self.std,
            None => f64::INFINITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_is_the_bonferroni_t_quantile() {
        // t with 4 dof: P(|T| > 4.604) = 0.01, so one comparison at alpha = 0.01 gives 4.604.
        let w = half_width(5, 1).expect("5 runs");
        assert!((w - 4.604).abs() < 1e-3, "{w}");
        // More comparisons widen the band; more runs narrow it (toward the normal's 2.576).
        assert!(half_width(5, 100).expect("5") > w);
        let many = half_width(1000, 1).expect("1000");
        assert!((many - 2.581).abs() < 1e-2, "{many}");
        assert_eq!(half_width(2, 10), None);
    }

    #[test]
    fn bands_use_the_prediction_std_with_a_floor() {
        let b = Band::of(&[1.0, 2.0, 3.0], STD_FLOOR).expect("three");
        // s = 1, times √(1 + 1/3).
        assert!((b.mean - 2.0).abs() < 1e-12 && (b.std - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(
            Band::of(&[0.5, 0.5, 0.5], STD_FLOOR).map(|b| b.std),
            Some(STD_FLOOR)
        );
        assert_eq!(b.z(None), f64::INFINITY);
        assert_eq!(window_mean([1.0, f64::NAN].into_iter()), None);
        assert_eq!(
            window_mean([1.0, std::f64::consts::E].into_iter()),
            Some(0.5)
        );
    }
}
