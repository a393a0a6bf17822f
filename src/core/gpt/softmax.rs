//! Attention's causal softmax, forward and backward, with the per-row statistics probes read.
//!
//! Forward, per row i over the visible scores `s_j` (`j ≤ i + future`): `m = max_j s_j`,
//! `e_j = exp(s_j − m)`, `Z = Σ_j e_j`, `P_ij = e_j / Z`, and 0 beyond. Its entropy needs no
//! logarithm per element: `H = −Σ_j P_j ln P_j = ln Z − Σ_j e_j (s_j − m) / Z`, one dot product
//! in the pass the softmax makes anyway. Backward: `dS = P ⊙ (dP − rowsum(dP ⊙ P))`.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;
use crate::core::vexp::exp_view;

/// Where one head's rows put their largest visible score and entropy, and a row of scratch.
pub struct RowStats<'a, T> {
    pub max: &'a mut [T],
    pub entropy: &'a mut [T],
    pub scratch: &'a mut [T],
}

/// Row-wise softmax of the visible scores (`j ≤ i + future`), zero elsewhere, with each row's
/// largest score and entropy into `stats` when given. A NaN score makes its row's max, and so the
/// whole row (and its entropy), NaN.
pub fn masked_softmax<T: Real>(
    mut s: ArrayViewMut2<'_, T>,
    future: usize,
    mut stats: Option<RowStats<'_, T>>,
) {
    for (i, mut row) in s.rows_mut().into_iter().enumerate() {
        let visible = (i + future + 1).min(row.len());
        let (mut seen, mut hidden) = row.view_mut().split_at(ndarray::Axis(0), visible);
        let m = seen.fold(
            T::neg_infinity(),
            |m, &v| if v > m || v.is_nan() { v } else { m },
        );
        seen.map_inplace(|x| *x -= m);
        if let Some(st) = &mut stats {
            st.max[i] = m;
            // `e ln e → 0` as e → 0: a visible −inf score (e = 0) must add nothing, not 0·−inf,
            // so it is kept as −MAX (0·−MAX = 0). A NaN row stays NaN through its `e`.
            for (c, &x) in st.scratch.iter_mut().zip(seen.iter()) {
                *c = if x < T::min_value() {
                    T::min_value()
                } else {
                    x
                };
            }
        }
        exp_view(seen.view_mut());
        let z = seen.sum();
        if let Some(st) = &mut stats {
            let dot = match seen.as_slice() {
                Some(e) => lane_dot(e, &st.scratch[..visible]),
                None => Zip::from(&seen)
                    .and(&st.scratch[..visible])
                    .fold(T::zero(), |a, &e, &x| a + e * x),
            };
            st.entropy[i] = z.ln() - dot / z;
        }
        let inv = T::one() / z;
        seen.map_inplace(|x| *x *= inv);
        hidden.fill(T::zero());
    }
}

/// `Σ e·x` in [`DOT_LANES`] independent sums added in a fixed order: a single running sum
/// waits on each add, and took a third of the softmax pass with statistics.
fn lane_dot<T: Real>(e: &[T], x: &[T]) -> T {
    let mut lanes = [T::zero(); DOT_LANES];
    let (ec, xc) = (e.chunks_exact(DOT_LANES), x.chunks_exact(DOT_LANES));
    let tail = ec.remainder().iter().zip(xc.remainder());
    let tail = tail.fold(T::zero(), |a, (&e, &x)| a + e * x);
    for (e, x) in ec.zip(xc) {
        for k in 0..DOT_LANES {
            lanes[k] += e[k] * x[k];
        }
    }
    lanes.iter().fold(tail, |a, &l| a + l)
}

const DOT_LANES: usize = 8;

/// `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, in place over `dP`.
pub fn softmax_backward<T: Real>(p: ArrayView2<'_, T>, mut dp: ArrayViewMut2<'_, T>) {
    for (p, mut dp) in p.rows().into_iter().zip(dp.rows_mut()) {
        let dot = Zip::from(&p)
            .and(&dp)
            .fold(T::zero(), |a, &p, &d| a + p * d);
        Zip::from(&mut dp)
            .and(&p)
            .for_each(|d, &p| *d = p * (*d - dot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn stats_of(mut s: ndarray::Array2<f64>) -> (ndarray::Array2<f64>, Vec<f64>, Vec<f64>) {
        let n = s.nrows();
        let (mut max, mut entropy, mut scratch) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let stats = RowStats {
            max: &mut max,
            entropy: &mut entropy,
            scratch: &mut scratch,
        };
        masked_softmax(s.view_mut(), 0, Some(stats));
        (s, max, entropy)
    }

    #[test]
    fn row_stats_are_the_largest_visible_score_and_the_entropy_in_nats() {
        // Row 0 sees one score (entropy 0); row 1 two; row 2 three equal ones (entropy ln 3).
        let s = array![[2.0, 9.0, 9.0], [1.0, 3.0, 50.0], [0.5, 0.5, 0.5]];
        let (p, max, entropy) = stats_of(s);
        assert_eq!(max, vec![2.0, 3.0, 0.5], "future scores are not seen");
        let (a, b) = (1.0 / (1.0 + 2f64.exp()), 2f64.exp() / (1.0 + 2f64.exp()));
        assert!((p[(1, 0)] - a).abs() < 1e-15 && (p[(1, 1)] - b).abs() < 1e-15);
        let h1 = -(a * a.ln() + b * b.ln());
        assert_eq!(entropy[0], 0.0);
        assert!((entropy[1] - h1).abs() < 1e-15, "{} vs {h1}", entropy[1]);
        assert!((entropy[2] - 3f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn the_statistics_change_no_bit_of_the_probabilities() {
        let s = array![[0.3, -1.0, 2.0], [1.7, 0.2, -3.0], [-0.4, 2.5, 1.1]];
        let mut plain = s.clone();
        masked_softmax(plain.view_mut(), 0, None);
        let (p, _, _) = stats_of(s);
        assert_eq!(p, plain);
    }

    #[test]
    fn a_minus_infinite_score_adds_nothing_to_the_entropy() {
        let (_, _, entropy) = stats_of(array![[0.0, 9.0], [f64::NEG_INFINITY, 1.0]]);
        assert_eq!(entropy[1], 0.0, "all weight on the finite key");
    }

    #[test]
    fn a_nan_score_makes_its_rows_statistics_nan() {
        let (_, max, entropy) = stats_of(array![[1.0, 0.0], [f64::NAN, 1.0]]);
        assert!(max[1].is_nan() && entropy[1].is_nan());
        assert_eq!(max[0], 1.0);
    }
}
