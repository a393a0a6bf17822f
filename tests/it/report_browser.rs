//! The report in a real browser: headless Chromium renders index.html to a screenshot, which must
//! be a real page (a sizeable PNG with many colours, not one flat colour).
//!
//! Skipped, saying so, when no Chromium is installed; `.ci/run` installs Debian's chromium and
//! sets `STABCHECK_REQUIRE_BROWSER=1`, under which a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides};

const BROWSERS: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// Chromium can hang (e.g. waiting on a D-Bus it will never get); never wait forever.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

pub(crate) fn browser() -> Option<PathBuf> {
    let found = BROWSERS.iter().find_map(|b| which::which(b).ok());
    if found.is_none() {
        let required = std::env::var("STABCHECK_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "STABCHECK_REQUIRE_BROWSER=1 but none of {BROWSERS:?} is on PATH"
        );
        eprintln!("SKIPPED: no Chromium on PATH (tried {BROWSERS:?}); .ci/run installs one");
    }
    found
}

fn report(dir: &Path, name: &str, steps: u64) -> PathBuf {
    let base = scenario::resolve(name).unwrap();
    let overrides = Overrides {
        steps: Some(steps),
        ..Overrides::default()
    };
    let s = scenario::apply_overrides(&base, &overrides).unwrap();
    let record = run_recorded(&s, None, None).unwrap().into_record(&s);
    stabcheck::report::render(&record, dir).unwrap().index
}

/// Renders `page` headless into a PNG and returns its decoded RGBA pixels and size.
fn screenshot(browser: &Path, page: &Path, out: &Path) -> (Vec<u8>, u32, u32) {
    let profile = TempDir::new().unwrap();
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1200,1800",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .timeout(BROWSER_TIMEOUT)
        .assert()
        .success();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    (pixels, info.width, info.height)
}

fn assert_real_page(png: &Path, pixels: &[u8], width: u32, height: u32) {
    let bytes = std::fs::metadata(png).unwrap().len();
    assert!(bytes > 30_000, "screenshot is only {bytes} bytes");
    assert_eq!((width, height), (1200, 1800));
    let channels = pixels.len() / (width * height) as usize;
    let mut colours: Vec<&[u8]> = pixels.chunks(channels).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 200,
        "only {} distinct colours",
        colours.len()
    );
    let background = &pixels[..channels];
    let differing = pixels.chunks(channels).filter(|p| *p != background).count();
    let share = differing as f64 / (width * height) as f64;
    assert!(
        share > 0.2,
        "only {share:.3} of the page differs from its corner colour"
    );
}

#[test]
fn headless_chromium_renders_the_report_as_a_real_page() {
    let Some(browser) = browser() else { return };
    for (name, steps) in [("deep-mlp", 60), ("sgd-lr-1", 20)] {
        let dir = TempDir::new().unwrap();
        let index = report(dir.path(), name, steps);
        let png = dir.path().join("shot.png");
        let (pixels, w, h) = screenshot(&browser, &index, &png);
        assert_real_page(&png, &pixels, w, h);
        if let Ok(keep) = std::env::var("STABCHECK_KEEP_SCREENSHOTS") {
            std::fs::copy(&png, Path::new(&keep).join(format!("{name}.png"))).unwrap();
        }
    }
}
