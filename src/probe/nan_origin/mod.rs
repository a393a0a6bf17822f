//! Exact NaN/Inf provenance: replay a failed run deterministically and name the first op that
//! turned finite inputs into a non-finite output.
//!
//! Costs nothing on healthy runs: [`first_nonfinite_step`] reads the step summaries the core keeps
//! anyway, and only when it finds a non-finite loss or gradient norm does `run::replay` rebuild
//! the run from the start, replay it with a cheap parameter watch ([`ParamWatch`]), and watch the
//! one step that went bad op by op ([`OriginChecker`]). The replay must match the original run bit
//! for bit; [`first_divergence`] checks that against the original losses. This module holds the
//! observers; building and replaying a trainer from a scenario belongs to `run`.

mod checker;
mod explain;
mod explain_attention;
mod explain_update;

use serde::{Deserialize, Serialize};

pub use self::checker::{NonFinite, OriginChecker, ParamWatch, first_nonfinite, summarize};
pub use self::explain::Hyper;
use crate::core::train::StepSummary;
use crate::record::trace::NanOrigin;
pub use crate::record::trace::ReplayDivergence;

/// The first step whose loss or global gradient norm is non-finite: the cheap trigger of a replay.
/// A step dynamic loss scaling skipped counts only by its loss (its gradient overflowed by design).
pub fn first_nonfinite_step(summaries: &[StepSummary]) -> Option<usize> {
    summaries
        .iter()
        .find(|s| {
            let skipped = s.scale.is_some_and(|x| x.skipped);
            !s.loss.is_finite() || (!skipped && !s.grad_norm.is_finite())
        })
        .map(|s| s.step)
}

/// A replay and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginReplay {
    /// The first op of the examined step with a non-finite output: the op that made a non-finite
    /// value from finite inputs, or, when its inputs were already non-finite, where the damage
    /// from before the step first shows. `None` when the examined step stayed finite.
    pub origin: Option<NanOrigin>,
    /// The summaries of every replayed step, in step order.
    pub replayed: Vec<StepSummary>,
}

/// The origin found by `run::replay::find_nan_origin_checked`, and whether the replay was faithful.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckedOrigin {
    pub origin: Option<NanOrigin>,
    /// The first step (`0..=first bad step`) whose replayed loss bits differ from the original's;
    /// `None` when the replay reproduced the original run bit for bit. When `Some`, `origin`
    /// describes the replay, not necessarily the original run.
    pub replay_divergence: Option<ReplayDivergence>,
}

/// The first step present in both lists whose loss bits differ.
pub fn first_divergence(
    original: &[StepSummary],
    replayed: &[StepSummary],
) -> Option<ReplayDivergence> {
    replayed.iter().find_map(|r| {
        let o = original.iter().find(|o| o.step == r.step)?;
        (o.loss.to_bits() != r.loss.to_bits()).then_some(ReplayDivergence {
            step: r.step,
            original_loss: o.loss,
            replayed_loss: r.loss,
        })
    })
}
