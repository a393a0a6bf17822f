//! Power iteration for the top eigenvalue of a symmetric operator given only as `u ↦ A·u`.
//!
//! Deterministic: every reduction is a plain sequential sum, so the result depends on the start
//! vector and the operator alone, never on threads.

/// When to stop iterating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerOptions {
    /// Most operator applications (each is one Hessian-vector product for the sharpness probe).
    pub max_iterations: usize,
    /// Stop when the squared residual `‖A·u − θ·u‖²` is at most this times `θ²` (see [`iterate`]).
    pub tolerance: f64,
}

/// The estimate: the Rayleigh quotient `uᵀAu` of the last unit vector `u`, and the next iterate.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerResult {
    /// NaN when the operator produced a non-finite vector.
    pub eigenvalue: f64,
    /// `A·u / ‖A·u‖` after the last application: the eigenvector estimate, a good warm start.
    pub vector: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// Iterates `u ← A·u / ‖A·u‖` from `start` (any non-zero vector) until the Rayleigh quotient
/// settles or `max_iterations` run out. Converges to the eigenvalue of largest magnitude, at the
/// rate `(λ₂/λ₁)²` per iteration for the quotient.
pub fn top_eigenvalue(
    start: &[f64],
    options: PowerOptions,
    apply: impl FnMut(&[f64], &mut [f64]),
) -> PowerResult {
    iterate(start, options, 0.0, apply)
}

/// Power iteration on `A`, judged as an estimate of `θ + offset` (`θ = uᵀAu`): converged when the
/// residual `r = A·u − θ·u` has `‖r‖² ≤ tolerance·(θ + offset)²`. `‖r‖²/gap` bounds the error of
/// `θ` (Kato–Temple), so with a spectral gap of the order of `|θ|` (the assumption) the estimate
/// is good to about `tolerance` relative. Not a test on successive quotients: those barely move
/// while the start vector's component along the top eigenvector is still small, and after a
/// shift by `−offset` they are compared with a number inflated by `|offset|`; both stopped
/// early on wrong values (Adam's step-0 λmax on relu-init-3-repaired: 0.76 for 18492).
fn iterate(
    start: &[f64],
    options: PowerOptions,
    offset: f64,
    mut apply: impl FnMut(&[f64], &mut [f64]),
) -> PowerResult {
    let n = start.len();
    let start_norm = norm(start);
    let mut u: Vec<f64> = start.iter().map(|x| x / start_norm).collect();
    let mut au = vec![0.0; n];
    let mut result = PowerResult {
        eigenvalue: f64::NAN,
        vector: u.clone(),
        iterations: 0,
        converged: false,
    };
    if !(start_norm.is_finite() && start_norm > 0.0) {
        return result;
    }
    for i in 1..=options.max_iterations {
        apply(&u, &mut au);
        let quotient = dot(&u, &au);
        let au_norm = norm(&au);
        result.iterations = i;
        result.eigenvalue = quotient;
        if !(quotient.is_finite() && au_norm.is_finite()) {
            result.eigenvalue = f64::NAN;
            return result;
        }
        let residual: f64 = u
            .iter()
            .zip(&au)
            .map(|(u, a)| (a - quotient * u).powi(2))
            .sum();
        if residual <= options.tolerance * (quotient + offset).powi(2) {
            result.converged = true;
        }
        if au_norm > 0.0 {
            u.iter_mut().zip(&au).for_each(|(u, a)| *u = a / au_norm);
        }
        if result.converged {
            break;
        }
    }
    result.vector = u;
    result
}

/// The largest eigenvalue `λmax` itself, not the largest in magnitude: when
/// [`top_eigenvalue`] finds a negative one (a saddle's negative curvature outweighs the positive,
/// as at a GPT's initialization or under Adam's step-0 preconditioner), its Rayleigh quotient `q`
/// is about `λmin` (never below it), so `A − q·I` is about positive semidefinite and its top
/// eigenvalue plus `q` is `λmax`. The shifted run starts again from `start` (the first run's
/// vector is `λmin`'s, orthogonal to `λmax`'s), has its own `max_iterations` and is judged
/// converged on `λmax`, not on the shifted value. Iterations add up; the result is converged
/// only when both runs are; the vector is `λmax`'s.
pub fn top_algebraic_eigenvalue(
    start: &[f64],
    options: PowerOptions,
    mut apply: impl FnMut(&[f64], &mut [f64]),
) -> PowerResult {
    let first = top_eigenvalue(start, options, &mut apply);
    if first.eigenvalue.is_nan() || first.eigenvalue >= 0.0 {
        return first;
    }
    let shift = first.eigenvalue;
    let mut second = iterate(start, options, shift, |u, out| {
        apply(u, out);
        out.iter_mut().zip(u).for_each(|(o, u)| *o -= shift * u);
    });
    second.eigenvalue += shift;
    second.iterations += first.iterations;
    second.converged &= first.converged;
    second
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix_operator(a: &[[f64; 3]; 3]) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |u, out| {
            for (row, o) in a.iter().zip(out.iter_mut()) {
                *o = dot(row, u);
            }
        }
    }

    #[test]
    fn finds_the_top_eigenvalue_of_a_symmetric_matrix() {
        // Eigenvalues of [[2,1,0],[1,2,0],[0,0,1]] are 3, 1, 1; the top eigenvector is (1,1,0)/√2.
        let a = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]];
        let options = PowerOptions {
            max_iterations: 100,
            tolerance: 1e-12,
        };
        let r = top_eigenvalue(&[1.0, 0.0, 0.5], options, matrix_operator(&a));
        assert!(r.converged);
        assert!((r.eigenvalue - 3.0).abs() < 1e-10, "{}", r.eigenvalue);
        let expected = 1.0 / 2f64.sqrt();
        assert!((r.vector[0] - expected).abs() < 1e-5 && (r.vector[1] - expected).abs() < 1e-5);
        // (1/3)² per iteration from an error of order 1: about 13 iterations to 1e-12.
        assert!(r.iterations < 20, "{}", r.iterations);
    }

    #[test]
    fn a_dominant_negative_eigenvalue_still_gives_the_largest_one() {
        // Eigenvalues 3, −10, 1: power iteration alone finds −10; the largest is 3.
        let a = [[3.0, 0.0, 0.0], [0.0, -10.0, 0.0], [0.0, 0.0, 1.0]];
        let options = PowerOptions {
            max_iterations: 400,
            tolerance: 1e-13,
        };
        let start = [0.3, 1.0, 0.5];
        let plain = top_eigenvalue(&start, options, matrix_operator(&a));
        assert!(
            (plain.eigenvalue + 10.0).abs() < 1e-9,
            "{}",
            plain.eigenvalue
        );
        let r = top_algebraic_eigenvalue(&start, options, matrix_operator(&a));
        assert!(r.converged && (r.eigenvalue - 3.0).abs() < 1e-9, "{r:?}");
        assert!(r.vector[0].abs() > 0.999_999, "{:?}", r.vector);
        assert!(r.iterations > plain.iterations);
        // A positive top eigenvalue needs no second run.
        let b = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 1.0]];
        let once = top_algebraic_eigenvalue(&start, options, matrix_operator(&b));
        assert_eq!(once, top_eigenvalue(&start, options, matrix_operator(&b)));
    }

    #[test]
    fn shifted_run_is_not_judged_converged_on_the_shifted_quotient() {
        // Eigenvalues 0.5, −1000 and a bulk at 0.1: after the shift by about 1000, successive
        // quotients of the shifted operator agree to 1e-4 of 1000 long before they settle on
        // 0.5 + 1000 (the bulk, 0.1 + 1000, is within 0.04% of it). Judged on the shifted
        // value, the loose tolerance would stop at the bulk (0.1); it must get to 0.5.
        let a = [[0.5, 0.0, 0.0], [0.0, -1000.0, 0.0], [0.0, 0.0, 0.1]];
        let options = PowerOptions {
            max_iterations: 100_000,
            tolerance: 1e-4,
        };
        let r = top_algebraic_eigenvalue(&[0.01, 1.0, 1.0], options, matrix_operator(&a));
        assert!(r.converged && (r.eigenvalue - 0.5).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn stops_at_the_iteration_bound_unconverged_and_reports_nan_from_the_operator() {
        let a = [[1.0, 0.0, 0.0], [0.0, 0.999, 0.0], [0.0, 0.0, 0.5]];
        let options = PowerOptions {
            max_iterations: 5,
            tolerance: 1e-15,
        };
        let r = top_eigenvalue(&[1.0, 1.0, 1.0], options, matrix_operator(&a));
        assert_eq!((r.iterations, r.converged), (5, false));
        let nan = top_eigenvalue(&[1.0, 1.0, 1.0], options, |_, out| out.fill(f64::NAN));
        assert!(nan.eigenvalue.is_nan() && !nan.converged);
        let zero_start = top_eigenvalue(&[0.0; 3], options, matrix_operator(&a));
        assert!(zero_start.eigenvalue.is_nan() && zero_start.iterations == 0);
    }
}
