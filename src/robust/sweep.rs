//! `stabcheck sweep`: a grid over one or two scenario keys, each cell a full run through the core,
//! probes and diagnoses, classified as docs/conventions.md defines "stable"; the stability map's data.
//!
//! Cells are numbered row by row (`index = iy * nx + ix`, x fastest), run in parallel with rayon
//! and gathered in index order, so `sweep.json` is the same whatever the thread count.

use std::path::Path;

use super::axis::Axis;
use crate::error::Error;
pub use crate::record::sweep::{Cell, SweepRecord};
use crate::record::verdict::{FindingKind, Outcome, Verdict};
use crate::run::run_recorded;
use crate::scenario::{Overrides, Scenario, SetOverride, apply_overrides};
use rayon::prelude::*;

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

/// A cell's classification: unstable when an error finding is an instability (docs/conventions.md); the
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
}
