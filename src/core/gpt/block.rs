//! One transformer block, pre-LN or post-LN, its parts registered under state_dict names, forward and backward.
//!
//! Pre-LN:  `m = h + proj(attn(norm1(h)))`, `out = m + fc2(act(fc1(norm2(m))))`.
//! Post-LN: `m = norm1(h + proj(attn(h)))`, `out = norm2(m + fc2(act(fc1(m))))`.
//! Every buffer is sized here, once: a step allocates nothing.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip, s};

use super::attention::Attention;
use super::linear::Linear;
use super::qk_norm::QkNorm;
use super::rownorm::RowNorm;
use super::{GptSpec, MlpActivation, NormPosition};
use crate::core::float::Real;
use crate::core::params::Params;

/// A block's parts and the activations its backward pass needs.
#[derive(Debug, Clone)]
pub struct Block<T> {
    pub pre: bool,
    pub act: MlpActivation,
    pub norm1: RowNorm<T>,
    pub qkv: Linear,
    pub qk_norm: Option<QkNorm<T>>,
    pub attn: Attention<T>,
    pub proj: Linear,
    pub norm2: RowNorm<T>,
    pub fc1: Linear,
    pub fc2: Linear,
    /// The sublayers' inputs: `norm1(h)` / `norm2(m)` pre-LN; `h + proj(..)` / `m + fc2(..)` post-LN.
    pub a_in: Array2<T>,
    pub b_in: Array2<T>,
    pub qkv_out: Array2<T>,
    pub att_out: Array2<T>,
    /// `proj(attn(..))`, kept (rather than summed into `mid` in place) for the probes.
    pub proj_out: Array2<T>,
    /// The residual stream between the two sublayers.
    pub mid: Array2<T>,
    pub fc1_out: Array2<T>,
    pub act_out: Array2<T>,
    pub fc2_out: Array2<T>,
    /// After the backward pass: `∂L/∂proj_out` (and so of the block input's skip path).
    pub(crate) d_mid: Array2<T>,
    d_sub: Array2<T>,
    pub(crate) d_qkv: Array2<T>,
    d_att: Array2<T>,
    pub(crate) d_fc1: Array2<T>,
    d_act: Array2<T>,
}

impl<T: Real> Block<T> {
    /// Registers the block's parameters as `layer`, in state_dict order, with `names(prefix)`
    /// called after each part so the caller can name the segments just pushed.
    pub fn new(
        spec: &GptSpec,
        params: &mut Params<T>,
        layer: usize,
        names: &mut dyn FnMut(&Params<T>, &str),
    ) -> Self {
        let (n, d, bias, eps) = (spec.tokens(), spec.d_model, spec.bias, spec.norm_eps);
        let z_width = spec.mlp_activation.input_width(spec.hidden());
        let norm1 = RowNorm::new(params, layer, spec.norm, bias, (n, d), eps);
        names(params, "ln1");
        let qkv = Linear::new(params, layer, d, 3 * d, bias);
        names(params, "attn.qkv");
        let qk_norm = spec
            .qk_norm
            .then(|| QkNorm::new(spec, params, layer, names));
        let proj = Linear::new(params, layer, d, d, bias);
        names(params, "attn.proj");
        let norm2 = RowNorm::new(params, layer, spec.norm, bias, (n, d), eps);
        names(params, "ln2");
        let fc1 = Linear::new(params, layer, d, z_width, bias);
        names(params, "mlp.fc1");
        let fc2 = Linear::new(params, layer, spec.hidden(), d, bias);
        names(params, "mlp.fc2");
        let z = |cols| Array2::zeros((n, cols));
        Block {
            pre: spec.norm_position == NormPosition::Pre,
            act: spec.mlp_activation,
            norm1,
            qkv,
            qk_norm,
            attn: Attention::new(spec.batch, spec.context, spec.heads),
            proj,
            norm2,
            fc1,
            fc2,
            a_in: z(d),
            b_in: z(d),
            qkv_out: z(3 * d),
            att_out: z(d),
            proj_out: z(d),
            mid: z(d),
            fc1_out: z(z_width),
            act_out: z(spec.hidden()),
            fc2_out: z(d),
            d_mid: z(d),
            d_sub: z(d),
            d_qkv: z(3 * d),
            d_att: z(d),
            d_fc1: z(z_width),
            d_act: z(spec.hidden()),
        }
    }

    /// `out = block(h)`.
    pub fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        mut out: ArrayViewMut2<'_, T>,
    ) {
        let d = h.ncols();
        if self.pre {
            self.norm1.forward(params, h, self.a_in.view_mut());
            self.qkv
                .forward(params, self.a_in.view(), self.qkv_out.view_mut());
        } else {
            self.qkv.forward(params, h, self.qkv_out.view_mut());
        }
        let qkv = self.qkv_out.view();
        let v = qkv.slice(s![.., 2 * d..]);
        match &mut self.qk_norm {
            Some(qk) => {
                qk.forward(params, qkv);
                self.attn
                    .forward(qk.q.view(), qk.k.view(), v, self.att_out.view_mut());
            }
            None => self.attn.forward(
                qkv.slice(s![.., ..d]),
                qkv.slice(s![.., d..2 * d]),
                v,
                self.att_out.view_mut(),
            ),
        }
        self.proj
            .forward(params, self.att_out.view(), self.proj_out.view_mut());
        if self.pre {
            Zip::from(&mut self.mid)
                .and(&self.proj_out)
                .and(&h)
                .for_each(|m, &y, &h| *m = h + y);
            self.norm2
                .forward(params, self.mid.view(), self.b_in.view_mut());
            self.mlp_forward(params, true);
            Zip::from(&mut out)
                .and(&self.mid)
                .and(&self.fc2_out)
                .for_each(|o, &m, &f| *o = m + f);
        } else {
            Zip::from(&mut self.a_in)
                .and(&self.proj_out)
                .and(&h)
                .for_each(|a, &y, &h| *a = h + y);
            self.norm1
                .forward(params, self.a_in.view(), self.mid.view_mut());
            self.mlp_forward(params, false);
            Zip::from(&mut self.b_in)
                .and(&self.mid)
                .and(&self.fc2_out)
                .for_each(|b, &m, &f| *b = m + f);
            self.norm2.forward(params, self.b_in.view(), out);
        }
    }

    /// `fc2(act(fc1(x)))` with `x = norm2(m)` pre-LN (`from_b_in`) or `m` post-LN.
    fn mlp_forward(&mut self, params: &Params<T>, from_b_in: bool) {
        let x = if from_b_in {
            self.b_in.view()
        } else {
            self.mid.view()
        };
        self.fc1.forward(params, x, self.fc1_out.view_mut());
        self.act
            .forward(self.fc1_out.view(), self.act_out.view_mut());
        self.fc2
            .forward(params, self.act_out.view(), self.fc2_out.view_mut());
    }

    /// Writes every parameter gradient of the block and `dh` (overwritten) from `d_out`; `h` is
    /// the forward input.
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        h: ArrayView2<'_, T>,
        d_out: ArrayView2<'_, T>,
        mut dh: ArrayViewMut2<'_, T>,
    ) {
        // d_mid: the gradient reaching the residual stream between the sublayers.
        if self.pre {
            self.d_mid.assign(&d_out);
        } else {
            self.norm2
                .backward(params, d_out, self.d_mid.view_mut(), false);
        }
        self.fc2.backward(
            params,
            self.act_out.view(),
            self.d_mid.view(),
            false,
            Some((self.d_act.view_mut(), T::zero())),
        );
        self.act.backward(
            self.fc1_out.view(),
            self.act_out.view(),
            self.d_act.view(),
            self.d_fc1.view_mut(),
        );
        if self.pre {
            self.fc1.backward(
                params,
                self.b_in.view(),
                self.d_fc1.view(),
                false,
                Some((self.d_sub.view_mut(), T::zero())),
            );
            self.norm2
                .backward(params, self.d_sub.view(), self.d_mid.view_mut(), true);
        } else {
            self.fc1.backward(
                params,
                self.mid.view(),
                self.d_fc1.view(),
                false,
                Some((self.d_mid.view_mut(), T::one())),
            );
            // d_mid now holds ∂/∂m; through norm1 it becomes ∂/∂(h + proj(..)).
            self.norm1
                .backward(params, self.d_mid.view(), self.d_sub.view_mut(), false);
            std::mem::swap(&mut self.d_mid, &mut self.d_sub);
        }
        // d_mid is now the gradient of the attention sublayer's output (and, through the skip, of h).
        self.proj.backward(
            params,
            self.att_out.view(),
            self.d_mid.view(),
            false,
            Some((self.d_att.view_mut(), T::zero())),
        );
        self.attention_backward(params);
        let x = if self.pre { self.a_in.view() } else { h };
        if self.pre {
            self.qkv.backward(
                params,
                x,
                self.d_qkv.view(),
                false,
                Some((self.d_sub.view_mut(), T::zero())),
            );
            dh.assign(&self.d_mid);
            self.norm1.backward(params, self.d_sub.view(), dh, true);
        } else {
            self.qkv.backward(
                params,
                x,
                self.d_qkv.view(),
                false,
                Some((dh.view_mut(), T::zero())),
            );
            dh += &self.d_mid;
        }
    }

    fn attention_backward(&mut self, params: &mut Params<T>) {
        let d = self.att_out.ncols();
        let qkv = self.qkv_out.view();
        let (dq, rest) = self.d_qkv.view_mut().split_at(Axis(1), d);
        let (dk, dv) = rest.split_at(Axis(1), d);
        let v = qkv.slice(s![.., 2 * d..]);
        match &mut self.qk_norm {
            Some(qk) => {
                self.attn.backward(
                    (qk.q.view(), qk.k.view(), v),
                    self.d_att.view(),
                    qk.dq.view_mut(),
                    qk.dk.view_mut(),
                    dv,
                );
                qk.backward(params, dq, dk);
            }
            None => {
                let (q, k) = (qkv.slice(s![.., ..d]), qkv.slice(s![.., d..2 * d]));
                self.attn.backward((q, k, v), self.d_att.view(), dq, dk, dv);
            }
        }
    }
}
