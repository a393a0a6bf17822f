//! A chain's 16-bit roundings under a precision policy (see `core::precision::policy`).
//!
//! Per part: whether its output is stored in 16 bits (then the gradient entering that output
//! is rounded too), and, for a matmul whose input is f32, a 16-bit copy of the input (the cast
//! autocast inserts; the f32 tensor stays for its other readers, e.g. a skip connection).

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::{Layer, Part};
use crate::core::float::Real;
use crate::core::model::contiguous;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite};
use crate::core::precision::Half;
use crate::core::precision::policy::{Policy, Role};

/// The roundings of one [`super::Sequential`], sized at build.
#[derive(Debug, Clone)]
pub struct ChainCast<T> {
    pub half: Half,
    /// Whether part i's output is 16-bit.
    pub out16: Vec<bool>,
    /// Part i's input cast to 16 bits (matmuls fed an f32 tensor only).
    pub inputs: Vec<Option<Array2<T>>>,
    /// The rounded gradient of the last part's output (the caller's buffer is read-only).
    pub dy: Option<Array2<T>>,
}

impl<T: Real> ChainCast<T> {
    /// The roundings of `parts` for `[rows, width]` inputs that are 16-bit when `input16`; the
    /// parts of the layers in `keep` round nothing (their ops stay in f32).
    pub fn new(
        policy: Policy,
        parts: &[Layer<T>],
        (rows, width): (usize, usize),
        input16: bool,
        keep: &[usize],
    ) -> Self {
        let (mut out16, mut inputs) = (Vec::new(), Vec::new());
        let (mut w, mut in16) = (width, input16);
        for p in parts {
            let (role, _, layer) = p.cast_info();
            let kept = keep.contains(&layer);
            let attention = matches!(p, Layer::Attention(_));
            let copy = role == Role::Matmul && !in16 && !kept && !attention;
            inputs.push(copy.then(|| Array2::zeros((rows, w))));
            in16 = !kept && policy.output16(role, in16);
            out16.push(in16);
            w = p.out_width(w);
        }
        let last16 = out16.last().copied().unwrap_or(false);
        ChainCast {
            half: policy.half,
            out16,
            inputs,
            dy: last16.then(|| Array2::zeros((rows, w))),
        }
    }

    /// Whether the chain's output is 16-bit.
    pub fn output16(&self) -> bool {
        self.out16.last().copied().unwrap_or(false)
    }
}

/// Copies `x` into `buf` (same shape) and returns it for rounding.
pub fn copy_into<'a, T: Real>(buf: &'a mut Array2<T>, x: ArrayView2<'_, T>) -> &'a mut [T] {
    buf.assign(&x);
    slice_mut(buf)
}

/// An owned buffer as a mutable slice.
#[allow(clippy::expect_used)] // invariant: chain buffers are owned standard-layout arrays
pub fn slice_mut<T>(buf: &mut Array2<T>) -> &mut [T] {
    buf.as_slice_mut()
        .expect("chain buffers are owned standard-layout arrays")
}

/// A buffer the chain owns, read as a slice (for symmetry with [`slice_mut`]).
pub fn slice<T>(buf: &Array2<T>) -> &[T] {
    contiguous(buf.view())
}

impl<T: Real> Layer<T> {
    /// The part's autocast role, the op its output is reported as, and its layer.
    pub fn cast_info(&self) -> (Role, CastOp, usize) {
        match self {
            Layer::Dense(p) => (Role::Matmul, CastOp::Matmul, p.layer),
            Layer::Linear(p) => (Role::Matmul, CastOp::Matmul, p.at),
            Layer::Attention(p) => (Role::Matmul, CastOp::AttnValues, p.at.0),
            Layer::Act(p) => (Role::Elementwise, CastOp::Activation, p.layer),
            Layer::MlpAct(p) => (Role::Elementwise, CastOp::Activation, p.at),
            Layer::Dropout(p) => (Role::Elementwise, CastOp::Dropout, p.layer),
            Layer::Norm(p) => (Role::Wide, CastOp::Norm, p.layer),
            Layer::RowNorm(p) => (Role::Wide, CastOp::Norm, p.at),
            // An add runs in its inputs' format: f32 on an f32 stream, 16-bit in a 16-bit chain.
            Layer::Residual(p) => (Role::Elementwise, CastOp::ResidualAdd, p.at.0),
        }
    }
}

/// Rounds a buffer in place (contiguous in every chain; element by element otherwise).
pub fn round_view<T: Real>(
    e: &mut Emit<'_, T>,
    half: Half,
    mut v: ArrayViewMut2<'_, T>,
    info: (Option<usize>, CastOp, CastSite),
) {
    match v.as_slice_mut() {
        Some(xs) => e.round(half, xs, info),
        None => v.iter_mut().for_each(|x| {
            T::round_half(half, std::slice::from_mut(x), false);
        }),
    }
}
