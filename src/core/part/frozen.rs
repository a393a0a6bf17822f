//! Activations frozen at a point, for finite-difference Hessian-vector products: `y = s ⊙ x` with
//! the slopes `s = f'(x₀)` of the point, a smooth map equal to the activation near it (whose
//! Hessian there is autodiff's), instead of an activation whose kinks a difference step crosses.
//! Both the MLP's and the GPT's activation parts use it; empty slopes mean "not frozen".

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

use crate::core::float::Real;

/// `y = s ⊙ x` when `slopes` is non-empty, else `live(x, y)`.
pub fn forward<'x, 'y, T: Real>(
    slopes: &Array2<T>,
    x: ArrayView2<'x, T>,
    mut y: ArrayViewMut2<'y, T>,
    live: impl FnOnce(ArrayView2<'x, T>, ArrayViewMut2<'y, T>),
) {
    match slopes.is_empty() {
        true => live(x, y),
        false => Zip::from(&mut y)
            .and(&x)
            .and(slopes)
            .for_each(|y, &x, &s| *y = s * x),
    }
}

/// `dx = s ⊙ dy` when `slopes` is non-empty, else `live(dy, dx)`.
pub fn backward<'y, 'x, T: Real>(
    slopes: &Array2<T>,
    dy: ArrayView2<'y, T>,
    mut dx: ArrayViewMut2<'x, T>,
    live: impl FnOnce(ArrayView2<'y, T>, ArrayViewMut2<'x, T>),
) {
    match slopes.is_empty() {
        true => live(dy, dx),
        false => Zip::from(&mut dx)
            .and(&dy)
            .and(slopes)
            .for_each(|d, &g, &s| *d = s * g),
    }
}
