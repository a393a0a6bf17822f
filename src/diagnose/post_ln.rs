//! post-ln-imbalance: at step 0 the output layer's gradient dwarfs the blocks' and the run starts
//! at its full learning rate (Xiong et al. 2020: post-LN's gradients near the output are large at
//! initialization, so it needs warm-up; pre-LN does not).
//!
//! Measured: `RMS(∂L/∂W_head) / median_k RMS(∂L/∂W_k)` over the blocks' weight matrices
//! (attention and MLP projections; norms and embeddings excluded), at step 0. On the tiny-gpt
//! family at GPT-2's init this is 4.6-6.3 pre-LN and 166-241 post-LN (README); the gate
//! `max_output_grad_imbalance` defaults to 50, an order of magnitude above pre-LN's.
//!
//! An imbalance is a hazard, not a failure: post-LN at 2 blocks trains without warm-up. So the
//! finding is an error (failing the gate) only when the run also shows the harm — an error
//! finding about gradients, progress or divergence — and a warning otherwise. With warm-up
//! (`lr` at step 0 under half the run's peak) the remedy is in place and nothing is said.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity, Suggestion};
use super::gates::{Gate, GateBook};
use super::series::{above, median};
use crate::record::text::fmt;

/// Error findings that count as the harm an unwarmed imbalance does.
const HARM: [FindingKind; 7] = [
    FindingKind::VanishingGradients,
    FindingKind::ExplodingGradients,
    FindingKind::NoProgress,
    FindingKind::Plateau,
    FindingKind::LossDivergence,
    FindingKind::LossSpike,
    FindingKind::Nonfinite,
];

pub fn check(cx: &Context, book: &mut GateBook, earlier: &[Finding]) -> Vec<Finding> {
    let Some((ratio, head)) = imbalance(cx) else {
        return Vec::new();
    };
    let gate = cx.gates.max_output_grad_imbalance;
    let peak_lr = cx.trace.steps.iter().map(|s| s.lr).fold(0.0, f64::max);
    let warmed = cx.trace.steps[0].lr < 0.5 * peak_lr;
    let harmed = (earlier.iter()).any(|f| f.severity == Severity::Error && HARM.contains(&f.kind));
    let error = above(ratio, gate) && !warmed && harmed;
    book.record(
        Gate::MaxOutputGradImbalance,
        gate,
        ratio,
        "step-0 gradient RMS of the output layer over the blocks' median; fails only when the \
         run started without warm-up and went wrong",
    );
    if !above(ratio, gate) || warmed {
        return Vec::new();
    }
    let severity = if error {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut d = Draft::new(FindingKind::PostLnImbalance, severity, cx.range(0, 0));
    d = match error {
        true => d.gate(Gate::MaxOutputGradImbalance, gate, ratio),
        false => d.measured(ratio, Some(gate)),
    };
    let post = cx
        .scenario
        .transformer()
        .is_some_and(|t| t.norm_position == crate::core::gpt::NormPosition::Post);
    let finding = d
        .layers(vec![head])
        .summary(format!(
            "at step 0 the output layer's gradient RMS is {}x the blocks' median and the run \
             starts at its full lr {}{}",
            fmt(ratio),
            fmt(cx.trace.steps[0].lr),
            if error {
                ", and it went wrong (see the other findings)"
            } else {
                "; it trained anyway"
            }
        ))
        .explain(format!(
            "RMS(∂L/∂W) of the output layer over the median of the blocks' weight matrices, at \
             step 0. {}Xiong et al. 2020 show post-LN's gradients near the output are large at \
             initialization, which is why post-LN needs lr warm-up and pre-LN does not.",
            if post { "This model is post-LN. " } else { "" }
        ))
        .evidence("step0_output_grad_imbalance", ratio)
        .evidence("step0_lr", cx.trace.steps[0].lr)
        .suggest(warmup(cx))
        .done();
    vec![finding]
}

/// `(ratio, output layer)` at step 0, when the trace names a `head` and block weight matrices.
fn imbalance(cx: &Context) -> Option<(f64, usize)> {
    let step = cx.trace.steps.first().filter(|s| s.step == 0)?;
    let names = &cx.trace.layer_names;
    let len_of = |layer: &str| {
        let name = format!("{layer}.weight");
        (cx.trace.tensors.iter())
            .find(|t| t.name == name && t.is_weight())
            .map(|t| t.len as f64)
    };
    let rms = |l: usize| {
        let name = names.get(l)?;
        let n = len_of(name)?;
        let g = step.layers.iter().find(|s| s.layer == l)?.weight_grad_norm;
        Some(g / n.sqrt())
    };
    let head = names.iter().position(|n| n == "head")?;
    let blocks: Vec<f64> = (0..names.len())
        .filter(|&l| {
            names[l].starts_with("blocks.")
                && [".qkv", ".proj", ".fc1", ".fc2"]
                    .iter()
                    .any(|s| names[l].ends_with(s))
        })
        .filter_map(rms)
        .collect();
    let ratio = rms(head)? / median(blocks);
    ratio.is_finite().then_some((ratio, head))
}

/// Linear warm-up over the first tenth of the run, and pre-LN when the model is post-LN.
fn warmup(cx: &Context) -> Option<Suggestion> {
    let warm = (cx.scenario.steps / 10).max(1);
    Some(Suggestion {
        set: vec![
            "schedule.kind=\"warmup-cosine\"".to_string(),
            format!("schedule.warmup={warm}"),
        ],
        why: "warm-up keeps the first updates small while the output layer's gradient dominates \
              (Xiong et al. 2020); pre-LN removes the imbalance itself"
            .to_string(),
    })
}
