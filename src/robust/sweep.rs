//! `stabcheck sweep`: a grid over one or two scenario keys, each cell a full run through the core,
//! probes and diagnoses, classified as DESIGN.md defines "stable"; the stability map's data.
//!
//! Cells are numbered row by row (`index = iy * nx + ix`, x fastest), run in parallel with rayon
//! and gathered in index order, so `sweep.json` is the same whatever the thread count.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::axis::Axis;
use crate::diagnose::{FindingKind, Outcome, Verdict};
use crate::error::Error;
use crate::record::atomic::write_atomic;
use crate::record::nonfinite;
use crate::run::run_recorded;
use crate::scenario::{Overrides, Scenario, SetOverride, apply_overrides};

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

/// The grid: both axes and the scenario of every cell, validated before anything runs.
#[derive(Debug, Clone)]
pub struct Grid {
    pub x: Axis,
    pub y: Option<Axis>,
    pub scenarios: Vec<(f64, Option<f64>, Scenario)>,
}

impl Grid {
    /// Builds every cell's scenario (base + the axis values as `--set` overrides, validated).
    pub fn new(base: &Scenario, x: Axis, y: Option<Axis>) -> Result<Grid, Error> {
        let ys: Vec<Option<f64>> = match &y {
            Some(a) => a.values().into_iter().map(Some).collect(),
            None => vec![None],
        };
        let mut scenarios = Vec::with_capacity(ys.len() * x.points);
        for yv in &ys {
            for xv in x.values() {
                let mut set = vec![SetOverride::parse(&x.set_arg(xv))?];
                if let (Some(a), Some(v)) = (&y, yv) {
                    set.push(SetOverride::parse(&a.set_arg(*v))?);
                }
                let overrides = Overrides {
                    seed: None,
                    steps: None,
                    set,
                };
                scenarios.push((xv, *yv, apply_overrides(base, &overrides)?));
            }
        }
        Ok(Grid { x, y, scenarios })
    }

    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    /// Runs the cells whose index `keep` accepts (all of them, or one shard's), in parallel,
    /// gathered in index order; `progress` is called once per finished cell.
    pub fn run(
        &self,
        base_dir: Option<&Path>,
        keep: &(dyn Fn(usize) -> bool + Sync),
        progress: &(dyn Fn() + Sync),
    ) -> Result<Vec<Cell>, Error> {
        let indices: Vec<usize> = (0..self.len()).filter(|&i| keep(i)).collect();
        indices
            .par_iter()
            .map(|&index| {
                let (x, y, s) = &self.scenarios[index];
                let run = run_recorded(s, base_dir, None)?;
                progress();
                let final_loss = run.summary.steps.last().map_or(f64::NAN, |st| st.loss);
                Ok(cell(index, *x, *y, &run.verdict, final_loss))
            })
            .collect()
    }
}

/// A cell's classification: unstable when an error finding is an instability (DESIGN.md); the
/// finding shown is the first such error, or `no-progress` for a stable-but-slow cell.
pub fn cell(index: usize, x: f64, y: Option<f64>, v: &Verdict, final_loss: f64) -> Cell {
    let instability = v.errors().map(|f| f.kind).find(|k| k.is_instability());
    let finding = instability
        .or_else(|| (v.outcome == Outcome::NoProgress).then_some(FindingKind::NoProgress));
    Cell {
        index,
        x,
        y,
        stable: v.outcome != Outcome::Unstable,
        finding,
        outcome: v.outcome,
        final_loss,
    }
}

impl SweepRecord {
    pub fn new(base: &Scenario, grid: &Grid, cells: Vec<Cell>) -> Self {
        SweepRecord {
            schema: crate::record::SCHEMA,
            stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: base.clone(),
            x: grid.x.clone(),
            y: grid.y.clone(),
            cells,
        }
    }

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
        serde_json::to_string(&out).map_err(|e| Error::Record {
            path: None,
            message: e.to_string(),
        })
    }

    /// Writes `dir/sweep.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Error> {
        let json = serde_json::to_string(self).map_err(|e| Error::Record {
            path: None,
            message: e.to_string(),
        })?;
        let path = dir.join(super::super::report::section::SWEEP_FILE);
        write_atomic(&path, format!("{json}\n").as_bytes())?;
        Ok(path)
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
