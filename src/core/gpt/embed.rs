//! Token plus learned position embedding, `h[b·T + t] = tok_emb[x_bt] + pos_emb[t]`, forward and backward.
//!
//! Backward scatters: `d tok_emb[v] = Σ_{x_bt = v} dh[b·T + t]`, `d pos_emb[t] = Σ_b dh[b·T + t]`.
//! Token ids are checked against the vocabulary where data is built, so an index here is in range.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;
use crate::core::params::{ParamKind, Params};

/// Segment indices of the two embedding tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedding {
    /// `tok_emb.weight`, `[vocab, d_model]`.
    pub tok: usize,
    /// `pos_emb.weight`, `[context, d_model]`.
    pub pos: usize,
}

impl Embedding {
    pub fn new<T: Real>(params: &mut Params<T>, vocab: usize, context: usize, d: usize) -> Self {
        Embedding {
            tok: params.push(0, ParamKind::Weight, vocab, d),
            pos: params.push(0, ParamKind::Weight, context, d),
        }
    }

    /// `h = tok_emb[tokens] + pos_emb[position]`, `tokens` row-major `[batch, context]`.
    pub fn forward<T: Real>(
        &self,
        params: &Params<T>,
        tokens: &[u32],
        mut h: ArrayViewMut2<'_, T>,
    ) {
        let (tok, pos) = (params.value(self.tok), params.value(self.pos));
        let context = pos.nrows();
        for (i, (mut row, &x)) in h.rows_mut().into_iter().zip(tokens).enumerate() {
            Zip::from(&mut row)
                .and(tok.row(x as usize))
                .and(pos.row(i % context))
                .for_each(|h, &e, &p| *h = e + p);
        }
    }

    /// Writes `d pos_emb` and `d tok_emb` (added to the head's gradient when the head is tied,
    /// `accumulate_tok`: it runs first in backward).
    pub fn backward<T: Real>(
        &self,
        params: &mut Params<T>,
        tokens: &[u32],
        dh: ArrayView2<'_, T>,
        accumulate_tok: bool,
    ) {
        let (tok, pos) = (params.segments[self.tok], params.segments[self.pos]);
        let d = tok.cols;
        if !accumulate_tok {
            params.grads[tok.range()].fill(T::zero());
        }
        params.grads[pos.range()].fill(T::zero());
        for (i, (row, &x)) in dh.rows().into_iter().zip(tokens).enumerate() {
            let t = pos.offset + (i % pos.rows) * d;
            let v = tok.offset + x as usize * d;
            for (k, &g) in row.iter().enumerate() {
                params.grads[v + k] += g;
                params.grads[t + k] += g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check};
    use ndarray::Array2;

    #[test]
    fn forward_adds_the_token_row_and_the_position_row() {
        let mut p = Params::<f64>::new();
        let e = Embedding::new(&mut p, 3, 2, 2);
        p.value_mut(e.tok)
            .assign(&ndarray::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        p.value_mut(e.pos)
            .assign(&ndarray::array![[0.1, 0.2], [0.3, 0.4]]);
        let mut h = Array2::zeros((4, 2));
        e.forward(&p, &[2, 0, 1, 1], h.view_mut());
        assert_eq!(
            h,
            ndarray::array![[5.1, 6.2], [1.3, 2.4], [3.1, 4.2], [3.3, 4.4]]
        );
    }

    #[test]
    fn backward_matches_finite_differences_with_repeated_tokens() {
        let mut p = Params::<f64>::new();
        let e = Embedding::new(&mut p, 4, 3, 2);
        for (i, v) in p.values.iter_mut().enumerate() {
            *v = (i as f64 * 0.37).sin();
        }
        let tokens = [1u32, 3, 1, 0, 1, 2];
        let r = Array2::from_shape_fn((6, 2), |(i, j)| {
            (i as f64 + 1.0) * if j == 0 { 1.0 } else { -0.5 }
        });
        let loss = |p: &Params<f64>| {
            let mut h = Array2::zeros((6, 2));
            e.forward(p, &tokens, h.view_mut());
            (&h * &r).sum()
        };
        let mut q = p.clone();
        e.backward(&mut q, &tokens, r.view(), false);
        let report = check(
            |v| {
                let mut p = p.clone();
                p.values.copy_from_slice(v);
                loss(&p)
            },
            &p.values,
            &q.grads,
        );
        assert!(report.passed(Tolerance::GRADCHECK), "{report}");
    }
}
