//! The float abstraction the core is generic over: `f32` (as real training runs) and `f64` (gradient checks).

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar, ScalarOperand};

use super::precision::{Census, Half, round_counted, round_f64_slice};
use super::tensor::faer_matmul;
use num_traits::{Float, FromPrimitive, ToPrimitive};

/// A real scalar the training core can run in.
///
/// Only `f32` and `f64` implement it; overflow in `f32` is a real failure mode the core must
/// reproduce faithfully, so nothing here widens silently.
pub trait Real:
    Float
    + FromPrimitive
    + ToPrimitive
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + ndarray_npy::WritableElement
    + 'static
{
    /// Name used in records and messages (`"f32"` / `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest (and overflowing to ±inf, as a cast does).
    fn of(x: f64) -> Self;

    /// Widens to `f64` exactly.
    fn wide(self) -> f64;

    /// Explicit mantissa bits of the format (23 / 52).
    const MANTISSA_BITS: u32;
    /// Exponent bias of the format (127 / 1023).
    const EXPONENT_BIAS: u64;

    /// The bits of `|self|` (sign cleared), widened to `u64`. As integers they order as the
    /// magnitudes do, with `+inf` above every finite value and NaN above `+inf`, so a comparison
    /// of bits stands in for a comparison of values without converting anything.
    fn magnitude_bits(self) -> u64;

    /// The non-negative value whose bits are `bits` (the inverse of [`Real::magnitude_bits`]).
    fn from_magnitude_bits(bits: u64) -> Self;

    /// `exp(self)` as a function that inlines into vectorized loops: the softmaxes' and
    /// GELU-tanh's hot path. `f32` uses a Cephes-style polynomial (≤ 2 ulp over the finite range,
    /// tested in [`crate::core::vexp`]; libm's scalar `expf`, a call per element, was a third of a
    /// tiny-gpt step); `f64`, the gradient-checking precision, keeps libm's `exp`.
    fn exp_inline(self) -> Self;

    /// Rounds every value to the 16-bit `format` in place (ties to even), and, when `count`,
    /// says what the rounding did (see [`crate::core::precision::round_counted`]).
    fn round_half(format: Half, xs: &mut [Self], count: bool) -> Option<Census>;

    /// `c = alpha·a·b`, or `c += alpha·a·b` when `accumulate`: the GEMM kernel for this type.
    /// Call [`crate::core::tensor::matmul_into`], which checks shapes and handles `beta`.
    fn matmul_kernel(
        alpha: Self,
        a: ArrayView2<'_, Self>,
        b: ArrayView2<'_, Self>,
        accumulate: bool,
        c: ArrayViewMut2<'_, Self>,
    );
}

/// The two implementations differ only in their name, widening and bit layout.
macro_rules! impl_real {
    ($t:ty, $bits:ty, $name:literal, $exp:path, $round:expr) => {
        impl Real for $t {
            const NAME: &'static str = $name;
            const MANTISSA_BITS: u32 = <$t>::MANTISSA_DIGITS - 1;
            const EXPONENT_BIAS: u64 = <$t>::MAX_EXP as u64 - 1;
            #[inline(always)]
            fn magnitude_bits(self) -> u64 {
                u64::from(self.abs().to_bits())
            }
            #[inline]
            fn from_magnitude_bits(bits: u64) -> Self {
                <$t>::from_bits(bits as $bits)
            }
            #[inline]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn wide(self) -> f64 {
                f64::from(self)
            }
            #[inline(always)]
            fn exp_inline(self) -> Self {
                $exp(self)
            }
            fn round_half(format: Half, xs: &mut [Self], count: bool) -> Option<Census> {
                $round(format, xs, count)
            }
            fn matmul_kernel(
                alpha: Self,
                a: ArrayView2<'_, Self>,
                b: ArrayView2<'_, Self>,
                accumulate: bool,
                c: ArrayViewMut2<'_, Self>,
            ) {
                faer_matmul(alpha, a, b, accumulate, c);
            }
        }
    };
}

impl_real!(
    f32,
    u32,
    "f32",
    super::vexp::exp_f32,
    |format: Half, xs: &mut [f32], count: bool| match count {
        true => Some(round_counted(format, xs)),
        false => {
            format.round_slice(xs);
            None
        }
    }
);
impl_real!(
    f64,
    u64,
    "f64",
    f64::exp,
    |format: Half, xs: &mut [f64], _count: bool| {
        round_f64_slice(format, xs);
        None
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_conversion_overflows_to_inf_like_a_cast() {
        assert_eq!(<f32 as Real>::of(1e40), f32::INFINITY);
        assert_eq!(<f32 as Real>::of(-1e40), f32::NEG_INFINITY);
        assert!(<f32 as Real>::of(f64::NAN).is_nan());
        assert_eq!(1.5f32.wide(), 1.5);
    }

    #[test]
    fn magnitude_bits_order_as_magnitudes_with_inf_and_nan_on_top() {
        assert_eq!((f32::MANTISSA_BITS, f32::EXPONENT_BIAS), (23, 127));
        assert_eq!((f64::MANTISSA_BITS, f64::EXPONENT_BIAS), (52, 1023));
        let xs = [0.0, 1e-45, 1e-38, 0.5, 1.0, 3e38, f32::MAX, f32::INFINITY];
        for pair in xs.windows(2) {
            assert!(
                pair[0].magnitude_bits() < pair[1].magnitude_bits(),
                "{pair:?}"
            );
            assert_eq!((-pair[1]).magnitude_bits(), pair[1].magnitude_bits());
        }
        assert!(f32::NAN.magnitude_bits() > f32::INFINITY.magnitude_bits());
        assert!((-f64::NAN).magnitude_bits() > f64::INFINITY.magnitude_bits());
        assert_eq!((-0.0f64).magnitude_bits(), 0);
        assert_eq!(f32::from_magnitude_bits((-2.5f32).magnitude_bits()), 2.5);
        assert_eq!(f64::from_magnitude_bits(1.0f64.magnitude_bits()), 1.0);
        assert_eq!(1.0f64.magnitude_bits(), 1023 << 52);
    }
}
