//! Dense-matrix kernels shared by the layers: the one matmul entry point and row/column reductions.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};

use super::float::Real;

/// `c = alpha · a·b + beta · c`.
///
/// With `beta = 0`, `c` is overwritten even where it holds NaN, so stale values in a reused buffer
/// never leak into a new step.
pub fn matmul_into<T: Real>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut c: ArrayViewMut2<'_, T>,
) {
    if beta == T::zero() {
        c.fill(T::zero());
    }
    general_mat_mul(alpha, &a, &b, beta, &mut c);
}

/// `out[j] = Σ_i x[i, j]` (sum over the batch), summed in row order.
pub fn sum_rows_into<T: Real>(x: ArrayView2<'_, T>, mut out: ArrayViewMut2<'_, T>) {
    out.fill(T::zero());
    for row in x.axis_iter(Axis(0)) {
        out.row_mut(0).zip_mut_with(&row, |o, &v| *o += v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn matmul_matches_hand_values_and_handles_transposed_views() {
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let b = array![[5.0, 6.0], [7.0, 8.0]];
        let mut c = Array2::from_elem((2, 2), f64::NAN);
        matmul_into(1.0, a.view(), b.view(), 0.0, c.view_mut());
        assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
        matmul_into(1.0, a.t(), b.view(), 1.0, c.view_mut());
        // aᵀb = [[26, 30], [38, 44]]
        assert_eq!(c, array![[45.0, 52.0], [81.0, 94.0]]);
    }

    #[test]
    fn sum_rows_sums_over_the_batch() {
        let x = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut out = Array2::zeros((1, 2));
        sum_rows_into(x.view(), out.view_mut());
        assert_eq!(out, array![[9.0, 12.0]]);
    }
}
