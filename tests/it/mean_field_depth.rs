//! Depth-wise gradient scaling at initialization against mean-field theory.
//!
//! For a wide ReLU stack with He init scaled by `s`, each layer multiplies the back-propagated
//! gradient by `√χ₁ = √(2 s² · 1/2) = s` (Poole et al. 2016; Schoenholz et al. 2017). So at step 0
//! the slope of `ln ‖∂L/∂h_l‖` against the hidden-layer index `l` is `-ln s`. The fit here is done
//! independently of the diagnosis code, from the recorded per-layer norms.

use stabcheck::diagnose::Context;
use stabcheck::diagnose::depth::{measured_factor, predicted_factor};
use stabcheck::run::run_recorded;
use stabcheck::scenario;

/// Finite width leaves noise in every layer's factor. Over seeds 1-8 at `s = 1` the fitted slope's
/// error had standard deviation 0.013 and maximum 0.024 (`cargo test --release --test
/// mean_field_depth -- --ignored --nocapture` prints them); we allow 0.05, about 4σ.
const SLOPE_TOLERANCE: f64 = 0.05;

fn wide_relu(init_scale: f64, depth: usize) -> scenario::Scenario {
    let text = format!(
        "name = \"mean-field\"\nsteps = 1\nprecision = \"f64\"\n[data]\nkind = \"teacher-classification\"\n\
         inputs = 64\nclasses = 10\nsamples = 64\nbatch = 64\n[model]\ndepth = {depth}\nwidth = 256\n\
         activation = \"relu\"\ninit = \"he-normal\"\ninit_scale = {init_scale:?}\n\
         [optimizer]\nkind = \"sgd\"\nlr = 1e-3\n"
    );
    scenario::parse_str(&text, "mean-field.toml").unwrap()
}

/// Least-squares slope of `ln ‖∂L/∂h‖` against layer index over hidden layers `1..depth`.
fn fitted_slope(s: &scenario::Scenario) -> f64 {
    let run = run_recorded(s, None, None).unwrap();
    let layers = &run.trace.steps[0].layers;
    let points: Vec<(f64, f64)> = layers[1..s.depth()]
        .iter()
        .map(|l| (l.layer as f64, l.input_grad_norm.unwrap().ln()))
        .collect();
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

#[test]
fn relu_he_gradient_slope_through_depth_is_minus_ln_init_scale() {
    for s in [0.7, 1.0, 1.5, 3.0] {
        let scenario = wide_relu(s, 12);
        let slope = fitted_slope(&scenario);
        let expected = -f64::ln(s);
        assert!(
            (slope - expected).abs() < SLOPE_TOLERANCE,
            "init_scale {s}: fitted slope {slope:.4}, mean-field predicts {expected:.4}"
        );
    }
}

#[test]
fn inverted_dropout_multiplies_chi_by_one_over_keep_and_he_times_sqrt_keep_is_critical() {
    // Dropout p: each layer's gradient second moment gains 1/(1 − p), so the per-layer factor is
    // s/√(1 − p); with s = √(1 − p) it is 1 (level through depth).
    for (p, s) in [(0.5, 1.0), (0.5, 0.5f64.sqrt()), (0.2, 1.0)] {
        let text = wide_relu(s, 12);
        let mut scenario = text;
        scenario.mlp_mut().unwrap().dropout = p;
        let scenario = scenario.revalidate().unwrap();
        let expected = s / (1.0 - p).sqrt();
        let run = run_recorded(&scenario, None, None).unwrap();
        let cx = Context::new(&run.trace, &scenario, None);
        assert!((predicted_factor(&cx).unwrap() - expected).abs() < 1e-12);
        let slope = fitted_slope(&scenario);
        assert!(
            (slope + expected.ln()).abs() < 2.0 * SLOPE_TOLERANCE,
            "p {p}, init_scale {s}: fitted slope {slope:.4}, theory {:.4}",
            -expected.ln()
        );
    }
}

#[test]
fn depth_finding_reports_the_measured_and_predicted_factor() {
    let scenario = wide_relu(1.5, 12);
    let run = run_recorded(&scenario, None, None).unwrap();
    let cx = Context::new(&run.trace, &scenario, None);
    assert_eq!(predicted_factor(&cx), Some(1.5));
    let measured = measured_factor(&cx).unwrap();
    assert!(
        (measured.ln() - 1.5f64.ln()).abs() < SLOPE_TOLERANCE,
        "{measured}"
    );
}

/// Prints the fitted slope at `s = 1` for several seeds: the noise floor behind the tolerance.
#[test]
#[ignore]
fn slope_spread_over_seeds() {
    for seed in 1..=8u64 {
        let mut s = wide_relu(1.0, 12);
        s.seed = seed;
        eprintln!("seed {seed}: slope {:.5}", fitted_slope(&s));
    }
}
