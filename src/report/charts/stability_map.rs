//! Stability maps: the sweep grid coloured by outcome (stable, no progress, or the finding that
//! failed the cell) with the stable/unstable boundary drawn, a one-row strip for a one-axis
//! sweep; and the robust cases scattered over their lr and init-scale multipliers.

use plotters::prelude::*;

use super::super::style::{self, ALERT, FONT, GRID, OKABE_ITO, WIDTH, err, tick};
use super::lines::{Area, legend};
use crate::error::Error;
use crate::record::robust::RobustRecord;
use crate::record::sweep::{Cell, SweepRecord};
use crate::record::verdict::{FindingKind, Outcome};

/// Okabe–Ito's yellow, for stable-but-slow cells.
const SLOW: RGBColor = RGBColor(240, 228, 66);

/// The colour and legend label of a cell's class. Stable cells are green, slow-but-stable ones
/// yellow; the common failing findings have their own Okabe–Ito colour, the rare ones greys.
pub fn class_of(stable: bool, finding: Option<FindingKind>) -> (String, RGBColor) {
    if stable {
        return match finding {
            Some(FindingKind::NoProgress) => ("stable, no progress".into(), SLOW),
            _ => ("stable".into(), OKABE_ITO[2]),
        };
    }
    let color = match finding {
        Some(FindingKind::Nonfinite) => ALERT,
        Some(FindingKind::ExplodingGradients) => OKABE_ITO[3],
        Some(FindingKind::VanishingGradients) => OKABE_ITO[5],
        Some(FindingKind::LossDivergence) => OKABE_ITO[0],
        Some(FindingKind::DeadUnits) => OKABE_ITO[4],
        Some(FindingKind::UpdateRatio) => OKABE_ITO[6],
        Some(FindingKind::LossSpike) => RGBColor(90, 90, 90),
        Some(FindingKind::WeightGrowth) => RGBColor(150, 150, 150),
        _ => RGBColor(200, 200, 200),
    };
    let label = finding.map_or("unstable", FindingKind::name);
    (label.to_string(), color)
}

/// The distinct classes present, stable ones first.
fn legend_of(classes: impl Iterator<Item = (String, RGBColor)>) -> Vec<(String, RGBColor)> {
    let mut out: Vec<(String, RGBColor)> = Vec::new();
    for c in classes {
        if !out.iter().any(|o| o.0 == c.0) {
            out.push(c);
        }
    }
    out.sort_by_key(|(label, _)| !label.starts_with("stable"));
    out
}

/// The sweep's stability map (`stability-map.svg`).
pub fn stability_map(s: &SweepRecord) -> Result<String, Error> {
    let (nx, ny) = (s.x.points, s.y.as_ref().map_or(1, |a| a.points));
    let height = if s.y.is_some() { 560 } else { 260 };
    let classes = legend_of(s.cells.iter().map(|c| class_of(c.stable, c.finding)));
    let title = match &s.y {
        Some(y) => format!(
            "Stability map: {} × {} (white line: stable/unstable boundary)",
            s.x.key, y.key
        ),
        None => format!(
            "Stability strip: {} (white line: stable/unstable boundary)",
            s.x.key
        ),
    };
    let xs = s.x.values();
    let ys = s.y.as_ref().map(|a| a.values()).unwrap_or_default();
    style::svg("stability-map", (WIDTH, height), |root| {
        let (strip, plot) = root.split_vertically(26 + 20 * classes.len().div_ceil(4) as u32);
        legend(&strip, &classes)?;
        let mut chart = ChartBuilder::on(&plot)
            .caption(&title, (FONT, 17))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(if s.y.is_some() { 70 } else { 20 })
            .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
            .map_err(err)?;
        let x_desc = format!("{}{}", s.x.key, if s.x.log { " (log-spaced)" } else { "" });
        let y_desc = s.y.as_ref().map_or(String::new(), |a| {
            format!("{}{}", a.key, if a.log { " (log-spaced)" } else { "" })
        });
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(nx.min(12))
            .y_labels(ny.min(12))
            .x_label_formatter(&|v| xs.get(*v as usize).map_or(String::new(), tick))
            .y_label_formatter(&|v| ys.get(*v as usize).map_or(String::new(), tick))
            .draw()
            .map_err(err)?;
        let rects = s.cells.iter().map(|c| {
            let (ix, iy) = ((c.index % nx) as f64, (c.index / nx) as f64);
            let color = class_of(c.stable, c.finding).1;
            Rectangle::new([(ix, iy), (ix + 1.0, iy + 1.0)], color.filled())
        });
        chart.draw_series(rects).map_err(err)?;
        let edges = boundary_edges(&s.cells, nx, ny);
        chart
            .draw_series(
                edges
                    .into_iter()
                    .map(|e| PathElement::new(vec![e.0, e.1], WHITE.stroke_width(4))),
            )
            .map_err(err)?;
        Ok(())
    })
}

/// Cell edges between a stable and an unstable neighbour, in grid coordinates.
fn boundary_edges(cells: &[Cell], nx: usize, ny: usize) -> Vec<((f64, f64), (f64, f64))> {
    let stable = |ix: usize, iy: usize| cells.get(iy * nx + ix).map(|c| c.stable);
    let mut edges = Vec::new();
    for iy in 0..ny {
        for ix in 0..nx {
            let here = stable(ix, iy);
            let (x, y) = (ix as f64, iy as f64);
            if ix + 1 < nx && here != stable(ix + 1, iy) {
                edges.push(((x + 1.0, y), (x + 1.0, y + 1.0)));
            }
            if iy + 1 < ny && here != stable(ix, iy + 1) {
                edges.push(((x, y + 1.0), (x + 1.0, y + 1.0)));
            }
        }
    }
    edges
}

/// The robust cases over their lr and init-scale multipliers (`robust-cases.svg`); batch, input
/// scale and seed vary too but are not drawn.
pub fn robust_cases(r: &RobustRecord) -> Result<String, Error> {
    let classes: Vec<(String, RGBColor)> = r
        .cases
        .iter()
        .map(|c| {
            let finding = c.errors.iter().copied().find(|k| k.is_instability());
            let slow = c.outcome == Outcome::NoProgress;
            class_of(
                c.outcome != Outcome::Unstable,
                finding.or(slow.then_some(FindingKind::NoProgress)),
            )
        })
        .collect();
    let legend_entries = legend_of(classes.iter().cloned());
    let (lr, init) = (r.scenario.robust.lr, r.scenario.robust.init_scale);
    let init_key = r.scenario.init_key().0;
    let title = match r.scenario.has_token_data() {
        true => "Robust cases by lr and init-std multiplier (batch and seed vary too)",
        false => {
            "Robust cases by lr and init-scale multiplier (batch, input scale and seed vary too)"
        }
    };
    style::svg("robust-cases", (WIDTH, 480), |root| {
        let (strip, plot) =
            root.split_vertically(26 + 20 * legend_entries.len().div_ceil(4) as u32);
        legend(&strip, &legend_entries)?;
        draw_cases(&plot, r, &classes, (lr, init), (title, init_key))
    })
}

fn draw_cases(
    plot: &Area,
    r: &RobustRecord,
    classes: &[(String, RGBColor)],
    (lr, init): ([f64; 2], [f64; 2]),
    (title, init_key): (&str, &str),
) -> Result<(), String> {
    let pad = |[lo, hi]: [f64; 2]| (lo / 1.1)..(hi * 1.1);
    let mut chart = ChartBuilder::on(plot)
        .caption(title, (FONT, 16))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(pad(lr).log_scale(), pad(init).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("optimizer.lr × (log scale)")
        .y_desc(format!("{init_key} × (log scale)"))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()
        .map_err(err)?;
    let points = r.cases.iter().zip(classes).map(|(c, (_, color))| {
        let at = (c.perturbation.lr_scale, c.perturbation.init_scale_scale);
        Circle::new(at, 5, color.filled())
    });
    chart.draw_series(points).map_err(err)?;
    Ok(())
}
