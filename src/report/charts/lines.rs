//! One line-chart builder for every "quantity over steps" picture: linear or log y, an optional
//! secondary axis, a shaded band, markers, a vertical rule, and a legend outside the data.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::super::style::{
    self, ALERT, FONT, HEIGHT, WIDTH, decimate, err, finite_runs, tick, value_range,
};
use crate::error::Error;

/// One line: points `(step, value)` (non-finite values become gaps), colour and width.
pub struct Line {
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub width: u32,
}

/// A chart of lines over steps.
pub struct LineChart {
    pub name: &'static str,
    pub title: String,
    pub y_desc: String,
    pub log: bool,
    pub x_max: f64,
    /// Fixed y range (e.g. `[0, 1]` for fractions); otherwise fitted to the data.
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
    /// Right-axis description and lines (linear scale).
    pub secondary: Option<(String, Vec<Line>)>,
    /// A shaded y band with its label, e.g. the healthy update-ratio range.
    pub band: Option<(f64, f64)>,
    pub markers: Vec<(f64, f64)>,
    /// A vertical rule, e.g. the first non-finite step.
    pub rule: Option<f64>,
    /// Legend entries, drawn in a strip above the plot so they never cover data.
    pub legend: Vec<(String, RGBColor)>,
    /// SVG size in user units: a chart shown in a narrow column is drawn smaller, so its text
    /// keeps its size on screen.
    pub size: (u32, u32),
}

impl LineChart {
    pub fn new(name: &'static str, title: String, y_desc: &str, x_max: f64) -> Self {
        LineChart {
            name,
            title,
            y_desc: y_desc.to_string(),
            log: false,
            x_max: x_max.max(1.0),
            y_range: None,
            lines: Vec::new(),
            secondary: None,
            band: None,
            markers: Vec::new(),
            rule: None,
            legend: Vec::new(),
            size: (WIDTH, HEIGHT),
        }
    }

    /// A horizontal reference line across the whole run (a gate, uniform attention's entropy),
    /// thin, with its legend entry.
    pub fn level(&mut self, y: f64, label: String, color: RGBColor) {
        self.lines.push(Line {
            points: vec![(0.0, y), (self.x_max, y)],
            color,
            width: 1,
        });
        self.legend.push((label, color));
    }

    pub fn render(mut self) -> Result<String, Error> {
        for line in &mut self.lines {
            line.points = decimate(&line.points);
        }
        let values = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
        let range = self.y_range.or_else(|| value_range(values, self.log));
        style::svg(self.name, self.size, |root| {
            let (plot, strip) = split_legend(&root, &self.legend)?;
            let Some((lo, hi)) = range else {
                return message(&plot, &self.title, "no finite values to plot");
            };
            if self.log {
                self.plot(&plot, (lo..hi).log_scale(), (lo, hi))?;
            } else {
                self.plot(&plot, lo..hi, (lo, hi))?;
            }
            legend(&strip, &self.legend)
        })
    }

    fn plot<Y>(&self, area: &Area, y: Y, (lo, hi): (f64, f64)) -> Result<(), String>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let values = self.secondary.iter().flat_map(|s| s.1.iter());
        let y2 = value_range(values.flat_map(|l| l.points.iter().map(|p| p.1)), false);
        let (lo2, hi2) = y2.unwrap_or((0.0, 1.0));
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .right_y_label_area_size(if self.secondary.is_some() { 72 } else { 10 })
            .build_cartesian_2d(0.0..self.x_max, y)
            .map_err(err)?
            .set_secondary_coord(0.0..self.x_max, lo2..hi2);
        style::mesh(&mut chart)
            .x_desc("step")
            .y_desc(self.y_desc.as_str())
            .y_label_formatter(&|v| if self.log { log_tick(v) } else { tick(v) })
            .x_label_formatter(&|v| tick(v))
            .draw()
            .map_err(err)?;
        if let Some((b_lo, b_hi)) = self.band {
            let shade = style::OKABE_ITO[2].mix(0.12).filled();
            chart
                .draw_series([Rectangle::new([(0.0, b_lo), (self.x_max, b_hi)], shade)])
                .map_err(err)?;
        }
        for line in &self.lines {
            for run in finite_runs(&line.points, self.log) {
                let s = line.color.stroke_width(line.width);
                chart.draw_series(LineSeries::new(run, s)).map_err(err)?;
            }
        }
        if let Some((desc, lines)) = &self.secondary {
            chart
                .configure_secondary_axes()
                .y_desc(desc.as_str())
                .y_label_formatter(&|v| tick(v))
                .draw()
                .map_err(err)?;
            for line in lines {
                let s = line.color.stroke_width(line.width);
                let pts = decimate(&line.points);
                for run in finite_runs(&pts, false) {
                    chart
                        .draw_secondary_series(LineSeries::new(run, s))
                        .map_err(err)?;
                }
            }
        }
        let inside = |p: &&(f64, f64)| p.1.is_finite() && p.1 >= lo && p.1 <= hi;
        let markers = self.markers.iter().filter(inside);
        chart
            .draw_series(markers.map(|&p| TriangleMarker::new(p, 7, ALERT.filled())))
            .map_err(err)?;
        if let Some(x) = self.rule {
            let s = ALERT.stroke_width(2);
            chart
                .draw_series(LineSeries::new(vec![(x, lo), (x, hi)], s))
                .map_err(err)?;
        }
        Ok(())
    }
}

pub type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A log axis label only at 1, 2 and 5 times a power of ten: plotters puts a tick at every
/// integer multiple, and labelling all of them crowds a one-decade axis (0.5 ... 0.9 ... 1).
pub fn log_tick(v: &f64) -> String {
    let mantissa = *v / 10f64.powf(v.log10().floor());
    let near = |m: f64| (mantissa - m).abs() < 1e-6 * m;
    if near(1.0) || near(2.0) || near(5.0) || near(10.0) {
        tick(v)
    } else {
        String::new()
    }
}

/// Splits off a strip above the plot for the legend (none when there is no legend).
pub fn split_legend<'a>(
    root: &Area<'a>,
    entries: &[(String, RGBColor)],
) -> Result<(Area<'a>, Area<'a>), String> {
    let rows = entries.len().div_ceil(4) as u32;
    let (strip, plot) = root.split_vertically(if rows == 0 { 0 } else { 8 + 20 * rows });
    Ok((plot, strip))
}

/// Legend entries in rows of four: a colour swatch and a label.
pub fn legend(strip: &Area, entries: &[(String, RGBColor)]) -> Result<(), String> {
    for (i, (label, color)) in entries.iter().enumerate() {
        let (col, row) = ((i % 4) as i32, (i / 4) as i32);
        let (x, y) = (80 + col * 205, 8 + row * 20);
        strip
            .draw(&Rectangle::new(
                [(x, y + 4), (x + 18, y + 12)],
                color.filled(),
            ))
            .map_err(err)?;
        strip
            .draw(&Text::new(
                label.clone(),
                (x + 24, y),
                (FONT, 14).into_font(),
            ))
            .map_err(err)?;
    }
    Ok(())
}

/// A titled chart area that says why there is nothing to draw, instead of an empty frame.
pub fn message(area: &Area, title: &str, text: &str) -> Result<(), String> {
    area.draw(&Text::new(
        title.to_string(),
        (20, 20),
        (FONT, 18).into_font(),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        text.to_string(),
        (20, 60),
        (FONT, 14).into_font(),
    ))
    .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::log_tick;

    #[test]
    fn log_axes_label_only_one_two_and_five() {
        let labels: Vec<String> = [0.5, 0.6, 0.9, 1.0, 2.0, 3.0, 5.0, 7.0, 1e-4]
            .iter()
            .map(log_tick)
            .collect();
        assert_eq!(labels, ["0.5", "", "", "1", "2", "", "5", "", "1e-4"]);
    }
}
