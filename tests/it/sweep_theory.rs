//! The stability map against theory: full-batch gradient descent on linear least squares (MSE,
//! one output) diverges exactly when lr > lr* = 2/λmax of the loss Hessian (2/n)AᵀA, A = the
//! inputs with a ones column. λmax is computed here independently, by power iteration in f64 on
//! the very data the scenario trains on, and the sweep's measured boundary must lie within 5%.

use stabcheck::core::data::{self, Dataset};
use stabcheck::robust::axis::Axis;
use stabcheck::robust::sweep::Grid;
use stabcheck::run::build::data_spec;
use stabcheck::scenario::Scenario;

/// Linear regression, f64, full batch, plain SGD from a 0.01 normal init, every gate at its
/// default: the gates judge instability, not the large relative steps that grow small weights.
const LEAST_SQUARES: &str = r#"
name = "least-squares"
seed = 5
steps = 300
precision = "f64"
[data]
kind = "teacher-regression"
inputs = 8
outputs = 1
samples = 256
batch = 256
[model]
depth = 0
init = "normal"
init_std = 0.01
[loss]
kind = "mse"
[optimizer]
kind = "sgd"
lr = 0.1
"#;

fn scenario() -> Scenario {
    stabcheck::scenario::parse_str(LEAST_SQUARES, "least-squares.toml").unwrap()
}

/// λmax of (2/n)AᵀA by power iteration, in f64, from the dataset alone.
fn lambda_max(d: &Dataset<f64>) -> f64 {
    let (n, p) = (d.x.nrows(), d.x.ncols() + 1);
    let row = |i: usize, j: usize| if j < p - 1 { d.x[[i, j]] } else { 1.0 };
    let mut h = vec![0.0; p * p];
    for i in 0..n {
        for a in 0..p {
            for b in 0..p {
                h[a * p + b] += 2.0 / n as f64 * row(i, a) * row(i, b);
            }
        }
    }
    let mut v = vec![1.0; p];
    let mut lambda = 0.0;
    for _ in 0..10_000 {
        let w: Vec<f64> = (0..p)
            .map(|a| (0..p).map(|b| h[a * p + b] * v[b]).sum())
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        let next = v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        v = w.iter().map(|x| x / norm).collect();
        if (next - lambda).abs() < 1e-14 * next.abs() {
            break;
        }
        lambda = next;
    }
    lambda
}

#[test]
fn the_measured_lr_boundary_of_least_squares_is_2_over_lambda_max() {
    let s = scenario();
    let d = data::load::<f64>(&data_spec(&s, None), s.seed).unwrap();
    let lr_star = 2.0 / lambda_max(&d);
    // 48 log-spaced lrs from lr*/2 to 2 lr*: neighbouring cells differ by 3%.
    let spec = format!("optimizer.lr={}..{}:log", lr_star / 2.0, lr_star * 2.0);
    let x = Axis::parse("--x", &spec, 48, &s).unwrap();
    assert!(x.log);
    let grid = Grid::new(&s, x, None).unwrap();
    let cells = grid.run(None, &|_| true, &|| {}).unwrap();
    let last_stable = cells
        .iter()
        .filter(|c| c.stable)
        .map(|c| c.x)
        .fold(0.0, f64::max);
    let first_unstable = cells
        .iter()
        .filter(|c| !c.stable)
        .map(|c| c.x)
        .fold(f64::INFINITY, f64::min);
    assert!(
        last_stable < first_unstable,
        "one boundary: stable up to {last_stable}, unstable from {first_unstable}"
    );
    let measured = (last_stable * first_unstable).sqrt();
    let error = (measured / lr_star - 1.0).abs();
    assert!(
        error < 0.05,
        "boundary {measured} (between {last_stable} and {first_unstable}) vs lr* = {lr_star}: {:.1}% off",
        error * 100.0
    );
}

/// Regression: a run that reaches the least-squares minimum (a nonzero residual, since the
/// teacher is nonlinear) ends with a vanishing gradient at a flat loss; that is the minimum, not
/// `vanishing-gradients` and not a `plateau` (docs/conventions.md, "Stable").
#[test]
fn a_least_squares_run_at_its_minimum_is_neither_vanishing_nor_a_plateau() {
    let s = scenario();
    let d = data::load::<f64>(&data_spec(&s, None), s.seed).unwrap();
    let lr = 0.5 * 2.0 / lambda_max(&d);
    let set = stabcheck::scenario::SetOverride::parse(&format!("optimizer.lr={lr:e}")).unwrap();
    let overrides = stabcheck::scenario::Overrides {
        seed: None,
        steps: None,
        set: vec![set],
    };
    let s = stabcheck::scenario::apply_overrides(&s, &overrides).unwrap();
    let run = stabcheck::run::run_recorded(&s, None, None).unwrap();
    let last = run.summary.steps.last().unwrap();
    assert!(
        last.grad_norm < 1e-7,
        "the gradient vanished: {}",
        last.grad_norm
    );
    assert!(last.loss > 1e-2, "a residual remains: {}", last.loss);
    let kinds: Vec<_> = run.verdict.findings.iter().map(|f| f.kind.name()).collect();
    assert!(
        !kinds.contains(&"vanishing-gradients") && !kinds.contains(&"plateau"),
        "{kinds:?}"
    );
    assert_eq!(
        run.verdict.status,
        stabcheck::diagnose::Status::Pass,
        "{kinds:?}"
    );
}
