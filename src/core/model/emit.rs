//! Delivers op events to the observer only when it asked for them.

use ndarray::ArrayView2;

use crate::core::float::Real;
use crate::core::observer::{CastEvent, CastOp, CastSite, Observer, Op, OpEvent, Phase};
use crate::core::precision::Half;

/// The observer plus the current step, as the layers see it.
pub struct Emit<'o, T> {
    pub observer: &'o mut dyn Observer<T>,
    pub step: usize,
    /// Cached `observer.wants_ops()`, so a no-op observer costs one branch per op.
    pub on: bool,
    /// Cached `observer.wants_stats().census`: count what each 16-bit rounding does.
    pub census: bool,
}

impl<'o, T: Real> Emit<'o, T> {
    pub fn new(observer: &'o mut dyn Observer<T>, step: usize) -> Self {
        let on = observer.wants_ops();
        let census = observer.wants_stats().census;
        Emit {
            observer,
            step,
            on,
            census,
        }
    }

    #[inline]
    pub fn op(
        &mut self,
        layer: Option<usize>,
        op: Op,
        phase: Phase,
        inputs: &[ArrayView2<'_, T>],
        output: ArrayView2<'_, T>,
    ) {
        if self.on {
            self.observer.on_op(&OpEvent {
                step: self.step,
                layer,
                op,
                phase,
                inputs,
                output,
            });
        }
    }

    /// Rounds `xs` to `half` in place, reporting the census to the observer when it asked.
    pub fn round(
        &mut self,
        half: Half,
        xs: &mut [T],
        (layer, op, site): (Option<usize>, CastOp, CastSite),
    ) {
        // A replay watches every op: the rounding is one, with the unrounded values as input.
        let before = self.on.then(|| xs.to_vec());
        if let Some(census) = T::round_half(half, xs, self.census) {
            self.report_cast((layer, op, site), &census);
        }
        if let Some(before) = before {
            let shape = (1, xs.len());
            if let (Ok(x), Ok(y)) = (
                ArrayView2::from_shape(shape, &before[..]),
                ArrayView2::from_shape(shape, &xs[..]),
            ) {
                let phase = match site {
                    CastSite::Forward => Phase::Forward,
                    CastSite::Backward | CastSite::WeightGrad => Phase::Backward,
                    CastSite::Weights => Phase::Update,
                };
                self.op(layer, Op::Cast(half), phase, &[x], y);
            }
        }
    }

    /// Delivers a census taken elsewhere.
    pub fn report_cast(
        &mut self,
        (layer, op, site): (Option<usize>, CastOp, CastSite),
        census: &crate::core::precision::Census,
    ) {
        self.observer.on_cast(&CastEvent {
            step: self.step,
            layer,
            op,
            site,
            census,
        });
    }
}
