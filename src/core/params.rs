//! All trainable parameters of a model in one flat buffer, with a segment table saying which layer owns what.

use ndarray::{ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use super::float::Real;
use super::simd::{Kernel, vectorized};

/// What a parameter segment is, so optimizers and penalties can treat weights differently from biases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamKind {
    /// A dense layer's weight matrix `W` (`[in, out]`).
    Weight,
    /// A dense layer's bias `b` (`[1, out]`).
    Bias,
    /// A normalization layer's scale `γ` (`[1, width]`).
    NormGain,
    /// A normalization layer's shift `β` (`[1, width]`).
    NormShift,
}

impl ParamKind {
    /// Short name used in op names and records.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
            ParamKind::NormGain => "norm-gain",
            ParamKind::NormShift => "norm-shift",
        }
    }
}

/// One parameter tensor: a `rows × cols` row-major block of the flat buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Layer index: hidden layers are `0..depth`, the output layer is `depth`.
    pub layer: usize,
    pub kind: ParamKind,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Segment {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Parameter values and their gradients, flat and contiguous.
///
/// One buffer makes whole-model operations (global norm, clipping, optimizer updates, checkpoints,
/// gradient checks) single loops with a fixed summation order, which determinism relies on.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<T> {
    pub values: Vec<T>,
    pub grads: Vec<T>,
    pub segments: Vec<Segment>,
}

impl<T: Real> Default for Params<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Params<T> {
    pub fn new() -> Self {
        Params {
            values: Vec::new(),
            grads: Vec::new(),
            segments: Vec::new(),
        }
    }

    /// Appends a zero-filled `rows × cols` segment and returns its index.
    pub fn push(&mut self, layer: usize, kind: ParamKind, rows: usize, cols: usize) -> usize {
        let offset = self.values.len();
        self.values.resize(offset + rows * cols, T::zero());
        self.grads.resize(offset + rows * cols, T::zero());
        self.segments.push(Segment {
            layer,
            kind,
            offset,
            rows,
            cols,
        });
        self.segments.len() - 1
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    #[allow(clippy::expect_used)] // invariant: segment shapes are fixed at push and fit the buffer
    pub fn value(&self, seg: usize) -> ArrayView2<'_, T> {
        let s = self.segments[seg];
        ArrayView2::from_shape((s.rows, s.cols), &self.values[s.range()])
            .expect("segment shapes are fixed at push and always fit the buffer")
    }

    #[allow(clippy::expect_used)] // invariant: segment shapes are fixed at push and fit the buffer
    pub fn value_mut(&mut self, seg: usize) -> ArrayViewMut2<'_, T> {
        let s = self.segments[seg];
        ArrayViewMut2::from_shape((s.rows, s.cols), &mut self.values[s.range()])
            .expect("segment shapes are fixed at push and always fit the buffer")
    }

    #[allow(clippy::expect_used)] // invariant: segment shapes are fixed at push and fit the buffer
    pub fn grad(&self, seg: usize) -> ArrayView2<'_, T> {
        let s = self.segments[seg];
        ArrayView2::from_shape((s.rows, s.cols), &self.grads[s.range()])
            .expect("segment shapes are fixed at push and always fit the buffer")
    }

    /// The value of one segment (read) and the gradient of another (write) at once, as the
    /// backward pass of a layer needs.
    #[allow(clippy::expect_used)] // invariant: segment shapes are fixed at push and fit the buffer
    pub fn value_and_grad_mut(
        &mut self,
        value_seg: usize,
        grad_seg: usize,
    ) -> (ArrayView2<'_, T>, ArrayViewMut2<'_, T>) {
        let v = self.segments[value_seg];
        let g = self.segments[grad_seg];
        let value = ArrayView2::from_shape((v.rows, v.cols), &self.values[v.range()])
            .expect("segment shapes are fixed at push and always fit the buffer");
        let grad = ArrayViewMut2::from_shape((g.rows, g.cols), &mut self.grads[g.range()])
            .expect("segment shapes are fixed at push and always fit the buffer");
        (value, grad)
    }

    /// `sqrt(Σ g²)` over all gradients, accumulated in `f64` so a large-but-finite norm of `f32`
    /// gradients is not reported as `inf` by an overflowing square.
    pub fn grad_norm(&self) -> f64 {
        sq_norm(&self.grads).sqrt()
    }
}

/// `Σ x²` accumulated in `f64` in a fixed order of 16 interleaved lanes. NaN propagates.
pub fn sq_norm<T: Real>(xs: &[T]) -> f64 {
    vectorized(SqNorm(xs))
}

struct SqNorm<'a, T>(&'a [T]);

impl<T: Real> Kernel for SqNorm<'_, T> {
    type Output = f64;

    #[inline(always)]
    fn run(self) -> f64 {
        let xs = self.0;
        // Two 8-lane arrays rather than one: LLVM keeps each in registers (a 16-lane array it
        // spills, 3× slower), and two chains of additions hide the add latency that bounds one.
        let (mut even, mut odd) = ([0.0f64; LANES], [0.0f64; LANES]);
        let full = xs.len() - xs.len() % (2 * LANES);
        for pair in xs[..full].chunks_exact(2 * LANES) {
            let (a, b) = pair.split_at(LANES);
            for k in 0..LANES {
                even[k] += a[k].wide() * a[k].wide();
                odd[k] += b[k].wide() * b[k].wide();
            }
        }
        for (k, x) in xs[full..].iter().enumerate() {
            let lane = if k < LANES {
                &mut even[k]
            } else {
                &mut odd[k - LANES]
            };
            *lane += x.wide() * x.wide();
        }
        // Fixed order: lane k of `even` then lane k of `odd`, then the LaneSum tree.
        let mut lanes = [0.0f64; LANES];
        for k in 0..LANES {
            lanes[k] = even[k] + odd[k];
        }
        LaneSum::from_lanes(lanes).total()
    }
}

/// Number of interleaved accumulators in a [`LaneSum`].
pub const LANES: usize = 8;

/// A sum of `f64` terms in [`LANES`] interleaved accumulators (term `i` goes to lane `i mod LANES`),
/// combined in a fixed order at the end. The order depends only on the index, so the result is
/// deterministic; the independent chains let the CPU overlap additions that one running sum
/// would serialize (a 4× speed-up on a 250k-parameter norm).
#[derive(Debug, Clone, Copy, Default)]
pub struct LaneSum {
    lanes: [f64; LANES],
}

impl LaneSum {
    pub fn from_lanes(lanes: [f64; LANES]) -> Self {
        LaneSum { lanes }
    }

    #[inline(always)]
    pub fn add(&mut self, lane: usize, x: f64) {
        self.lanes[lane % LANES] += x;
    }

    pub fn total(&self) -> f64 {
        let l = &self.lanes;
        ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_buffer_and_views_see_their_own_block() {
        let mut p = Params::<f64>::new();
        let w = p.push(0, ParamKind::Weight, 2, 3);
        let b = p.push(0, ParamKind::Bias, 1, 3);
        assert_eq!(p.len(), 9);
        p.value_mut(b).fill(5.0);
        assert_eq!(p.values[6..], [5.0, 5.0, 5.0]);
        assert_eq!(p.value(w).shape(), &[2, 3]);
        assert!(p.value(w).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn grad_norm_does_not_overflow_for_large_finite_f32() {
        let mut p = Params::<f32>::new();
        p.push(0, ParamKind::Weight, 1, 2);
        p.grads.fill(1e30);
        let n = p.grad_norm();
        assert!((n - 1e30 * 2f64.sqrt()).abs() / n < 1e-6);
        p.grads[0] = f32::NAN;
        assert!(p.grad_norm().is_nan());
    }
}
