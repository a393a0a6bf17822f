//! One statistic of a head run drawn over the baseline's noise band (`stabcheck diff`), log scale.

use plotters::prelude::*;

use super::lines::{legend, log_tick, message, split_legend};
use crate::error::Error;
use crate::record::diff::Overlay;
use crate::report::style::{self, ALERT, FONT, HEIGHT, OKABE_ITO, WIDTH, err};

/// The band (shaded, its mean dashed) and the head's window means (a line with dots).
pub fn overlay(o: &Overlay, title: &str) -> Result<String, Error> {
    let (band, mean) = (OKABE_ITO[5], OKABE_ITO[0]);
    let entries = vec![
        ("baseline band (max_regression)".to_string(), band),
        ("baseline mean".to_string(), mean),
        ("head".to_string(), ALERT),
    ];
    let values = (o.lo.iter().chain(&o.hi).chain(&o.head)).copied();
    let range = style::value_range(values, true);
    let x_max = o.steps.last().copied().unwrap_or(0.0).max(1.0);
    style::svg("diff", (WIDTH, HEIGHT), |root| {
        let (plot, strip) = split_legend(&root, &entries)?;
        let Some((lo, hi)) = range else {
            return message(&plot, title, "no finite values to plot");
        };
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..x_max, (lo..hi).log_scale())
            .map_err(err)?;
        style::mesh(&mut chart)
            .x_desc("step (window middle)")
            .y_desc("value (log scale)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| log_tick(v))
            .draw()
            .map_err(err)?;
        let finite = |ys: &[f64]| -> Vec<(f64, f64)> {
            (o.steps.iter().zip(ys))
                .filter(|(_, y)| y.is_finite() && **y > 0.0)
                .map(|(&x, &y)| (x, y))
                .collect()
        };
        let (lo_pts, hi_pts) = (finite(&o.lo), finite(&o.hi));
        let polygon: Vec<(f64, f64)> = hi_pts.iter().chain(lo_pts.iter().rev()).copied().collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                polygon,
                band.mix(0.25).filled(),
            )))
            .map_err(err)?;
        let dashed = DashedLineSeries::new(finite(&o.mean), 6, 4, mean.stroke_width(1));
        chart.draw_series(dashed).map_err(err)?;
        let head = finite(&o.head);
        chart
            .draw_series(LineSeries::new(head.iter().copied(), ALERT.stroke_width(2)))
            .map_err(err)?;
        let dots = head.iter().map(|&p| Circle::new(p, 3, ALERT.filled()));
        chart.draw_series(dots).map_err(err)?;
        legend(&strip, &entries)
    })
}
