//! The stability-map record (`sweep.json`): the axes, every cell's classification, and the
//! boundary the map draws.

use serde::{Deserialize, Serialize};

use super::verdict::{FindingKind, Outcome};
use super::{Record, SWEEP_FILE, nonfinite};
use crate::error::Error;
use crate::scenario::Scenario;

/// A sweep axis as parsed from `--x` / `--y`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub key: String,
    #[serde(with = "nonfinite")]
    pub lo: f64,
    #[serde(with = "nonfinite")]
    pub hi: f64,
    pub log: bool,
    /// Whether the key is an integer in the scenario (values are rounded).
    pub integer: bool,
    pub points: usize,
}

impl Axis {
    /// The grid values, lowest first (rounded for integer keys).
    pub fn values(&self) -> Vec<f64> {
        (0..self.points)
            .map(|i| {
                let t = if self.points == 1 {
                    0.0
                } else {
                    i as f64 / (self.points - 1) as f64
                };
                let v = if self.log {
                    (self.lo.ln() + t * (self.hi.ln() - self.lo.ln())).exp()
                } else {
                    self.lo + t * (self.hi - self.lo)
                };
                if self.integer { v.round() } else { v }
            })
            .collect()
    }

    /// The `--set` argument that puts `value` on this axis.
    pub fn set_arg(&self, value: f64) -> String {
        if self.integer {
            format!("{}={}", self.key, value as i64)
        } else {
            format!("{}={value:e}", self.key)
        }
    }
}

/// One grid cell. Serialized as the `--format json` cell: `x`, `y` (absent on a one-axis sweep),
/// `stable`, `finding` (the first error finding, `no-progress` for a stable-but-slow cell), plus
/// `index`, `outcome` and the final loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub index: usize,
    #[serde(with = "nonfinite")]
    pub x: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    pub stable: bool,
    pub finding: Option<FindingKind>,
    pub outcome: Outcome,
    #[serde(with = "nonfinite")]
    pub final_loss: f64,
}

/// Everything `stabcheck sweep` measured (`sweep.json`, schema 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRecord {
    pub schema: u32,
    pub stabcheck_version: String,
    pub scenario: Scenario,
    pub x: Axis,
    pub y: Option<Axis>,
    pub cells: Vec<Cell>,
}

impl SweepRecord {
    /// The `--format json` object: `{"x_key", "y_key", "cells": [...]}`.
    pub fn cells_json(&self) -> Result<String, Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            x_key: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            y_key: Option<&'a str>,
            cells: &'a [Cell],
        }
        let out = Out {
            x_key: &self.x.key,
            y_key: self.y.as_ref().map(|a| a.key.as_str()),
            cells: &self.cells,
        };
        serde_json::to_string(&out).map_err(|e| Error::serialize("the sweep cells", e))
    }

    /// The boundary along x for each row: the first x whose cell is unstable after a stable one
    /// (the lowest unstable value above the highest stable one), per y.
    pub fn boundary(&self) -> Vec<(Option<f64>, Option<f64>)> {
        let nx = self.x.points.max(1);
        self.cells
            .chunks(nx)
            .map(|row| {
                let y = row.first().and_then(|c| c.y);
                let edge = row
                    .windows(2)
                    .find(|w| w[0].stable && !w[1].stable)
                    .map(|w| w[1].x);
                (y, edge)
            })
            .collect()
    }
}

impl Record for SweepRecord {
    fn file_name(&self) -> String {
        SWEEP_FILE.to_string()
    }
}
