//! What a hidden block measures of its own buffers when an observer asks: fast sums taken right
//! after each buffer is written, while it is still in cache.

use super::contiguous;
use super::hidden::Hidden;
use crate::core::blocked::{MomentSums, moment_sums};
use crate::core::float::Real;
use crate::core::units::dead_fraction;

/// Statistics of a block's buffers taken while they were hot (see [`crate::core::blocked`]);
/// `None` unless measured in the current step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BufferSums {
    /// Of [`Hidden::output`], after the forward pass.
    pub output: Option<MomentSums>,
    /// `‖grad_out‖²`, once the backward pass has completed `grad_out`.
    pub grad_out_sq: Option<f64>,
    /// [`crate::core::units::dead_fraction`] of `a`, after the forward pass (ReLU family only).
    pub dead_fraction: Option<f64>,
}

impl<T: Real> Hidden<T> {
    /// Takes the forward pass's [`BufferSums`] (clearing `grad_out_sq` until backward sets it).
    pub fn measure_forward(&mut self) {
        let output = moment_sums(contiguous(self.output()));
        let mut flags = std::mem::take(&mut self.unit_flags);
        let a = self.post_activation();
        let dead = dead_fraction(self.activation, contiguous(a), a.ncols(), &mut flags);
        self.unit_flags = flags;
        self.sums = BufferSums {
            output: Some(output),
            grad_out_sq: None,
            dead_fraction: dead,
        };
    }
}
