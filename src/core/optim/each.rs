//! The shared per-element update driver: runs an optimizer's rule over a segment, measuring `‖Δθ‖²`
//! and, when asked, `‖θ_new‖²` in the same pass.

use crate::core::float::Real;
use crate::core::params::{LANES, LaneSum};
use crate::core::simd::{Kernel, vectorized};

/// What one segment update measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// `‖Δθ‖²`, the squared change actually applied.
    pub change_sq: f64,
    /// `‖θ_new‖²`, bit-identical to [`crate::core::params::sq_norm`] of the updated values;
    /// NaN when not asked for.
    pub value_sq: f64,
}

/// Runs `step(index, old, grad) -> new` over one segment and returns `‖Δθ‖²` (summed in
/// [`LaneSum`] order) and, when `value_norm`, `‖θ_new‖²`. Lanes are kept in registers by working
/// in fixed blocks of [`LANES`]: an indexed accumulator array in memory made the update 5× slower
/// than the GEMMs around it.
#[inline(always)]
pub(super) fn update_each<T: Real>(
    values: &mut [T],
    grads: &[T],
    value_norm: bool,
    step: impl FnMut(usize, T, T) -> T,
) -> Measured {
    assert_eq!(
        values.len(),
        grads.len(),
        "a segment's values and grads have one length"
    );
    if value_norm {
        vectorized(UpdateEach::<_, _, true> {
            values,
            grads,
            step,
        })
    } else {
        vectorized(UpdateEach::<_, _, false> {
            values,
            grads,
            step,
        })
    }
}

/// The update loop; with `VALUE_NORM` it also sums `θ_new²` in the order of
/// [`crate::core::params::sq_norm`]: block `b` of [`LANES`] values goes to the `even` or `odd`
/// lane array by the parity of `b`, lane `k` takes element `k` of the block.
struct UpdateEach<'a, T, F, const VALUE_NORM: bool> {
    values: &'a mut [T],
    grads: &'a [T],
    step: F,
}

impl<T: Real, F: FnMut(usize, T, T) -> T, const VALUE_NORM: bool> Kernel
    for UpdateEach<'_, T, F, VALUE_NORM>
{
    type Output = Measured;

    #[inline(always)]
    fn run(self) -> Measured {
        let UpdateEach {
            values,
            grads,
            mut step,
        } = self;
        let mut acc = [0.0f64; LANES];
        let (mut even, mut odd) = ([0.0f64; LANES], [0.0f64; LANES]);
        let full = values.len() - values.len() % LANES;
        let mut blocks = values[..full]
            .chunks_exact_mut(LANES)
            .zip(grads[..full].chunks_exact(LANES))
            .enumerate();
        // Blocks in pairs, so each lane array stays in registers (no parity-chosen pointer).
        // Without `VALUE_NORM` too: single blocks took 3.7% more instructions in Adam than pairs
        // doing the extra sums, which made the probes look cheaper than they are.
        if VALUE_NORM {
            while let Some((block, (w, g))) = blocks.next() {
                update_block(block, w, g, &mut acc, &mut step);
                add_squares(&mut even, w);
                let Some((block, (w, g))) = blocks.next() else {
                    break;
                };
                update_block(block, w, g, &mut acc, &mut step);
                add_squares(&mut odd, w);
            }
        } else {
            while let Some((block, (w, g))) = blocks.next() {
                update_block(block, w, g, &mut acc, &mut step);
                let Some((block, (w, g))) = blocks.next() else {
                    break;
                };
                update_block(block, w, g, &mut acc, &mut step);
            }
        }
        let tail_lanes = if (full / LANES).is_multiple_of(2) {
            &mut even
        } else {
            &mut odd
        };
        for (k, (w, &g)) in values[full..].iter_mut().zip(&grads[full..]).enumerate() {
            let old = *w;
            *w = step(full + k, old, g);
            acc[k] += sq_change(old, *w);
            if VALUE_NORM {
                tail_lanes[k] += w.wide() * w.wide();
            }
        }
        let value_sq = if VALUE_NORM {
            let mut lanes = [0.0f64; LANES];
            for k in 0..LANES {
                lanes[k] = even[k] + odd[k];
            }
            LaneSum::from_lanes(lanes).total()
        } else {
            f64::NAN
        };
        Measured {
            change_sq: LaneSum::from_lanes(acc).total(),
            value_sq,
        }
    }
}

/// Updates one block of [`LANES`] values and adds each squared change to its lane.
#[inline(always)]
fn update_block<T: Real>(
    block: usize,
    w: &mut [T],
    g: &[T],
    acc: &mut [f64; LANES],
    step: &mut impl FnMut(usize, T, T) -> T,
) {
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

#[inline(always)]
fn add_squares<T: Real>(lanes: &mut [f64; LANES], w: &[T]) {
    for k in 0..LANES {
        lanes[k] += w[k].wide() * w[k].wide();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::params::sq_norm;

    #[test]
    fn value_norm_is_bit_identical_to_sq_norm_for_every_length_around_the_blocks() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 33, 130] {
            let start: Vec<f32> = (0..n).map(|i| 1.0 + (i as f32 * 0.37).sin()).collect();
            let grads: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let step = |_: usize, w: f32, g: f32| w - 0.3 * g;
            let mut plain = start.clone();
            let without = update_each(&mut plain, &grads, false, step);
            let mut measured = start.clone();
            let with = update_each(&mut measured, &grads, true, step);
            assert_eq!(plain, measured, "n = {n}");
            assert!(without.value_sq.is_nan());
            assert_eq!(
                with.change_sq.to_bits(),
                without.change_sq.to_bits(),
                "n = {n}"
            );
            assert_eq!(
                with.value_sq.to_bits(),
                sq_norm(&measured).to_bits(),
                "n = {n}"
            );
        }
    }

    #[test]
    fn value_norm_propagates_nan() {
        let mut w = vec![1.0f64; 20];
        let g = vec![0.0f64; 20];
        let m = update_each(
            &mut w,
            &g,
            true,
            |i, w, _| if i == 13 { f64::NAN } else { w },
        );
        assert!(m.value_sq.is_nan() && m.change_sq.is_nan());
    }
}
