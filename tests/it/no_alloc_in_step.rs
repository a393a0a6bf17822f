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
    s.model.hidden = vec![32; 4];
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
/// AdamW through the public step API: forward, loss, backward and the segment updates.
fn gpt_allocations_in_steps() -> usize {
    use stabcheck::core::gpt::{Gpt, GptSpec, MlpActivation};
    use stabcheck::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
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
    let mut gpt = Gpt::<f32>::new(spec, 1);
    let mut opt = Optimizer::<f32>::new(
        OptimizerSpec::defaults(OptimizerKind::Adamw),
        gpt.params.len(),
    );
    let tokens: Vec<u32> = (0..spec.tokens() as u32).map(|i| i * 7 % 32).collect();
    let mut step = |gpt: &mut Gpt<f32>| {
        gpt.forward_backward(&tokens, &tokens);
        opt.begin_step();
        let p = &mut gpt.params;
        for seg in &p.segments {
            opt.update_segment(seg, &mut p.values[seg.range()], &p.grads[seg.range()], 1e-3);
        }
    };
    step(&mut gpt);
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..5 {
        step(&mut gpt);
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
