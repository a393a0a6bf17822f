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

#[test]
fn counter_sees_allocations() {
    // Guard for the guard: the counter must notice a real allocation on this thread.
    let before = ALLOCATIONS.with(Cell::get);
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(ALLOCATIONS.with(Cell::get) > before);
    drop(v);
}
