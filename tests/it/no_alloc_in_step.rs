//! A training step allocates nothing: every buffer is built with the model. Counted with a global
//! allocator that tallies allocations made on this test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use stabcheck::core::observer::NoopObserver;
use stabcheck::core::train::Trainer;
use stabcheck::run::build::build_trainer;
use stabcheck::scenario;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in_steps() -> usize {
    let mut s = scenario::resolve("deep-mlp").unwrap();
    s.mlp_mut().unwrap().hidden = vec![32; 4];
    s.data.samples = Some(256);
    s.data.batch = 32;
    let s = s.revalidate().unwrap();
    let mut t: Trainer<f32> = build_trainer(&s, None).unwrap();
    t.step(&mut NoopObserver); // first step may touch lazily initialised state
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..20 {
        t.step(&mut NoopObserver);
    }
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn training_steps_allocate_nothing() {
    assert_eq!(allocations_in_steps(), 0);
}

/// A small GPT with every optional part on (qk-norm, tied head, z-loss, SwiGLU), trained with
/// AdamW and norm clipping on Markov tokens for 20 steps (8 epochs of its 16 sequences).
fn gpt_allocations_in_steps() -> usize {
    use stabcheck::core::clip::{Clip, ClipKind};
    use stabcheck::core::data::tokens::{TokenData, TokenTask};
    use stabcheck::core::gpt::train::GptTrainer;
    use stabcheck::core::gpt::{Gpt, GptSpec, MlpActivation};
    use stabcheck::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
    use stabcheck::core::schedule::Schedule;
    let spec = GptSpec {
        vocab: 32,
        context: 8,
        d_model: 16,
        heads: 2,
        blocks: 2,
        batch: 2,
        qk_norm: true,
        tie_embeddings: true,
        z_loss: 1e-4,
        mlp_activation: MlpActivation::Swiglu,
        ..GptSpec::tiny_gpt()
    };
    let gpt = Gpt::<f32>::new(spec, 1);
    let optimizer = Optimizer::new(
        OptimizerSpec::defaults(OptimizerKind::Adamw),
        gpt.params.len(),
    );
    let data = TokenData::synthetic(TokenTask::Markov, 32, 8, 16, 0);
    let clip = Clip {
        kind: ClipKind::Norm,
        max: 1e-3,
    };
    let mut trainer = GptTrainer::new(gpt, optimizer, Schedule::constant(1e-3, 100), clip, data, 0);
    trainer.step();
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..20 {
        trainer.step();
    }
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn gpt_training_steps_allocate_nothing() {
    assert_eq!(gpt_allocations_in_steps(), 0);
}

#[test]
fn counter_sees_allocations() {
    // Guard for the guard: the counter must notice a real allocation on this thread.
    let before = ALLOCATIONS.with(Cell::get);
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(ALLOCATIONS.with(Cell::get) > before);
    drop(v);
}
