//! SwiGLU (Shazeer 2020): `fc1` emits `[a | g]` (twice the hidden width) and the part gives
//! `silu(a) ⊙ g`, `silu(a) = a·σ(a)`, `silu'(a) = σ(a)(1 + a(1 − σ(a)))`.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip, s};

use super::MlpFn;
use crate::core::float::Real;
use crate::core::layers::activation::sigmoid;

/// SwiGLU as an MLP part.
#[derive(Debug, Clone, Copy)]
pub struct SwigluFn;

impl MlpFn for SwigluFn {
    fn input_width(hidden: usize) -> usize {
        2 * hidden
    }

    fn forward<T: Real>(z: ArrayView2<'_, T>, mut a: ArrayViewMut2<'_, T>) {
        let h = a.ncols();
        Zip::from(&mut a)
            .and(z.slice(s![.., ..h]))
            .and(z.slice(s![.., h..]))
            .for_each(|a, &x, &g| *a = x * sigmoid(x) * g);
    }

    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        _a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        mut dz: ArrayViewMut2<'_, T>,
    ) {
        let h = da.ncols();
        let (mut dx, mut dg) = dz.view_mut().split_at(Axis(1), h);
        Zip::from(&mut dx)
            .and(&mut dg)
            .and(z.slice(s![.., ..h]))
            .and(z.slice(s![.., h..]))
            .and(&da)
            .for_each(|dx, dg, &x, &g, &d| {
                let sig = sigmoid(x);
                *dg = d * x * sig;
                *dx = d * g * sig * (T::one() + x * (T::one() - sig));
            });
    }
}

#[cfg(test)]
mod tests {
    use crate::core::gpt::MlpActivation;
    use ndarray::{Array2, array};

    #[test]
    fn value_matches_hand_computation() {
        let z = array![[1.0f64, -2.0]];
        let mut b = Array2::zeros((1, 1));
        MlpActivation::Swiglu.forward(z.view(), b.view_mut());
        // silu(1)·(−2) = −2/(1 + e^−1)
        assert!((b[(0, 0)] + 2.0 / (1.0 + (-1f64).exp())).abs() < 1e-15);
    }
}
