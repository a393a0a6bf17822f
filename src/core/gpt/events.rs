//! The GPT's parts as the NaN-origin replay sees them: each call runs the part, then reports what
//! it computed as op events, in execution order.
//!
//! Reporting happens after the part ran and reads only the buffers it wrote, so a step with
//! events computes exactly what a step without them does. With a no-op observer (`e.on` false)
//! each call costs one branch. `layer` is the probe-order index of the module (`core::gpt::view`).

use ndarray::{ArrayView2, ArrayViewMut2};

use super::linear::Linear;
use super::rownorm::RowNorm;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;

impl Linear {
    /// [`Linear::forward`], reported as `linear` with inputs `x, W (, b)`.
    pub fn forward_reported<T: Real>(
        &self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        self.forward(params, x, y.view_mut());
        if e.on {
            let w = params.value(self.weight);
            let inputs = match self.bias {
                Some(b) => vec![x, w, params.value(b)],
                None => vec![x, w],
            };
            e.op(Some(layer), Op::Linear, Phase::Forward, &inputs, y.view());
        }
    }

    /// [`Linear::backward`], reported as `linear.grad_weight` (inputs `x, dy`),
    /// `linear.grad_bias` (`dy`) and `linear.grad_input` (`dy, W`).
    #[allow(clippy::too_many_arguments)] // Linear::backward's five, plus where to report
    pub fn backward_reported<T: Real>(
        &self,
        params: &mut Params<T>,
        x: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        accumulate_weight: bool,
        dx: Option<(ArrayViewMut2<'_, T>, T)>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        let Some((mut dx, beta)) = dx else {
            self.backward(params, x, dy, accumulate_weight, None);
            self.report_param_grads(params, x, dy, e, layer);
            return;
        };
        self.backward(
            params,
            x,
            dy,
            accumulate_weight,
            Some((dx.view_mut(), beta)),
        );
        self.report_param_grads(params, x, dy, e, layer);
        if e.on {
            let w = params.value(self.weight);
            let (l, back) = (Some(layer), Phase::Backward);
            e.op(l, Op::LinearGradInput, back, &[dy, w], dx.view());
        }
    }

    fn report_param_grads<T: Real>(
        &self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        if !e.on {
            return;
        }
        let (l, back) = (Some(layer), Phase::Backward);
        e.op(
            l,
            Op::LinearGradWeight,
            back,
            &[x, dy],
            params.grad(self.weight),
        );
        if let Some(b) = self.bias {
            e.op(l, Op::LinearGradBias, back, &[dy], params.grad(b));
        }
    }
}

impl<T: Real> RowNorm<T> {
    /// [`RowNorm::forward`], reported as `<norm>.normalize` (input `x`, output `x̂`) and
    /// `<norm>.affine` (input `x̂`, output `y`).
    pub fn forward_reported(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        self.forward(params, x, y.view_mut());
        if e.on {
            let (l, fwd) = (Some(layer), Phase::Forward);
            let xhat = self.xhat.view();
            e.op(l, Op::RowNormalize(self.kind), fwd, &[x], xhat);
            e.op(l, Op::RowAffine(self.kind), fwd, &[xhat], y.view());
        }
    }

    /// [`RowNorm::backward`], reported as `<norm>.backward` (input `dy`, output `dx`).
    pub fn backward_reported(
        &self,
        params: &mut Params<T>,
        dy: ArrayView2<'_, T>,
        mut dx: ArrayViewMut2<'_, T>,
        accumulate: bool,
        e: &mut Emit<'_, T>,
        layer: usize,
    ) {
        self.backward(params, dy, dx.view_mut(), accumulate);
        let op = Op::RowNormBackward(self.kind);
        e.op(Some(layer), op, Phase::Backward, &[dy], dx.view());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clip::Clip;
    use crate::core::data::tokens::{TokenData, TokenTask};
    use crate::core::gpt::train::GptTrainer;
    use crate::core::gpt::{Gpt, GptSpec, MlpActivation, NormPosition};
    use crate::core::model::view::Probed;
    use crate::core::observer::{NoopObserver, Observer, OpEvent};
    use crate::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
    use crate::core::schedule::Schedule;

    /// Every op event of a run: (step, layer, op name, phase).
    #[derive(Default)]
    struct Log(Vec<(usize, Option<usize>, &'static str, Phase)>);

    impl Observer<f32> for Log {
        fn wants_ops(&self) -> bool {
            true
        }
        fn on_op(&mut self, e: &OpEvent<'_, f32>) {
            self.0.push((e.step, e.layer, e.op.name(), e.phase));
        }
    }

    fn trainer(spec: GptSpec) -> GptTrainer<f32> {
        let gpt = Gpt::new(spec, 5);
        let opt = Optimizer::new(
            OptimizerSpec::defaults(OptimizerKind::Adamw),
            gpt.params.len(),
        );
        let data = TokenData::synthetic(TokenTask::Markov, spec.vocab, spec.context, 16, 5);
        let schedule = Schedule::constant(1e-2, 3);
        GptTrainer::new(gpt, opt, schedule, Clip::NONE, data, 5)
    }

    fn bits(t: &GptTrainer<f32>) -> Vec<u32> {
        t.gpt.params.values.iter().map(|v| v.to_bits()).collect()
    }

    const SPECS: [(bool, NormPosition, bool, MlpActivation); 3] = [
        (false, NormPosition::Pre, false, MlpActivation::GeluTanh),
        (true, NormPosition::Pre, true, MlpActivation::Swiglu),
        (true, NormPosition::Post, false, MlpActivation::Relu),
    ];

    fn spec(
        (qk_norm, norm_position, tie_embeddings, act): (bool, NormPosition, bool, MlpActivation),
    ) -> GptSpec {
        GptSpec {
            qk_norm,
            norm_position,
            tie_embeddings,
            mlp_activation: act,
            batch: 2,
            ..GptSpec::for_tests()
        }
    }

    #[test]
    fn reporting_ops_changes_no_bit_of_the_run() {
        for s in SPECS {
            let (mut quiet, mut loud) = (trainer(spec(s)), trainer(spec(s)));
            for _ in 0..3 {
                let a = quiet.step_observed(&mut NoopObserver).loss.total;
                let b = loud.step_observed(&mut Log::default()).loss.total;
                assert_eq!(a.to_bits(), b.to_bits(), "{s:?}");
            }
            assert_eq!(bits(&quiet), bits(&loud), "{s:?}");
        }
    }

    #[test]
    fn each_op_is_filed_under_a_module_of_its_kind() {
        for s in SPECS {
            let mut t = trainer(spec(s));
            let mut log = Log::default();
            t.step_observed(&mut log);
            let gpt = &t.gpt;
            let name = |l: Option<usize>| l.and_then(|l| gpt.layer_name(l)).unwrap_or_default();
            let mut updates = 0;
            for &(step, layer, op, phase) in &log.0 {
                let module = name(layer);
                let ok = match op.split('.').next().unwrap_or("") {
                    "linear" => ["qkv", "proj", "fc1", "fc2", "head"]
                        .iter()
                        .any(|m| module.ends_with(m)),
                    "layernorm" | "rmsnorm" => ["ln1", "ln2", "ln_f", "q_norm", "k_norm"]
                        .iter()
                        .any(|m| module.ends_with(m)),
                    "attn" => module.ends_with("attn.qkv"),
                    "mlp" => module.ends_with("mlp.fc1"),
                    "embedding" => module.ends_with("_emb"),
                    // Forward: the sum is filed under the branch's last module; backward (the
                    // skip's share added to dx) under its first: ln1/ln2 pre-LN, qkv/fc1 post-LN.
                    "residual" => match phase {
                        Phase::Forward => module.ends_with("proj") || module.ends_with("fc2"),
                        _ => ["ln1", "ln2", "qkv", "fc1"]
                            .iter()
                            .any(|m| module.ends_with(m)),
                    },
                    "token_xent" => layer.is_none(),
                    "adamw" => {
                        updates += 1;
                        phase == Phase::Update
                    }
                    _ => false,
                };
                assert!(ok && step == 0, "{op} filed under {module:?} ({s:?})");
            }
            assert_eq!(updates, gpt.params.segments.len(), "one update per segment");
            let ops: Vec<&str> = log.0.iter().map(|e| e.2).collect();
            let first = |op: &str| ops.iter().position(|o| *o == op).unwrap_or(usize::MAX);
            assert!(first("embedding") == 0 && first("token_xent") < first("linear.grad_weight"));
            assert!(first("attn.qk_matmul") < first("attn.softmax"));
            assert!(first("attn.softmax") < first("attn.av_matmul"));
        }
    }
}
