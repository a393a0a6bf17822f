//! The edge of stability of each optimizer: the sharpness beyond which its iteration on a
//! quadratic no longer converges, and the diagonal preconditioner that adaptive methods apply.
//!
//! The limits themselves are properties of each optimizer, defined once in
//! [`crate::core::optim::props`].
//!
//! Per-layer lr multipliers (`[[optimizer.groups]]`) scale `P⁻¹` by each layer's multiplier, so
//! the base lr is what the limit speaks about. Penalties and coupled weight decay are not part of
//! the probed loss (they add at most `2·l2` or `weight_decay` to the weights' curvature).

use crate::core::float::Real;
use crate::core::optim::{Optimizer, OptimizerKind};
use crate::core::params::Segment;

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
    if !spec.kind.is_adaptive() && !grouped {
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
        let v = optimizer.second_moment(seg);
        let r = seg.range();
        for (k, (d, &g)) in d[r].iter_mut().zip(&grad[seg.range()]).enumerate() {
            *d = if spec.kind.is_adaptive() {
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
    use crate::core::optim::OptimizerSpec;
    use crate::core::params::{ParamKind, Params};

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
