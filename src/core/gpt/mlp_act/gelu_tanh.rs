//! GELU's tanh approximation (`F.gelu(z, approximate='tanh')`, GPT-2's):
//! `½z(1 + tanh u)`, `u = √(2/π)(z + 0.044715 z³)`, computed as `z·σ(2u)` (one `exp`).

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use super::MlpFn;
use crate::core::float::Real;
use crate::core::layers::activation::sigmoid;
use crate::core::simd::{Kernel, vectorized};

/// `√(2/π)`, GELU-tanh's inner scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// GELU-tanh's cubic coefficient.
const GELU_CUBIC: f64 = 0.044_715;

/// GELU-tanh as an MLP part.
#[derive(Debug, Clone, Copy)]
pub struct GeluTanhFn;

impl MlpFn for GeluTanhFn {
    fn forward<T: Real>(z: ArrayView2<'_, T>, mut a: ArrayViewMut2<'_, T>) {
        match (z.as_slice(), a.as_slice_mut()) {
            (Some(z), Some(a)) => gelu_tanh_slices(z, None, a),
            _ => Zip::from(&mut a)
                .and(&z)
                .for_each(|a, &z| *a = gelu_tanh(z).0),
        }
    }

    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        _a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        mut dz: ArrayViewMut2<'_, T>,
    ) {
        match (z.as_slice(), da.as_slice(), dz.as_slice_mut()) {
            (Some(z), Some(da), Some(dz)) => gelu_tanh_slices(z, Some(da), dz),
            _ => Zip::from(&mut dz)
                .and(&z)
                .and(&da)
                .for_each(|dz, &z, &d| *dz = gelu_tanh(z).1 * d),
        }
    }
}

/// GELU-tanh and its derivative at `z`, through `½(1 + tanh u) = σ(2u)`: one `exp` instead of a
/// `tanh` (libm's `tanhf` was half of a tiny-gpt step), and `σ` from `exp(−|x|)` never overflows
/// and keeps `1 + tanh u` accurate where it is tiny (z ≪ 0), which `1 + tanh u` itself does not.
/// Value `z·σ(2u)`; derivative `σ(2u) + z·2σ(2u)(1 − σ(2u))·√(2/π)(1 + 3·0.044715 z²)`.
#[inline]
fn gelu_tanh<T: Real>(z: T) -> (T, T) {
    let (c, k) = (T::of(SQRT_2_OVER_PI), T::of(GELU_CUBIC));
    let two = T::of(2.0);
    let sig = sigmoid(two * c * (z + k * z * z * z));
    (z * sig, gelu_tanh_slope(z, sig))
}

/// GELU-tanh over contiguous slices in one pass compiled for the CPU's SIMD level (with the
/// inlinable `exp`): `out = gelu_tanh(z)`, or with `da`, `out = gelu_tanh'(z)·da`. The same
/// formulas as [`gelu_tanh`]: `σ(x)` is `1/(1 + e)` or `e/(1 + e)` from `e = exp(−|x|)`.
fn gelu_tanh_slices<T: Real>(z: &[T], da: Option<&[T]>, out: &mut [T]) {
    vectorized(GeluTanh { z, da, out });
}

struct GeluTanh<'a, T> {
    z: &'a [T],
    da: Option<&'a [T]>,
    out: &'a mut [T],
}

impl<T: Real> Kernel for GeluTanh<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (c, k, two) = (T::of(SQRT_2_OVER_PI), T::of(GELU_CUBIC), T::of(2.0));
        let sig = |z: T| {
            let x = two * c * (z + k * z * z * z);
            let e = (-x.abs()).exp_inline();
            if x >= T::zero() {
                T::one() / (T::one() + e)
            } else {
                e / (T::one() + e)
            }
        };
        match self.da {
            None => self
                .out
                .iter_mut()
                .zip(self.z)
                .for_each(|(o, &z)| *o = z * sig(z)),
            Some(da) => self
                .out
                .iter_mut()
                .zip(self.z.iter().zip(da))
                .for_each(|(o, (&z, &d))| *o = gelu_tanh_slope(z, sig(z)) * d),
        }
    }
}

#[inline(always)]
fn gelu_tanh_slope<T: Real>(z: T, sig: T) -> T {
    let (c, k, two) = (T::of(SQRT_2_OVER_PI), T::of(GELU_CUBIC), T::of(2.0));
    sig + z * two * sig * (T::one() - sig) * c * (T::one() + T::of(3.0) * k * z * z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gpt::MlpActivation;
    use ndarray::{Array2, array};

    #[test]
    fn values_match_hand_computation() {
        let z = array![[1.0f64, -2.0]];
        let mut a = Array2::zeros((1, 2));
        MlpActivation::GeluTanh.forward(z.view(), a.view_mut());
        // GPT-2's gelu(1) = 0.5·(1 + tanh(0.7978845608·1.044715)) = 0.8411919906082768
        assert!((a[(0, 0)] - 0.841_191_990_608_276_8).abs() < 1e-15, "{a}");
    }

    #[test]
    fn gelu_tanh_slice_path_is_the_scalar_formula_in_f64() {
        let z: Vec<f64> = (0..37).map(|i| (i as f64 - 18.0) * 0.7).collect();
        let (mut a, mut d) = (vec![0.0; 37], vec![0.0; 37]);
        gelu_tanh_slices(&z, None, &mut a);
        gelu_tanh_slices(&z, Some(&vec![1.0; 37]), &mut d);
        for i in 0..37 {
            assert_eq!((a[i], d[i]), gelu_tanh(z[i]), "at z = {}", z[i]);
        }
    }
}
