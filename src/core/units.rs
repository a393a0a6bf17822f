//! Per-unit scans for probes: which units of a `[batch, width]` buffer are dead or saturated,
//! i.e. fail an activity test for every sample of the batch. The core runs the dead-unit scan
//! itself when asked (see [`crate::core::model::hidden::BufferSums`]), while the buffer is hot.

use crate::core::float::Real;
use crate::core::layers::activation::Activation;
use crate::core::simd::{Kernel, vectorized};

/// Fraction of dead units of a ReLU-family block's activation output `a` (`[batch, width]`,
/// row-major), `None` for other activations. ReLU: output exactly 0 for every sample; leaky-relu
/// (never 0 below the kink): output `≤ 0` for every sample. NaN never counts as dead.
pub fn dead_fraction<T: Real>(
    activation: Activation,
    a: &[T],
    width: usize,
    flags: &mut [u32],
) -> Option<f64> {
    let zero = T::zero();
    match activation {
        Activation::Relu => Some(units_never(a, width, flags, |a| a != zero)),
        Activation::LeakyRelu => Some(units_never(a, width, flags, |a| a > zero || a.is_nan())),
        _ => None,
    }
}

/// Fraction of units (columns of the row-major `[batch, width]` buffer `a`) for which `active(a)`
/// is false for every sample. `flags` is scratch of at least `width` entries.
pub fn units_never<T: Real>(
    a: &[T],
    width: usize,
    flags: &mut [u32],
    active: impl Fn(T) -> bool,
) -> f64 {
    let Some(flags) = cleared(flags, width) else {
        return 0.0;
    };
    vectorized(OneBufferScan { a, flags, active });
    zero_fraction(flags)
}

/// [`units_never`] for a test `active(z, a)` of two same-shaped buffers.
pub fn units_never_pair<T: Real>(
    z: &[T],
    a: &[T],
    width: usize,
    flags: &mut [u32],
    active: impl Fn(T, T) -> bool,
) -> f64 {
    let Some(flags) = cleared(flags, width) else {
        return 0.0;
    };
    vectorized(UnitScan {
        z,
        a,
        flags,
        active,
    });
    zero_fraction(flags)
}

fn cleared(flags: &mut [u32], width: usize) -> Option<&mut [u32]> {
    let flags = flags.get_mut(..width).filter(|f| !f.is_empty())?;
    flags.fill(0);
    Some(flags)
}

fn zero_fraction(flags: &[u32]) -> f64 {
    flags.iter().filter(|&&f| f == 0).count() as f64 / flags.len() as f64
}

struct OneBufferScan<'a, T, F> {
    a: &'a [T],
    flags: &'a mut [u32],
    active: F,
}

impl<T: Real, F: Fn(T) -> bool> Kernel for OneBufferScan<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.flags.len();
        for row in self.a.chunks_exact(width) {
            for (f, &a) in self.flags.iter_mut().zip(row) {
                *f |= u32::from((self.active)(a));
            }
        }
    }
}

struct UnitScan<'a, T, F> {
    z: &'a [T],
    a: &'a [T],
    flags: &'a mut [u32],
    active: F,
}

impl<T: Real, F: Fn(T, T) -> bool> Kernel for UnitScan<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let width = self.flags.len();
        for (z_row, a_row) in self.z.chunks_exact(width).zip(self.a.chunks_exact(width)) {
            for ((f, &z), &a) in self.flags.iter_mut().zip(z_row).zip(a_row) {
                *f |= u32::from((self.active)(z, a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_scan_flags_only_columns_inactive_for_every_row() {
        let a = [0.0f64, 1.0, 0.0, 0.0, 0.0, 2.0];
        let mut flags = [9u32; 4];
        let dead = units_never(&a, 3, &mut flags, |a| a != 0.0);
        assert!((dead - 1.0 / 3.0).abs() < 1e-15);
    }
}
