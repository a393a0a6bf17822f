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
use super::view::BlockLayers;
use super::{GptSpec, MlpActivation, NormPosition};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;

/// A block's parts and the activations its backward pass needs.
#[derive(Debug, Clone)]
pub struct Block<T> {
    pub pre: bool,
    /// Where each module's op events are filed.
    pub layers: BlockLayers,
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
    /// ReLU slopes (1 or 0 per token and unit) frozen at a point by
    /// [`Gpt::freeze_activation_pattern`](super::Gpt::freeze_activation_pattern); empty (the
    /// usual case) when the activation is applied as itself.
    pub frozen_slopes: Array2<T>,
}

impl<T: Real> Block<T> {
    /// Freezes (`true`) or releases a ReLU MLP's pattern at the last forward pass: frozen, the
    /// block computes `s ⊙ z` with `s = relu'(z₀)`, a smooth function equal to the block near
    /// that point, whose Hessian there is autodiff's. For finite-difference Hessian-vector
    /// products, which would otherwise pick up the kinks crossed. Other activations are smooth
    /// (relu2 is C¹) and stay as they are. Allocates only when freezing.
    pub fn freeze_activation_pattern(&mut self, freeze: bool) {
        self.frozen_slopes = match freeze && self.act == MlpActivation::Relu {
            true => self
                .fc1_out
                .mapv(|z| if z > T::zero() { T::one() } else { T::zero() }),
            false => Array2::zeros((0, 0)),
        };
    }

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
            layers: BlockLayers::of(spec.qk_norm, layer - 1),
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
            frozen_slopes: Array2::zeros((0, 0)),
        }
    }

    /// `out = block(h)`, each op reported to `e`.
    pub fn forward(
        &mut self,
        params: &Params<T>,
        h: ArrayView2<'_, T>,
        out: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let (d, at) = (h.ncols(), self.layers);
        if self.pre {
            self.norm1
                .forward_reported(params, h, self.a_in.view_mut(), e, at.ln1);
            let x = self.a_in.view();
            self.qkv
                .forward_reported(params, x, self.qkv_out.view_mut(), e, at.qkv);
        } else {
            self.qkv
                .forward_reported(params, h, self.qkv_out.view_mut(), e, at.qkv);
        }
        let qkv = self.qkv_out.view();
        let v = qkv.slice(s![.., 2 * d..]);
        let o = self.att_out.view_mut();
        match &mut self.qk_norm {
            Some(qk) => {
                qk.forward(params, qkv, e, (at.q_norm, at.k_norm));
                let (q, k) = (qk.q.view(), qk.k.view());
                self.attn.forward_reported(q, k, v, o, e, at.qkv);
            }
            None => {
                let (q, k) = (qkv.slice(s![.., ..d]), qkv.slice(s![.., d..2 * d]));
                self.attn.forward_reported(q, k, v, o, e, at.qkv);
            }
        }
        let x = self.att_out.view();
        self.proj
            .forward_reported(params, x, self.proj_out.view_mut(), e, at.proj);
        if self.pre {
            residual(self.mid.view_mut(), h, self.proj_out.view(), e, at.proj);
            self.norm2
                .forward_reported(params, self.mid.view(), self.b_in.view_mut(), e, at.ln2);
            self.mlp_forward(params, true, e);
            residual(out, self.mid.view(), self.fc2_out.view(), e, at.fc2);
        } else {
            residual(self.a_in.view_mut(), h, self.proj_out.view(), e, at.proj);
            self.norm1
                .forward_reported(params, self.a_in.view(), self.mid.view_mut(), e, at.ln1);
            self.mlp_forward(params, false, e);
            let (m, f) = (self.mid.view(), self.fc2_out.view());
            residual(self.b_in.view_mut(), m, f, e, at.fc2);
            self.norm2
                .forward_reported(params, self.b_in.view(), out, e, at.ln2);
        }
    }

    /// `fc2(act(fc1(x)))` with `x = norm2(m)` pre-LN (`from_b_in`) or `m` post-LN.
    fn mlp_forward(&mut self, params: &Params<T>, from_b_in: bool, e: &mut Emit<'_, T>) {
        let at = self.layers;
        let x = if from_b_in {
            self.b_in.view()
        } else {
            self.mid.view()
        };
        self.fc1
            .forward_reported(params, x, self.fc1_out.view_mut(), e, at.fc1);
        match self.frozen_slopes.is_empty() {
            true => self
                .act
                .forward(self.fc1_out.view(), self.act_out.view_mut()),
            false => Zip::from(&mut self.act_out)
                .and(&self.fc1_out)
                .and(&self.frozen_slopes)
                .for_each(|a, &z, &s| *a = s * z),
        }
        let (z, a) = (self.fc1_out.view(), self.act_out.view());
        e.op(
            Some(at.fc1),
            Op::MlpActivation(self.act),
            Phase::Forward,
            &[z],
            a,
        );
        self.fc2
            .forward_reported(params, a, self.fc2_out.view_mut(), e, at.fc2);
    }

    /// Writes every parameter gradient of the block and `dh` (overwritten) from `d_out`; `h` is
    /// the forward input. Each op is reported to `e`.
    pub fn backward(
        &mut self,
        params: &mut Params<T>,
        h: ArrayView2<'_, T>,
        d_out: ArrayView2<'_, T>,
        mut dh: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let at = self.layers;
        // d_mid: the gradient reaching the residual stream between the sublayers.
        if self.pre {
            self.d_mid.assign(&d_out);
        } else {
            self.norm2
                .backward_reported(params, d_out, self.d_mid.view_mut(), false, e, at.ln2);
        }
        let d_act = Some((self.d_act.view_mut(), T::zero()));
        let (a, dm) = (self.act_out.view(), self.d_mid.view());
        self.fc2
            .backward_reported(params, a, dm, false, d_act, e, at.fc2);
        match self.frozen_slopes.is_empty() {
            true => self.act.backward(
                self.fc1_out.view(),
                self.act_out.view(),
                self.d_act.view(),
                self.d_fc1.view_mut(),
            ),
            false => Zip::from(&mut self.d_fc1)
                .and(&self.d_act)
                .and(&self.frozen_slopes)
                .for_each(|dz, &d, &s| *dz = s * d),
        }
        let op = Op::MlpActivationBackward(self.act);
        let (da, dz) = (self.d_act.view(), self.d_fc1.view());
        e.op(Some(at.fc1), op, Phase::Backward, &[da], dz);
        if self.pre {
            let d_sub = Some((self.d_sub.view_mut(), T::zero()));
            let (x, dz) = (self.b_in.view(), self.d_fc1.view());
            self.fc1
                .backward_reported(params, x, dz, false, d_sub, e, at.fc1);
            let ds = self.d_sub.view();
            self.norm2
                .backward_reported(params, ds, self.d_mid.view_mut(), true, e, at.ln2);
        } else {
            let d_mid = Some((self.d_mid.view_mut(), T::one()));
            let (x, dz) = (self.mid.view(), self.d_fc1.view());
            self.fc1
                .backward_reported(params, x, dz, false, d_mid, e, at.fc1);
            // d_mid now holds ∂/∂m; through norm1 it becomes ∂/∂(h + proj(..)).
            let dm = self.d_mid.view();
            self.norm1
                .backward_reported(params, dm, self.d_sub.view_mut(), false, e, at.ln1);
            std::mem::swap(&mut self.d_mid, &mut self.d_sub);
        }
        // d_mid is now the gradient of the attention sublayer's output (and, through the skip, of h).
        let d_att = Some((self.d_att.view_mut(), T::zero()));
        let (x, dm) = (self.att_out.view(), self.d_mid.view());
        self.proj
            .backward_reported(params, x, dm, false, d_att, e, at.proj);
        self.attention_backward(params, e);
        let dq = self.d_qkv.view();
        if self.pre {
            let d_sub = Some((self.d_sub.view_mut(), T::zero()));
            self.qkv
                .backward_reported(params, self.a_in.view(), dq, false, d_sub, e, at.qkv);
            dh.assign(&self.d_mid);
            self.norm1
                .backward_reported(params, self.d_sub.view(), dh, true, e, at.ln1);
        } else {
            let d_h = Some((dh.view_mut(), T::zero()));
            self.qkv
                .backward_reported(params, h, dq, false, d_h, e, at.qkv);
            dh += &self.d_mid;
            let dm = self.d_mid.view();
            e.op(
                Some(at.qkv),
                Op::ResidualAdd,
                Phase::Backward,
                &[dm],
                dh.view(),
            );
        }
    }

    /// Attention's backward (and qk-norm's), reported as `attn.backward` for `dQ`, `dK`, `dV` in
    /// that order, then the q/k norms' backward.
    fn attention_backward(&mut self, params: &mut Params<T>, e: &mut Emit<'_, T>) {
        let (d, at) = (self.att_out.ncols(), self.layers);
        let qkv = self.qkv_out.view();
        let (dq, rest) = self.d_qkv.view_mut().split_at(Axis(1), d);
        let (dk, mut dv) = rest.split_at(Axis(1), d);
        let v = qkv.slice(s![.., 2 * d..]);
        let (l, back, d_o) = (Some(at.qkv), Phase::Backward, self.d_att.view());
        match &mut self.qk_norm {
            Some(qk) => {
                let (q, k) = (qk.q.view(), qk.k.view());
                let (gq, gk) = (qk.dq.view_mut(), qk.dk.view_mut());
                self.attn.backward((q, k, v), d_o, gq, gk, dv.view_mut());
                for g in [qk.dq.view(), qk.dk.view(), dv.view()] {
                    e.op(l, Op::AttnBackward, back, &[d_o], g);
                }
                qk.backward(params, dq, dk, e, (at.q_norm, at.k_norm));
            }
            None => {
                let (q, k) = (qkv.slice(s![.., ..d]), qkv.slice(s![.., d..2 * d]));
                let (mut dq, mut dk) = (dq, dk);
                let (gq, gk) = (dq.view_mut(), dk.view_mut());
                self.attn.backward((q, k, v), d_o, gq, gk, dv.view_mut());
                for g in [dq.view(), dk.view(), dv.view()] {
                    e.op(l, Op::AttnBackward, back, &[d_o], g);
                }
            }
        }
    }
}

/// `out = a + b` (a residual connection), reported as `residual.add` with inputs `a, b`.
fn residual<T: Real>(
    mut out: ArrayViewMut2<'_, T>,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    e: &mut Emit<'_, T>,
    layer: usize,
) {
    Zip::from(&mut out)
        .and(&a)
        .and(&b)
        .for_each(|o, &a, &b| *o = a + b);
    e.op(
        Some(layer),
        Op::ResidualAdd,
        Phase::Forward,
        &[a, b],
        out.view(),
    );
}
