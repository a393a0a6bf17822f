//! The float abstraction the core is generic over: `f32` (as real training runs) and `f64` (gradient checks).

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar, ScalarOperand};

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

/// The two implementations differ only in their name and widening.
macro_rules! impl_real {
    ($t:ty, $name:literal) => {
        impl Real for $t {
            const NAME: &'static str = $name;
            #[inline]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn wide(self) -> f64 {
                f64::from(self)
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

impl_real!(f32, "f32");
impl_real!(f64, "f64");

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
}
