//! Gradient clipping by global norm or by value, applied to the flat gradient buffer.
//!
//! - `none`: gradients unchanged.
//! - `norm`: if the global L2 norm `n` is finite and `n > max`, every gradient is scaled by exactly
//!   `max / n`. PyTorch's `clip_grad_norm_` divides by `n + 1e-6`; we add no epsilon, so a clipped
//!   norm is `max` itself. A NaN or infinite norm leaves the gradients untouched, so the probes see
//!   the non-finite values instead of a buffer of NaN or zeros produced by the clipping.
//! - `value`: each element is clamped to `[−max, max]` (as `clip_grad_value_`); NaN stays NaN.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::float::Real;
use super::params::sq_norm;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClipKind {
    None,
    Norm,
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub kind: ClipKind,
    /// Largest allowed global norm (`norm`) or absolute element (`value`).
    pub max: f64,
}

impl Clip {
    /// No clipping.
    pub const NONE: Clip = Clip {
        kind: ClipKind::None,
        max: 0.0,
    };

    /// Clips `grads` in place, given their global L2 `norm` (already computed, in `f64`).
    ///
    /// Returns the global norm after clipping: `norm` when nothing changed, `max` after norm
    /// clipping, and a fresh `sqrt(sq_norm)` after value clipping.
    pub fn apply<T: Real>(&self, grads: &mut [T], norm: f64) -> f64 {
        match self.kind {
            ClipKind::None => norm,
            ClipKind::Norm if norm.is_finite() && norm > self.max => {
                // The product is taken in f64 so an f32 scale factor cannot underflow on its own.
                let scale = self.max / norm;
                for g in grads.iter_mut() {
                    *g = T::of(g.wide() * scale);
                }
                self.max
            }
            ClipKind::Norm => norm,
            ClipKind::Value => {
                self.clamp(grads);
                sq_norm(grads).sqrt()
            }
        }
    }

    /// Clamps every element to `[−max, max]`; NaN passes through unchanged.
    pub fn clamp<T: Real>(&self, grads: &mut [T]) {
        let (hi, lo) = (T::of(self.max), T::of(-self.max));
        for g in grads.iter_mut() {
            // Comparisons with NaN are false, so NaN passes through unchanged.
            if *g > hi {
                *g = hi;
            } else if *g < lo {
                *g = lo;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(kind: ClipKind, max: f64) -> Clip {
        Clip { kind, max }
    }

    #[test]
    fn none_leaves_gradients_and_norm_alone() {
        let mut g = [3.0, 4.0];
        assert_eq!(clip(ClipKind::None, 1.0).apply(&mut g, 5.0), 5.0);
        assert_eq!(g, [3.0, 4.0]);
    }

    #[test]
    fn norm_clipping_scales_3_4_to_unit_length() {
        // ‖[3, 4]‖ = 5 > 1: scale by 1/5 → [0.6, 0.8], norm 1 (no 1e-6 in the divisor).
        let mut g = [3.0f64, 4.0];
        let after = clip(ClipKind::Norm, 1.0).apply(&mut g, 5.0);
        assert_eq!(after, 1.0);
        assert!(
            (g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15,
            "{g:?}"
        );
        assert!((sq_norm(&g).sqrt() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn norm_clipping_leaves_a_small_norm_alone() {
        let mut g = [0.3f32, 0.4];
        assert_eq!(clip(ClipKind::Norm, 1.0).apply(&mut g, 0.5), 0.5);
        assert_eq!(g, [0.3, 0.4]);
    }

    #[test]
    fn non_finite_norm_leaves_gradients_untouched_for_the_probes() {
        let mut g = [f32::NAN, 4.0];
        assert!(clip(ClipKind::Norm, 1.0).apply(&mut g, f64::NAN).is_nan());
        assert!(g[0].is_nan() && g[1] == 4.0);
        let mut g = [f32::INFINITY, 4.0];
        assert_eq!(
            clip(ClipKind::Norm, 1.0).apply(&mut g, f64::INFINITY),
            f64::INFINITY
        );
        assert_eq!(g, [f32::INFINITY, 4.0]);
    }

    #[test]
    fn value_clipping_clamps_each_element_and_keeps_nan() {
        // [3, −4, 0.5] clamped to [−1, 1] → [1, −1, 0.5], norm √(1 + 1 + 0.25) = 1.5.
        let mut g = [3.0f64, -4.0, 0.5];
        let after = clip(ClipKind::Value, 1.0).apply(&mut g, 26.25f64.sqrt());
        assert_eq!(g, [1.0, -1.0, 0.5]);
        assert_eq!(after, 1.5);
        let mut g = [f64::NAN, -4.0];
        assert!(clip(ClipKind::Value, 1.0).apply(&mut g, f64::NAN).is_nan());
        assert!(g[0].is_nan() && g[1] == -1.0);
    }
}
