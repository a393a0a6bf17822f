//! The search: propose candidates from the failing findings, re-run them in parallel (gathered in
//! index order), extend improved singles into pairs, and keep only what the re-runs verify.

use std::path::Path;

use rayon::prelude::*;

use super::candidates::ideas_for;
use super::changes::{change_size, changes};
use super::record::{Candidate, Phase, Rejected, RunOutcome};
use crate::diagnose::{Status, Verdict};
use crate::error::Error;
use crate::run::run_recorded;
use crate::scenario::{Overrides, Scenario, SetOverride, apply_overrides};

/// A candidate ready to run: what it is and the validated scenario it makes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub phase: Phase,
    pub extends: Option<usize>,
    pub ideas: Vec<String>,
    pub set: Vec<String>,
    pub scenario: Scenario,
}

/// A candidate after its re-run, with the verdict its pairs are proposed from.
#[derive(Debug, Clone)]
pub struct Tried {
    pub candidate: Candidate,
    pub scenario: Scenario,
    pub verdict: Verdict,
}

/// Collects planned candidates: validated, each a scenario not seen before, within a budget.
#[derive(Debug)]
pub struct Planner<'a> {
    base: &'a Scenario,
    seen: Vec<Scenario>,
    planned: Vec<Planned>,
    pub rejected: Vec<Rejected>,
    /// Distinct candidates proposed past the budget.
    pub over_budget: usize,
    /// Runs still allowed.
    remaining: usize,
}

impl<'a> Planner<'a> {
    pub fn new(base: &'a Scenario, max_runs: usize) -> Self {
        Planner {
            base,
            seen: vec![base.clone()],
            planned: Vec::new(),
            rejected: Vec::new(),
            over_budget: 0,
            remaining: max_runs,
        }
    }

    /// The candidates planned so far, to run now; they use up their part of the budget.
    pub fn take(&mut self) -> Vec<Planned> {
        self.remaining -= self.planned.len();
        std::mem::take(&mut self.planned)
    }

    /// Proposes every candidate for `verdict`'s error findings on `on` (the original, or an
    /// improved single that `extends` names): each finding's own suggestion, then its table ideas.
    pub fn propose(&mut self, on: &Scenario, verdict: &Verdict, extends: Option<&Tried>) {
        for finding in verdict.errors() {
            if let Some(suggestion) = &finding.suggestion {
                let name = format!("suggested by {}", finding.kind.name());
                self.add(extends, name, suggestion.set.clone());
            }
            for idea in ideas_for(finding.kind) {
                if let Some(set) = (idea.sets)(on) {
                    self.add(extends, idea.name.to_string(), set);
                }
            }
        }
    }

    fn add(&mut self, extends: Option<&Tried>, idea: String, set: Vec<String>) {
        let (mut ideas, mut all_sets) = match extends {
            Some(t) => (t.candidate.ideas.clone(), t.candidate.set.clone()),
            None => (Vec::new(), Vec::new()),
        };
        ideas.push(idea);
        // A key set again replaces the earlier value (lr x0.1 twice writes one lr).
        let key = |arg: &String| arg.split('=').next().unwrap_or_default().trim().to_string();
        all_sets.retain(|old| !set.iter().any(|new| key(new) == key(old)));
        all_sets.extend(set);
        let scenario = match apply(self.base, &all_sets) {
            Ok(s) => s,
            Err(message) => {
                if !self.rejected.iter().any(|r| r.set == all_sets) {
                    let set = all_sets;
                    self.rejected.push(Rejected {
                        ideas,
                        set,
                        message,
                    });
                }
                return;
            }
        };
        if self.seen.contains(&scenario) {
            return;
        }
        self.seen.push(scenario.clone());
        if self.planned.len() >= self.remaining {
            self.over_budget += 1;
            return;
        }
        self.planned.push(Planned {
            phase: if extends.is_some() {
                Phase::Pair
            } else {
                Phase::Single
            },
            extends: extends.map(|t| t.candidate.index),
            ideas,
            set: all_sets,
            scenario,
        });
    }
}

/// `base` with `sets` applied and validated, or the validation message.
fn apply(base: &Scenario, sets: &[String]) -> Result<Scenario, String> {
    let set = sets
        .iter()
        .map(|a| SetOverride::parse(a))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let overrides = Overrides {
        set,
        ..Overrides::default()
    };
    apply_overrides(base, &overrides).map_err(|e| e.to_string())
}

/// Re-runs every planned candidate (in parallel, gathered in order), numbering them from `first`.
pub fn run_all(
    (base, base_dir): (&Scenario, Option<&Path>),
    planned: Vec<Planned>,
    first: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<Tried>, Error> {
    planned
        .into_par_iter()
        .enumerate()
        .map(|(i, p)| {
            let run = run_recorded(&p.scenario, base_dir, None)?;
            progress();
            let changed = changes(base, &p.scenario);
            let candidate = Candidate {
                index: first + i,
                phase: p.phase,
                extends: p.extends,
                ideas: p.ideas,
                set: p.set,
                change_size: change_size(&changed),
                changes: changed,
                run: RunOutcome::of(&run),
                robust: None,
                verified: run.verdict.status == Status::Pass,
            };
            Ok(Tried {
                candidate,
                scenario: p.scenario,
                verdict: run.verdict,
            })
        })
        .collect()
}

/// Singles that did not pass but passed a gate the original failed (a NaN cured can uncover
/// failures it hid), best first (fewest failed gates, then lowest final loss, then index): the
/// ones worth extending into pairs.
pub fn improved<'t>(tried: &'t [Tried], original: &RunOutcome) -> Vec<&'t Tried> {
    let failed = |t: &Tried| t.candidate.run.failed_gates.len();
    let cures_one = |t: &Tried| {
        let still = &t.candidate.run.failed_gates;
        original.failed_gates.iter().any(|g| !still.contains(g))
    };
    let mut out: Vec<&Tried> = tried
        .iter()
        .filter(|t| t.candidate.phase == Phase::Single && !t.candidate.verified)
        .filter(|t| cures_one(t))
        .collect();
    out.sort_by(|a, b| {
        failed(a)
            .cmp(&failed(b))
            .then(
                a.candidate
                    .run
                    .final_loss
                    .total_cmp(&b.candidate.run.final_loss),
            )
            .then(a.candidate.index.cmp(&b.candidate.index))
    });
    out
}

/// Indices of the verified candidates, best first: fewest changed keys, then smallest change,
/// then lowest final loss, then index.
pub fn rank(candidates: &[Candidate]) -> Vec<usize> {
    let mut verified: Vec<&Candidate> = candidates.iter().filter(|c| c.verified).collect();
    verified.sort_by(|a, b| {
        a.changes
            .len()
            .cmp(&b.changes.len())
            .then(a.change_size.total_cmp(&b.change_size))
            .then(a.run.final_loss.total_cmp(&b.run.final_loss))
            .then(a.index.cmp(&b.index))
    });
    verified.iter().map(|c| c.index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Outcome;
    use crate::robust::Change;

    fn candidate(index: usize, keys: usize, size: f64, final_loss: f64, passed: bool) -> Candidate {
        let change = Change {
            key: "k".into(),
            base: "1.0".into(),
            value: "2.0".into(),
        };
        Candidate {
            index,
            phase: Phase::Single,
            extends: None,
            ideas: vec![],
            set: vec![],
            changes: vec![change; keys],
            change_size: size,
            run: RunOutcome {
                status: if passed { Status::Pass } else { Status::Fail },
                outcome: Outcome::Stable,
                gates_passed: 12,
                gates_total: 12,
                failed_gates: vec![],
                errors: vec![],
                initial_loss: 2.3,
                final_loss,
                curve: Default::default(),
            },
            robust: None,
            verified: passed,
        }
    }

    #[test]
    fn ranking_is_fewest_keys_then_smallest_change_then_lowest_loss_then_index() {
        let candidates = [
            candidate(0, 2, 0.1, 0.5, true), // two keys: last despite the smallest size
            candidate(1, 1, 2.3, 0.9, true),
            candidate(2, 1, 1.2, 1.5, true), // one key, smallest change: first
            candidate(3, 1, 2.3, 0.4, true), // ties 1 on size, lower loss: before it
            candidate(4, 1, 0.0, 0.1, false), // not verified: never ranked
            candidate(5, 1, 2.3, 0.4, true), // ties 3 entirely: the index decides
        ];
        assert_eq!(rank(&candidates), [2, 3, 5, 1, 0]);
    }
}
