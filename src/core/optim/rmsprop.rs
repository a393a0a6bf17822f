//! RMSprop (PyTorch `torch.optim.RMSprop`, not centered, no momentum).
//!
//! With coupled weight decay first on weight segments, `g ← g + wd·w`:
//! - `v ← α·v + (1 − α)·g·g`
//! - `w ← w − lr·g / (√v + eps)`
//!
//! Elementwise math runs in `T` in PyTorch's order (`((1 − α)·g)·g`), so `f32` overflows as real
//! `f32` training does. `eps` is the only epsilon: `eps = 0` with a zero gradient gives NaN.

use super::{Measured, decay_factor, decayed, update_each};
use crate::core::float::Real;

/// One RMSprop update of a segment with running mean square `sq_avg`; returns `‖Δθ‖²` (and
/// `‖θ‖²` when `value_norm`).
#[allow(clippy::too_many_arguments)]
pub(super) fn rmsprop<T: Real>(
    values: &mut [T],
    grads: &[T],
    sq_avg: &mut [T],
    lr: f64,
    alpha: f64,
    eps: f64,
    wd: f64,
    value_norm: bool,
) -> Measured {
    let (lr, eps) = (T::of(lr), T::of(eps));
    let (alpha, one_minus_alpha) = (T::of(alpha), T::of(1.0 - alpha));
    let wd = decay_factor::<T>(wd);
    assert_eq!(
        sq_avg.len(),
        values.len(),
        "one running mean square per parameter"
    );
    update_each(values, grads, value_norm, |i, old, g| {
        let v = &mut sq_avg[i];
        let g = decayed(g, old, wd);
        *v = alpha * *v + one_minus_alpha * g * g;
        old - lr * g / (v.sqrt() + eps)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, segment, two_steps};
    use super::super::{Optimizer, OptimizerKind, OptimizerSpec, StateBuffer};
    use crate::core::params::ParamKind;

    #[test]
    fn rmsprop_two_steps_match_hand_computation() {
        // The shared example (see `testing::two_steps`): w = [1, −2], b = [3], here lr = 0.01,
        // α = 0.99, eps = 1e-8; gradients step 1 [0.5, −1 | 0.5], step 2 [0.25, 2 | 0.5].
        // Step 1: v = 0.01·g², √v = 0.1·|g| = [0.05, 0.1 | 0.05]; moves 0.01·g / (√v + 1e-8):
        //   0.005 / 0.05000001 = 0.099999980000004, 0.01 / 0.10000001 = 0.099999990000001
        //   → [0.90000002, −1.90000001 | 2.90000002].
        // Step 2: v = 0.99·v + 0.01·g²:
        //   w0: 0.002475 + 0.000625 = 0.0031, √v = 0.0556776436283002, moves 0.0025 / (√v + eps)
        //       = 0.0449013174421790 → 0.855098702557817;
        //   w1: 0.0099 + 0.04 = 0.0499, √v = 0.223383079036887, moves 0.02 / (√v + eps)
        //       = 0.0895322921991532 → −1.989532302199152;
        //   b: 0.002475 + 0.0025 = 0.004975, √v = 0.0705336798983294, moves 0.005 / (√v + eps)
        //       = 0.0708881104505838 → 2.829111909549412.
        let spec = OptimizerSpec::defaults(OptimizerKind::Rmsprop);
        let [(v1, _), (v2, _)] = two_steps(spec, 0.01);
        assert_close(&v1, &[0.90000002, -1.90000001, 2.90000002]);
        assert_close(
            &v2,
            &[0.855098702557817, -1.989532302199152, 2.829111909549412],
        );
    }

    #[test]
    fn rmsprop_with_zero_eps_and_zero_gradient_gives_nan() {
        let spec = OptimizerSpec {
            eps: 0.0,
            ..OptimizerSpec::defaults(OptimizerKind::Rmsprop)
        };
        let seg = segment(ParamKind::Bias, 0, 1);
        let mut opt = Optimizer::<f64>::new(spec, 1);
        let mut w = [1.0];
        opt.begin_step();
        assert!(opt.update_segment(&seg, &mut w, &[0.0], 0.01).is_nan());
        assert!(w[0].is_nan());
        assert_eq!(opt.state(&seg, StateBuffer::SquareAvg), [0.0]);
        assert_eq!(opt.state(&seg, StateBuffer::ExpAvg), [] as [f64; 0]);
    }
}
