//! The look shared by every chart (fonts, colour-blind-safe palettes, sizes) and the helpers that
//! turn recorded series into drawable ones: gaps at non-finite values, min/max decimation.

use std::sync::Once;

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use crate::error::Error;

/// Chart size in SVG user units (CSS pixels).
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 420;
/// Most points kept per line: long runs are decimated to min/max pairs per bucket, so spikes stay.
pub const MAX_POINTS: usize = 600;
pub const FONT: &str = "sans-serif";

/// Okabe & Ito's colour-blind-safe palette, for charts with a few named series.
pub const OKABE_ITO: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
/// Marks for non-finite values and failures.
pub const ALERT: RGBColor = RGBColor(213, 94, 0);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const MISSING: RGBColor = RGBColor(190, 190, 190);

static FONTS: Once = Once::new();

/// Registers DejaVu Sans under the generic name the charts use, so text is measured with real
/// glyph metrics (the SVG still names `sans-serif`; the viewer renders with its own font).
pub fn register_fonts() {
    FONTS.call_once(|| {
        // A bundled, known-good font cannot fail to parse; if it did, plotters falls back to
        // estimated text sizes, which is still a readable chart.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Colour of layer `l` of `n` on the viridis scale (perceptually uniform, colour-blind safe).
pub fn layer_color(l: usize, n: usize) -> RGBColor {
    let t = if n > 1 {
        l as f64 / (n - 1) as f64
    } else {
        0.0
    };
    ViridisRGB::get_color(t * 0.92)
}

/// Colour of a value in `[0, 1]` on the viridis scale.
pub fn scale_color(t: f64) -> RGBColor {
    ViridisRGB::get_color(t.clamp(0.0, 1.0))
}

/// The mesh every chart shares (grid colour, one light line per step, fonts); callers add their
/// axis descriptions and label formatters, then `draw`.
pub fn mesh<'a, 'b, X, Y, DB>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut m = chart.configure_mesh();
    m.light_line_style(GRID)
        .max_light_lines(1)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14));
    m
}

/// Draws into an SVG string of the standard size.
pub fn svg(
    chart: &str,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, Error> {
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_error(chart, e))?;
        draw(root.clone()).map_err(|message| Error::Chart {
            chart: chart.to_string(),
            message,
        })?;
        root.present().map_err(|e| chart_error(chart, e))?;
    }
    Ok(out)
}

fn chart_error(chart: &str, e: impl std::fmt::Display) -> Error {
    Error::Chart {
        chart: chart.to_string(),
        message: e.to_string(),
    }
}

/// Maps any plotting error to the message `svg` reports.
pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs of consecutive points whose `y` is finite (and positive when `log`), so a line breaks at
/// NaN/Inf instead of jumping through them.
pub fn finite_runs(points: &[(f64, f64)], log: bool) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &(x, y) in points {
        if y.is_finite() && (!log || y > 0.0) {
            if let Some(run) = runs.last_mut() {
                run.push((x, y));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// At most about [`MAX_POINTS`] points: each bucket of consecutive points keeps its minimum and
/// maximum (in x order), so peaks and spikes survive; non-finite points are always kept.
pub fn decimate(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let buckets = MAX_POINTS / 2;
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(MAX_POINTS + 16);
    for chunk in points.chunks(size) {
        let finite = chunk.iter().enumerate().filter(|(_, p)| p.1.is_finite());
        let lo = finite
            .clone()
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|p| p.0);
        let hi = finite.max_by(|a, b| a.1.1.total_cmp(&b.1.1)).map(|p| p.0);
        for (i, p) in chunk.iter().enumerate() {
            if Some(i) == lo || Some(i) == hi || !p.1.is_finite() {
                out.push(*p);
            }
        }
    }
    out
}

/// `[lo, hi]` covering the finite (and, when `log`, positive) values, padded so a flat series
/// still has a visible range; `None` when there is nothing to draw.
pub fn value_range(values: impl IntoIterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() && (!log || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    Some(if log {
        // Down to a power of ten: plotters labels a log axis from the first power of ten in
        // range, so a range starting at 0.3 would show no label below 1.
        // (0.999: plotters rounds ln(0.1)/ln(10) = -0.99999... up to 0 and would skip 0.1.)
        (0.999 * 10f64.powf((lo / 1.25).log10().floor()), hi * 1.25)
    } else if hi - lo <= 1e-12 * hi.abs() {
        // A flat series: pad by half its own size (a constant lr of 1e-3 spans 5e-4..1.5e-3).
        let pad = if lo == 0.0 { 0.5 } else { 0.5 * lo.abs() };
        (lo - pad, hi + pad)
    } else {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    })
}

/// Axis tick label: at most 3 significant digits, exponent form (`1e-4`, `2.5e6`) for very large
/// or small values.
pub fn tick(v: &f64) -> String {
    let x = *v;
    if x != 0.0 && x.is_finite() && (x.abs() >= 1e4 || x.abs() < 1e-3) {
        let rounded: f64 = format!("{x:.2e}").parse().unwrap_or(x);
        format!("{rounded:e}")
    } else {
        crate::record::text::fmt(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_non_finite_values_and_log_drops_non_positive_ones() {
        let pts = [
            (0.0, 1.0),
            (1.0, f64::NAN),
            (2.0, 2.0),
            (3.0, 0.0),
            (4.0, 3.0),
        ];
        assert_eq!(finite_runs(&pts, false).len(), 2);
        assert_eq!(
            finite_runs(&pts, true),
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0)], vec![(4.0, 3.0)]]
        );
    }

    #[test]
    fn decimation_keeps_the_spike_and_the_nan() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        pts[5_000].1 = 1e9;
        pts[7_000].1 = f64::NAN;
        let d = decimate(&pts);
        assert!(d.len() <= MAX_POINTS + 2, "{}", d.len());
        assert!(d.iter().any(|p| p.1 == 1e9));
        assert!(d.iter().any(|p| p.1.is_nan()));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(&1e-4), "1e-4");
        assert_eq!(tick(&0.00025), "2.5e-4");
        assert_eq!(tick(&1234567.0), "1.23e6");
        assert_eq!(tick(&0.5), "0.5");
    }

    #[test]
    fn ranges_ignore_non_finite_values_and_pad_flat_series() {
        assert_eq!(value_range([f64::NAN, 2.0, 4.0], true), Some((0.999, 5.0)));
        assert_eq!(value_range([0.3, 8.0], true), Some((0.0999, 10.0)));
        assert_eq!(value_range([3.0, 3.0], false), Some((1.5, 4.5)));
        assert_eq!(value_range([1e-3, 1e-3], false), Some((5e-4, 1.5e-3)));
        assert_eq!(value_range([f64::NAN], false), None);
        assert_eq!(value_range([0.0, -1.0], true), None);
    }
}
