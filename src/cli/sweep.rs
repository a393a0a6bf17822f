//! `stabcheck sweep`: the stability map over one or two scenario keys, optionally one shard of it.

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::TargetArgs;
use super::progress::progress_bar;
use crate::diagnose::series::fmt;
use crate::record::Record;
use crate::report::{Extras, render_folder};
use crate::robust::axis::Axis;
use crate::robust::shard::{Shard, ShardData, ShardRecord};
use crate::robust::sweep::{Grid, SweepRecord};

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The x axis: KEY=LO..HI, log-spaced when LO > 0 and HI/LO >= 10 (force with :log or :lin).
    #[arg(long, value_name = "KEY=LO..HI")]
    pub x: String,
    /// The y axis (optional: without it the sweep is a one-axis strip).
    #[arg(long, value_name = "KEY=LO..HI")]
    pub y: Option<String>,
    /// Grid points: NX x NY (e.g. 24x24), or N for a one-axis sweep [default: 16x16, or 16 with
    /// one axis]
    #[arg(long)]
    pub grid: Option<String>,
    /// Run only shard K of N (cells i with i mod N = K-1) and write shard-K-of-N.json.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Folder for sweep.json and the report (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `text` (a summary) or `json` (`{"cells": [...]}` on stdout, nothing else).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

/// `NXxNY` or `N`.
fn grid_points(text: &str, two_axes: bool) -> Result<(usize, usize)> {
    let bad = || {
        anyhow::anyhow!(
            "--grid {text}: expected NXxNY (e.g. 24x24) with two axes or N (e.g. 64) with one; each from 1 to 512"
        )
    };
    let parse = |t: &str| {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=512).contains(n))
            .ok_or_else(bad)
    };
    match (text.split_once(['x', 'X']), two_axes) {
        (Some((a, b)), true) => Ok((parse(a)?, parse(b)?)),
        (None, false) => Ok((parse(text)?, 1)),
        (None, true) => {
            let n = parse(text)?;
            Ok((n, n))
        }
        (Some(_), false) => Err(anyhow::anyhow!(
            "--grid {text}: a one-axis sweep (no --y) takes one number, e.g. --grid 64"
        )),
    }
}

pub fn run(args: &SweepArgs) -> Result<ExitCode> {
    // The budget is checked per cell, on the base scenario.
    let (base, base_dir) = args.target.resolve(None)?;
    let default = if args.y.is_some() { "16x16" } else { "16" };
    let (nx, ny) = grid_points(args.grid.as_deref().unwrap_or(default), args.y.is_some())?;
    let x = Axis::parse("--x", &args.x, nx, &base)?;
    let y = match &args.y {
        Some(spec) => Some(Axis::parse("--y", spec, ny, &base)?),
        None => None,
    };
    let grid = Grid::new(&base, x, y)?;
    let shard = args.shard;
    let keep = move |i: usize| shard.is_none_or(|s| s.contains(i));
    let count = (0..grid.len()).filter(|&i| keep(i)).count();
    let bar = progress_bar(count, "cells");
    let started = std::time::Instant::now();
    let cells = grid.run(base_dir.as_deref(), &keep, &|| bar.inc(1))?;
    bar.finish_and_clear();
    eprintln!(
        "ran {count} cells in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&base.name));
    if let Some(s) = shard {
        let data = ShardData::Sweep {
            x: grid.x.clone(),
            y: grid.y.clone(),
            cells_total: grid.len(),
            cells,
        };
        let path = ShardRecord::new(s, &base, data).write_in(&dir)?;
        eprintln!("wrote {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let record = SweepRecord::new(&base, &grid, cells);
    finish(&record, &dir, args.format)
}

/// Writes sweep.json and the report, prints the summary or the JSON; exit 0 (a map is a
/// measurement, not a gate).
pub fn finish(record: &SweepRecord, dir: &Path, format: super::Format) -> Result<ExitCode> {
    let path = record.write_in(dir)?;
    eprintln!("wrote {}", path.display());
    let mut extras = Extras::load(dir)?;
    extras.sweep = Some(record.clone());
    let run = super::existing_run(dir)?;
    let written = render_folder(run.as_ref(), &extras, dir)?;
    eprintln!("wrote {}", written.index.display());
    match format {
        super::Format::Json => outln!("{}", record.cells_json()?),
        super::Format::Text => out!("{}", summary(record)),
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(r: &SweepRecord) -> String {
    let n = r.cells.len();
    let unstable = r.cells.iter().filter(|c| !c.stable).count();
    let slow = (r.cells.iter())
        .filter(|c| c.stable && c.outcome == crate::record::verdict::Outcome::NoProgress)
        .count();
    let mut out = format!(
        "{}: sweep of {}{} over {n} cells: {} stable ({slow} of them without progress), \
         {unstable} unstable\n",
        r.scenario.name,
        r.x.key,
        r.y.as_ref()
            .map_or(String::new(), |a| format!(" × {}", a.key)),
        n - unstable
    );
    for (y, edge) in r.boundary() {
        let row = y.map_or(String::new(), |v| {
            format!(
                "  at {} = {}: ",
                r.y.as_ref().map_or("", |a| a.key.as_str()),
                fmt(v)
            )
        });
        let edge = edge.map_or("no stable-to-unstable edge".to_string(), |x| {
            format!("first unstable {} = {}", r.x.key, fmt(x))
        });
        out.push_str(&format!(
            "{}{edge}\n",
            if row.is_empty() { "  " } else { &row }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_specs() {
        assert_eq!(grid_points("24x16", true).unwrap(), (24, 16));
        assert_eq!(grid_points("8", true).unwrap(), (8, 8));
        assert_eq!(grid_points("64", false).unwrap(), (64, 1));
        assert!(grid_points("4x4", false).is_err());
        assert!(grid_points("0x4", true).is_err());
        assert!(grid_points("many", true).is_err());
    }
}
