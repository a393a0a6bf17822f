//! Adam and AdamW (PyTorch `torch.optim.Adam` / `AdamW`, `amsgrad = false`).
//!
//! With `t` the 1-based step and coupled decay `g ← g + wd·w` (Adam only, weight segments only):
//! - `m ← m + (1 − β1)·(g − m)` (PyTorch's `lerp_`; equal to `β1·m + (1 − β1)·g` in exact
//!   arithmetic), `v ← β2·v + (1 − β2)·g·g`
//! - `w ← w − lr·m̂ / (√v̂ + eps)` with `m̂ = m / (1 − β1^t)`, `v̂ = v / (1 − β2^t)`
//!
//! AdamW instead first shrinks weight segments, `w ← w·(1 − lr·wd)` (PyTorch's form of the
//! decoupled `w ← w − lr·wd·w`), or with independent decay `w ← w·(1 − wd)`, then takes the Adam
//! step with the raw gradient.
//!
//! As in PyTorch the bias corrections are computed in `f64` and folded into the step,
//! `w ← w − (lr / (1 − β1^t))·m / (√v / √(1 − β2^t) + eps)`, while everything elementwise runs in
//! `T` in PyTorch's order (`((1 − β2)·g)·g`), so `f32` runs overflow where real ones do. `eps` is the
//! only epsilon: with `eps = 0` a zero gradient gives `0/0 = NaN`, a hazard the probes must see.

use super::{Measured, decay_factor, decayed, update_each};
use crate::core::float::Real;

/// Hyperparameters of one Adam/AdamW segment update.
#[derive(Debug, Clone, Copy)]
pub(super) struct AdamStep {
    /// Effective learning rate of this segment.
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// 1-based step count.
    pub t: u64,
    /// Adam's coupled decay (0 for AdamW and for non-weight segments).
    pub coupled_decay: f64,
    /// AdamW's decoupled decay (0 for Adam and for non-weight segments).
    pub decoupled_decay: f64,
    /// The decoupled decay is independent of the learning rate: `w·(1 − wd)`.
    pub independent: bool,
    /// Also measure `‖θ‖²` after the update.
    pub value_norm: bool,
}

/// One Adam/AdamW update of a segment with moments `m`, `v`; returns `‖Δθ‖²` (and `‖θ‖²` when
/// asked).
pub(super) fn adam<T: Real>(
    values: &mut [T],
    grads: &[T],
    m: &mut [T],
    v: &mut [T],
    h: &AdamStep,
) -> Measured {
    let (beta1, beta2) = h.betas;
    let t = h.t as f64;
    let step_size = T::of(h.lr / (1.0 - beta1.powf(t)));
    let bias_correction2_sqrt = T::of((1.0 - beta2.powf(t)).sqrt());
    let one_minus_b1 = T::of(1.0 - beta1);
    let (b2, one_minus_b2) = (T::of(beta2), T::of(1.0 - beta2));
    let eps = T::of(h.eps);
    let coupled = decay_factor::<T>(h.coupled_decay);
    let decay_rate = if h.independent { 1.0 } else { h.lr };
    let shrink = (h.decoupled_decay != 0.0).then(|| T::of(1.0 - decay_rate * h.decoupled_decay));
    assert!(
        m.len() == values.len() && v.len() == values.len(),
        "two moments per parameter"
    );
    update_each(values, grads, h.value_norm, |i, old, g| {
        let (m, v) = (&mut m[i], &mut v[i]);
        let current = shrink.map_or(old, |s| old * s);
        let g = decayed(g, current, coupled);
        *m += one_minus_b1 * (g - *m);
        *v = b2 * *v + one_minus_b2 * g * g;
        let denom = v.sqrt() / bias_correction2_sqrt + eps;
        current - step_size * *m / denom
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, segment, two_steps, with_decay as spec};
    use super::super::{Optimizer, OptimizerKind, OptimizerSpec, StateBuffer};
    use crate::core::params::{ParamKind, Segment};

    // The shared example (see `testing::two_steps`): w = [1, −2], b = [3], lr = 0.1,
    // β = (0.9, 0.999), eps = 1e-8; gradients step 1 [0.5, −1 | 0.5], step 2 [0.25, 2 | 0.5].
    //
    // Step 1: m = 0.1·g, v = 0.001·g², 1 − β1 = 0.1, 1 − β2 = 0.001, so m̂ = g, √v̂ = |g| and each
    //   element moves by 0.1·g / (|g| + 1e-8): 0.05 / 0.50000001 = 0.09999999800000004 for |g| = 0.5,
    //   0.1 / 1.00000001 = 0.09999999900000001 for |g| = 1.
    // Step 2: 1 − β1² = 0.19, 1 − β2² = 0.001999.
    //   w0: m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225;
    //       m̂ = 0.368421052632, √v̂ = √0.156203101551 = 0.395225380702 → moves 0.0932179615225383.
    //   w1: m = −0.09 + 0.2 = 0.11, v = 0.000999 + 0.004 = 0.004999;
    //       m̂ = 0.578947368421, √v̂ = √2.50075037519 = 1.58137610175 → moves 0.0366103524720751.
    //   b: constant gradient, so again m̂ = 0.5, √v̂ = 0.5 → moves 0.09999999800000004.

    #[test]
    fn adam_two_steps_match_hand_computation() {
        // Step 1: [1 − 0.099999998, −2 + 0.099999999 | 3 − 0.099999998]
        //   = [0.900000002, −1.900000001 | 2.900000002].
        // Step 2: [0.900000002 − 0.0932179615225383, −1.900000001 − 0.0366103524720751 | 2.800000004]
        //   = [0.8067820404774617, −1.9366103534720751 | 2.800000004].
        //   ‖Δθ‖² of step 1 = 2·0.099999998² + 0.099999999² = 0.029999999000000027.
        let [(v1, sq1), (v2, _)] = two_steps(spec(OptimizerKind::Adam, 0.0), 0.1);
        assert_close(&v1, &[0.900000002, -1.900000001, 2.900000002]);
        assert_close(&[sq1], &[0.029999999000000027]);
        assert_close(&v2, &[0.8067820404774617, -1.936610353472075, 2.800000004]);
    }

    #[test]
    fn adamw_decays_weights_decoupled_and_never_the_bias() {
        // wd = 0.1, lr = 0.1: weights shrink by 1 − 0.01 = 0.99 before each Adam step; moments
        // see the raw gradient, so the moves are the step 1 / step 2 moves above; the bias is not decayed.
        // Step 1: [0.99 − 0.099999998, −1.98 + 0.099999999 | 2.900000002]
        //   = [0.890000002, −1.880000001 | 2.900000002].
        // Step 2: [0.99·0.890000002 − 0.0932179615225383, 0.99·(−1.880000001) − 0.0366103524720751 | …]
        //   = [0.88110000198 − 0.0932179615225383, −1.86120000099 − 0.0366103524720751 | 2.800000004]
        //   = [0.7878820404574617, −1.8978103534620751 | 2.800000004].
        let [(v1, _), (v2, _)] = two_steps(spec(OptimizerKind::Adamw, 0.1), 0.1);
        assert_close(&v1, &[0.890000002, -1.880000001, 2.900000002]);
        assert_close(&v2, &[0.7878820404574617, -1.897810353462075, 2.800000004]);
    }

    #[test]
    fn independent_decay_is_not_multiplied_by_the_lr() {
        // A zero gradient leaves m = v = 0 and the Adam move 0, so only the decay acts:
        // w_t = (1 − wd)^t independent, (1 − lr·wd)^t decoupled, whatever the lr.
        for lr in [1e-3, 0.5] {
            for independent in [true, false] {
                let spec = OptimizerSpec {
                    weight_decay: 0.1,
                    independent_weight_decay: independent,
                    ..OptimizerSpec::defaults(OptimizerKind::Adamw)
                };
                let mut opt = Optimizer::<f64>::new(spec, 1);
                let mut w = [2.0];
                for _ in 0..3 {
                    opt.begin_step();
                    opt.update_segment(&one_weight(), &mut w, &[0.0], lr);
                }
                let factor: f64 = if independent { 0.9 } else { 1.0 - lr * 0.1 };
                assert!(
                    (w[0] - 2.0 * factor.powi(3)).abs() < 1e-15,
                    "lr {lr} independent {independent}: {}",
                    w[0]
                );
            }
        }
    }

    fn one_weight() -> Segment {
        segment(ParamKind::Weight, 0, 1)
    }

    #[test]
    fn adam_with_zero_eps_and_zero_gradient_gives_nan() {
        // m = v = 0, so the step is 0 / (0 + 0) = NaN: no hidden epsilon may rescue it.
        let spec = OptimizerSpec {
            eps: 0.0,
            ..OptimizerSpec::defaults(OptimizerKind::Adam)
        };
        let mut opt = Optimizer::<f64>::new(spec, 1);
        let mut w = [1.0];
        opt.begin_step();
        let sq = opt.update_segment(&one_weight(), &mut w, &[0.0], 1e-3);
        assert!(w[0].is_nan(), "got {}", w[0]);
        assert!(sq.is_nan(), "‖Δθ‖² must propagate NaN, got {sq}");
    }

    #[test]
    fn adam_in_f32_overflows_the_second_moment_like_real_training() {
        // (0.001·1e25)·1e25 = 1e47 > f32::MAX, so v = inf, the denominator is inf and the step is 0;
        // in f64 the same gradient moves the weight by lr (m̂/√v̂ = 1).
        let spec = OptimizerSpec::defaults(OptimizerKind::Adam);
        let mut opt = Optimizer::<f32>::new(spec, 1);
        let mut w = [1.0f32];
        opt.begin_step();
        opt.update_segment(&one_weight(), &mut w, &[1e25], 0.1);
        assert_eq!(w[0], 1.0);
        assert_eq!(
            opt.state(&one_weight(), StateBuffer::ExpAvgSq),
            [f32::INFINITY]
        );

        let mut opt = Optimizer::<f64>::new(spec, 1);
        let mut w = [1.0f64];
        opt.begin_step();
        opt.update_segment(&one_weight(), &mut w, &[1e25], 0.1);
        assert!((w[0] - 0.9).abs() < 1e-12, "got {}", w[0]);
    }
}
