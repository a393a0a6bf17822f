//! The robust cases scattered over their lr multiplier and the perturbation that drove the
//! minimal failure, coloured as the stability map colours cells, the minimal failure ringed.

use plotters::prelude::*;

use super::super::style::{self, FONT, GRID, err, tick};
use super::lines::{Area, legend};
use super::stability_map::{class_of, legend_of};
use crate::error::Error;
use crate::record::robust::RobustRecord;
use crate::record::verdict::{FindingKind, Outcome};
use crate::report::style::WIDTH;

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
