//! Unit tests of `core::layers::activation`, in their own file to keep the module short.

use super::*;

const ALL: [Activation; 7] = Activation::ALL;

#[test]
fn test_sigmoid_overflow() {
    assert_eq!(sigmoid(f32::MAX), 1.0);
    assert_eq!(sigmoid(f32::MIN), 0.0);
    assert_eq!(sigmoid(1e4f64), 1.0);
}

#[test]
fn relu_propagates_nan_forward_and_backward() {
    use ndarray::{Array2, array};
    let z = array![[f32::NAN, -1.0, 2.0]];
    let mut a = Array2::zeros((1, 3));
    Activation::Relu.forward(z.view(), a.view_mut());
    assert!(a[(0, 0)].is_nan(), "relu(NaN) must stay NaN, not become 0");
    assert_eq!((a[(0, 1)], a[(0, 2)]), (0.0, 2.0));
    let mut dz = Array2::zeros((1, 3));
    let da = array![[5.0f32, 5.0, 5.0]];
    Activation::Relu.backward(z.view(), a.view(), da.view(), dz.view_mut());
    assert_eq!(dz, array![[5.0, 0.0, 5.0]]);
    assert!(Activation::Softplus.apply(f64::NAN).is_nan());
}

#[test]
fn fast_loops_match_the_scalar_formulas() {
    use ndarray::{Array2, Zip};
    let z = Array2::from_shape_fn((5, 7), |(i, j)| {
        (i as f64 - 2.0) * 0.9 + j as f64 * 0.31 - 1.0
    });
    let da = Array2::from_shape_fn((5, 7), |(i, j)| 1.0 + (i * j) as f64 * 0.1);
    for act in ALL {
        let mut a = Array2::zeros((5, 7));
        act.forward(z.view(), a.view_mut());
        let mut dz = Array2::zeros((5, 7));
        act.backward(z.view(), a.view(), da.view(), dz.view_mut());
        Zip::from(&z)
            .and(&a)
            .and(&da)
            .and(&dz)
            .for_each(|&z, &a, &d, &g| {
                assert_eq!(a, act.apply(z), "{act:?} forward at {z}");
                assert_eq!(g, act.derivative(z, a) * d, "{act:?} backward at {z}");
            });
    }
}

#[test]
fn softplus_is_finite_and_exact_in_both_tails() {
    assert_eq!(Activation::Softplus.apply(1e4f32), 1e4);
    assert_eq!(Activation::Softplus.apply(-1e4f32), 0.0);
    let x = 0.3f64;
    assert!((Activation::Softplus.apply(x) - (1.0 + x.exp()).ln()).abs() < 1e-15);
}

#[test]
fn known_values() {
    assert_eq!(Activation::Relu.apply(-2.0f64), 0.0);
    assert_eq!(Activation::LeakyRelu.apply(-2.0f64), -0.02);
    // GELU(1) = Φ(1) = 0.8413447460685429
    assert!((Activation::Gelu.apply(1.0f64) - 0.841_344_746_068_542_9).abs() < 1e-12);
    assert!((Activation::Tanh.derivative(0.0f64, 0.0) - 1.0).abs() < 1e-15);
    assert!((Activation::Sigmoid.derivative(0.0f64, 0.5) - 0.25).abs() < 1e-15);
}

#[test]
fn derivative_matches_central_difference_in_f64() {
    // Points avoid the kinks of relu/leaky-relu at 0.
    let h = 1e-5;
    for act in ALL {
        for &z in &[-3.1f64, -0.7, -0.05, 0.05, 0.4, 2.2, 6.0] {
            let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
            let analytic = act.derivative(z, act.apply(z));
            let err = (numeric - analytic).abs() / analytic.abs().max(1e-3);
            assert!(err < 1e-8, "{act:?} at {z}: {analytic} vs {numeric}");
        }
    }
}
