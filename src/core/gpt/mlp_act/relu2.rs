//! Squared ReLU, `max(z, 0)²` (So et al. 2021, "Primer"): `a' = 2·max(z, 0)`. Added as the worked
//! example of the README's "Adding a layer": this file and one registry line.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use super::MlpFn;
use crate::core::float::Real;
use crate::core::layers::activation::{Activation, positive_part};

/// Squared ReLU as an MLP part.
#[derive(Debug, Clone, Copy)]
pub struct Relu2Fn;

impl MlpFn for Relu2Fn {
    /// Its output is 0 exactly where ReLU's is, so ReLU's dead-unit test applies.
    const UNITS: Option<Activation> = Some(Activation::Relu);

    fn forward<T: Real>(z: ArrayView2<'_, T>, mut a: ArrayViewMut2<'_, T>) {
        Zip::from(&mut a).and(&z).for_each(|a, &z| {
            // `positive_part` keeps a NaN (`max(NaN, 0)` would hide it from the NaN-origin replay).
            let r = positive_part(z);
            *a = r * r;
        });
    }

    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        _a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        mut dz: ArrayViewMut2<'_, T>,
    ) {
        let two = T::of(2.0);
        Zip::from(&mut dz)
            .and(&z)
            .and(&da)
            .for_each(|dz, &z, &d| *dz = two * positive_part(z) * d);
    }
}

#[cfg(test)]
mod tests {
    use crate::core::gpt::MlpActivation;
    use ndarray::{Array2, array};

    #[test]
    fn values_match_hand_computation() {
        let z = array![[1.5f64, -2.0, 0.0, f64::NAN]];
        let mut a = Array2::zeros((1, 4));
        MlpActivation::Relu2.forward(z.view(), a.view_mut());
        assert_eq!(a.slice(ndarray::s![.., ..3]), array![[2.25, 0.0, 0.0]]);
        assert!(a[(0, 3)].is_nan(), "a NaN input stays NaN");
    }
}
