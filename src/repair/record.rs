//! The repair record's outcome of one run, from the run itself. The record types are in
//! `record::fix`.

pub use crate::record::fix::{Candidate, FixRecord, Phase, Rejected, RobustCheck, RunOutcome};
use crate::run::RecordedRun;

impl RunOutcome {
    /// How `run` ended: its gates and losses.
    pub fn of(run: &RecordedRun) -> Self {
        Self::new(&run.verdict, &run.summary.steps)
    }
}
