//! A skip connection around a chain: `y = x + f(x)`, and `dx = dy + f'(x)ᵀ·dy`.
//!
//! The branch's output is kept in its own buffer (probes read it, and a branch ending in an
//! activation needs its own output for its backward pass). Backward writes the branch's input
//! gradient, then adds the skip's: the same sum, in the same order of operands, as adding the
//! branch's into a copy of `dy` (IEEE addition commutes), so either order gives the same bits.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

use super::{Io, Part, Sequential};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{Op, Phase};
use crate::core::params::Params;

/// `y = x + branch(x)`, its events filed under the branch's last module (forward) and first
/// module (backward), where a single module would report them.
#[derive(Debug, Clone)]
pub struct Residual<T> {
    pub branch: Sequential<T>,
    /// `branch(x)`.
    pub branch_out: Array2<T>,
    /// Where the forward add and the backward add are reported.
    pub at: (usize, usize),
}

impl<T: Real> Residual<T> {
    /// A skip around `branch` for `[rows, width]` inputs; the branch must keep the width.
    pub fn new(rows: usize, width: usize, branch: Sequential<T>, at: (usize, usize)) -> Self {
        debug_assert_eq!(branch.out_width(width), width, "a skip needs equal widths");
        Residual {
            branch,
            branch_out: Array2::zeros((rows, width)),
            at,
        }
    }
}

impl<T: Real> Part<T> for Residual<T> {
    fn out_width(&self, width: usize) -> usize {
        width
    }

    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        self.branch
            .forward(params, x, self.branch_out.view_mut(), e);
        Zip::from(&mut y)
            .and(&x)
            .and(&self.branch_out)
            .for_each(|y, &x, &f| *y = x + f);
        let inputs = [x, self.branch_out.view()];
        e.op(
            Some(self.at.0),
            Op::ResidualAdd,
            Phase::Forward,
            &inputs,
            y.view(),
        );
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let branch_io = Io {
            x: io.x,
            y: self.branch_out.view(),
        };
        let Some(mut dx) = dx else {
            return self.branch.backward(params, branch_io, dy, None, e);
        };
        self.branch
            .backward(params, branch_io, dy, Some(dx.view_mut()), e);
        Zip::from(&mut dx).and(&dy).for_each(|d, &g| *d += g);
        e.op(
            Some(self.at.1),
            Op::ResidualAdd,
            Phase::Backward,
            &[dy],
            dx.view(),
        );
    }
}
