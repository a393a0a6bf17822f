//! Gradient-value histograms over time, as TensorBoard's offset view: one panel per layer, one
//! ridge per recorded histogram step (oldest at the back, at the top; newest in front), so a
//! distribution drifting toward 0 or toward overflow over training shows as ridges sliding along
//! x. x is log10 |g| over the bins any drawn histogram filled, widened to whole decades with at
//! least half a decade of margin (not the fixed 1e-12..1e6 of the bins);
//! each ridge's height is its bin's fraction of the layer's elements, on one scale per panel.
//! Exact zeros and non-finite values are counted in the panel title: a log axis cannot show them.

use plotters::prelude::*;

use super::super::style::{self, FONT, GRID, WIDTH, err, scale_color};
use super::lines::{Area, legend, message};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::trace::HistogramRecord;

const PANEL_HEIGHT: u32 = 190;
const MAX_COLUMNS: usize = 4;
/// Most ridges per panel: more recorded steps are thinned evenly, first and last kept.
pub const MAX_RIDGES: usize = 24;
/// Most ridges on the whole chart: a deep model gets fewer per panel (64 layers: 6), so its
/// page stays under the 5 MB report limit.
pub const MAX_TOTAL_RIDGES: usize = 400;
/// A ridge's full height, in baseline spacings: ridges overlap, as in TensorBoard.
const RIDGE_HEIGHT: f64 = 3.0;

/// The steps drawn for `layers` panels: every recorded histogram step, thinned to
/// [`MAX_RIDGES`] per panel and [`MAX_TOTAL_RIDGES`] in all (at least 2: first and last).
pub fn ridge_steps(hists: &[HistogramRecord], layers: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = hists.iter().map(|h| h.step).collect();
    steps.sort_unstable();
    steps.dedup();
    let n = steps.len();
    let most = MAX_RIDGES.min(MAX_TOTAL_RIDGES / layers.max(1)).max(2);
    if n <= most {
        return steps;
    }
    let mut picked: Vec<usize> = (0..most).map(|i| steps[i * (n - 1) / (most - 1)]).collect();
    picked.dedup();
    picked
}

fn total(h: &HistogramRecord) -> u64 {
    let counts = h.counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
    [h.zero, h.underflow, h.overflow, h.nonfinite]
        .iter()
        .fold(counts, |a, &c| a.saturating_add(c))
        .max(1)
}

/// Fraction of `h`'s elements in each bin, with the bin's log10 edges; bins with unusable edges
/// (a record from elsewhere) are skipped. `zip`, not indexing: edges may be fewer than counts + 1.
fn bins(h: &HistogramRecord) -> Vec<(f64, f64, f64)> {
    let n = total(h) as f64;
    (h.counts.iter().zip(h.edges.windows(2)))
        .map(|(&c, e)| (e[0].log10(), e[1].log10(), c as f64 / n))
        .filter(|(a, b, _)| a.is_finite() && b.is_finite() && a < b)
        .collect()
}

/// The log10 |g| range of the bins that hold anything, over every drawn histogram, widened by
/// at least half a decade each side to whole decades; `None` when every drawn bin is empty.
pub fn occupied_range(hists: &[&HistogramRecord]) -> Option<(f64, f64)> {
    let filled = hists.iter().flat_map(|h| bins(h)).filter(|b| b.2 > 0.0);
    let (lo, hi) = filled.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b, _)| {
        (lo.min(a), hi.max(b))
    });
    (lo < hi).then_some(((lo - 0.5).floor(), (hi + 0.5).ceil()))
}

pub fn histograms(r: &RunRecord) -> Result<String, Error> {
    let n_layers = r.trace.steps.first().map_or(0, |s| s.layers.len());
    let steps = ridge_steps(&r.trace.histograms, n_layers);
    let drawn: Vec<&HistogramRecord> = (r.trace.histograms.iter())
        .filter(|h| steps.binary_search(&h.step).is_ok())
        .collect();
    let range = occupied_range(&drawn);
    let columns = MAX_COLUMNS.min(n_layers.max(1));
    let rows = n_layers.div_ceil(columns).max(1);
    let height = 70 + rows as u32 * PANEL_HEIGHT;
    let title =
        "Gradient-value distribution over training per layer: |∂L/∂W| (log10), one ridge per step";
    style::svg("histograms", (WIDTH, height), |root| {
        let Some(x) = range.filter(|_| !steps.is_empty()) else {
            return message(&root, title, "no gradient histograms with a non-zero value");
        };
        let (head, body) = root.split_vertically(60);
        head.draw(&Text::new(title, (10, 6), (FONT, 17).into_font()))
            .map_err(err)?;
        let (first, last) = (steps[0], steps[steps.len() - 1]);
        let entries = vec![
            (
                format!("step {first} (back, top)"),
                step_color(0, steps.len()),
            ),
            (
                format!("step {last} (front, bottom)"),
                step_color(steps.len() - 1, steps.len()),
            ),
        ];
        let (_, strip) = head.split_vertically(30);
        legend(&strip, &entries)?;
        let panels = body.split_evenly((rows, columns));
        for (layer, panel) in panels.iter().enumerate().take(n_layers) {
            let hists: Vec<&HistogramRecord> = (steps.iter())
                .filter_map(|&s| drawn.iter().find(|h| h.step == s && h.layer == layer))
                .copied()
                .collect();
            ridges(panel, (&super::layer_label(r, layer), x), &hists)?;
        }
        Ok(())
    })
}

/// Ridge `i` of `n`: light (old) to dark (new) on the viridis scale, reversed.
fn step_color(i: usize, n: usize) -> RGBColor {
    let t = if n > 1 {
        i as f64 / (n - 1) as f64
    } else {
        1.0
    };
    scale_color(0.85 - 0.75 * t)
}

/// A ridge's step outline from `x_lo` to `x_hi` on `base`: two points per run of bins of equal
/// height (empty bins mostly), none for bins outside the axis, so a 64-layer page stays small.
fn outline(
    bins: &[(f64, f64, f64)],
    (x_lo, x_hi): (f64, f64),
    base: f64,
    scale: f64,
) -> Vec<(f64, f64)> {
    let mut points = vec![(x_lo, base)];
    let mut level = base;
    for &(a, _, f) in bins.iter().filter(|b| b.1 > x_lo && b.0 < x_hi) {
        let y = base + f * scale;
        if y != level {
            points.extend([(a.max(x_lo), level), (a.max(x_lo), y)]);
            level = y;
        }
    }
    points.extend([(x_hi, level), (x_hi, base)]);
    points
}

/// One layer's panel: ridge `i` (of `n`, oldest first) sits on baseline `n - 1 - i`.
fn ridges(
    area: &Area,
    (layer, (x_lo, x_hi)): (&str, (f64, f64)),
    hists: &[&HistogramRecord],
) -> Result<(), String> {
    let caption = hists.last().map_or(layer.to_string(), |h| {
        let zero = 100.0 * h.zero as f64 / total(h) as f64;
        format!("{layer} · zero {zero:.0}% · NaN/inf {}", h.nonfinite)
    });
    let n = hists.len().max(1);
    let peak = (hists.iter().flat_map(|h| bins(h)).map(|b| b.2)).fold(1e-12, f64::max);
    let scale = RIDGE_HEIGHT / peak;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 12))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(10)
        .build_cartesian_2d(x_lo..x_hi, 0.0..(n as f64 - 1.0 + RIDGE_HEIGHT + 0.3))
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .label_style((FONT, 10))
        .x_label_formatter(&|x| format!("1e{x:.0}"))
        .draw()
        .map_err(err)?;
    for (i, h) in hists.iter().enumerate() {
        let base = (n - 1 - i) as f64;
        let outline = outline(&bins(h), (x_lo, x_hi), base, scale);
        // White fill first: a ridge in front hides the ones behind it.
        let color = step_color(i, n);
        chart
            .draw_series([Polygon::new(outline.clone(), WHITE.mix(0.9).filled())])
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(outline, color.stroke_width(1)))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(step: usize, edges: &[f64], counts: &[u64]) -> HistogramRecord {
        HistogramRecord {
            step,
            layer: 0,
            edges: edges.to_vec(),
            counts: counts.to_vec(),
            zero: 3,
            underflow: 0,
            overflow: 0,
            nonfinite: 0,
        }
    }

    #[test]
    fn a_ridge_outline_steps_only_where_the_height_changes() {
        let bins = [
            (-3.0, -2.0, 0.0),
            (-2.0, -1.0, 0.5),
            (-1.0, 0.0, 0.5),
            (0.0, 1.0, 0.0),
        ];
        let points = outline(&bins, (-2.5, 0.5), 1.0, 2.0);
        let want = [
            (-2.5, 1.0),
            (-2.0, 1.0),
            (-2.0, 2.0),
            (0.0, 2.0),
            (0.0, 1.0),
            (0.5, 1.0),
            (0.5, 1.0),
        ];
        assert_eq!(points, want);
    }

    #[test]
    fn many_recorded_steps_are_thinned_evenly_keeping_the_first_and_last() {
        let hists: Vec<HistogramRecord> = (0..=100).map(|s| hist(s * 10, &[], &[])).collect();
        let steps = ridge_steps(&hists, 17);
        assert_eq!(
            steps.len(),
            MAX_RIDGES - 1,
            "400 ridges over 17 panels: 23 each"
        );
        assert_eq!((steps[0], steps[MAX_RIDGES - 2]), (0, 1000));
        let gaps: Vec<usize> = steps.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| (40..=50).contains(&g)), "{gaps:?}");
        assert_eq!(ridge_steps(&hists, 64).len(), 6);
        assert_eq!(ridge_steps(&hists, 1).len(), MAX_RIDGES);
        assert_eq!(ridge_steps(&hists, 10_000), [0, 1000]);
        let few: Vec<HistogramRecord> = [5, 0, 5, 9].iter().map(|&s| hist(s, &[], &[])).collect();
        assert_eq!(ridge_steps(&few, 17), [0, 5, 9]);
    }

    #[test]
    fn the_x_range_covers_the_filled_bins_of_every_step_widened_to_whole_decades() {
        let edges = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3];
        let early = hist(0, &edges, &[0, 0, 0, 4, 1, 0]);
        let late = hist(50, &edges, &[0, 2, 0, 0, 0, 0]);
        // Filled: 1e-8..1e-7 (late) to 1e-5..1e-4 (early): log10 -8..-4, half a decade more.
        let r = occupied_range(&[&early, &late]).unwrap();
        assert_eq!(r, (-9.0, -3.0));
        // Exact zeros fill no bin; edges that are not positive are skipped, not drawn at -inf.
        let empty = hist(0, &[0.0, 1.0, 2.0], &[0, 0]);
        assert_eq!(occupied_range(&[&empty]), None);
        let bad = hist(0, &[-1.0, 0.0, 1e-2, 1e-1], &[7, 7, 1]);
        assert_eq!(occupied_range(&[&bad]), Some((-3.0, 0.0)));
    }
}
