//! Dense-matrix kernels shared by the layers: the one matmul entry point and row/column reductions.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};

use super::float::Real;

/// `c = alpha · a·b + beta · c`, single-threaded and bit-reproducible, through faer's kernels
/// (AVX-512 or AVX2 picked at run time; ~20% faster than ndarray's matrixmultiply over a
/// deep-mlp step and allocation-free). Any strides are accepted, so `x.t()` costs no copy.
///
/// With `beta = 0`, `c` is overwritten without being read, so stale NaN in a reused buffer never
/// leaks into a new step. With `alpha = 0` the product is still computed: a NaN in `a` or `b`
/// propagates, as a diagnostics tool wants (BLAS would skip it).
///
/// # Panics
/// If the shapes disagree: the model builds every buffer with matching shapes, so that is a bug.
pub fn matmul_into<T: Real>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut c: ArrayViewMut2<'_, T>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul_into: shape mismatch: a {:?} · b {:?} -> c {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    let accumulate = beta != T::zero();
    if accumulate && beta != T::one() {
        c.map_inplace(|x| *x *= beta);
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::zero());
        }
        return;
    }
    T::matmul_kernel(alpha, a, b, accumulate, c);
}

/// `c = alpha·a·b` (or `c += alpha·a·b` when `accumulate`) with faer, for a concrete float type.
pub(crate) fn faer_matmul<U>(
    alpha: U,
    a: ArrayView2<'_, U>,
    b: ArrayView2<'_, U>,
    accumulate: bool,
    mut c: ArrayViewMut2<'_, U>,
) where
    U: faer::traits::ComplexField + Copy,
{
    let ((m, k), n) = (a.dim(), b.ncols());
    let accum = if accumulate {
        faer::Accum::Add
    } else {
        faer::Accum::Replace
    };
    let (sa, sb, sc) = (a.strides(), b.strides(), c.strides());
    let (sa, sb, sc) = ([sa[0], sa[1]], [sb[0], sb[1]], [sc[0], sc[1]]);
    // SAFETY: each pointer, shape and stride triple comes from a live ndarray view, so every
    // element it addresses lies inside that view's allocation for the duration of this call;
    // `c` is a unique borrow and so cannot alias `a` or `b`.
    unsafe {
        let a = faer::MatRef::from_raw_parts(a.as_ptr(), m, k, sa[0], sa[1]);
        let b = faer::MatRef::from_raw_parts(b.as_ptr(), k, n, sb[0], sb[1]);
        let c = faer::MatMut::from_raw_parts_mut(c.as_mut_ptr(), m, n, sc[0], sc[1]);
        faer::linalg::matmul::matmul(c, accum, a, b, alpha, faer::Par::Seq);
    }
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
        // beta = 2 scales the old c: 2·c + aᵀb
        matmul_into(1.0, a.t(), b.view(), 2.0, c.view_mut());
        assert_eq!(c, array![[116.0, 134.0], [200.0, 232.0]]);
    }

    #[test]
    fn matmul_matches_a_triple_loop_for_strided_f32_views() {
        let a = Array2::from_shape_fn((7, 5), |(i, j)| (i as f32 - 2.0 * j as f32) * 0.25);
        let b = Array2::from_shape_fn((9, 7), |(i, j)| (i * j) as f32 * 0.125 - 1.0);
        // c = aᵀ · bᵀ through transposed views: [5, 7] · [7, 9]
        let mut c = Array2::from_elem((5, 9), f32::NAN);
        matmul_into(0.5, a.t(), b.t(), 0.0, c.view_mut());
        for i in 0..5 {
            for j in 0..9 {
                let expected: f64 = (0..7)
                    .map(|p| f64::from(a[(p, i)]) * f64::from(b[(j, p)]))
                    .sum::<f64>()
                    * 0.5;
                assert!((f64::from(c[(i, j)]) - expected).abs() < 1e-5, "{i},{j}");
            }
        }
    }

    #[test]
    fn nan_in_an_input_propagates_even_with_alpha_zero() {
        let a = array![[f64::NAN, 1.0]];
        let b = array![[1.0], [1.0]];
        let mut c = Array2::zeros((1, 1));
        matmul_into(0.0, a.view(), b.view(), 0.0, c.view_mut());
        assert!(c[(0, 0)].is_nan());
    }

    #[test]
    fn sum_rows_sums_over_the_batch() {
        let x = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut out = Array2::zeros((1, 2));
        sum_rows_into(x.view(), out.view_mut());
        assert_eq!(out, array![[9.0, 12.0]]);
    }
}
