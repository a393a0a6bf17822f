//! Weight initialization schemes, each scaled by `init_scale` (the gain for orthogonal).
//!
//! All draws are made in `f64` and cast to the run's float type at the end, so `f32` and `f64` runs
//! start from the same weights up to rounding. Standard deviations (before `scale`):
//! he-normal `√(2/fan_in)`; he-uniform `U(±√(6/fan_in))`; xavier-normal `√(2/(fan_in+fan_out))`;
//! xavier-uniform `U(±√(6/(fan_in+fan_out)))`; lecun-normal `√(1/fan_in)`; normal `std`;
//! orthogonal: orthonormal rows or columns (whichever are fewer), as PyTorch's `orthogonal_`.

use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::float::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    HeNormal,
    HeUniform,
    XavierNormal,
    XavierUniform,
    LecunNormal,
    Orthogonal,
    Normal,
}

/// Initial weights of a dense layer, shape `[fan_in, fan_out]`.
///
/// `scale` multiplies the scheme's standard deviation (for orthogonal it is the gain); `std` is used
/// only by [`InitKind::Normal`].
pub fn init_weights<T: Real>(
    kind: InitKind,
    fan_in: usize,
    fan_out: usize,
    scale: f64,
    std: f64,
    rng: &mut ChaCha8Rng,
) -> Array2<T> {
    let fan_in_f = fan_in as f64;
    let fan_sum = (fan_in + fan_out) as f64;
    let weights = match kind {
        InitKind::HeNormal => {
            gaussian_matrix(fan_in, fan_out, scale * (2.0 / fan_in_f).sqrt(), rng)
        }
        InitKind::HeUniform => {
            uniform_matrix(fan_in, fan_out, scale * (6.0 / fan_in_f).sqrt(), rng)
        }
        InitKind::XavierNormal => {
            gaussian_matrix(fan_in, fan_out, scale * (2.0 / fan_sum).sqrt(), rng)
        }
        InitKind::XavierUniform => {
            uniform_matrix(fan_in, fan_out, scale * (6.0 / fan_sum).sqrt(), rng)
        }
        InitKind::LecunNormal => {
            gaussian_matrix(fan_in, fan_out, scale * (1.0 / fan_in_f).sqrt(), rng)
        }
        InitKind::Normal => gaussian_matrix(fan_in, fan_out, scale * std, rng),
        InitKind::Orthogonal => orthogonal_matrix(fan_in, fan_out, scale, rng),
    };
    weights.mapv(T::of)
}

/// A `[rows, cols]` matrix of independent `N(0, std²)` draws, drawn row by row.
///
/// Shared with the data generators, whose documented draw order relies on it.
pub fn gaussian_matrix(rows: usize, cols: usize, std: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut matrix = Array2::zeros((rows, cols));
    // A fresh array is in standard (row-major) layout, and `iter_mut` visits it in logical order.
    matrix
        .iter_mut()
        .for_each(|v| *v = std * rng.sample::<f64, _>(StandardNormal));
    matrix
}

/// A `[rows, cols]` matrix of independent `U(-bound, bound)` draws, drawn row by row.
fn uniform_matrix(rows: usize, cols: usize, bound: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut matrix = Array2::zeros((rows, cols));
    // `bound * (2u - 1)` with u in [0, 1) never panics, unlike a range with equal ends (bound 0).
    matrix
        .iter_mut()
        .for_each(|v| *v = bound * (2.0 * rng.random::<f64>() - 1.0));
    matrix
}

/// `gain` times a matrix with orthonormal columns (`fan_in ≥ fan_out`) or rows (otherwise).
///
/// As PyTorch's `orthogonal_`: QR of a `[long, short]` Gaussian matrix, each column of `Q` multiplied
/// by the sign of the matching diagonal entry of `R` (so the result is uniformly distributed, not
/// biased by the QR routine's sign convention), transposed when `fan_in < fan_out`.
fn orthogonal_matrix(
    fan_in: usize,
    fan_out: usize,
    gain: f64,
    rng: &mut ChaCha8Rng,
) -> Array2<f64> {
    let (long, short) = (fan_in.max(fan_out), fan_in.min(fan_out));
    if short == 0 {
        return Array2::zeros((fan_in, fan_out));
    }
    let gaussian = gaussian_matrix(long, short, 1.0, rng);
    let qr = faer::Mat::<f64>::from_fn(long, short, |i, j| gaussian[[i, j]]).qr();
    let q = qr.compute_thin_Q();
    let r = qr.thin_R();
    let sign: Vec<f64> = (0..short)
        .map(|j| if r[(j, j)] < 0.0 { -1.0 } else { 1.0 })
        .collect();
    Array2::from_shape_fn((fan_in, fan_out), |(i, j)| {
        let (row, col) = if fan_in >= fan_out { (i, j) } else { (j, i) };
        gain * sign[col] * q[(row, col)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::{Stream, stream_rng};

    fn draw(kind: InitKind, fan_in: usize, fan_out: usize, scale: f64, seed: u64) -> Array2<f64> {
        init_weights(
            kind,
            fan_in,
            fan_out,
            scale,
            0.05,
            &mut stream_rng(seed, Stream::Init(0)),
        )
    }

    fn mean_and_std(w: &Array2<f64>) -> (f64, f64) {
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var.sqrt())
    }

    /// Gram matrix of the fewer side: `WᵀW` if there are no more columns than rows, else `WWᵀ`.
    fn gram(w: &Array2<f64>) -> Array2<f64> {
        if w.nrows() >= w.ncols() {
            w.t().dot(w)
        } else {
            w.dot(&w.t())
        }
    }

    #[test]
    fn orthogonal_has_orthonormal_columns_or_rows() {
        for (fan_in, fan_out) in [(32, 32), (64, 16), (16, 64), (1, 5), (5, 1)] {
            let w = draw(InitKind::Orthogonal, fan_in, fan_out, 1.0, 3);
            assert_eq!(w.dim(), (fan_in, fan_out));
            let g = gram(&w);
            let eye = Array2::<f64>::eye(fan_in.min(fan_out));
            let worst = (&g - &eye).iter().fold(0.0_f64, |m, v| {
                if m.is_nan() || v.is_nan() {
                    f64::NAN
                } else {
                    m.max(v.abs())
                }
            });
            assert!(worst < 1e-5, "{fan_in}x{fan_out}: |gram - I| = {worst}");
        }
    }

    #[test]
    fn orthogonal_gain_scales_the_gram_matrix_by_gain_squared() {
        let gain = 2.5;
        let g = gram(&draw(InitKind::Orthogonal, 48, 20, gain, 4));
        let expected = Array2::<f64>::eye(20) * gain * gain;
        let worst = (&g - &expected).iter().fold(0.0_f64, |m, v| {
            if m.is_nan() || v.is_nan() {
                f64::NAN
            } else {
                m.max(v.abs())
            }
        });
        assert!(worst < 1e-5, "|gram - g²I| = {worst}");
    }

    /// The sign correction makes `R = WᵀG` (G: the Gaussian the QR started from) have a positive
    /// diagonal, so the result does not inherit the QR routine's sign convention.
    #[test]
    fn orthogonal_columns_are_sign_corrected_by_diag_r() {
        let (fan_in, fan_out) = (12, 5);
        let w = draw(InitKind::Orthogonal, fan_in, fan_out, 1.0, 8);
        let g = gaussian_matrix(fan_in, fan_out, 1.0, &mut stream_rng(8, Stream::Init(0)));
        let r = w.t().dot(&g);
        assert!(
            (0..fan_out).all(|j| r[[j, j]] > 0.0),
            "diag(R) = {:?}",
            r.diag()
        );
        // R is upper triangular: each column of G lies in the span of the first columns of W.
        assert!((0..fan_out).all(|j| (0..j).all(|i| r[[j, i]].abs() < 1e-10)));
    }

    /// 65,536 draws per case: the sample std's relative standard error is about `1/√(2n)` ≈ 0.28%
    /// for a Gaussian (0.18% for a uniform), so a 3% tolerance is over 10 standard errors wide, and
    /// the mean's standard error is σ/256, so 2% of σ is over 5 standard errors.
    #[test]
    fn sample_std_matches_each_formula_within_3_percent() {
        // Rectangular (128 in, 512 out) so a fan_in / fan_out mix-up changes the std by 2x or more.
        let (fan_in, fan_out, scale) = (128, 512, 1.5);
        let (fi, fs) = (128.0_f64, 640.0_f64);
        let cases = [
            (InitKind::HeNormal, (2.0 / fi).sqrt()),
            (InitKind::HeUniform, (6.0 / fi).sqrt() / 3f64.sqrt()),
            (InitKind::XavierNormal, (2.0 / fs).sqrt()),
            (InitKind::XavierUniform, (6.0 / fs).sqrt() / 3f64.sqrt()),
            (InitKind::LecunNormal, (1.0 / fi).sqrt()),
            (InitKind::Normal, 0.05),
        ];
        for (kind, std_formula) in cases {
            let w = draw(kind, fan_in, fan_out, scale, 11);
            let (mean, std) = mean_and_std(&w);
            let expected = scale * std_formula;
            assert!(
                (std / expected - 1.0).abs() < 0.03,
                "{kind:?}: std {std} vs {expected}"
            );
            assert!(mean.abs() < 0.02 * expected, "{kind:?}: mean {mean}");
        }
    }

    #[test]
    fn uniform_draws_stay_inside_their_bound() {
        let bound = 2.0 * (6.0_f64 / 100.0).sqrt();
        let w = draw(InitKind::HeUniform, 100, 300, 2.0, 5);
        assert!(w.iter().all(|v| v.abs() <= bound));
        // ... and reach close to it, so the bound is not accidentally smaller.
        assert!(w.iter().any(|v| v.abs() > 0.99 * bound));
    }

    #[test]
    fn same_seed_same_weights_and_different_seed_different_weights() {
        for kind in [
            InitKind::HeNormal,
            InitKind::XavierUniform,
            InitKind::Orthogonal,
        ] {
            assert_eq!(draw(kind, 20, 30, 1.0, 9), draw(kind, 20, 30, 1.0, 9));
            assert_ne!(draw(kind, 20, 30, 1.0, 9), draw(kind, 20, 30, 1.0, 10));
        }
    }

    #[test]
    fn f32_weights_are_the_f64_weights_rounded() {
        let w32: Array2<f32> = init_weights(
            InitKind::HeNormal,
            8,
            4,
            1.0,
            0.0,
            &mut stream_rng(2, Stream::Init(0)),
        );
        let w64 = draw(InitKind::HeNormal, 8, 4, 1.0, 2);
        assert_eq!(w32, w64.mapv(|v| v as f32));
    }
}
