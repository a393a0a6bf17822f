//! qk-norm: the model's norm applied to each head's query and key vectors (Dehghani et al. 2023; Wortsman et al. 2023).
//!
//! Each token's `d_model` query features are `heads` vectors of `head_dim`; viewing `[tokens,
//! d_model]` as `[tokens·heads, head_dim]` makes that a row norm with `γ` (and `β`) of width
//! `head_dim`, shared by all heads, as `nn.LayerNorm(head_dim)` on `[B, H, T, hd]` is.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use super::GptSpec;
use super::rownorm::RowNorm;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::params::Params;

/// The two norms and their buffers: normalized `q`, `k` (attention's inputs) and their gradients.
#[derive(Debug, Clone)]
pub struct QkNorm<T> {
    pub q_norm: RowNorm<T>,
    pub k_norm: RowNorm<T>,
    pub q: Array2<T>,
    pub k: Array2<T>,
    pub dq: Array2<T>,
    pub dk: Array2<T>,
    /// Contiguous copies of the raw queries and keys (forward), then their gradients (backward).
    q_raw: Array2<T>,
    k_raw: Array2<T>,
    heads: usize,
}

impl<T: Real> QkNorm<T> {
    pub fn new(
        spec: &GptSpec,
        params: &mut Params<T>,
        layer: usize,
        names: &mut dyn FnMut(&Params<T>, &str),
    ) -> Self {
        let (n, d, hd) = (spec.tokens(), spec.d_model, spec.head_dim());
        let rows = (n * spec.heads, hd);
        let q_norm = RowNorm::new(params, layer, spec.norm, spec.bias, rows, spec.norm_eps);
        names(params, "attn.q_norm");
        let k_norm = RowNorm::new(params, layer, spec.norm, spec.bias, rows, spec.norm_eps);
        names(params, "attn.k_norm");
        let z = || Array2::zeros((n, d));
        QkNorm {
            q_norm,
            k_norm,
            q: z(),
            k: z(),
            dq: z(),
            dk: z(),
            q_raw: z(),
            k_raw: z(),
            heads: spec.heads,
        }
    }

    /// Normalizes the query and key columns of `qkv` (`[tokens, 3·d_model]`) into `q`, `k`,
    /// reporting the two norms' ops under `layers` (q_norm's, k_norm's).
    pub fn forward(
        &mut self,
        params: &Params<T>,
        qkv: ArrayView2<'_, T>,
        e: &mut Emit<'_, T>,
        (q_layer, k_layer): (usize, usize),
    ) {
        let d = self.q.ncols();
        self.q_raw.assign(&qkv.slice(s![.., ..d]));
        self.k_raw.assign(&qkv.slice(s![.., d..2 * d]));
        let h = self.heads;
        self.q_norm.forward_reported(
            params,
            per_head(&self.q_raw, h),
            per_head_mut(&mut self.q, h),
            e,
            q_layer,
        );
        self.k_norm.forward_reported(
            params,
            per_head(&self.k_raw, h),
            per_head_mut(&mut self.k, h),
            e,
            k_layer,
        );
    }

    /// From `self.dq`, `self.dk` (set by attention's backward) to the raw queries' and keys'
    /// gradients in `dq_raw`, `dk_raw`, writing the norms' parameter gradients.
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        mut dq_raw: ArrayViewMut2<'_, T>,
        mut dk_raw: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
        (q_layer, k_layer): (usize, usize),
    ) {
        let h = self.heads;
        self.q_norm.backward_reported(
            params,
            per_head(&self.dq, h),
            per_head_mut(&mut self.q_raw, h),
            false,
            e,
            q_layer,
        );
        self.k_norm.backward_reported(
            params,
            per_head(&self.dk, h),
            per_head_mut(&mut self.k_raw, h),
            false,
            e,
            k_layer,
        );
        dq_raw.assign(&self.q_raw);
        dk_raw.assign(&self.k_raw);
    }
}

/// `[tokens, d_model]` as `[tokens·heads, head_dim]` (row `i·heads + h` is head h of token i).
#[allow(clippy::expect_used)] // invariant: the buffers are contiguous and d_model = heads·head_dim
fn per_head<T>(x: &Array2<T>, heads: usize) -> ArrayView2<'_, T> {
    let (n, d) = x.dim();
    x.view()
        .into_shape_with_order((n * heads, d / heads))
        .expect("contiguous [tokens, d_model] buffer")
}

#[allow(clippy::expect_used)] // invariant: as for `per_head`
fn per_head_mut<T>(x: &mut Array2<T>, heads: usize) -> ArrayViewMut2<'_, T> {
    let (n, d) = x.dim();
    x.view_mut()
        .into_shape_with_order((n * heads, d / heads))
        .expect("contiguous [tokens, d_model] buffer")
}
