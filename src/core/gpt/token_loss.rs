//! Next-token softmax cross-entropy over every token, with PaLM's optional z-loss, value and gradient in one pass.
//!
//! Per token i with logits `z_i` and target `y_i`: `lse_i = m + ln Σ_j exp(z_ij − m)`,
//! `m = max_j z_ij`; `loss = mean_i (lse_i − z_{i,y_i}) + λ·mean_i lse_i²` (λ = `z_loss`).
//! Gradient: `∂/∂z_ij = ((1 + 2λ·lse_i)·softmax(z_i)_j − [j = y_i]) / N`. A NaN logit makes the
//! max NaN and so the loss NaN: NaN is never skipped.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;

/// The two parts of the loss, each a mean over tokens, accumulated in `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenLoss {
    /// Mean cross-entropy (nats per token).
    pub cross_entropy: f64,
    /// Mean `log² Z` (before the `z_loss` weight).
    pub log_z_sq: f64,
    /// `cross_entropy + z_loss · log_z_sq`: what is minimized.
    pub total: f64,
    /// Mean and largest `log Z = lse_i` over tokens, and the largest logit: the output-logit
    /// drift that z-loss counters (probes read them; NaN when a logit is NaN).
    pub log_z_mean: f64,
    pub log_z_max: f64,
    pub logit_max: f64,
}

/// Loss over `logits: [N, vocab]` against `targets` (N ids), writing `∂total/∂logits` to `grad`.
pub fn forward_backward<T: Real>(
    logits: ArrayView2<'_, T>,
    targets: &[u32],
    z_loss: f64,
    mut grad: ArrayViewMut2<'_, T>,
) -> TokenLoss {
    let n = logits.nrows();
    let inv_n = T::of(1.0 / n as f64);
    let (mut ce, mut zsq, mut zsum) = (0.0, 0.0, 0.0);
    let (mut z_max, mut logit_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    // NaN wins, as in the loss itself (`f64::max` would drop it).
    let nan_max = |m: f64, v: f64| {
        if m.is_nan() || v.is_nan() {
            f64::NAN
        } else {
            m.max(v)
        }
    };
    let rows = logits.rows().into_iter().zip(grad.rows_mut()).zip(targets);
    for ((z, mut g), &y) in rows {
        let m = z.fold(
            T::neg_infinity(),
            |m, &v| if v > m || v.is_nan() { v } else { m },
        );
        Zip::from(&mut g).and(&z).for_each(|g, &z| *g = z - m);
        crate::core::vexp::exp_view(g.view_mut());
        let sum: T = g.sum();
        let lse = m + sum.ln();
        let scale = (T::one() + T::of(2.0 * z_loss) * lse) / sum;
        g.map_inplace(|g| *g = *g * scale * inv_n);
        g[y as usize] -= inv_n;
        ce += (lse - z[y as usize]).wide();
        zsq += lse.wide() * lse.wide();
        zsum += lse.wide();
        z_max = nan_max(z_max, lse.wide());
        logit_max = nan_max(logit_max, m.wide());
    }
    let (cross_entropy, log_z_sq) = (ce / n as f64, zsq / n as f64);
    TokenLoss {
        cross_entropy,
        log_z_sq,
        total: cross_entropy + z_loss * log_z_sq,
        log_z_mean: zsum / n as f64,
        log_z_max: z_max,
        logit_max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check};
    use ndarray::{Array2, array};

    #[test]
    fn matches_hand_computed_values() {
        // z = [0, ln 3]: Z = 4, softmax [1/4, 3/4]; target 1 → CE = ln(4/3), log² Z = ln² 4.
        let z = array![[0.0, 3f64.ln()]];
        let mut g = Array2::zeros((1, 2));
        let l = forward_backward(z.view(), &[1], 0.5, g.view_mut());
        let lnz = 4f64.ln();
        assert!((l.cross_entropy - (4.0f64 / 3.0).ln()).abs() < 1e-15);
        assert!((l.log_z_sq - lnz * lnz).abs() < 1e-15);
        assert!((l.total - l.cross_entropy - 0.5 * lnz * lnz).abs() < 1e-15);
        let k = 1.0 + lnz;
        assert!(
            (g[(0, 0)] - 0.25 * k).abs() < 1e-15 && (g[(0, 1)] - (0.75 * k - 1.0)).abs() < 1e-15
        );
    }

    #[test]
    fn large_logits_stay_finite_and_nan_propagates() {
        let z = array![[1e4f32, 0.0], [0.0, 1e4]];
        let mut g = Array2::zeros((2, 2));
        let l = forward_backward(z.view(), &[1, 1], 0.0, g.view_mut());
        assert_eq!(l.cross_entropy, 5e3);
        assert!(g.iter().all(|g| g.is_finite()));
        let bad = array![[f32::NAN, 0.0]];
        let mut g = Array2::zeros((1, 2));
        assert!(
            forward_backward(bad.view(), &[0], 0.0, g.view_mut())
                .total
                .is_nan()
        );
    }

    #[test]
    fn gradient_matches_finite_differences_with_and_without_z_loss() {
        let z0 = array![[0.3, -1.2, 2.0], [1.1, 0.4, -0.6], [3.0, 2.5, -1.0]];
        let targets = [2, 0, 1];
        for z_loss in [0.0, 1e-4, 0.3] {
            let mut g = Array2::zeros((3, 3));
            forward_backward(z0.view(), &targets, z_loss, g.view_mut());
            let f = |v: &[f64]| {
                let z = Array2::from_shape_vec((3, 3), v.to_vec()).unwrap();
                let mut g = Array2::zeros((3, 3));
                forward_backward(z.view(), &targets, z_loss, g.view_mut()).total
            };
            let report = check(f, z0.as_slice().unwrap(), g.as_slice().unwrap());
            assert!(
                report.passed(Tolerance::GRADCHECK),
                "z_loss {z_loss}: {report}"
            );
        }
    }
}
