//! The recorder on a GPT: every statistic of a named module checked against a hand computation.

use super::*;
use crate::core::clip::Clip;
use crate::core::data::tokens::{TokenData, TokenTask};
use crate::core::gpt::train::GptTrainer;
use crate::core::gpt::{Gpt, GptSpec, MlpActivation};
use crate::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
use crate::core::schedule::Schedule;
use crate::probe::stats::count_nonfinite;

fn trainer() -> GptTrainer<f64> {
    let spec = GptSpec {
        vocab: 13,
        context: 6,
        d_model: 8,
        heads: 2,
        blocks: 2,
        qk_norm: true,
        batch: 3,
        ..GptSpec::tiny_gpt()
    };
    let gpt = Gpt::new(spec, 3);
    let optimizer = Optimizer::new(
        OptimizerSpec::defaults(OptimizerKind::Adamw),
        gpt.params.len(),
    );
    let data = TokenData::synthetic(TokenTask::Copy, 13, 6, 32, 3);
    GptTrainer::new(
        gpt,
        optimizer,
        Schedule::constant(1e-2, 5),
        Clip::NONE,
        data,
        3,
    )
}

fn norm(xs: impl Iterator<Item = f64>) -> f64 {
    xs.map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn gpt_modules_are_recorded_by_name_with_hand_computed_statistics() {
    let mut t = trainer();
    let mut recorder = Recorder::<f64>::new(0, 2);
    t.step_observed(&mut recorder);
    let before = t.gpt.params.values.clone();
    t.step_observed(&mut recorder);
    let trace = recorder.into_trace();
    let names = &trace.layer_names;
    assert_eq!(names.len(), trace.steps[1].layers.len());
    assert_eq!(names[0], "tok_emb");
    assert_eq!(names.last().map(String::as_str), Some("head"));
    for name in ["fc1", "head", "q_norm"] {
        let module = match name {
            "fc1" => "blocks.1.mlp.fc1",
            "q_norm" => "blocks.0.attn.q_norm",
            _ => "head",
        };
        let l = names.iter().position(|n| n == module).expect(module);
        let stats = &trace.steps[1].layers[l];
        let (_, seg) = t.gpt.segment(&format!("{module}.weight")).expect(module);
        let r = seg.range();
        let p = &t.gpt.params;
        let grad = norm(p.grads[r.clone()].iter().copied());
        let w = norm(p.values[r.clone()].iter().copied());
        let w0 = norm(before[r.clone()].iter().copied());
        let dw = norm(
            p.values[r.clone()]
                .iter()
                .zip(&before[r])
                .map(|(a, b)| a - b),
        );
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(stats.weight_grad_norm, grad), "{module} grad");
        assert!(close(stats.weight_norm, w), "{module} ‖W‖");
        assert!(close(stats.update_ratio, dw / w0), "{module} update ratio");
        assert_eq!(stats.input_grad_norm, None, "not a plain stack");
        assert_eq!(stats.layer, l);
    }
    let head = trace.steps[1].layers.last().expect("head");
    let max_logit = t.gpt.logits.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert_eq!(head.activation_max_abs, max_logit);
    assert!(trace.steps[1].layers.iter().all(|s| s.nonfinite == 0));
    assert!(!trace.histograms.is_empty());
}

/// Dead ReLU units of a GPT's MLP, counted over every token of the batch: a quarter of block 0's
/// `fc1` units get a bias of −50 (no normalized input through weights of std 0.02 can lift them
/// over 0), the rest +50 (none can fall under it), so exactly a quarter are dead; GELU models
/// have no unit probe and report 0.
#[test]
fn dead_relu_units_of_a_gpt_mlp_are_counted_over_every_token() {
    for (act, expected) in [(MlpActivation::Relu, 0.25), (MlpActivation::Gelu, 0.0)] {
        let mut t = trainer();
        let spec = GptSpec {
            mlp_activation: act,
            ..t.gpt.spec
        };
        t.gpt = Gpt::new(spec, 3);
        let bias = t.gpt.blocks[0].fc1.bias.expect("bias = true");
        let seg = t.gpt.params.segments[bias];
        let width = seg.rows * seg.cols;
        assert_eq!(width, 4 * spec.d_model);
        for (j, b) in t.gpt.params.values[seg.offset..seg.offset + width]
            .iter_mut()
            .enumerate()
        {
            *b = if j < width / 4 { -50.0 } else { 50.0 };
        }
        let mut recorder = Recorder::<f64>::new(0, 1);
        t.step_observed(&mut recorder);
        let trace = recorder.into_trace();
        let l = trace
            .layer_names
            .iter()
            .position(|n| n == "blocks.0.mlp.fc1");
        let stats = &trace.steps[0].layers[l.expect("fc1 is a probed module")];
        assert_eq!(stats.dead_fraction, expected, "{act:?}");
    }
}

/// The per-head statistics fold the right rows: recomputed here from the kept probabilities
/// (`−Σ P ln P`, rows `(b·heads + h)·T + t`) and from the scores `q·k/√d` of the kept queries
/// and keys (qk-normed), every sequence and position.
#[test]
fn attention_statistics_are_recomputed_from_the_kept_probabilities_and_scores() {
    let mut t = trainer();
    let mut recorder = Recorder::<f64>::new(0, 1);
    t.step_observed(&mut recorder);
    let trace = recorder.into_trace();
    let stats = trace.steps[0]
        .transformer
        .as_ref()
        .expect("a GPT records them");
    let spec = t.gpt.spec;
    let (ctx, heads, hd) = (spec.context, spec.heads, spec.head_dim());
    assert_eq!(stats.blocks.len(), spec.blocks);
    for (b, block) in t.gpt.blocks.iter().enumerate() {
        let attn = block.attention();
        let qk = attn.qk_norm.as_ref().expect("qk_norm: true");
        for h in 0..heads {
            let (mut top, mut sum, mut min, mut n) = (f64::MIN, 0.0, f64::MAX, 0);
            for seq in 0..spec.batch {
                let row0 = (seq * heads + h) * ctx;
                for i in 0..ctx {
                    let p = attn.attn.probs.row(row0 + i);
                    let e: f64 = -p
                        .iter()
                        .filter(|&&x| x > 0.0)
                        .map(|x| x * x.ln())
                        .sum::<f64>();
                    if i >= 1 {
                        (sum, min, n) = (sum + e, min.min(e), n + 1);
                    }
                    for j in 0..=i {
                        let (qi, kj) = (qk.q.row(seq * ctx + i), qk.k.row(seq * ctx + j));
                        let s: f64 = (0..hd).map(|c| qi[h * hd + c] * kj[h * hd + c]).sum();
                        top = top.max(s / (hd as f64).sqrt());
                    }
                }
            }
            let got = &stats.blocks[b].heads[h];
            assert!(
                (got.logit_max - top).abs() < 1e-12,
                "{b}.{h}: {got:?} vs {top}"
            );
            assert!(
                (got.entropy_mean - sum / n as f64).abs() < 1e-12,
                "{b}.{h}: {got:?}"
            );
            assert!((got.entropy_min - min).abs() < 1e-12, "{b}.{h}: {got:?}");
        }
    }
    assert_eq!(
        stats.grad_rms_over_eps.len(),
        t.gpt.params.segments.len(),
        "AdamW"
    );
    assert!(stats.log_z_max >= stats.log_z_mean && stats.output_logit_max.is_finite());
}

/// The recorder counts a GPT layer's non-finite `grad_out` values only when its weight gradient
/// is non-finite (`LayerView::grad_out`'s invariant). Guarded here by planting NaN, and a value
/// that overflows to inf, into one element of every parameter tensor in turn: each layer's
/// recorded count equals the hand count over its weights, gradients, output and `grad_out`.
#[test]
fn nonfinite_grad_out_is_counted_though_its_pass_is_skipped_when_the_weight_grad_is_finite() {
    let tensors = trainer().gpt.params.segments.len();
    let mut planted_into_grad_out = 0;
    for k in 0..tensors {
        for poison in [f64::NAN, 1e300] {
            let mut t = trainer();
            let at = t.gpt.params.segments[k].offset;
            t.gpt.params.values[at] = poison;
            let mut recorder = Recorder::<f64>::new(0, 1);
            t.step_observed(&mut recorder);
            let trace = recorder.into_trace();
            let p = &t.gpt.params;
            let count = |xs: &[f64]| count_nonfinite(xs).0;
            for (l, stats) in trace.steps[0].layers.iter().enumerate() {
                let v = t.gpt.layer_view(l);
                let grad_out = v.grad_out.map_or(0, |g| count(contiguous(g)));
                planted_into_grad_out += usize::from(grad_out > 0);
                let tensor = |s: usize| {
                    let r = p.segments[s].range();
                    count(&p.values[r.clone()]) + count(&p.grads[r])
                };
                let expected = tensor(v.weight)
                    + v.bias.map_or(0, tensor)
                    + count(contiguous(v.output))
                    + grad_out;
                assert_eq!(stats.nonfinite, expected, "tensor {k}, {poison}, layer {l}");
            }
        }
    }
    assert!(
        planted_into_grad_out > 0,
        "some planting reached a grad_out"
    );
}
