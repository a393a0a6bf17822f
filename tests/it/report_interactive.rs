//! The run page used as a person would, in headless Chromium driven over the DevTools protocol
//! (`headless_chrome`, with the system chromium): the first screen holds the cause card; hovering
//! the loss chart shows the value run.json has at that step; clicking a layer in the legend hides
//! its line; the layers the findings name are drawn wide; a fix page's first screen holds the
//! verified fix and its loss before and after, and the page prints.
//!
//! Skipped, saying so, without Chromium; `.ci/run` installs it and sets
//! `STABCHECK_REQUIRE_BROWSER=1`, under which a missing browser fails the test.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Emulation;
use headless_chrome::{Browser, LaunchOptions, Tab};
use stabcheck::record::{Record, RunRecord};
use tempfile::TempDir;

use super::report_browser::browser;

/// Evaluates the expression `js` in the page and returns its value, passed through JSON.
fn eval(tab: &Tab, js: &str) -> serde_json::Value {
    let out = tab
        .evaluate(&format!("JSON.stringify({js})"), false)
        .unwrap();
    let text = out.value.and_then(|v| v.as_str().map(str::to_string));
    serde_json::from_str(&text.expect("a JSON string")).unwrap()
}

fn open(chromium: &Path, page: &Path) -> (Browser, std::sync::Arc<Tab>) {
    let options = LaunchOptions::default_builder()
        .path(Some(chromium.to_path_buf()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1400, 900)))
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let browser = Browser::new(options).unwrap();
    let tab = browser.new_tab().unwrap();
    let url = format!("file://{}", page.display());
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#ip-grad .uplot").unwrap();
    (browser, tab)
}

/// A folder with what `stabcheck ARGS --out DIR` wrote, after it exited with `code`.
fn written(args: &[&str], code: i32) -> TempDir {
    let dir = TempDir::new().unwrap();
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args(args)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    dir
}

#[test]
fn the_page_shows_the_cause_first_hovers_values_and_toggles_layers() {
    let Some(chromium) = browser() else {
        return;
    };
    let dir = written(&["scenario", "layer-lr-100x"], 1);
    let run = RunRecord::read(&dir.path().join("run.json")).unwrap();
    let (_browser, tab) = open(&chromium, &dir.path().join("index.html"));

    // The first screen (1400 x 900) holds the cause: the first finding card, an error naming
    // layer 9, the layer whose lr is 100x.
    let card = eval(
        &tab,
        "(() => { const c = document.querySelector('.card'); const r = c.getBoundingClientRect(); \
         return {top: r.top, screen: innerHeight, error: c.classList.contains('error'), \
         text: c.textContent}; })()",
    );
    assert!(
        card["top"].as_f64().unwrap() < card["screen"].as_f64().unwrap(),
        "{card}"
    );
    assert_eq!(card["error"], true);
    assert!(card["text"].as_str().unwrap().contains("layer 9"), "{card}");
    // Its layers row names the layer as the legend and npz files do, not by index alone.
    assert!(
        card["text"].as_str().unwrap().contains("10 (layer10)"),
        "{card}"
    );

    // Hovering the loss chart shows, in its legend, the loss run.json holds at that step.
    let over = tab.find_element("#ip-loss .u-over").unwrap();
    over.scroll_into_view().unwrap();
    let b = over.get_box_model().unwrap();
    let (x, y) = (b.content.top_left.x, b.content.top_left.y);
    let (w, h) = (b.content.width(), b.content.height());
    tab.move_mouse_to_point(Point {
        x: x + 0.2 * w,
        y: y + 0.5 * h,
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let hover = eval(
        &tab,
        "(() => { const u = stabcheckCharts.loss; \
         const v = document.querySelectorAll('#ip-loss .u-legend .u-series')[1] \
         .querySelector('.u-value').textContent; return {idx: u.cursor.idx, shown: v}; })()",
    );
    let idx = hover["idx"].as_u64().expect("the cursor is on a step") as usize;
    let shown: f64 = hover["shown"].as_str().unwrap().parse().unwrap();
    let loss = run.trace.steps[idx].loss;
    assert!(
        (shown - loss).abs() <= 1e-3 * loss.abs(),
        "{hover} against {loss}"
    );

    // Clicking layer 3 in the legend hides its line; the named layer 9 is drawn wide.
    tab.find_element("#ip-grad .u-legend tr.u-series:nth-child(5)")
        .unwrap()
        .click()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let series = eval(
        &tab,
        "(() => { const s = stabcheckCharts.grad.series; \
         const row = document.querySelectorAll('#ip-grad .u-legend .u-series')[4]; \
         return {label: s[4].label, show: s[4].show, off: row.classList.contains('u-off'), \
         shown: s.filter(x => x.show).length, named: s[10].label, wide: s[10].width, \
         other: s[4].width}; })()",
    );
    assert_eq!(series["label"], "layer3", "{series}");
    assert_eq!(
        (series["show"].clone(), series["off"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(series["shown"], 17, "step and 16 other layers: {series}");
    assert_eq!(series["named"], "layer9");
    assert!(
        series["wide"].as_f64() > series["other"].as_f64(),
        "{series}"
    );
}

#[test]
fn the_fix_pages_first_screen_holds_the_verified_fix_and_its_loss_and_the_page_prints() {
    let Some(chromium) = browser() else {
        return;
    };
    let dir = written(&["fix", "layer-lr-100x"], 0);
    let (_browser, tab) = open(&chromium, &dir.path().join("index.html"));
    // The verified fix's text and the whole before/after chart sit on the first 1400 x 900
    // screen, inside the cause card.
    let seen = eval(
        &tab,
        "(() => { const b = s => document.querySelector(s).getBoundingClientRect(); \
         const fix = b('#cause .fix.verified'), chart = b('#cause #chart-fix-loss'); \
         return {fix: fix.bottom, chart: chart.bottom, screen: innerHeight}; })()",
    );
    let screen = seen["screen"].as_f64().unwrap();
    assert!(seen["fix"].as_f64().unwrap() <= screen, "{seen}");
    assert!(seen["chart"].as_f64().unwrap() <= screen, "{seen}");
    // The interactive loss chart draws the fixed run over the original, dashed.
    let series = eval(
        &tab,
        "(() => { const s = stabcheckCharts.loss.series[2]; \
         return {label: s.label, dash: s.dash}; })()",
    );
    assert_eq!(series["label"], "loss: with the fix", "{series}");
    assert_eq!(series["dash"], serde_json::json!([6, 4]));

    // Printed, the page drops the interactive section (its static SVGs carry the same series)
    // and keeps the cause card and its charts; Chromium prints it to a PDF.
    let print = Emulation::SetEmulatedMedia {
        media: Some("print".into()),
        features: None,
    };
    tab.call_method(print).unwrap();
    let printed = eval(
        &tab,
        "(() => { const shown = s => getComputedStyle(document.querySelector(s)).display;          return {interactive: shown('#interactive'), cause: shown('#cause'),          chart: shown('#chart-fix-loss')}; })()",
    );
    assert_eq!(printed["interactive"], "none", "{printed}");
    assert_ne!(printed["cause"], "none", "{printed}");
    assert_ne!(printed["chart"], "none", "{printed}");
    let pdf = tab.print_to_pdf(None).unwrap();
    assert!(
        pdf.starts_with(b"%PDF") && pdf.len() > 10_000,
        "{} bytes",
        pdf.len()
    );
}
