//! Gradient-value histograms as small multiples: one panel per layer, the first, middle and last
//! recorded histogram steps overlaid. x is log10 |g| (1e-12..1e6), y the fraction of the layer's
//! weight-gradient elements in each bin; exact zeros and non-finite values are counted in the
//! panel title, since a log axis cannot show them.

use plotters::prelude::*;

use super::super::style::{self, FONT, GRID, OKABE_ITO, WIDTH, err};
use super::lines::{legend, message};
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::trace::HistogramRecord;

const PANEL_HEIGHT: u32 = 150;
const MAX_COLUMNS: usize = 4;

/// The steps overlaid: first, middle and last of those with histograms.
fn chosen_steps(r: &RunRecord) -> Vec<usize> {
    let mut steps: Vec<usize> = r.trace.histograms.iter().map(|h| h.step).collect();
    steps.dedup();
    match steps.len() {
        0 => Vec::new(),
        1 | 2 => steps,
        n => vec![steps[0], steps[n / 2], steps[n - 1]],
    }
}

pub fn histograms(r: &RunRecord) -> Result<String, Error> {
    let steps = chosen_steps(r);
    let n_layers = r.trace.steps.first().map_or(0, |s| s.layers.len());
    let columns = MAX_COLUMNS.min(n_layers.max(1));
    let rows = n_layers.div_ceil(columns).max(1);
    let height = 70 + rows as u32 * PANEL_HEIGHT;
    let title = "Gradient-value histograms per layer: fraction of |∂L/∂W| elements per bin";
    style::svg("histograms", (WIDTH, height), |root| {
        if steps.is_empty() {
            return message(&root, title, "no gradient histograms recorded");
        }
        let (head, body) = root.split_vertically(60);
        head.draw(&Text::new(title, (10, 6), (FONT, 18).into_font()))
            .map_err(err)?;
        let entries: Vec<(String, RGBColor)> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("step {s}"), OKABE_ITO[i]))
            .collect();
        let (_, strip) = head.split_vertically(30);
        legend(&strip, &entries)?;
        let panels = body.split_evenly((rows, columns));
        for (layer, panel) in panels.iter().enumerate().take(n_layers) {
            let hists: Vec<&HistogramRecord> = steps
                .iter()
                .filter_map(|&s| {
                    r.trace
                        .histograms
                        .iter()
                        .find(|h| h.step == s && h.layer == layer)
                })
                .collect();
            draw_panel(panel, &super::layer_label(r, layer), &hists)?;
        }
        Ok(())
    })
}

fn draw_panel(
    area: &super::lines::Area,
    layer: &str,
    hists: &[&HistogramRecord],
) -> Result<(), String> {
    let last = hists.last();
    let total = |h: &HistogramRecord| {
        (h.counts.iter().sum::<u64>() + h.zero + h.underflow + h.overflow + h.nonfinite).max(1)
    };
    let caption = last.map_or(layer.to_string(), |h| {
        let zero = 100.0 * h.zero as f64 / total(h) as f64;
        format!("{layer} · zero {zero:.0}% · NaN/inf {}", h.nonfinite)
    });
    let y_max = hists
        .iter()
        .flat_map(|h| h.counts.iter().map(move |&c| c as f64 / total(h) as f64))
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 12))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(34)
        .build_cartesian_2d(-12.0..6.0, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_labels(7)
        .y_labels(3)
        .label_style((FONT, 10))
        .x_label_formatter(&|x| format!("1e{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()
        .map_err(err)?;
    for (i, h) in hists.iter().enumerate() {
        let n = total(h) as f64;
        // zip, not indexing: a record from elsewhere may hold fewer edges than counts + 1.
        let points = h.counts.iter().zip(h.edges.windows(2)).flat_map(|(&c, e)| {
            let (x0, x1) = (e[0].log10(), e[1].log10());
            [(x0, c as f64 / n), (x1, c as f64 / n)]
        });
        chart
            .draw_series(LineSeries::new(points, OKABE_ITO[i].stroke_width(1)))
            .map_err(err)?;
    }
    Ok(())
}
