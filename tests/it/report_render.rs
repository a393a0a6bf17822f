//! Reports from run records: every SVG parses as XML and carries its axis titles, the HTML parses
//! as HTML5 and contains every finding's text, a run with NaNs renders without panics or empty
//! charts, and `stabcheck report` re-renders a run.json alone.

use assert_cmd::Command;
use stabcheck::record::Record as _;
use tempfile::TempDir;

use stabcheck::record::RunRecord;
use stabcheck::report;
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides, SetOverride};

fn record(steps: u64, set: &[&str]) -> RunRecord {
    let base = scenario::resolve("deep-mlp").unwrap();
    let overrides = Overrides {
        seed: None,
        steps: Some(steps),
        set: set.iter().map(|a| SetOverride::parse(a).unwrap()).collect(),
    };
    let s = scenario::apply_overrides(&base, &overrides).unwrap();
    run_recorded(&s, None, None).unwrap().into_record(&s)
}

/// The SVG of chart `file` (which must be there).
fn svg_of<'a>(charts: &'a [report::Chart], file: &str) -> &'a str {
    &charts.iter().find(|c| c.file == file).unwrap().svg
}

/// Axis or legend texts each chart must contain.
const AXIS_TITLES: &[(&str, &[&str])] = &[
    ("loss.svg", &["step", "loss", "learning rate"]),
    (
        "loss-log.svg",
        &["step", "loss (log scale)", "learning rate"],
    ),
    (
        "grad-norms.svg",
        &[
            "step",
            "gradient L2 norm (log scale)",
            "layer 0 (input side)",
        ],
    ),
    (
        "grad-heatmap.svg",
        &["step", "layer (0 = input side)", "NaN/inf"],
    ),
    ("histograms.svg", &["layer 0", "step 0"]),
    ("update-ratios.svg", &["step", "‖ΔW‖ / ‖W‖ (log scale)"]),
    ("dead-units.svg", &["step", "fraction of units"]),
    ("saturated-units.svg", &["step", "fraction of units"]),
];

fn check_charts(charts: &[report::Chart]) {
    assert_eq!(charts.len(), AXIS_TITLES.len());
    for (chart, (file, titles)) in charts.iter().zip(AXIS_TITLES) {
        assert_eq!(chart.file, *file);
        let doc = roxmltree::Document::parse(&chart.svg)
            .unwrap_or_else(|e| panic!("{file} is not XML: {e}"));
        let text: String = doc
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("|");
        for t in *titles {
            assert!(text.contains(t), "{file} lacks the text {t:?}");
        }
        // A drawn chart has lines, rectangles or polylines beyond its frame.
        let marks = doc
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "polyline" | "rect" | "path" | "line"))
            .count();
        assert!(marks > 10, "{file} looks empty ({marks} marks)");
    }
}

fn check_page(r: &RunRecord, html: &str) {
    let doc = scraper::Html::parse_document(html);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    let text: String = doc.root_element().text().collect();
    let verdict = r.verdict.as_ref().unwrap();
    for f in &verdict.findings {
        assert!(
            text.contains(&f.summary),
            "page lacks finding {:?}",
            f.summary
        );
    }
    // Scripts are inline only (the vendored chart library and its data): one offline file.
    assert!(
        !html.contains("<script src"),
        "the page loads no script file"
    );
    assert!(
        html.contains("id=\"interactive\"") && html.contains("id=\"ip-data\""),
        "the interactive charts and their data are on the page"
    );
    assert!(
        !html.contains("src=\"http"),
        "the page loads nothing from the network"
    );
}

#[test]
fn a_healthy_run_renders_every_chart_and_a_page_with_its_findings() {
    let r = record(60, &[]);
    let charts = report::charts(&r).unwrap();
    check_charts(&charts);
    let html =
        report::html::page((Some(&r), &Default::default()), &charts, &[], &r.scenario).unwrap();
    check_page(&r, &html);
    assert!(html.contains("PASS") || html.contains("FAIL"));
}

/// Issue 22: histograms over time, not three steps on a fixed 1e-12..1e6 axis: one ridge per
/// recorded step in every layer's panel, on the decades the gradients occupy.
#[test]
fn the_histogram_chart_draws_one_ridge_per_recorded_step_on_the_occupied_decades() {
    let r = record(60, &["probe.histogram_every=10"]);
    let steps: std::collections::BTreeSet<usize> =
        r.trace.histograms.iter().map(|h| h.step).collect();
    assert_eq!(steps.len(), 7, "steps 0, 10, ..., 50 and 59: {steps:?}");
    let layers = r.trace.steps[0].layers.len();
    let charts = report::charts(&r).unwrap();
    let svg = svg_of(&charts, "histograms.svg");
    assert_eq!(svg.matches("<polygon").count(), steps.len() * layers);
    let last = steps.iter().max().unwrap();
    assert!(svg.contains(&format!("step {last} (front, bottom)")));
    // The axis ends half a decade or more past the largest filled bin, not at the bins' 1e6.
    let top = (r.trace.histograms.iter())
        .flat_map(|h| h.counts.iter().zip(h.edges.windows(2)))
        .filter(|(c, _)| **c > 0)
        .map(|(_, e)| e[1])
        .fold(0.0, f64::max);
    assert!(top < 1e3, "deep-mlp's gradients stay small: {top}");
    assert!(
        !svg.contains(">1e6<"),
        "the axis is not the fixed 1e-12..1e6"
    );
}

/// A transformer's charts and page render from its record, and the layers are labelled by their
/// state_dict modules where an MLP's say "input side" and "output".
#[test]
fn a_transformer_run_renders_with_module_names_on_its_layers() {
    let base = scenario::resolve("tiny-gpt-fast").unwrap();
    let overrides = Overrides {
        steps: Some(10),
        ..Overrides::default()
    };
    let s = scenario::apply_overrides(&base, &overrides).unwrap();
    let r = run_recorded(&s, None, None).unwrap().into_record(&s);
    let charts = report::charts(&r).unwrap();
    let svg = |file: &str| &charts.iter().find(|c| c.file == file).unwrap().svg;
    assert!(svg("grad-norms.svg").contains("layer 0 tok_emb"));
    assert!(!svg("grad-norms.svg").contains("input side"));
    let last = r.trace.layer_names.len() - 1;
    assert!(svg("grad-norms.svg").contains(&format!("layer {last} head")));
    assert!(svg("histograms.svg").contains("layer 3 blocks.0.attn.qkv"));
    let html =
        report::html::page((Some(&r), &Default::default()), &charts, &[], &r.scenario).unwrap();
    check_page(&r, &html);
}

#[test]
fn a_run_that_goes_non_finite_renders_with_gaps_and_a_marker_not_a_panic() {
    let r = record(30, &["optimizer.kind=\"sgd\"", "optimizer.lr=1.0"]);
    assert!(r.nan_origin.is_some());
    let charts = report::charts(&r).unwrap();
    check_charts(&charts);
    let html =
        report::html::page((Some(&r), &Default::default()), &charts, &[], &r.scenario).unwrap();
    check_page(&r, &html);
    assert!(html.contains("First non-finite value"));
    // The heatmap is cropped like the line charts: NaN from step 2, so no column past step 10
    // of the 30 (its x axis counts columns, one per step here).
    let heatmap = svg_of(&charts, "grad-heatmap.svg");
    let labels: Vec<&str> = (heatmap.split("</text>"))
        .filter_map(|t| t.rsplit('>').next().map(str::trim))
        .collect();
    assert!(
        labels.contains(&"10") && !labels.contains(&"20"),
        "not cropped: {labels:?}"
    );
}

#[test]
fn the_report_command_renders_a_run_json_alone() {
    let dir = TempDir::new().unwrap();
    let r = record(20, &[]);
    r.write_in(dir.path()).unwrap();
    let out = TempDir::new().unwrap();
    Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("report")
        .arg(dir.path().join("run.json"))
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(0);
    for (file, _) in AXIS_TITLES {
        assert!(out.path().join(file).is_file(), "{file} missing");
    }
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    check_page(&r, &html);
}

#[test]
fn a_malformed_record_exits_2_and_leaves_an_existing_report_untouched() {
    let dir = TempDir::new().unwrap();
    let good = "<html>previous good report</html>";
    std::fs::write(dir.path().join("index.html"), good).unwrap();
    std::fs::write(dir.path().join("run.json"), "{\"schema\": 1, \"trace\": [").unwrap();
    Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("report")
        .arg(dir.path().join("run.json"))
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("index.html")).unwrap(),
        good
    );
}

#[test]
fn per_layer_charts_highlight_the_layers_the_findings_name() {
    let s = scenario::resolve("layer-lr-100x").unwrap();
    let r = run_recorded(&s, None, None).unwrap().into_record(&s);
    let charts = report::charts(&r).unwrap();
    for name in ["grad-norms.svg", "update-ratios.svg"] {
        let svg = &charts.iter().find(|c| c.file == name).unwrap().svg;
        // layer 9 trains at 100x the lr: the root cause names it, and the chart says so.
        assert!(svg.contains("layer 9 (named by root-cause)"), "{name}");
    }
    // A run without error findings highlights nothing.
    let calm = record(20, &[]);
    let charts = report::charts(&calm).unwrap();
    let svg = svg_of(&charts, "grad-norms.svg");
    assert!(!svg.contains("named by"));
}
