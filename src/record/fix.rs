//! The repair record (`fix.json`: every candidate tried with its outcome) and its outputs next
//! to it: `fixed.toml` (the best verified repair: the user's file with the fix edited in, or a
//! complete scenario file when the file is not known) and `fixed.diff` (unified diff of that
//! file against it), all written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use similar::TextDiff;

use super::atomic::write_atomic;
use super::curve::LossCurve;
use super::robust::Change;
use super::verdict::{FindingKind, Outcome, Status, Verdict};
use super::{FIX_FILE, FIXED_DIFF_FILE, FIXED_TOML_FILE, Record};
use crate::error::Error;
use crate::scenario::{Scenario, ScenarioFile, edited_source};

/// How one run ended: the gates and the losses that are the evidence of a repair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOutcome {
    pub status: Status,
    pub outcome: Outcome,
    pub gates_passed: usize,
    pub gates_total: usize,
    pub failed_gates: Vec<String>,
    /// Error-severity finding kinds, in the verdict's order.
    pub errors: Vec<FindingKind>,
    /// Loss of step 0's forward pass and of the last step.
    #[serde(with = "super::nonfinite")]
    pub initial_loss: f64,
    #[serde(with = "super::nonfinite")]
    pub final_loss: f64,
    /// The loss over the run, for the page's before/after chart (empty in older records).
    #[serde(default, skip_serializing_if = "LossCurve::is_empty")]
    pub curve: LossCurve,
}

impl RunOutcome {
    /// "all 12 gates held", or "2 of 12 gates failed: nonfinite, max_grad_norm".
    pub fn gates_text(&self) -> String {
        if self.failed_gates.is_empty() {
            format!("all {} gates held", self.gates_total)
        } else {
            format!(
                "{} of {} gates failed: {}",
                self.failed_gates.len(),
                self.gates_total,
                self.failed_gates.join(", ")
            )
        }
    }

    /// The outcome of a run with verdict `v` and per-step summaries `steps`.
    pub fn new(v: &Verdict, steps: &[crate::core::train::StepSummary]) -> Self {
        let failed_gates: Vec<String> = v
            .gates
            .iter()
            .filter(|g| g.failed())
            .map(|g| g.gate.key().to_string())
            .collect();
        let points: Vec<(usize, f64)> = steps.iter().map(|s| (s.step, s.loss)).collect();
        RunOutcome {
            status: v.status,
            outcome: v.outcome,
            gates_passed: v.gates.len() - failed_gates.len(),
            gates_total: v.gates.len(),
            failed_gates,
            errors: v.errors().map(|f| f.kind).collect(),
            initial_loss: steps.first().map_or(f64::NAN, |s| s.loss),
            final_loss: steps.last().map_or(f64::NAN, |s| s.loss),
            curve: LossCurve::new(&points),
        }
    }
}

/// Whether a candidate came from the table alone or extends an improved single.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Single,
    Pair,
}

/// The robust check of a candidate that passed every gate (`stabcheck fix --robust`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustCheck {
    pub cases: usize,
    pub stable: usize,
    /// Lower end of the 95% Clopper-Pearson interval of the stable fraction.
    pub lower_bound: f64,
    pub min_stable_fraction: f64,
    pub passed: bool,
}

/// One candidate repair and what its re-run showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub index: usize,
    pub phase: Phase,
    /// For a pair, the single candidate it extends.
    pub extends: Option<usize>,
    /// The ideas applied, e.g. `["lr x0.1"]`; a finding's own suggestion is
    /// `"suggested by <kind>"`.
    pub ideas: Vec<String>,
    /// The `--set` arguments that make it, applied to the original in order.
    pub set: Vec<String>,
    /// The keys it changes from the original, and the size of the change (`changes` module).
    pub changes: Vec<Change>,
    pub change_size: f64,
    pub run: RunOutcome,
    /// With `--robust`, for candidates that passed every gate, in rank order (at most
    /// [`super::ROBUST_CHECKS`] of them).
    pub robust: Option<RobustCheck>,
    /// Its re-run passed every gate (and, with `--robust`, the robust check).
    pub verified: bool,
}

impl Candidate {
    /// The candidate as command-line arguments: `--set 'optimizer.lr=0.1' --set ...`.
    pub fn set_args(&self) -> String {
        let args: Vec<String> = self.set.iter().map(|a| format!("--set '{a}'")).collect();
        args.join(" ")
    }
}

/// A candidate whose `--set` arguments did not validate (it was not run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejected {
    pub ideas: Vec<String>,
    pub set: Vec<String>,
    pub message: String,
}

/// Everything `stabcheck fix` tried and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    /// The original scenario (after `--seed`, `--steps`, `--set`).
    pub scenario: Scenario,
    pub original: RunOutcome,
    pub max_candidates: usize,
    /// Cases of each robust check (`--robust`), `None` without it.
    pub robust_cases: Option<usize>,
    pub candidates: Vec<Candidate>,
    pub rejected: Vec<Rejected>,
    /// Candidates left untried because of `max_candidates`.
    pub not_tried: usize,
    /// Pairs left unrun because an earlier chunk of pairs verified a fix.
    pub pairs_left: usize,
    /// Indices of the verified candidates, best first.
    pub ranking: Vec<usize>,
    /// The best verified repair (renamed `<name>-fixed`), as written to fixed.toml.
    pub fixed: Option<Scenario>,
    /// The user's file the run came from, when the command knew it: fixed.toml is then that
    /// file with the fix's keys edited in, and fixed.diff a diff against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<FixSource>,
}

/// The scenario file as the user wrote it (a built-in's text for a built-in name), the command
/// line's overrides as `KEY=VALUE`, and the file's folder (relative data paths start there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixSource {
    pub file: String,
    pub text: String,
    pub sets: Vec<String>,
    pub base_dir: Option<String>,
}

impl FixRecord {
    /// The best verified candidate.
    pub fn best(&self) -> Option<&Candidate> {
        self.ranking.first().and_then(|&i| self.candidates.get(i))
    }

    /// The repaired scenario as a TOML file with a header saying where it comes from.
    pub fn fixed_toml(&self) -> Result<Option<String>, Error> {
        let (Some(fixed), Some(best)) = (&self.fixed, self.best()) else {
            return Ok(None);
        };
        let mut head = format!(
            "# Repaired by `stabcheck fix` from `{}` (candidate {}: {}).\n\
             # Its re-run passed every gate ({} steps, seed {}). Replay: stabcheck scenario fixed.toml\n",
            self.scenario.name,
            best.index,
            best.ideas.join(" + "),
            fixed.steps,
            fixed.seed
        );
        for c in &best.changes {
            head.push_str(&format!(
                "# changed: {} = {} (was {})\n",
                c.key, c.value, c.base
            ));
        }
        match &self.source {
            Some(src) => {
                let sets: Vec<String> = src.sets.iter().chain(&best.set).cloned().collect();
                let base_dir = src.base_dir.as_deref().map(Path::new);
                let text = edited_source(&src.text, &sets, &fixed.name, base_dir)
                    .map_err(|e| Error::serialize(FIXED_TOML_FILE, e))?;
                Ok(Some(format!("{head}\n{text}")))
            }
            None => Ok(Some(format!("{head}\n{}", scenario_toml(fixed)?))),
        }
    }

    /// Unified diff of the user's file (or, without it, the original with every key explicit)
    /// against fixed.toml: `patch` applies it to that file.
    pub fn fixed_diff(&self) -> Result<Option<String>, Error> {
        let Some(fixed) = &self.fixed else {
            return Ok(None);
        };
        let (old, new) = match (&self.source, self.fixed_toml()?) {
            (Some(src), Some(text)) => (src.text.clone(), text),
            _ => (scenario_toml(&self.scenario)?, scenario_toml(fixed)?),
        };
        let diff = TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(2)
            .header(
                &format!("{} (original)", self.original_file()),
                FIXED_TOML_FILE,
            )
            .to_string();
        Ok(Some(diff))
    }

    /// The file name the diff's `---` side names: the user's file, or `<name>.toml`.
    fn original_file(&self) -> String {
        match &self.source {
            Some(src) if src.file.ends_with(".toml") => src.file.clone(),
            Some(src) => format!("{}.toml", src.file),
            None => format!("{}.toml", self.scenario.name),
        }
    }

    /// Writes `dir/fix.json` and, when a fix was verified, `fixed.toml` and `fixed.diff`; when
    /// none was, removes those two left from an earlier run, so they never describe another run.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let mut written = vec![self.write_in(dir)?];
        let outputs = [
            (FIXED_TOML_FILE, self.fixed_toml()?),
            (FIXED_DIFF_FILE, self.fixed_diff()?),
        ];
        for (name, text) in outputs {
            let path = dir.join(name);
            match text {
                Some(text) => {
                    write_atomic(&path, text.as_bytes())?;
                    written.push(path);
                }
                None => remove_stale(&path)?,
            }
        }
        Ok(written)
    }
}

impl Record for FixRecord {
    fn file_name(&self) -> String {
        FIX_FILE.to_string()
    }
}

fn scenario_toml(s: &Scenario) -> Result<String, Error> {
    toml::to_string(&ScenarioFile::from(s)).map_err(|e| Error::serialize("the scenario as TOML", e))
}

fn remove_stale(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: path.to_path_buf(),
            io: e,
        }),
        _ => Ok(()),
    }
}
