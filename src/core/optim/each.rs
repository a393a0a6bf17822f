//! The shared per-element update driver: runs an optimizer's rule over a segment, measuring `‖Δθ‖²`.

use crate::core::float::Real;
use crate::core::params::{LANES, LaneSum};
use crate::core::simd::{Kernel, vectorized};

/// Runs `step(index, old, grad) -> new` over one segment and returns `‖Δθ‖²`, summed in
/// [`LaneSum`] order. Lanes are kept in registers by working in fixed blocks of [`LANES`]:
/// an indexed accumulator array in memory made the update 5× slower than the GEMMs around it.
#[inline(always)]
pub(super) fn update_each<T: Real>(
    values: &mut [T],
    grads: &[T],
    step: impl FnMut(usize, T, T) -> T,
) -> f64 {
    assert_eq!(
        values.len(),
        grads.len(),
        "a segment's values and grads have one length"
    );
    vectorized(UpdateEach {
        values,
        grads,
        step,
    })
}

struct UpdateEach<'a, T, F> {
    values: &'a mut [T],
    grads: &'a [T],
    step: F,
}

impl<T: Real, F: FnMut(usize, T, T) -> T> Kernel for UpdateEach<'_, T, F> {
    type Output = f64;

    #[inline(always)]
    fn run(self) -> f64 {
        let UpdateEach {
            values,
            grads,
            mut step,
        } = self;
        let mut acc = [0.0f64; LANES];
        let full = values.len() - values.len() % LANES;
        let blocks = values[..full]
            .chunks_exact_mut(LANES)
            .zip(grads[..full].chunks_exact(LANES));
        for (block, (w, g)) in blocks.enumerate() {
            // Update first, measure second: two plain loops over a block vectorize where one
            // loop mixing f32 updates with f64 sums did not.
            let mut old = [T::zero(); LANES];
            old.copy_from_slice(w);
            for k in 0..LANES {
                w[k] = step(block * LANES + k, old[k], g[k]);
            }
            for k in 0..LANES {
                acc[k] += sq_change(old[k], w[k]);
            }
        }
        for (k, (w, &g)) in values[full..].iter_mut().zip(&grads[full..]).enumerate() {
            let old = *w;
            *w = step(full + k, old, g);
            acc[k] += sq_change(old, *w);
        }
        LaneSum::from_lanes(acc).total()
    }
}

/// `(new − old)²` in `f64`: the squared change one element actually saw. An element that did not
/// change counts 0 even when it is infinite (`inf − inf` would be NaN); NaN still propagates.
#[inline(always)]
fn sq_change<T: Real>(old: T, new: T) -> f64 {
    // Branch-free on purpose: weights whose gradient is exactly 0 (dead ReLU units) make
    // `new == old` unpredictable, and a branch here cost more than the whole update.
    let d = new.wide() - old.wide();
    let sq = d * d;
    if new == old { 0.0 } else { sq }
}
