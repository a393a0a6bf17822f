//! Power iteration for the top eigenvalue of a symmetric operator given only as `u ↦ A·u`.
//!
//! Deterministic: every reduction is a plain sequential sum, so the result depends on the start
//! vector and the operator alone, never on threads.

/// When to stop iterating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerOptions {
    /// Most operator applications (each is one Hessian-vector product for the sharpness probe).
    pub max_iterations: usize,
    /// Stop when successive Rayleigh quotients agree to this relative tolerance.
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
    let mut previous = f64::NAN;
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
        if (quotient - previous).abs() <= options.tolerance * quotient.abs() || au_norm == 0.0 {
            result.converged = true;
        }
        if au_norm > 0.0 {
            u.iter_mut().zip(&au).for_each(|(u, a)| *u = a / au_norm);
        }
        if result.converged {
            break;
        }
        previous = quotient;
    }
    result.vector = u;
    result
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
