//! Runs elementwise loops compiled for the best SIMD level this CPU has (picked once at run time).
//!
//! Release builds target baseline x86-64 (SSE2); the hot elementwise passes (optimizer updates,
//! norms, activations) are written as plain loops and compiled again under AVX2+FMA here via
//! pulp, the dispatcher faer already uses. Floating-point results do not depend on the level: Rust
//! never contracts `a*b + c` into an FMA on its own, and every reduction fixes its order with
//! explicit lanes.

use pulp::{Simd, WithSimd};

/// Runs `kernel` compiled with the CPU's SIMD features.
///
/// A kernel is a type whose [`Kernel::run`] is `#[inline(always)]` and holds the loop itself:
/// a closure here would be a separate function that LLVM may leave un-inlined, and so compiled
/// for baseline SSE2 (measured: a 4× slower optimizer update).
#[inline(always)]
pub fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(Dispatch(kernel))
}

/// A loop to compile under the CPU's SIMD features; `run` must be `#[inline(always)]`.
pub trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

struct Dispatch<K>(K);

impl<K: Kernel> WithSimd for Dispatch<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> K::Output {
        self.0.run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct SumSquares<'a>(&'a [f32]);

    impl Kernel for SumSquares<'_> {
        type Output = f32;
        #[inline(always)]
        fn run(self) -> f32 {
            self.0.iter().map(|x| x * x).sum()
        }
    }

    #[test]
    fn runs_the_kernel_and_returns_its_value() {
        assert_eq!(vectorized(SumSquares(&[1.0, 2.0, 3.0])), 14.0);
    }
}
