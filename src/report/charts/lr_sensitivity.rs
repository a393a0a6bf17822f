//! Final loss against learning rate, one line per variant on a log lr axis (Wortsman et al.
//! 2023's Fig. 1 shape), with the initial loss as the ceiling a failed run is counted at.

use plotters::prelude::*;

use super::lines::{legend, log_tick, message, split_legend};
use crate::error::Error;
use crate::record::lr_sensitivity::LrSensitivityRecord;
use crate::report::style::{self, ALERT, FONT, HEIGHT, OKABE_ITO, WIDTH, err, tick};

pub fn chart(r: &LrSensitivityRecord) -> Result<String, Error> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = (r.variants.iter())
        .map(|v| {
            let label = format!("{}: {}", v.name, tick(&v.sensitivity));
            (
                label,
                v.runs.iter().map(|run| (run.lr, capped(run))).collect(),
            )
        })
        .collect();
    let ceiling = (r.variants.iter().flat_map(|v| &v.runs))
        .map(|run| run.initial_loss)
        .filter(|l| l.is_finite())
        .fold(f64::NAN, f64::max);
    let mut entries: Vec<(String, RGBColor)> = (lines.iter().enumerate())
        .map(|(i, (label, _))| (label.clone(), OKABE_ITO[[0, 2, 4, 5, 6, 3][i % 6]]))
        .collect();
    entries.push(("initial loss (a failed run counts here)".to_string(), ALERT));
    let values = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.1))
        .chain([ceiling]);
    let range = style::value_range(values, false);
    let (lo_lr, hi_lr) = (r.lrs.first().copied(), r.lrs.last().copied());
    style::svg("lr-sensitivity", (WIDTH, HEIGHT), |root| {
        let (plot, strip) = split_legend(&root, &entries)?;
        let title = "Final loss against learning rate (legend: LR sensitivity)";
        let (Some((lo, hi)), Some(a), Some(b)) = (range, lo_lr, hi_lr) else {
            return message(&plot, title, "no finite losses to plot");
        };
        let x = (a / 1.5)..(b * 1.5);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(x.log_scale(), lo..hi)
            .map_err(err)?;
        style::mesh(&mut chart)
            .x_desc("learning rate (log scale)")
            .y_desc("final loss")
            .x_label_formatter(&|v| log_tick(v))
            .y_label_formatter(&|v| tick(v))
            .draw()
            .map_err(err)?;
        if ceiling.is_finite() {
            let s = ALERT.stroke_width(1);
            chart
                .draw_series(LineSeries::new([(a / 1.5, ceiling), (b * 1.5, ceiling)], s))
                .map_err(err)?;
        }
        for ((_, points), (_, color)) in lines.iter().zip(&entries) {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(err)?;
            let dots = points.iter().map(|&p| Circle::new(p, 4, color.filled()));
            chart.draw_series(dots).map_err(err)?;
        }
        legend(&strip, &entries)
    })
}

/// The value the metric counts: the final loss, or the initial loss when the run failed.
fn capped(run: &crate::record::lr_sensitivity::LrRun) -> f64 {
    match run.final_loss.is_finite() {
        true => run.final_loss.min(run.initial_loss),
        false => run.initial_loss,
    }
}
