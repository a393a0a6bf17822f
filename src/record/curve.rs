//! A run's loss curve kept small enough to store per candidate in `fix.json`: what a page draws
//! to set a repair's re-run beside the original.

use serde::{Deserialize, Serialize};

/// At most this many points per curve.
pub const CURVE_POINTS: usize = 200;

/// Loss at up to [`CURVE_POINTS`] steps. A longer run is cut into equal buckets of consecutive
/// steps, each kept at its first step with its largest loss, or its first non-finite one: a
/// spike or a NaN inside a bucket is never averaged away. Empty in records written before the
/// curve existed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossCurve {
    pub steps: Vec<usize>,
    #[serde(with = "super::nonfinite::vec")]
    pub loss: Vec<f64>,
    /// Consecutive steps per point (1: every step).
    pub bucket: usize,
}

impl LossCurve {
    /// The curve of `(step, loss)` pairs, in step order.
    pub fn new(points: &[(usize, f64)]) -> Self {
        let bucket = points.len().div_ceil(CURVE_POINTS).max(1);
        let mut curve = LossCurve {
            bucket,
            ..LossCurve::default()
        };
        for chunk in points.chunks(bucket) {
            let worst = chunk.iter().map(|p| p.1).find(|l| !l.is_finite());
            let top = chunk.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            curve.steps.push(chunk[0].0);
            curve.loss.push(worst.unwrap_or(top));
        }
        curve
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_run_keeps_every_step() {
        let c = LossCurve::new(&[(0, 2.0), (1, 1.5), (2, 1.0)]);
        assert_eq!(
            (c.steps, c.loss, c.bucket),
            (vec![0, 1, 2], vec![2.0, 1.5, 1.0], 1)
        );
    }

    #[test]
    fn a_long_run_keeps_each_buckets_spike_and_its_nan() {
        let mut points: Vec<(usize, f64)> = (0..1000).map(|s| (s, 1.0)).collect();
        points[517].1 = 40.0;
        points[903].1 = f64::NAN;
        points[904].1 = f64::INFINITY;
        let c = LossCurve::new(&points);
        assert_eq!(c.bucket, 5);
        assert_eq!(c.steps.len(), 200);
        assert_eq!(c.steps[103], 515);
        assert_eq!(c.loss[103], 40.0);
        // The first non-finite value of a bucket wins over a larger one after it.
        assert!(c.loss[180].is_nan());
        assert_eq!(c.loss[179], 1.0);
        let json = serde_json::to_string(&c).unwrap();
        let back: LossCurve = serde_json::from_str(&json).unwrap();
        assert_eq!(back.steps, c.steps);
        assert!(back.loss[180].is_nan());
    }
}
