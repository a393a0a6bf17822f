//! Delivers op events to the observer only when it asked for them.

use ndarray::ArrayView2;

use crate::core::float::Real;
use crate::core::observer::{Observer, Op, OpEvent, Phase};

/// The observer plus the current step, as the layers see it.
pub struct Emit<'o, T> {
    pub observer: &'o mut dyn Observer<T>,
    pub step: usize,
    /// Cached `observer.wants_ops()`, so a no-op observer costs one branch per op.
    pub on: bool,
}

impl<'o, T: Real> Emit<'o, T> {
    pub fn new(observer: &'o mut dyn Observer<T>, step: usize) -> Self {
        let on = observer.wants_ops();
        Emit { observer, step, on }
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
}
