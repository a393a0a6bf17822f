//! Parts in a chain, `y = f_n(… f_1(x))`, owning the buffers between them and their gradients.
//!
//! The last part writes straight into the caller's `y` and the first reads the caller's `x`, so
//! a chain of n parts owns n − 1 outputs and n − 1 gradients, each sized once at build: a step
//! allocates nothing.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::cast::{ChainCast, copy_into, round_view, slice_mut};
use super::{Io, Layer, Part};
use crate::core::blocked::{MomentSums, moment_sums};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite};
use crate::core::params::Params;
use crate::core::precision::policy::{Policy, Role};

/// A chain of parts for inputs of `rows × width`.
#[derive(Debug, Clone)]
pub struct Sequential<T> {
    pub parts: Vec<Layer<T>>,
    /// `outs[i]`: part i's output, for every part but the last.
    pub outs: Vec<Array2<T>>,
    /// `grads[i] = ∂L/∂outs[i]`, after the backward pass.
    pub grads: Vec<Array2<T>>,
    width: usize,
    /// The chain's 16-bit roundings, under a precision policy.
    pub cast: Option<ChainCast<T>>,
    /// Which parts' outputs to measure in the forward pass (none unless set).
    pub measure: Vec<bool>,
    /// `sums[i]`: [`MomentSums`] of part i's output, taken right after it was written (while
    /// in cache) when `measure[i]`; `None` otherwise, so they never describe an older buffer.
    pub sums: Vec<Option<MomentSums>>,
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
        let n = parts.len();
        Sequential {
            measure: vec![false; n],
            sums: vec![None; n],
            parts,
            outs: bufs(),
            grads: bufs(),
            width,
            cast: None,
        }
    }

    /// Rounds as `policy` says, for inputs that are 16-bit when `input16`, and the same for
    /// every chain nested in it; the parts of the layers in `keep` stay f32. Returns whether
    /// the chain's output is 16-bit.
    pub fn set_policy(
        &mut self,
        policy: Policy,
        rows: usize,
        input16: bool,
        keep: &[usize],
    ) -> bool {
        let mut in16 = input16;
        for p in &mut self.parts {
            let (role, _, layer) = p.cast_info();
            let kept = keep.contains(&layer);
            match p {
                Layer::Residual(r) => {
                    r.branch.set_policy(policy, rows, in16, keep);
                }
                Layer::Attention(a) => a.set_cast((!kept).then_some(policy.half)),
                _ => {}
            }
            in16 = !kept && policy.output16(role, in16);
        }
        let shape = (rows, self.width);
        let cast = ChainCast::new(policy, &self.parts, shape, input16, keep);
        let out16 = cast.output16();
        self.cast = Some(cast);
        out16
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
            let mut input = match i {
                0 => x,
                _ => done[i - 1].view(),
            };
            let (_, op, layer) = part.cast_info();
            let cast = self.cast.as_mut();
            let copy = cast.and_then(|c| c.inputs[i].as_mut().map(|b| (c.half, b)));
            if let Some((half, buf)) = copy {
                let info = (Some(layer), CastOp::Matmul, CastSite::Forward);
                e.round(half, copy_into(buf, input), info);
                input = buf.view();
            }
            let mut out = match i == last {
                true => y.view_mut(),
                false => rest[0].view_mut(),
            };
            part.forward(params, input, out.view_mut(), e);
            if let Some(half) = self
                .cast
                .as_ref()
                .and_then(|c| c.out16[i].then_some(c.half))
            {
                round_view(
                    e,
                    half,
                    out.view_mut(),
                    (Some(layer), op, CastSite::Forward),
                );
            }
            // After the rounding: the sums describe the buffer as probes read it.
            self.sums[i] = match self.measure[i] {
                true => out.as_slice().map(moment_sums),
                false => None,
            };
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
            let (role, op, layer) = self.parts[i].cast_info();
            let (inputs, dy_buf, half, out16) = match self.cast.as_mut() {
                Some(c) => (Some(&c.inputs), c.dy.as_mut(), Some(c.half), c.out16[i]),
                None => (None, None, None, false),
            };
            let x = match (inputs.and_then(|b| b[i].as_ref()), i) {
                (Some(b), _) => b.view(),
                (None, 0) => io.x,
                (None, _) => self.outs[i - 1].view(),
            };
            let y = self.outs.get(i).map_or(io.y, |o| o.view());
            let (below, above) = self.grads.split_at_mut(i);
            let info = (Some(layer), op, CastSite::Backward);
            let d_out = match (half.filter(|_| out16), above.first_mut()) {
                (Some(h), Some(g)) => {
                    e.round(h, slice_mut(g), info);
                    g.view()
                }
                (Some(h), None) => match dy_buf {
                    Some(buf) => {
                        e.round(h, copy_into(buf, dy), info);
                        buf.view()
                    }
                    None => dy,
                },
                (None, g) => g.map_or(dy, |g| g.view()),
            };
            let mut d_in = match i {
                0 => dx.as_mut().map(|d| d.view_mut()),
                _ => Some(below[i - 1].view_mut()),
            };
            let d_in_again = d_in.as_mut().map(|d| d.view_mut());
            self.parts[i].backward(params, Io { x, y }, d_out, d_in_again, e);
            if let (Some(h), Role::Matmul, Some(d)) = (half, role, d_in) {
                round_view(e, h, d, (Some(layer), op, CastSite::Backward));
            }
        }
    }
}
