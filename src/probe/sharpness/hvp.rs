//! Hessian-vector products of the mean loss on a fixed probe batch, by central differences of
//! gradients in `f64`: `H·x ≈ (∇L(w + εx) − ∇L(w − εx)) / 2ε`, with `‖εx‖ = FD_STEP · max(1, ‖w‖)`.
//!
//! The model is an `f64` copy (an `f32` run's weights are widened exactly), built without dropout
//! (the probe evaluates deterministically, as PyTorch's eval mode does for dropout); batchnorm
//! normalizes with the probe batch's own statistics, as the training loss does. The copy has its
//! own buffers, so probing never touches the training model.
//!
//! ReLU-family activations are frozen at the center's pattern (`Model::freeze_activation_pattern`),
//! so the products are those of autodiff's Hessian (`relu'' = 0`): without it the kinks crossed
//! inside `±εx` add an ε-dependent spike of curvature (deep-mlp after 20 SGD steps: λ from 43 to
//! 147 as ε went from 1e-3 to 1e-6 of ‖w‖). Accuracy: on a quadratic the difference is exact up
//! to rounding (`≈ 1e-16·‖∇L‖/ε`); otherwise the truncation error is `O(ε²)` (the same deep-mlp
//! point, frozen: 42.816, 42.76609, 42.765593, 42.765588 at ε = 1e-4 … 1e-7).

use super::net::ProbeNet;
use super::power::norm;
use crate::core::data::Dataset;
use crate::core::data::tokens::TokenData;
use crate::core::float::Real;
use crate::core::gpt::GptSpec;
use crate::core::loss::LossKind;
use crate::core::model::ModelSpec;

/// Relative size of the finite-difference step (see the module docs).
pub const FD_STEP: f64 = 1e-6;

/// Most samples in the probe batch when training uses mini-batches.
pub const PROBE_SAMPLES: usize = 256;

/// The loss of a fixed batch as a function of the parameters, with its gradient and HVPs.
#[derive(Debug, Clone)]
pub struct HvpOperator {
    net: ProbeNet,
    /// The weights `w` the products are taken at.
    pub center: Vec<f64>,
    center_grad: Vec<f64>,
    /// `√d` of a diagonal preconditioner `D`: [`HvpOperator::apply`] then gives `D½·H·D½·u`.
    pub scale: Option<Vec<f64>>,
    /// Relative finite-difference step ([`FD_STEP`] unless changed, e.g. to measure its effect).
    pub fd_step: f64,
    shifted: Vec<f64>,
    plus: Vec<f64>,
    minus: Vec<f64>,
    /// Gradient evaluations so far.
    pub gradients: usize,
}

/// The probe batch: every sample when training is full-batch, else the first
/// [`PROBE_SAMPLES`] samples in data order (fixed for the whole run).
pub fn probe_batch_size(samples: usize, batch: usize) -> usize {
    if batch >= samples {
        samples
    } else {
        samples.min(PROBE_SAMPLES)
    }
}

impl HvpOperator {
    /// Products of an MLP's loss on [`probe_batch_size`] samples of `data`.
    pub fn new<T: Real>(
        spec: &ModelSpec,
        data: &Dataset<T>,
        batch: usize,
        loss: LossKind,
        seed: u64,
    ) -> Self {
        let n = probe_batch_size(data.len(), batch);
        Self::of(ProbeNet::mlp(spec, data, n, loss, seed))
    }

    /// Products of a GPT's loss on its probe batch (see [`ProbeNet::gpt`]).
    pub fn gpt(spec: GptSpec, data: &TokenData) -> Self {
        Self::of(ProbeNet::gpt(spec, data))
    }

    fn of(net: ProbeNet) -> Self {
        let len = net.params_len();
        HvpOperator {
            net,
            center: vec![0.0; len],
            center_grad: vec![0.0; len],
            scale: None,
            fd_step: FD_STEP,
            shifted: vec![0.0; len],
            plus: vec![0.0; len],
            minus: vec![0.0; len],
            gradients: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.center.len()
    }

    pub fn is_empty(&self) -> bool {
        self.center.is_empty()
    }

    /// Samples in the probe batch.
    pub fn batch(&self) -> usize {
        self.net.batch()
    }

    /// Sets the weights the products are taken at (widened to `f64`), evaluates the loss and
    /// gradient there ([`HvpOperator::center_grad`]) and freezes the ReLU pattern at that point.
    /// Returns the loss.
    pub fn load<T: Real>(&mut self, values: &[T]) -> f64 {
        for (c, v) in self.center.iter_mut().zip(values) {
            *c = v.wide();
        }
        self.net.freeze(false);
        self.gradients += 1;
        let loss = self.net.gradient(&self.center, &mut self.center_grad);
        self.net.freeze(true);
        loss
    }

    /// The gradient at the center (after [`HvpOperator::load`]).
    pub fn center_grad(&self) -> &[f64] {
        &self.center_grad
    }

    /// `out = D½·H·D½·u` (`H·u` without a preconditioner) at the center.
    pub fn apply(&mut self, u: &[f64], out: &mut [f64]) {
        let direction: &[f64] = match &self.scale {
            Some(scale) => {
                for ((o, u), s) in out.iter_mut().zip(u).zip(scale) {
                    *o = u * s;
                }
                &*out
            }
            None => u,
        };
        let eps = self.fd_step * norm(&self.center).max(1.0) / norm(direction);
        for (sign, buf) in [(1.0, &mut self.plus), (-1.0, &mut self.minus)] {
            for ((w, c), d) in self.shifted.iter_mut().zip(&self.center).zip(direction) {
                *w = c + sign * eps * d;
            }
            self.net.gradient(&self.shifted, buf);
        }
        self.gradients += 2;
        let scale = self.scale.as_deref();
        for (i, o) in out.iter_mut().enumerate() {
            let hv = (self.plus[i] - self.minus[i]) / (2.0 * eps);
            *o = scale.map_or(hv, |s| hv * s[i]);
        }
    }
}

impl HvpOperator {
    /// The mean loss at `w` with its gradient in `out` (tests difference it).
    #[cfg(test)]
    fn gradient_at(&mut self, w: &[f64], out: &mut [f64]) -> f64 {
        self.net.gradient(w, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::{DataKind, DataSpec, Task, load};
    use crate::core::layers::NormKind;
    use crate::core::layers::activation::Activation;
    use crate::core::rng::{Stream, stream_rng};
    use rand_distr::{Distribution, StandardNormal};

    /// A 3 → 8 → 8 → 2 classifier on teacher data with Gaussian weights.
    fn operator(activation: Activation, norm: NormKind) -> HvpOperator {
        let spec = DataSpec {
            kind: DataKind::TeacherClassification,
            inputs: Some(3),
            task: Task::Classification { classes: 2 },
            samples: Some(40),
            input_scale: 1.0,
            path: None,
        };
        let data = load::<f64>(&spec, 1).unwrap();
        let model_spec = ModelSpec {
            inputs: 3,
            hidden: vec![8, 8],
            outputs: 2,
            activation,
            norm,
            norm_eps: 1e-5,
            residual: false,
            dropout: 0.3,
        };
        let mut op = HvpOperator::new(&model_spec, &data, 40, LossKind::CrossEntropy, 1);
        let mut rng = stream_rng(2, Stream::Init(0));
        let w: Vec<f64> = (0..op.len())
            .map(|_| 0.7 * Distribution::<f64>::sample(&StandardNormal, &mut rng))
            .collect();
        op.load(&w);
        op
    }

    /// `vᵀHv` from second differences of the loss values alone (gradients unused), with the same
    /// frozen activation pattern.
    fn curvature_from_losses(op: &mut HvpOperator, v: &[f64], h: f64) -> f64 {
        let mut at = |t: f64| {
            let w: Vec<f64> = op.center.iter().zip(v).map(|(c, d)| c + t * d).collect();
            let mut g = vec![0.0; w.len()];
            op.gradient_at(&w, &mut g)
        };
        (at(h) - 2.0 * at(0.0) + at(-h)) / (h * h)
    }

    /// `vᵀHv` from one product along a seeded Gaussian `v`, the loss's second difference along
    /// `v` (step 1e-4), and their relative difference.
    fn product_and_second_difference(mut op: HvpOperator) -> (f64, f64, f64) {
        let mut rng = stream_rng(3, Stream::Init(1));
        let v: Vec<f64> = (0..op.len())
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let mut hv = vec![0.0; v.len()];
        op.apply(&v, &mut hv);
        let product: f64 = v.iter().zip(&hv).map(|(a, b)| a * b).sum();
        let second = curvature_from_losses(&mut op, &v, 1e-4);
        (
            product,
            second,
            (product - second).abs() / second.abs().max(1e-3),
        )
    }

    #[test]
    fn products_match_second_differences_of_the_loss() {
        let cases = [
            (Activation::Tanh, NormKind::None),
            (Activation::Relu, NormKind::None),
            (Activation::Gelu, NormKind::Batchnorm),
        ];
        for (activation, norm) in cases {
            let (product, second, rel) = product_and_second_difference(operator(activation, norm));
            assert!(
                rel < 1e-4,
                "{activation:?}/{norm:?}: vᵀHv {product} vs {second}"
            );
        }
    }

    #[test]
    fn gpt_products_match_second_differences_of_the_loss() {
        use crate::core::data::tokens::{TokenData, TokenTask};
        use crate::core::gpt::{Gpt, GptSpec, MlpActivation};
        for (act, qk_norm) in [(MlpActivation::Gelu, false), (MlpActivation::Swiglu, true)] {
            let spec = GptSpec {
                mlp_activation: act,
                qk_norm,
                batch: 2,
                init_std: 0.3,
                ..GptSpec::for_tests()
            };
            let data = TokenData::synthetic(TokenTask::Markov, spec.vocab, spec.context, 8, 4);
            let mut op = HvpOperator::gpt(spec, &data);
            assert_eq!(op.batch(), 2);
            op.load(&Gpt::<f64>::new(spec, 9).params.values);
            let (product, second, rel) = product_and_second_difference(op);
            assert!(rel < 1e-4, "{act:?}: vᵀHv {product} vs {second}");
        }
    }

    #[test]
    fn relu_products_do_not_depend_on_the_step_once_the_pattern_is_frozen() {
        let op = operator(Activation::Relu, NormKind::None);
        let (coarse, fine) = products_at_two_steps(op);
        assert_close_products(&coarse, &fine, 1e-5);
    }

    /// `H·v` along a fixed `v` at FD steps 1e-3 and 1e-7.
    fn products_at_two_steps(mut op: HvpOperator) -> (Vec<f64>, Vec<f64>) {
        let v: Vec<f64> = (0..op.len()).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let mut at = |step: f64| {
            op.fd_step = step;
            let mut hv = vec![0.0; v.len()];
            op.apply(&v, &mut hv);
            hv
        };
        (at(1e-3), at(1e-7))
    }

    fn assert_close_products(coarse: &[f64], fine: &[f64], rel: f64) {
        let diff: f64 = coarse.iter().zip(fine).map(|(a, b)| (a - b).powi(2)).sum();
        let (diff, scale) = (diff.sqrt(), norm(fine));
        assert!(diff <= rel * scale, "{diff} vs {scale}");
    }

    /// A ReLU GPT's products too: frozen at the centre's pattern they agree across FD steps;
    /// thawed, the coarse step crosses kinks and they do not (so the freezing is what holds).
    #[test]
    fn relu_gpt_products_do_not_depend_on_the_step_once_the_pattern_is_frozen() {
        use crate::core::data::tokens::{TokenData, TokenTask};
        use crate::core::gpt::{Gpt, GptSpec, MlpActivation};
        let spec = GptSpec {
            mlp_activation: MlpActivation::Relu,
            batch: 2,
            init_std: 0.3,
            ..GptSpec::for_tests()
        };
        let data = TokenData::synthetic(TokenTask::Markov, spec.vocab, spec.context, 8, 4);
        let mut op = HvpOperator::gpt(spec, &data);
        op.load(&Gpt::<f64>::new(spec, 9).params.values);
        let gap = |(coarse, fine): (Vec<f64>, Vec<f64>)| {
            let diff: f64 = coarse.iter().zip(&fine).map(|(a, b)| (a - b).powi(2)).sum();
            diff.sqrt() / norm(&fine)
        };
        // Frozen, what is left is the smooth parts' O(ε²) truncation at the coarse step.
        let frozen = gap(products_at_two_steps(op.clone()));
        op.net.freeze(false);
        let thawed = gap(products_at_two_steps(op));
        assert!(
            frozen < 1e-3 && thawed > 10.0 * frozen,
            "frozen {frozen}, thawed {thawed}"
        );
    }
}
