//! Whole-model gradient checks: every architecture kind's backward pass against central differences in f64.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use stabcheck::core::gradcheck::{Tolerance, check};
use stabcheck::core::layers::NormKind;
use stabcheck::core::layers::activation::Activation;
use stabcheck::core::loss::{LossKind, LossTarget};
use stabcheck::core::model::{Model, ModelSpec};

const BATCH: usize = 5;

fn spec(activation: Activation, norm: NormKind, residual: bool, dropout: f64) -> ModelSpec {
    ModelSpec {
        inputs: 4,
        hidden: vec![6, 6, 6],
        outputs: 3,
        activation,
        norm,
        norm_eps: 1e-5,
        residual,
        dropout,
    }
}

fn gaussian(rows: usize, cols: usize, std: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| {
        let z: f64 = StandardNormal.sample(rng);
        z * std
    })
}

/// Builds the model, fixes its dropout mask, and checks ∂loss/∂θ for every parameter.
fn assert_model_gradient(spec: ModelSpec, loss: LossKind) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut model = Model::<f64>::new(spec.clone(), BATCH, 3);
    model.init_weights(0.1, |_, fan_in, fan_out| {
        gaussian(fan_in, fan_out, (1.5 / fan_in as f64).sqrt(), &mut rng)
    });
    let x = gaussian(BATCH, spec.inputs, 1.0, &mut rng);
    let labels = [0, 2, 1, 1, 0];
    let target = LossTarget::Classes(&labels);
    model.loss_and_grad(x.view(), &target, loss); // draws the dropout mask once
    model.freeze_dropout = true;
    model.loss_and_grad(x.view(), &target, loss);
    let analytic = model.params.grads.clone();
    let x0 = model.params.values.clone();
    let report = check(
        |v| {
            let mut m = model.clone();
            m.params.values.copy_from_slice(v);
            m.loss_and_grad(x.view(), &target, loss)
        },
        &x0,
        &analytic,
    );
    assert!(
        report.passed(Tolerance::GRADCHECK),
        "{spec:?} {loss:?}: {report}"
    );
}

#[test]
fn plain_mlp_gradients_for_every_activation() {
    for act in Activation::ALL {
        assert_model_gradient(
            spec(act, NormKind::None, false, 0.0),
            LossKind::CrossEntropy,
        );
    }
}

#[test]
fn plain_mlp_gradients_for_every_loss() {
    for loss in [LossKind::CrossEntropy, LossKind::Mse, LossKind::Bce] {
        assert_model_gradient(spec(Activation::Tanh, NormKind::None, false, 0.0), loss);
    }
}

#[test]
fn layernorm_model_gradients() {
    assert_model_gradient(
        spec(Activation::Gelu, NormKind::Layernorm, false, 0.0),
        LossKind::CrossEntropy,
    );
}

#[test]
fn batchnorm_model_gradients() {
    assert_model_gradient(
        spec(Activation::Tanh, NormKind::Batchnorm, false, 0.0),
        LossKind::CrossEntropy,
    );
}

#[test]
fn residual_model_gradients() {
    assert_model_gradient(
        spec(Activation::Softplus, NormKind::Layernorm, true, 0.0),
        LossKind::Mse,
    );
    assert_model_gradient(
        spec(Activation::Relu, NormKind::None, true, 0.0),
        LossKind::CrossEntropy,
    );
}

#[test]
fn dropout_model_gradients_with_a_fixed_mask() {
    assert_model_gradient(
        spec(Activation::Sigmoid, NormKind::None, true, 0.3),
        LossKind::CrossEntropy,
    );
}

#[test]
fn linear_model_gradients() {
    let mut s = spec(Activation::Relu, NormKind::None, false, 0.0);
    s.hidden.clear();
    assert_model_gradient(s, LossKind::CrossEntropy);
}

#[test]
fn gradient_check_catches_a_broken_backward_pass() {
    // Guard for the guard: corrupt one analytic gradient element and the check must fail.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut model = Model::<f64>::new(spec(Activation::Tanh, NormKind::None, false, 0.0), BATCH, 3);
    model.init_weights(0.0, |_, i, o| gaussian(i, o, 0.5, &mut rng));
    let x = gaussian(BATCH, 4, 1.0, &mut rng);
    let labels = [0, 2, 1, 1, 0];
    let target = LossTarget::Classes(&labels);
    model.loss_and_grad(x.view(), &target, LossKind::CrossEntropy);
    let mut analytic = model.params.grads.clone();
    analytic[7] *= 1.001;
    let x0 = model.params.values.clone();
    let report = check(
        |v| {
            let mut m = model.clone();
            m.params.values.copy_from_slice(v);
            m.loss_and_grad(x.view(), &target, LossKind::CrossEntropy)
        },
        &x0,
        &analytic,
    );
    assert!(!report.passed(Tolerance::GRADCHECK));
    assert_eq!(report.worst_index, 7);
}
