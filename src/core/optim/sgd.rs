//! Plain SGD, heavy-ball momentum and Nesterov momentum (PyTorch `torch.optim.SGD`, dampening 0).
//!
//! With coupled weight decay first on weight segments, `g ← g + wd·w`:
//! - sgd: `w ← w − lr·g`
//! - momentum: `v ← μ·v + g`, `w ← w − lr·v`
//! - nesterov: `v ← μ·v + g`, `w ← w − lr·(g + μ·v)`
//!
//! The buffer starts at zero, so the first step has `v = g` exactly as PyTorch's "copy `g` on the
//! first step". Elementwise math runs in `T`, so `f32` overflows as real `f32` training does.

use super::{Measured, decay_factor, decayed, update_each};
use crate::core::float::Real;

/// Plain SGD on one segment; returns `‖Δθ‖²` (and `‖θ‖²` when `value_norm`).
pub(super) fn sgd<T: Real>(
    values: &mut [T],
    grads: &[T],
    lr: f64,
    wd: f64,
    value_norm: bool,
) -> Measured {
    let lr = T::of(lr);
    let wd = decay_factor::<T>(wd);
    update_each(values, grads, value_norm, |_, w, g| {
        w - lr * decayed(g, w, wd)
    })
}

/// Momentum or (with `nesterov`) Nesterov momentum on one segment; `buf` is the segment's
/// velocity. Returns `‖Δθ‖²` (and `‖θ‖²` when `value_norm`).
#[allow(clippy::too_many_arguments)]
pub(super) fn momentum<T: Real>(
    values: &mut [T],
    grads: &[T],
    buf: &mut [T],
    lr: f64,
    mu: f64,
    wd: f64,
    nesterov: bool,
    value_norm: bool,
) -> Measured {
    let (lr, mu) = (T::of(lr), T::of(mu));
    let wd = decay_factor::<T>(wd);
    assert_eq!(buf.len(), values.len(), "one velocity per parameter");
    update_each(values, grads, value_norm, |i, old, g| {
        let v = &mut buf[i];
        let g = decayed(g, old, wd);
        *v = mu * *v + g;
        let step = if nesterov { g + mu * *v } else { *v };
        old - lr * step
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, segment, two_steps, with_decay as spec};
    use super::super::{Optimizer, OptimizerKind, OptimizerSpec};
    use crate::core::params::ParamKind;

    // The shared example (see `testing::two_steps`): w = [1, −2], b = [3], lr = 0.1;
    // gradients step 1 w [0.5, −1], b [0.5]; step 2 w [0.25, 2], b [0.5].

    #[test]
    fn sgd_two_steps_match_hand_computation() {
        // Step 1: w = [1 − 0.05, −2 + 0.1] = [0.95, −1.9]; b = 3 − 0.05 = 2.95.
        //   ‖Δθ‖² = 0.05² + 0.1² + 0.05² = 0.015.
        // Step 2: w = [0.95 − 0.025, −1.9 − 0.2] = [0.925, −2.1]; b = 2.95 − 0.05 = 2.9.
        //   ‖Δθ‖² = 0.025² + 0.2² + 0.05² = 0.043125.
        let [(v1, sq1), (v2, sq2)] = two_steps(spec(OptimizerKind::Sgd, 0.0), 0.1);
        assert_close(&v1, &[0.95, -1.9, 2.95]);
        assert_close(&[sq1], &[0.015]);
        assert_close(&v2, &[0.925, -2.1, 2.9]);
        assert_close(&[sq2], &[0.043125]);
    }

    #[test]
    fn momentum_two_steps_match_hand_computation() {
        // μ = 0.9. Step 1: v = g = [0.5, −1 | 0.5] → same as sgd: [0.95, −1.9 | 2.95].
        // Step 2: v = 0.9·[0.5, −1 | 0.5] + [0.25, 2 | 0.5] = [0.7, 1.1 | 0.95];
        //   w = [0.95 − 0.07, −1.9 − 0.11 | 2.95 − 0.095] = [0.88, −2.01 | 2.855].
        //   ‖Δθ‖² = 0.07² + 0.11² + 0.095² = 0.0049 + 0.0121 + 0.009025 = 0.026025.
        let [(v1, _), (v2, sq2)] = two_steps(spec(OptimizerKind::Momentum, 0.0), 0.1);
        assert_close(&v1, &[0.95, -1.9, 2.95]);
        assert_close(&v2, &[0.88, -2.01, 2.855]);
        assert_close(&[sq2], &[0.026025]);
    }

    #[test]
    fn nesterov_two_steps_match_hand_computation() {
        // μ = 0.9. Step 1: v = [0.5, −1 | 0.5]; step g + μv = [0.95, −1.9 | 0.95];
        //   w = [1 − 0.095, −2 + 0.19 | 3 − 0.095] = [0.905, −1.81 | 2.905].
        // Step 2: v = [0.7, 1.1 | 0.95]; g + μv = [0.25 + 0.63, 2 + 0.99 | 0.5 + 0.855]
        //   = [0.88, 2.99 | 1.355]; w = [0.905 − 0.088, −1.81 − 0.299 | 2.905 − 0.1355]
        //   = [0.817, −2.109 | 2.7695].
        let [(v1, _), (v2, _)] = two_steps(spec(OptimizerKind::Nesterov, 0.0), 0.1);
        assert_close(&v1, &[0.905, -1.81, 2.905]);
        assert_close(&v2, &[0.817, -2.109, 2.7695]);
    }

    #[test]
    fn coupled_weight_decay_changes_weights_but_never_the_bias() {
        // sgd, wd = 0.1. Step 1: g_w = [0.5 + 0.1·1, −1 + 0.1·(−2)] = [0.6, −1.2];
        //   w = [1 − 0.06, −2 + 0.12] = [0.94, −1.88]; b undecayed: 3 − 0.05 = 2.95.
        // Step 2: g_w = [0.25 + 0.094, 2 − 0.188] = [0.344, 1.812];
        //   w = [0.94 − 0.0344, −1.88 − 0.1812] = [0.9056, −2.0612]; b = 2.9.
        let [(v1, _), (v2, _)] = two_steps(spec(OptimizerKind::Sgd, 0.1), 0.1);
        assert_close(&v1, &[0.94, -1.88, 2.95]);
        assert_close(&v2, &[0.9056, -2.0612, 2.9]);
    }

    #[test]
    fn coupled_weight_decay_enters_the_momentum_buffer() {
        // momentum μ = 0.9, wd = 0.1. Step 1: v_w = g_w = [0.6, −1.2] → w = [0.94, −1.88]; b = 2.95.
        // Step 2: g_w = [0.344, 1.812]; v_w = [0.54 + 0.344, −1.08 + 1.812] = [0.884, 0.732];
        //   w = [0.94 − 0.0884, −1.88 − 0.0732] = [0.8516, −1.9532]; b as momentum: 2.855.
        let [(v1, _), (v2, _)] = two_steps(spec(OptimizerKind::Momentum, 0.1), 0.1);
        assert_close(&v1, &[0.94, -1.88, 2.95]);
        assert_close(&v2, &[0.8516, -1.9532, 2.855]);
    }

    #[test]
    fn update_norm_propagates_nan_from_the_gradient() {
        let mut opt = Optimizer::<f64>::new(OptimizerSpec::defaults(OptimizerKind::Sgd), 2);
        let mut w = [1.0, 2.0];
        opt.begin_step();
        let sq = opt.update_segment(
            &segment(ParamKind::Weight, 0, 2),
            &mut w,
            &[f64::NAN, 1.0],
            0.1,
        );
        assert!(sq.is_nan());
        assert!(w[0].is_nan());
        assert_eq!(w[1], 1.9);
    }
}
