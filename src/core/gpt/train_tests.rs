//! The GPT trainer: determinism across threads and seeds, and norm clipping.

use super::*;
use crate::core::clip::ClipKind;
use crate::core::data::tokens::TokenTask;
use crate::core::gpt::GptSpec;
use crate::core::optim::{OptimizerKind, OptimizerSpec};

fn trainer(seed: u64, clip: Clip) -> GptTrainer<f32> {
    let spec = GptSpec {
        vocab: 16,
        context: 8,
        d_model: 16,
        heads: 2,
        blocks: 2,
        batch: 4,
        ..GptSpec::tiny_gpt()
    };
    let gpt = Gpt::new(spec, seed);
    let optimizer = Optimizer::new(
        OptimizerSpec::defaults(OptimizerKind::Adamw),
        gpt.params.len(),
    );
    let data = TokenData::synthetic(TokenTask::Markov, 16, 8, 64, seed);
    GptTrainer::new(
        gpt,
        optimizer,
        Schedule::constant(1e-2, 30),
        clip,
        data,
        seed,
    )
}

fn run(seed: u64) -> (Vec<u64>, Vec<u32>) {
    let mut t = trainer(seed, Clip::NONE);
    let losses = (0..30).map(|_| t.step().loss.total.to_bits()).collect();
    (
        losses,
        t.gpt.params.values.iter().map(|v| v.to_bits()).collect(),
    )
}

#[test]
fn same_seed_is_bit_identical_on_any_thread_and_other_seeds_differ() {
    let here = run(3);
    let there = std::thread::spawn(|| run(3)).join().unwrap();
    assert_eq!(here, there);
    assert_ne!(here.0, run(4).0);
}

#[test]
fn norm_clipping_bounds_the_gradient_the_optimizer_sees() {
    let mut t = trainer(
        1,
        Clip {
            kind: ClipKind::Norm,
            max: 1e-3,
        },
    );
    let s = t.step();
    assert!(
        s.grad_norm > 1e-2,
        "the unclipped gradient is large: {}",
        s.grad_norm
    );
    assert_eq!(s.grad_norm_clipped, 1e-3);
    let after = sq_norm(&t.gpt.params.grads).sqrt();
    assert!((after / 1e-3 - 1.0).abs() < 1e-5, "{after}");
    assert!(s.update_norm > 0.0 && s.lr == 1e-2 && s.step == 0);
}
