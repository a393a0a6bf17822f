//! The shard record (`shard-K-of-N.json`): the part of a `robust` or `sweep` run one machine ran.

use serde::{Deserialize, Serialize};

use super::robust::{CaseResult, MinimalFailure};
use super::sweep::{Axis, Cell};
use super::{Record, SCHEMA};
use crate::scenario::Scenario;

/// `K/N`: the K-th of N shards, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `K/N` with `1 <= K <= N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/3");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// Whether case or cell `i` (0-based) belongs to this shard.
    pub fn contains(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }

    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.json", self.index, self.count)
    }
}

/// What a shard ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ShardData {
    Robust {
        seed: u64,
        cases_total: usize,
        cases: Vec<CaseResult>,
        /// The shard's first unstable case shrunk (absent with `--no-shrink` or no failure).
        minimal_failure: Option<Box<MinimalFailure>>,
        shrink: bool,
    },
    Sweep {
        x: Axis,
        y: Option<Axis>,
        cells_total: usize,
        cells: Vec<Cell>,
    },
}

/// `shard-K-of-N.json` (schema 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    pub shard: Shard,
    pub scenario: Scenario,
    pub data: ShardData,
}

impl ShardRecord {
    pub fn new(shard: Shard, scenario: &Scenario, data: ShardData) -> Self {
        ShardRecord {
            schema: SCHEMA,
            stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            shard,
            scenario: scenario.clone(),
            data,
        }
    }
}

impl Record for ShardRecord {
    fn file_name(&self) -> String {
        self.shard.file_name()
    }
}
