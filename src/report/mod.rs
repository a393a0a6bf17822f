//! Reports: SVG charts and one self-contained `index.html`, rendered from a run record alone.
//!
//! Reads only serialized results ([`RunRecord`]), so a run.json from another machine renders the
//! same. Every file is written atomically (temp file, sync, rename): an interrupted run never
//! leaves a half-written report over a good one; `index.html` is written last.

pub mod cards;
pub mod cause;
pub mod charts;
pub mod diff_section;
pub mod fix_section;
pub mod html;
pub mod interactive;
pub mod lr_section;
pub mod robust_section;
pub mod section;
pub mod style;
mod tables;

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::record::RunRecord;
use crate::record::atomic::write_atomic;
pub use section::{Extras, RecordKind, Section, kind_of};

/// One chart: its file name in the report folder, a title, and the SVG text.
#[derive(Debug, Clone)]
pub struct Chart {
    pub file: &'static str,
    pub title: &'static str,
    pub svg: String,
}

/// Every chart of a run, in page order.
pub fn charts(r: &RunRecord) -> Result<Vec<Chart>, Error> {
    let chart = |file, title, svg| Chart { file, title, svg };
    let mut all = vec![
        chart(
            "loss.svg",
            "Loss and learning rate",
            charts::loss(r, false)?,
        ),
        chart("loss-log.svg", "Loss (log scale)", charts::loss(r, true)?),
        chart(
            "grad-norms.svg",
            "Gradient norms per layer",
            charts::grad_norms(r)?,
        ),
        chart(
            "grad-heatmap.svg",
            "Gradient flow heatmap",
            charts::heatmap::grad_heatmap(r)?,
        ),
        chart(
            "histograms.svg",
            "Gradient histograms",
            charts::histograms::histograms(r)?,
        ),
        chart(
            "update-ratios.svg",
            "Update-to-weight ratios",
            charts::update_ratios(r)?,
        ),
        chart("dead-units.svg", "Dead units", charts::dead_fraction(r)?),
        chart(
            "saturated-units.svg",
            "Saturated units",
            charts::saturated_fraction(r)?,
        ),
    ];
    if !r.trace.sharpness.is_empty() {
        let svg = charts::sharpness::sharpness(r)?;
        all.push(chart("sharpness.svg", "Sharpness and stability limit", svg));
    }
    if charts::attention::has_attention(r) {
        let svg = charts::attention::logits(r)?;
        all.push(chart("attention.svg", "Attention logits", svg));
        let svg = charts::attention::entropy(r)?;
        all.push(chart("attention-entropy.svg", "Attention entropy", svg));
    }
    if r.trace.steps.iter().any(|s| s.transformer.is_some()) {
        let svg = charts::optimizer_eps::log_z(r)?;
        all.push(chart("log-z.svg", "Output log Z", svg));
    }
    if charts::optimizer_eps::has_adam_eps(r) {
        let svg = charts::optimizer_eps::adam_eps(r)?;
        all.push(chart("adam-eps.svg", "Gradient RMS over Adam's ε", svg));
    }
    precision_charts(r, &mut all)?;
    Ok(all)
}

/// A 16-bit or loss-scaled run's charts.
fn precision_charts(r: &RunRecord, all: &mut Vec<Chart>) -> Result<(), Error> {
    use charts::precision::{Series, has_casts, has_loss_scale, loss_scale, per_layer};
    let chart = |file, title, svg| Chart { file, title, svg };
    if has_loss_scale(r) {
        all.push(chart("loss-scale.svg", "Loss scale", loss_scale(r)?));
    }
    if has_casts(r) {
        let amax = per_layer(r, Series::Amax)?;
        all.push(chart("cast-amax.svg", "Largest stored activation", amax));
        let flushed = per_layer(r, Series::Flushed)?;
        all.push(chart(
            "grad-flushed.svg",
            "Gradients flushed to zero",
            flushed,
        ));
        if r.scenario.precision.policy().is_some_and(|p| p.pure) {
            let lost = per_layer(r, Series::Lost)?;
            all.push(chart("lost-updates.svg", "Lost weight updates", lost));
        }
    }
    Ok(())
}

/// The chart of `report --compare` and of a baseline's first seed.
pub const COMPARE_CHART: &str = "compare-loss.svg";

/// What `render` wrote, and how long the rendering and writing took.
#[derive(Debug, Clone)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub index: PathBuf,
    pub bytes: u64,
}

/// Renders the run's charts, the sections of the other records found in `dir` (robust.json,
/// sweep.json, ...) and the page into `dir` (created if missing), `index.html` last.
pub fn render(r: &RunRecord, dir: &Path) -> Result<Written, Error> {
    render_folder(Some(r), &Extras::load(dir)?, dir)
}

/// [`render`] with the baseline's first run (by seed) drawn over `r`, in the interactive charts
/// and in `compare-loss.svg`: the page of `scenario --baseline`, `diagnose --baseline` and
/// `stabcheck diff`. The band itself is drawn by the diff section from diff.json. The baseline
/// is not kept in the folder: `stabcheck report` re-renders it without this overlay (or with
/// `--compare`).
pub fn render_against(r: &RunRecord, base: &[RunRecord], dir: &Path) -> Result<Written, Error> {
    let mut extras = Extras::load(dir)?;
    extras.compare = base.first().map(|b| {
        let label = format!("baseline seed {} (1 of {})", b.scenario.seed, base.len());
        (label, b.clone())
    });
    render_folder(Some(r), &extras, dir)
}

/// Renders a run record (if any) and extra records into `dir`; at least one must be given.
pub fn render_folder(
    run: Option<&RunRecord>,
    extras: &Extras,
    dir: &Path,
) -> Result<Written, Error> {
    let Some(scenario) = run.map(|r| &r.scenario).or(extras.scenario()) else {
        return Err(Error::Record {
            path: Some(dir.to_path_buf()),
            message: "nothing to render: no run.json, robust.json or sweep.json".into(),
        });
    };
    let mut charts = match run {
        Some(r) => charts(r)?,
        None => Vec::new(),
    };
    if let Some(r) = run {
        charts.extend(cause::fix_chart(r, extras.fix.as_ref())?);
        if let Some((label, other)) = &extras.compare {
            let points: Vec<(usize, f64)> = (other.trace.steps.iter())
                .map(|s| (s.step, s.loss))
                .collect();
            let curve = crate::record::curve::LossCurve::new(&points);
            let svg = charts::compare::losses(r, &curve, label, charts::compare::Pair::Runs)?;
            let title = "Loss of this run and the compared run";
            charts.push(Chart {
                file: COMPARE_CHART,
                title,
                svg,
            });
        }
    }
    let sections = extras.sections()?;
    let page = html::page((run, extras), &charts, &sections, scenario)?;
    let mut files = Vec::new();
    let mut bytes = 0;
    let all = charts.iter().chain(sections.iter().flat_map(|s| &s.charts));
    for c in all {
        let path = dir.join(c.file);
        write_atomic(&path, c.svg.as_bytes())?;
        bytes += c.svg.len() as u64;
        files.push(path);
    }
    let index = dir.join("index.html");
    write_atomic(&index, page.as_bytes())?;
    bytes += page.len() as u64;
    files.push(index.clone());
    // A comparison chart this page no longer shows (the fix.json stopped matching, no
    // --compare this time) would lie beside it: remove it, after the page is in place.
    for stale in [cause::FIX_CHART, COMPARE_CHART] {
        let path = dir.join(stale);
        if !files.contains(&path) && path.is_file() {
            std::fs::remove_file(&path).map_err(|io| Error::Io { path, io })?;
        }
    }
    Ok(Written {
        files,
        index,
        bytes,
    })
}
