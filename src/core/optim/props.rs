//! Properties of each optimizer, defined once: its state buffers, whether it is adaptive, and
//! the edge of stability that sharpness probes, predictions and messages compare against.
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

use super::{OptimizerKind, OptimizerSpec};

/// One parameter-sized state buffer of an optimizer (PyTorch's names in `optimizer.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateBuffer {
    /// Heavy-ball velocity `v ← μv + g` (momentum, Nesterov).
    MomentumBuffer,
    /// Adam's first moment `m`.
    ExpAvg,
    /// Adam's second moment `v`.
    ExpAvgSq,
    /// RMSprop's running `E[g²]`.
    SquareAvg,
}

impl StateBuffer {
    /// Whether it is a running mean of `g²` (the denominator of an adaptive optimizer).
    pub fn is_second_moment(self) -> bool {
        matches!(self, Self::ExpAvgSq | Self::SquareAvg)
    }
}

impl OptimizerKind {
    /// Whether it divides gradients by a running RMS (`√v + eps`): its sharpness is then
    /// `λmax(P⁻¹H)`, and it has an `eps`.
    pub fn is_adaptive(self) -> bool {
        matches!(self, Self::Adam | Self::Adamw | Self::Rmsprop)
    }

    /// Whether it is plain gradient descent, with or without momentum.
    pub fn is_sgd_family(self) -> bool {
        matches!(self, Self::Sgd | Self::Momentum | Self::Nesterov)
    }

    /// Its parameter-sized state buffers, in the order the optimizer holds them, named as
    /// PyTorch's `optimizer.state_dict()` names them.
    pub fn state_names(self) -> &'static [StateBuffer] {
        match self {
            Self::Sgd => &[],
            Self::Momentum | Self::Nesterov => &[StateBuffer::MomentumBuffer],
            Self::Adam | Self::Adamw => &[StateBuffer::ExpAvg, StateBuffer::ExpAvgSq],
            Self::Rmsprop => &[StateBuffer::SquareAvg],
        }
    }

    /// How many parameter-sized state buffers it keeps (the budget counts them).
    pub fn state_buffers(self) -> usize {
        self.state_names().len()
    }

    /// The dotted name of its update op in records (`adam.update`).
    pub fn update_name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd.update",
            Self::Momentum => "momentum.update",
            Self::Nesterov => "nesterov.update",
            Self::Adam => "adam.update",
            Self::Adamw => "adamw.update",
            Self::Rmsprop => "rmsprop.update",
        }
    }
}

impl OptimizerSpec {
    /// `c`: the iteration is stable while `lr · sharpness < c` (the derivation is above).
    pub fn stability_constant(&self) -> f64 {
        let mu = self.momentum;
        let beta1 = self.betas.0;
        match self.kind {
            OptimizerKind::Sgd | OptimizerKind::Rmsprop => 2.0,
            OptimizerKind::Momentum => 2.0 * (1.0 + mu),
            OptimizerKind::Nesterov => 2.0 * (1.0 + mu) / (1.0 + 2.0 * mu),
            OptimizerKind::Adam | OptimizerKind::Adamw => (2.0 + 2.0 * beta1) / (1.0 - beta1),
        }
    }

    /// The rule in words, for messages: `lr·λ < 2`, `lr·λ < 2(1+μ) = 3.8`, ...
    pub fn stability_rule(&self) -> String {
        let c = self.stability_constant();
        match self.kind {
            OptimizerKind::Sgd => "lr·λmax(H) < 2".to_string(),
            OptimizerKind::Momentum => format!("lr·λmax(H) < 2(1+μ) = {c:.4}"),
            OptimizerKind::Nesterov => format!("lr·λmax(H) < 2(1+μ)/(1+2μ) = {c:.4}"),
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                format!("lr·λmax(P⁻¹H) < (2+2β1)/(1−β1) = {c:.4}, P = diag(√v̂ + eps)")
            }
            OptimizerKind::Rmsprop => "lr·λmax(P⁻¹H) < 2, P = diag(√v + eps)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::optim::Optimizer;
    use crate::core::params::{ParamKind, Params};

    /// Runs the core's own optimizer on `L = λw²/2` (λ = 1) at `lr = factor · c` and returns |w|.
    fn final_weight(kind: OptimizerKind, factor: f64) -> f64 {
        let spec = OptimizerSpec::defaults(kind);
        let mut p = Params::<f64>::new();
        p.push(0, ParamKind::Bias, 1, 1);
        p.values[0] = 1.0;
        let mut opt = Optimizer::new(spec, 1);
        let lr = factor * spec.stability_constant();
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
        assert!((adam.stability_constant() - 38.0).abs() < 1e-12);
    }

    #[test]
    fn state_buffers_is_what_the_optimizer_allocates() {
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum,
            OptimizerKind::Nesterov,
            OptimizerKind::Adam,
            OptimizerKind::Adamw,
            OptimizerKind::Rmsprop,
        ] {
            let opt = Optimizer::<f32>::new(OptimizerSpec::defaults(kind), 5);
            assert_eq!(opt.state_len(), 5 * kind.state_buffers(), "{kind:?}");
            assert!(!(kind.is_adaptive() && kind.is_sgd_family()), "{kind:?}");
        }
    }

    #[test]
    fn nesterov_constant_is_where_its_recurrence_has_eigenvalue_minus_one() {
        // det([[1 − h(1+μ), −μ²], [h, μ]] + I) = 0 at h = c: the eigenvalue −1 of the derivation.
        let spec = OptimizerSpec::defaults(OptimizerKind::Nesterov);
        let (mu, h) = (spec.momentum, spec.stability_constant());
        let det = (2.0 - h * (1.0 + mu)) * (1.0 + mu) + h * mu * mu;
        assert!(det.abs() < 1e-12, "{det}");
    }
}
