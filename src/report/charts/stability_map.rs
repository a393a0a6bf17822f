//! Stability maps: the sweep grid coloured by outcome (stable, no progress, or the finding that
//! failed the cell) with the stable/unstable boundary drawn, a one-row strip for a one-axis
//! sweep, each cell labelled at its centre and the base scenario marked.

use plotters::prelude::*;

use super::super::style::{self, ALERT, FONT, OKABE_ITO, WIDTH, err, tick};
use super::lines::legend;
use crate::error::Error;
use crate::record::sweep::Axis;
use crate::record::sweep::{Cell, SweepRecord};
use crate::record::verdict::FindingKind;
use crate::scenario::{Scenario, ScenarioFile};

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
pub(super) fn legend_of(
    classes: impl Iterator<Item = (String, RGBColor)>,
) -> Vec<(String, RGBColor)> {
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
    let title = title(s);
    let xs = s.x.values();
    let ys = s.y.as_ref().map(|a| a.values()).unwrap_or_default();
    let base = base_point(s);
    let mut entries = classes.clone();
    entries.push((base_label(s, base), BLACK));
    style::svg("stability-map", (WIDTH, height), |root| {
        let (strip, plot) = root.split_vertically(26 + 20 * entries.len().div_ceil(4) as u32);
        legend(&strip, &entries)?;
        // Cell i spans i - 0.5 .. i + 0.5, so each tick, at an integer, labels a cell's centre
        // with that cell's exact value (not an edge between two cells).
        let mut chart = ChartBuilder::on(&plot)
            .caption(&title, (FONT, 17))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(if s.y.is_some() { 70 } else { 20 })
            .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)
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
            .x_label_formatter(&|v| cell_label(&xs, *v))
            .y_label_formatter(&|v| cell_label(&ys, *v))
            .draw()
            .map_err(err)?;
        let rects = s.cells.iter().map(|c| {
            let (ix, iy) = ((c.index % nx) as f64 - 0.5, (c.index / nx) as f64 - 0.5);
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
        if let Some(at) = base.filter(|&(x, y)| inside(x, nx) && inside(y, ny)) {
            chart.draw_series(ring(at)).map_err(err)?;
        }
        Ok(())
    })
}

fn title(s: &SweepRecord) -> String {
    match &s.y {
        Some(y) => format!(
            "Stability map: {} × {} (white line: stable/unstable boundary)",
            s.x.key, y.key
        ),
        None => format!(
            "Stability strip: {} (white line: stable/unstable boundary)",
            s.x.key
        ),
    }
}

/// The base scenario's mark: a black ring on a white one, seen on every cell colour.
fn ring(at: (f64, f64)) -> [Circle<(f64, f64), i32>; 2] {
    [
        Circle::new(at, 9, WHITE.stroke_width(5)),
        Circle::new(at, 9, BLACK.stroke_width(2)),
    ]
}

fn inside(v: f64, n: usize) -> bool {
    (-0.5..=n as f64 - 0.5).contains(&v)
}

/// The value of a cell at an integer tick; nothing between cells.
fn cell_label(values: &[f64], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    values.get(i as usize).map_or(String::new(), tick)
}

/// The base scenario's value of `key` (a number in the scenario as resolved).
pub fn base_value(scenario: &Scenario, key: &str) -> Option<f64> {
    let file = toml::Value::try_from(ScenarioFile::from(scenario)).ok()?;
    let leaf = key.split('.').try_fold(&file, |v, k| v.get(k))?;
    leaf.as_float().or(leaf.as_integer().map(|i| i as f64))
}

/// Where `v` falls on `axis`'s cells, in grid coordinates (cell i is centred on i); linear
/// between neighbouring cells, in log terms on a log axis.
pub fn grid_position(axis: &Axis, v: f64) -> Option<f64> {
    let f = |x: f64| if axis.log { x.ln() } else { x };
    if axis.points < 2 {
        return (v == axis.lo).then_some(0.0);
    }
    let t = (f(v) - f(axis.lo)) / (f(axis.hi) - f(axis.lo));
    t.is_finite().then_some(t * (axis.points - 1) as f64)
}

/// The base scenario's place on the map (y 0 for a strip), when its values are numbers.
fn base_point(s: &SweepRecord) -> Option<(f64, f64)> {
    let x = grid_position(&s.x, base_value(&s.scenario, &s.x.key)?)?;
    let y = match &s.y {
        Some(a) => grid_position(a, base_value(&s.scenario, &a.key)?)?,
        None => 0.0,
    };
    Some((x, y))
}

/// The legend entry of the base scenario's ring: its values, and whether the map holds it.
fn base_label(s: &SweepRecord, at: Option<(f64, f64)>) -> String {
    let value = |key: &str| base_value(&s.scenario, key).map_or("?".into(), |v| tick(&v));
    let mut text = format!("○ base scenario: {} = {}", s.x.key, value(&s.x.key));
    if let Some(y) = &s.y {
        text += &format!(", {} = {}", y.key, value(&y.key));
    }
    let (nx, ny) = (s.x.points, s.y.as_ref().map_or(1, |a| a.points));
    match at {
        None => text += " (not a number: not drawn)",
        Some((x, y)) if !(inside(x, nx) && inside(y, ny)) => text += " (outside the map)",
        Some(_) => {}
    }
    text
}

/// Cell edges between a stable and an unstable neighbour, in grid coordinates.
fn boundary_edges(cells: &[Cell], nx: usize, ny: usize) -> Vec<((f64, f64), (f64, f64))> {
    let stable = |ix: usize, iy: usize| cells.get(iy * nx + ix).map(|c| c.stable);
    let mut edges = Vec::new();
    for iy in 0..ny {
        for ix in 0..nx {
            let here = stable(ix, iy);
            let (x, y) = (ix as f64 - 0.5, iy as f64 - 0.5);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(lo: f64, hi: f64, log: bool, points: usize) -> Axis {
        Axis {
            key: "optimizer.lr".into(),
            lo,
            hi,
            log,
            integer: false,
            points,
        }
    }

    #[test]
    fn a_value_lands_on_its_cell_centre_or_between_in_the_axis_own_terms() {
        let log = axis(1e-4, 1e-1, true, 4);
        // Cells at 1e-4, 1e-3, 1e-2, 1e-1: 1e-3 is cell 1, sqrt(10) * 1e-3 halfway to cell 2.
        assert!((grid_position(&log, 1e-3).unwrap() - 1.0).abs() < 1e-12);
        assert!((grid_position(&log, 10f64.sqrt() * 1e-3).unwrap() - 1.5).abs() < 1e-12);
        let lin = axis(0.5, 2.0, false, 6);
        assert!((grid_position(&lin, 1.0).unwrap() - 5.0 / 3.0).abs() < 1e-12);
        assert!(grid_position(&lin, 3.0).unwrap() > 5.5, "outside the map");
        assert_eq!(grid_position(&axis(1.0, 1.0, false, 1), 1.0), Some(0.0));
    }

    #[test]
    fn ticks_label_cell_centres_with_the_cells_value_and_nothing_between() {
        let values = [1e-4, 3.98e-4, 1.585e-3];
        assert_eq!(cell_label(&values, 1.0), tick(&3.98e-4));
        assert_eq!(cell_label(&values, 0.5), "");
        assert_eq!(cell_label(&values, -0.5), "");
        assert_eq!(cell_label(&values, 3.0), "");
    }

    #[test]
    fn the_base_value_is_read_from_the_resolved_scenario_by_dotted_key() {
        let s = crate::scenario::resolve("deep-mlp").unwrap();
        assert_eq!(base_value(&s, "optimizer.lr"), Some(s.optimizer.lr));
        assert_eq!(base_value(&s, "steps"), Some(s.steps as f64));
        assert_eq!(base_value(&s, "optimizer.nonexistent"), None);
    }
}
