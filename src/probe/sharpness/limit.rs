//! The edge of stability of each optimizer: the sharpness beyond which its iteration on a
//! quadratic no longer converges, and the diagonal preconditioner that adaptive methods apply.
//!
//! With curvature λ along an eigendirection and `h = lr·λ`, each optimizer is a linear recurrence
//! on that direction, stable exactly while `h` is below a constant `c` (so the limit is `c / lr`):
//! - SGD, `w ← w − lr·g`: `|1 − h| < 1`, so `c = 2`.
//! - Heavy-ball momentum μ (PyTorch: `v ← μv + g`, `w ← w − lr·v`): `c = 2(1 + μ)`.
//! - Nesterov (PyTorch: `w ← w − lr·(g + μ·(μv + g))`): the recurrence matrix
//!   `[[1 − h(1+μ), −μ²], [h, μ]]` has an eigenvalue −1 at `h = 2(1 + μ)/(1 + 2μ)`, so
//!   `c = 2(1 + μ)/(1 + 2μ)` (≈ 1.36 for μ = 0.9).
//! - Adam/AdamW: the same analysis on the preconditioned Hessian `P⁻¹H` with
//!   `P = diag(√v̂ + eps)` and the momentum EMA `m ← β1·m + (1 − β1)·g` gives
//!   `c = (2 + 2β1)/(1 − β1)` (= 38 for β1 = 0.9; Cohen et al. 2022, "Adaptive gradient methods at
//!   the edge of stability"). The steady state is meant: Adam's `1/(1 − β1^t)` step correction is
//!   left out (it fades within ~1/(1 − β1) steps). AdamW's decoupled decay is left out too.
//! - RMSprop (no momentum): plain gradient descent on `P⁻¹H` with `P = diag(√v + eps)`, `c = 2`.
//!
//! Per-layer lr multipliers (`[[optimizer.groups]]`) scale `P⁻¹` by each layer's multiplier, so
//! the base lr is what the limit speaks about. Penalties and coupled weight decay are not part of
//! the probed loss (they add at most `2·l2` or `weight_decay` to the weights' curvature).

use crate::core::float::Real;
use crate::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
use crate::core::params::Segment;

/// `c` of the optimizer: stable while `lr · sharpness < c`.
pub fn limit_constant(spec: &OptimizerSpec) -> f64 {
    let mu = spec.momentum;
    let beta1 = spec.betas.0;
    match spec.kind {
        OptimizerKind::Sgd | OptimizerKind::Rmsprop => 2.0,
        OptimizerKind::Momentum => 2.0 * (1.0 + mu),
        OptimizerKind::Nesterov => 2.0 * (1.0 + mu) / (1.0 + 2.0 * mu),
        OptimizerKind::Adam | OptimizerKind::Adamw => (2.0 + 2.0 * beta1) / (1.0 - beta1),
    }
}

/// Whether the optimizer divides gradients by a running RMS (its sharpness is then `λmax(P⁻¹H)`).
pub fn is_adaptive(kind: OptimizerKind) -> bool {
    matches!(
        kind,
        OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::Rmsprop
    )
}

/// The rule in words, for messages: `lr·λ < 2`, `lr·λ < 2(1+μ) = 3.8`, ...
pub fn rule_text(spec: &OptimizerSpec) -> String {
    let c = limit_constant(spec);
    match spec.kind {
        OptimizerKind::Sgd => "lr·λmax(H) < 2".to_string(),
        OptimizerKind::Momentum => format!("lr·λmax(H) < 2(1+μ) = {c:.4}"),
        OptimizerKind::Nesterov => format!("lr·λmax(H) < 2(1+μ)/(1+2μ) = {c:.4}"),
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            format!("lr·λmax(P⁻¹H) < (2+2β1)/(1−β1) = {c:.4}, P = diag(√v̂ + eps)")
        }
        OptimizerKind::Rmsprop => "lr·λmax(P⁻¹H) < 2, P = diag(√v + eps)".to_string(),
    }
}

/// `√d` of the diagonal `D = P⁻¹` (times each layer's lr multiplier) that the next update applies,
/// or `None` when `D = I` (plain SGD-family optimizers without lr groups).
///
/// Adaptive methods use the second moment their next update will hold: `v' = β2·v + (1 − β2)·g²`
/// with `g` the probe batch's gradient `grad`, bias-corrected with `t + 1` for Adam. So at step 0
/// (no state yet) Adam's `P` is `|g| + eps`, exactly what its first update divides by.
pub fn preconditioner_sqrt<T: Real>(
    optimizer: &Optimizer<T>,
    segments: &[Segment],
    lr_scales: &[f64],
    grad: &[f64],
) -> Option<Vec<f64>> {
    let spec = optimizer.spec();
    let grouped = lr_scales.iter().any(|&s| s != 1.0);
    if !is_adaptive(spec.kind) && !grouped {
        return None;
    }
    let (decay, correction) = match spec.kind {
        OptimizerKind::Rmsprop => (spec.alpha, 1.0),
        _ => {
            let t = optimizer.steps_taken() as f64 + 1.0;
            (spec.betas.1, 1.0 - spec.betas.1.powf(t))
        }
    };
    let mut d = vec![1.0; grad.len()];
    for seg in segments {
        let scale = lr_scales.get(seg.layer).copied().unwrap_or(1.0);
        let (_, v) = optimizer.state(seg);
        let r = seg.range();
        for (k, (d, &g)) in d[r].iter_mut().zip(&grad[seg.range()]).enumerate() {
            *d = if is_adaptive(spec.kind) {
                let v_prev = v.get(k).map_or(0.0, |x| x.wide());
                let v_next = decay * v_prev + (1.0 - decay) * g * g;
                scale / ((v_next / correction).sqrt() + spec.eps)
            } else {
                scale
            };
        }
    }
    Some(d.into_iter().map(f64::sqrt).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::params::{ParamKind, Params};

    /// Runs the core's own optimizer on `L = λw²/2` (λ = 1) at `lr = factor · c` and returns |w|.
    fn final_weight(kind: OptimizerKind, factor: f64) -> f64 {
        let spec = OptimizerSpec::defaults(kind);
        let mut p = Params::<f64>::new();
        p.push(0, ParamKind::Bias, 1, 1);
        p.values[0] = 1.0;
        let mut opt = Optimizer::new(spec, 1);
        let lr = factor * limit_constant(&spec);
        for _ in 0..3000 {
            p.grads[0] = p.values[0];
            opt.begin_step();
            let seg = p.segments[0];
            opt.update_segment(&seg, &mut p.values, &p.grads, lr);
        }
        p.values[0].abs()
    }

    #[test]
    fn the_constants_separate_convergence_from_divergence_for_the_core_optimizers() {
        // Independent of the formulas above: the optimizers' own update code decides.
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum,
            OptimizerKind::Nesterov,
        ] {
            assert!(final_weight(kind, 0.98) < 1e-3, "{kind:?} below the limit");
            assert!(final_weight(kind, 1.02) > 1e3, "{kind:?} above the limit");
        }
        let adam = OptimizerSpec::defaults(OptimizerKind::Adam);
        assert!((limit_constant(&adam) - 38.0).abs() < 1e-12);
    }

    #[test]
    fn adam_at_step_0_divides_by_the_gradient_magnitude_and_groups_scale_sgd() {
        let mut p = Params::<f32>::new();
        p.push(0, ParamKind::Weight, 1, 2);
        p.push(1, ParamKind::Bias, 1, 1);
        let opt = Optimizer::<f32>::new(OptimizerSpec::defaults(OptimizerKind::Adam), 3);
        let d = preconditioner_sqrt(&opt, &p.segments, &[1.0, 1.0], &[0.5, -2.0, 0.0]).unwrap();
        // v̂ = g² at t = 1, so d = 1/(|g| + 1e-8).
        let expected = [1.0 / (0.5 + 1e-8), 1.0 / (2.0 + 1e-8), 1e8];
        for (got, want) in d.iter().zip(expected) {
            assert!((got * got / want - 1.0).abs() < 1e-9, "{got}² vs {want}");
        }
        let sgd = Optimizer::<f32>::new(OptimizerSpec::defaults(OptimizerKind::Sgd), 3);
        assert_eq!(
            preconditioner_sqrt(&sgd, &p.segments, &[1.0, 1.0], &[1.0; 3]),
            None
        );
        let grouped = preconditioner_sqrt(&sgd, &p.segments, &[1.0, 4.0], &[1.0; 3]).unwrap();
        assert_eq!(grouped, vec![1.0, 1.0, 2.0]);
    }
}
