//! The arguments every running subcommand shares (`scenario`, `robust`, `sweep`, `fix`): the
//! target, `--steps`, `--set` and the resource budget, parsed and applied one way.
//!
//! `--seed` is not among them because it means different things: the scenario's seed for
//! `scenario` and `fix`, the seed of the case draw for `robust`; `sweep` has none.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::budget::{Budget, Estimate};
use crate::scenario::{self, Overrides, Scenario, SetOverride};

#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// A built-in scenario name (see `stabcheck list`) or a path to a scenario TOML file.
    pub target: String,
    /// Override the number of training steps (of every run the command makes).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Override any scenario key, e.g. `--set optimizer.lr=0.5` (value parsed as TOML; a bare
    /// word is a string); validated like the file. Repeatable; a later one wins.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = SetOverride::parse)]
    pub set: Vec<SetOverride>,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `--max-memory` and `--max-flops`: the resource budget every run is checked against before it
/// is built.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct BudgetArgs {
    /// Refuse a run whose estimated peak memory is over this (e.g. 16GiB, 512MiB, bytes).
    #[arg(long, value_name = "SIZE", value_parser = crate::budget::parse_size, default_value = "4GiB")]
    pub max_memory: u64,
    /// Refuse a run whose estimated training FLOPs are over this (e.g. 1e15).
    #[arg(long, value_name = "FLOPS", value_parser = crate::budget::parse_flops, default_value = "1e13")]
    pub max_flops: f64,
}

impl BudgetArgs {
    pub fn budget(&self) -> Budget {
        Budget {
            max_memory_bytes: self.max_memory,
            max_flops: self.max_flops,
        }
    }
}

impl TargetArgs {
    /// The scenario with `seed` (when the command's `--seed` is the scenario's), `--steps` and
    /// `--set` applied and validated, refused when one run of it is over the budget; and the
    /// folder its relative data paths are taken from (`None` for a built-in name).
    pub fn resolve(&self, seed: Option<u64>) -> Result<(Scenario, Option<PathBuf>)> {
        let overrides = Overrides {
            seed,
            steps: self.steps,
            set: self.set.clone(),
        };
        let s = scenario::apply_overrides(&scenario::resolve(&self.target)?, &overrides)?;
        Estimate::of(&s)
            .check(&self.budget.budget())
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.target))?;
        Ok((s, self.base_dir().map(Path::to_path_buf)))
    }

    /// The file the scenario came from as the user wrote it (a built-in's own text), with the
    /// command line's overrides as `KEY=VALUE` edits (`--seed`, `--steps`, then `--set`).
    pub fn source(&self, seed: Option<u64>) -> Result<crate::record::fix::FixSource> {
        let text = match scenario::builtin_source(&self.target) {
            Some(text) => text.to_string(),
            None => std::fs::read_to_string(&self.target)
                .map_err(|e| anyhow::anyhow!("{}: {e}", self.target))?,
        };
        let mut sets: Vec<String> = seed.map(|s| format!("seed={s}")).into_iter().collect();
        sets.extend(self.steps.map(|n| format!("steps={n}")));
        sets.extend(self.set.iter().map(|s| s.arg().to_string()));
        Ok(crate::record::fix::FixSource {
            file: self.target.clone(),
            text,
            sets,
            base_dir: self.base_dir().map(|d| d.display().to_string()),
        })
    }

    /// The folder of a scenario file (relative data paths start there); `None` for a built-in
    /// name.
    pub fn base_dir(&self) -> Option<&Path> {
        let path = Path::new(&self.target);
        path.parent().filter(|_| path.is_file())
    }
}

/// How a verdict is reported besides the report folder: stdout's format, JUnit and markdown.
#[derive(Debug, Clone, clap::Args)]
pub struct VerdictOutputs {
    /// `text` (a summary for people) or `json` (only JSON on stdout: the verdict and where
    /// the record went; messages go to stderr).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
    /// Also write JUnit XML (one test case per gate) to this file, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a GitHub-flavoured markdown summary (verdict, failed gates, the first finding
    /// with its fix, the diff against a baseline, where the report is) to this file, e.g.
    /// `"$GITHUB_STEP_SUMMARY"`; replaces it.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}
