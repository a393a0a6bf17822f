//! Parts in a chain, `y = f_n(… f_1(x))`, owning the buffers between them and their gradients.
//!
//! The last part writes straight into the caller's `y` and the first reads the caller's `x`, so
//! a chain of n parts owns n − 1 outputs and n − 1 gradients, each sized once at build: a step
//! allocates nothing.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::{Io, Layer, Part};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::params::Params;

/// A chain of parts for inputs of `rows × width`.
#[derive(Debug, Clone)]
pub struct Sequential<T> {
    pub parts: Vec<Layer<T>>,
    /// `outs[i]`: part i's output, for every part but the last.
    pub outs: Vec<Array2<T>>,
    /// `grads[i] = ∂L/∂outs[i]`, after the backward pass.
    pub grads: Vec<Array2<T>>,
    width: usize,
}

impl<T: Real> Sequential<T> {
    /// The chain of `parts` for `[rows, width]` inputs.
    pub fn new(rows: usize, width: usize, parts: Vec<Layer<T>>) -> Self {
        let mut widths = Vec::with_capacity(parts.len());
        let mut w = width;
        for p in &parts {
            w = p.out_width(w);
            widths.push(w);
        }
        widths.pop();
        let bufs = || widths.iter().map(|&w| Array2::zeros((rows, w))).collect();
        Sequential {
            parts,
            outs: bufs(),
            grads: bufs(),
            width,
        }
    }

    /// Part `i`'s input: `x` for the first, else the previous part's output.
    pub fn input<'a>(&'a self, i: usize, x: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        match i {
            0 => x,
            _ => self.outs[i - 1].view(),
        }
    }

    /// Part `i`'s output, or `y` for the last part (whose output the caller owns).
    pub fn output<'a>(&'a self, i: usize, y: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        self.outs.get(i).map_or(y, |o| o.view())
    }

    /// `∂L/∂(part i's output)` after the backward pass; `None` for the last part's (the caller's).
    pub fn grad(&self, i: usize) -> Option<ArrayView2<'_, T>> {
        self.grads.get(i).map(|g| g.view())
    }

    /// Part `i` (mutable) with its input, for `i ≥ 1` (whose input the chain owns), e.g. to
    /// freeze an activation at its last input.
    pub fn part_and_input_mut(&mut self, i: usize) -> Option<(&mut Layer<T>, ArrayView2<'_, T>)> {
        let input = self.outs.get(i.checked_sub(1)?)?.view();
        Some((self.parts.get_mut(i)?, input))
    }

    /// The first part of type `P`, and its index.
    pub fn find<P>(&self) -> Option<(usize, &P)>
    where
        Layer<T>: super::Downcast<P>,
    {
        use super::Downcast;
        self.parts
            .iter()
            .enumerate()
            .find_map(|(i, l)| l.get().map(|p| (i, p)))
    }
}

impl<T: Real> Part<T> for Sequential<T> {
    fn out_width(&self, width: usize) -> usize {
        debug_assert_eq!(width, self.width, "a chain is built for one input width");
        self.parts.iter().fold(width, |w, p| p.out_width(w))
    }

    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter_mut().enumerate() {
            let (done, rest) = self.outs.split_at_mut(i);
            let input = match i {
                0 => x,
                _ => done[i - 1].view(),
            };
            match i == last {
                true => part.forward(params, input, y.view_mut(), e),
                false => part.forward(params, input, rest[0].view_mut(), e),
            }
        }
    }

    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        mut dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        let n = self.parts.len();
        for i in (0..n).rev() {
            let x = match i {
                0 => io.x,
                _ => self.outs[i - 1].view(),
            };
            let y = self.outs.get(i).map_or(io.y, |o| o.view());
            let (below, above) = self.grads.split_at_mut(i);
            let d_out = above.first().map_or(dy, |g| g.view());
            let d_in = match i {
                0 => dx.as_mut().map(|d| d.view_mut()),
                _ => Some(below[i - 1].view_mut()),
            };
            self.parts[i].backward(params, Io { x, y }, d_out, d_in, e);
        }
    }
}
