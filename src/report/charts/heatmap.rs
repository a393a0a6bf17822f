//! The gradient-flow heatmap: layer × step, colour = log10 of the weight-gradient norm, with a
//! colour bar. Long runs are bucketed (each cell shows the bucket's largest norm, so spikes stay
//! visible); non-finite cells are drawn in the alert colour, exact zeros in grey.

use plotters::prelude::*;

use super::super::style::{self, ALERT, FONT, HEIGHT, MISSING, WIDTH, err, scale_color};
use super::lines::{Area, message};
use crate::error::Error;
use crate::record::RunRecord;

/// Most step columns drawn.
pub const MAX_COLUMNS: usize = 240;

enum Cell {
    Value(f64),
    Zero,
    NonFinite,
}

/// Cells `[layer][column]` and the first step of each column, over the steps the line charts
/// show (a run that stayed non-finite is cropped alike: issue 22).
fn cells(r: &RunRecord) -> (Vec<Vec<Cell>>, Vec<usize>) {
    let x_max = super::last_step(r);
    let all = &r.trace.steps;
    let end = all
        .partition_point(|s| s.step as f64 <= x_max)
        .max(1)
        .min(all.len());
    let steps = &all[..end];
    let n_layers = steps.first().map_or(0, |s| s.layers.len());
    let size = steps.len().div_ceil(MAX_COLUMNS).max(1);
    let starts = steps.chunks(size).map(|c| c[0].step).collect();
    let grid = (0..n_layers)
        .map(|l| {
            steps
                .chunks(size)
                .map(|chunk| {
                    let values = chunk
                        .iter()
                        .map(|s| s.layers.get(l).map_or(f64::NAN, |x| x.weight_grad_norm));
                    bucket(values)
                })
                .collect()
        })
        .collect();
    (grid, starts)
}

fn bucket(values: impl Iterator<Item = f64>) -> Cell {
    let mut best: Option<f64> = None;
    for v in values {
        if !v.is_finite() {
            return Cell::NonFinite;
        }
        best = Some(best.map_or(v, |b: f64| b.max(v)));
    }
    match best {
        Some(v) if v > 0.0 => Cell::Value(v.log10()),
        _ => Cell::Zero,
    }
}

pub fn grad_heatmap(r: &RunRecord) -> Result<String, Error> {
    let (grid, starts) = cells(r);
    let logs: Vec<f64> = grid
        .iter()
        .flatten()
        .filter_map(|c| {
            if let Cell::Value(v) = c {
                Some(*v)
            } else {
                None
            }
        })
        .collect();
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let hi = logs
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil();
    let title = "Gradient flow: log10 ‖∂L/∂W‖ per layer and step";
    style::svg("grad-heatmap", (WIDTH, HEIGHT), |root| {
        if grid.is_empty() || starts.is_empty() {
            return message(&root, title, "no layers recorded");
        }
        let (plot, bar) = root.split_horizontally(WIDTH - 110);
        let (lo, hi) = if lo <= hi {
            (lo, hi.max(lo + 1.0))
        } else {
            (0.0, 1.0)
        };
        draw_cells(&plot, &grid, &starts, (lo, hi), title)?;
        colour_bar(&bar, (lo, hi))
    })
}

fn draw_cells(
    area: &Area,
    grid: &[Vec<Cell>],
    starts: &[usize],
    (lo, hi): (f64, f64),
    title: &str,
) -> Result<(), String> {
    let (columns, layers) = (starts.len(), grid.len());
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..columns as f64, 0.0..layers as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("step")
        .y_desc("layer (0 = input side)")
        .x_label_formatter(&|x| {
            starts
                .get(*x as usize)
                .map_or(String::new(), |s| s.to_string())
        })
        .y_label_formatter(&|y| format!("{}", *y as usize))
        .draw()
        .map_err(err)?;
    let rects = grid.iter().enumerate().flat_map(|(l, row)| {
        row.iter().enumerate().map(move |(c, cell)| {
            let color = match cell {
                Cell::Value(v) => scale_color((v - lo) / (hi - lo)),
                Cell::Zero => MISSING,
                Cell::NonFinite => ALERT,
            };
            let (x, y) = (c as f64, l as f64);
            Rectangle::new([(x, y), (x + 1.0, y + 1.0)], color.filled())
        })
    });
    chart.draw_series(rects).map_err(err)?;
    Ok(())
}

/// A vertical colour bar labelled in log10 units, with keys for zero and non-finite cells.
fn colour_bar(area: &Area, (lo, hi): (f64, f64)) -> Result<(), String> {
    let (top, bottom) = (50, HEIGHT as i32 - 110);
    let steps = 60;
    for i in 0..steps {
        let t = i as f64 / (steps - 1) as f64;
        let y = bottom - (bottom - top) * i / steps;
        let rect = [(10, y - (bottom - top) / steps - 1), (30, y)];
        area.draw(&Rectangle::new(rect, scale_color(t).filled()))
            .map_err(err)?;
    }
    let font = (FONT, 12).into_font();
    area.draw(&Text::new(format!("1e{hi}"), (34, top - 6), font.clone()))
        .map_err(err)?;
    area.draw(&Text::new(
        format!("1e{lo}"),
        (34, bottom - 8),
        font.clone(),
    ))
    .map_err(err)?;
    area.draw(&Text::new("‖∂L/∂W‖", (6, top - 30), font.clone()))
        .map_err(err)?;
    for (i, (color, label)) in [(MISSING, "zero"), (ALERT, "NaN/inf")].iter().enumerate() {
        let y = bottom + 20 + 20 * i as i32;
        area.draw(&Rectangle::new([(10, y), (30, y + 12)], color.filled()))
            .map_err(err)?;
        area.draw(&Text::new(*label, (34, y), font.clone()))
            .map_err(err)?;
    }
    Ok(())
}
