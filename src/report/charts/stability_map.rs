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
    // Every failure in a colour of its own, never grey (grey reads as "no data"): Okabe-Ito
    // first, then Paul Tol's muted scheme.
    let color = match finding {
        Some(FindingKind::Nonfinite) => ALERT,
        Some(FindingKind::ExplodingGradients) => OKABE_ITO[3],
        Some(FindingKind::VanishingGradients) => OKABE_ITO[5],
        Some(FindingKind::LossDivergence) => OKABE_ITO[0],
        Some(FindingKind::DeadUnits) => OKABE_ITO[4],
        Some(FindingKind::UpdateRatio) => OKABE_ITO[6],
        Some(FindingKind::LossSpike) => RGBColor(136, 34, 85),
        Some(FindingKind::WeightGrowth) => RGBColor(68, 170, 153),
        Some(FindingKind::LossOscillation) => RGBColor(153, 153, 51),
        Some(FindingKind::SaturatedUnits) => RGBColor(204, 102, 119),
        Some(FindingKind::EdgeOfStability) => RGBColor(51, 34, 136),
        _ => RGBColor(170, 68, 153),
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
    let title = match (y_axis(r), r.scenario.has_token_data()) {
        (YAxis::Init, true) => {
            "Robust cases by lr and init-std multiplier (batch and seed vary too)"
        }
        (YAxis::Init, false) => {
            "Robust cases by lr and init-scale multiplier (batch, input scale and seed vary too)"
        }
        (YAxis::Batch, _) => {
            "Robust cases by lr multiplier and batch (the other perturbations vary too)"
        }
        (YAxis::InputScale, _) => {
            "Robust cases by lr and input-scale multiplier (the other perturbations vary too)"
        }
    };
    style::svg("robust-cases", (WIDTH, 480), |root| {
        let (strip, plot) =
            root.split_vertically(26 + 20 * legend_entries.len().div_ceil(4) as u32);
        legend(&strip, &legend_entries)?;
        draw_cases(&plot, r, &classes, (lr, init), (title, init_key))
    })
}

/// The y axis of the robust scatter: the perturbation that moved the minimal failure furthest
/// from the base (in log terms) among init, batch and input scale; init when there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
enum YAxis {
    Init,
    Batch,
    InputScale,
}

fn y_axis(r: &RobustRecord) -> YAxis {
    let Some(m) = &r.minimal_failure else {
        return YAxis::Init;
    };
    let p = &m.perturbation;
    let base_batch = r.scenario.data.batch as f64;
    let moves = [
        (YAxis::Init, p.init_scale_scale.ln().abs()),
        (YAxis::Batch, (p.batch as f64 / base_batch).ln().abs()),
        (YAxis::InputScale, p.input_scale_scale.ln().abs()),
    ];
    let best = moves.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
    best.filter(|b| b.1 > 1e-9).map_or(YAxis::Init, |b| b.0)
}

fn y_of(axis: YAxis, p: &crate::record::robust::Perturbation) -> f64 {
    match axis {
        YAxis::Init => p.init_scale_scale,
        YAxis::Batch => p.batch as f64,
        YAxis::InputScale => p.input_scale_scale,
    }
}

/// Tick values for a log axis over `lo..hi`: 1, 2 and 5 times powers of ten inside it.
fn log_keys(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (a..=b)
        .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
        .filter(|v| *v >= lo && *v <= hi)
        .collect()
}

fn draw_cases(
    plot: &Area,
    r: &RobustRecord,
    classes: &[(String, RGBColor)],
    (lr, init): ([f64; 2], [f64; 2]),
    (title, init_key): (&str, &str),
) -> Result<(), String> {
    let axis = y_axis(r);
    let ys: Vec<f64> = r
        .cases
        .iter()
        .map(|c| y_of(axis, &c.perturbation))
        .collect();
    let range = match axis {
        YAxis::Init => init,
        _ => [
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ],
    };
    let y_desc = match axis {
        YAxis::Init => format!("{init_key} × (log scale)"),
        YAxis::Batch => "data.batch (log scale; it drove the minimal failure)".to_string(),
        YAxis::InputScale => {
            "data.input_scale × (log scale; it drove the minimal failure)".to_string()
        }
    };
    let pad = |[lo, hi]: [f64; 2]| (lo / 1.1)..(hi * 1.1);
    let (x, y) = (pad(lr), pad(range));
    let x_keys = log_keys(x.start, x.end);
    let y_keys = log_keys(y.start, y.end);
    let mut chart = ChartBuilder::on(plot)
        .caption(title, (FONT, 16))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(
            x.log_scale().with_key_points(x_keys),
            y.log_scale().with_key_points(y_keys),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("optimizer.lr × (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()
        .map_err(err)?;
    let points = r
        .cases
        .iter()
        .zip(classes)
        .zip(&ys)
        .map(|((c, (_, color)), &y)| Circle::new((c.perturbation.lr_scale, y), 5, color.filled()));
    chart.draw_series(points).map_err(err)?;
    if let Some(m) = &r.minimal_failure {
        let at = (m.perturbation.lr_scale, y_of(axis, &m.perturbation));
        let ring = Circle::new(at, 9, BLACK.stroke_width(2));
        chart
            .draw_series(std::iter::once(ring))
            .map_err(err)?
            .label(format!("minimal failure ({})", m.finding.name()))
            .legend(|(x, y)| Circle::new((x + 8, y), 6, BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(GRID)
            .label_font((FONT, 12))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}
