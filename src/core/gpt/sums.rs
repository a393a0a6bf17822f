//! The GPT's output sums for probes, taken in the forward pass right after each buffer is written.
//!
//! Why: the recorder's activation moments read ≈6.5M values per tiny-gpt step. Read at the end
//! of the step every buffer comes from memory (0.3 ns a value measured on the bench machine);
//! right after its op wrote it, from cache (0.1 ns). The sums are the same function of the same
//! values either way ([`moment_sums`]), so the recorded statistics keep their bits.

use super::Gpt;
use crate::core::blocked::{MomentSums, moment_sums};
use crate::core::float::Real;

/// Sums of the model-level buffers probes read: `h₀` (both embeddings), `ln_f`'s output and
/// the logits. Each is `None` unless measured in the last forward pass.
#[derive(Debug, Clone, Copy, Default)]
pub struct GptSums {
    pub measure: bool,
    pub h0: Option<MomentSums>,
    pub normed: Option<MomentSums>,
    pub logits: Option<MomentSums>,
}

impl GptSums {
    /// `buffer`'s sums when measuring, else `None`.
    pub fn take<T: Real>(&self, buffer: &ndarray::Array2<T>) -> Option<MomentSums> {
        self.measure
            .then(|| buffer.as_slice().map(moment_sums))
            .flatten()
    }
}

impl<T: Real> Gpt<T> {
    /// Takes (`true`) or stops taking the sums of every output probes read, in the forward
    /// pass ([`crate::core::observer::StatsWanted::buffer_sums`]).
    pub fn set_buffer_sums(&mut self, on: bool) {
        self.sums.measure = on;
        for block in &mut self.blocks {
            block.set_measure(on);
        }
    }
}
