//! The page's first card for a failing run (issue 22): the cause with its layers by name and its
//! step, the evidence chart, and the fix — verified with its before/after loss when fix.json is
//! this run's, else the finding's suggestion marked unverified; and `report --compare`, which
//! draws a second run over this one. Every expected value is read from the records the commands
//! wrote, never typed in.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use stabcheck::record::fix::FixRecord;
use stabcheck::record::verdict::{FindingKind, Severity};
use stabcheck::record::{Record as _, RunRecord, read_json};
use tempfile::TempDir;

fn stabcheck(args: &[&str], dir: &Path) -> std::process::Output {
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    out
}

/// The `<article ...>` of the cause card (empty when there is none).
fn cause_card(html: &str) -> &str {
    let Some(start) = html.find("<article class=\"card error cause\"") else {
        return "";
    };
    let end = html[start..].find("</article>").unwrap();
    &html[start..start + end]
}

/// The interactive charts' data embedded in the page.
pub fn page_data(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"ip-data\">";
    let start = html.find(open).unwrap() + open.len();
    let end = html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..start + end]).unwrap()
}

fn index(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("index.html")).unwrap()
}

#[test]
fn a_failing_runs_page_opens_with_its_cause_placed_by_layer_name_and_an_unverified_fix() {
    let dir = TempDir::new().unwrap();
    stabcheck(&["scenario", "layer-lr-100x", "--out"], dir.path());
    let run = RunRecord::read(&dir.path().join("run.json")).unwrap();
    let v = run.verdict.as_ref().unwrap();
    let head = v.findings.iter().find(|f| f.severity == Severity::Error);
    let head = head.unwrap();
    let root = v.findings.iter().find(|f| f.kind == FindingKind::RootCause);
    let root = root.expect("layer-lr-100x has a root cause");
    let html = index(dir.path());
    let card = cause_card(&html);
    // It is the page's first card, and it comes right after the banner.
    assert_eq!(html.find("<article"), html.find(card), "{card}");
    assert!(card.contains(&format!("</span> {}</h2>", head.kind.name())));
    // Placed where the blow-up started (the root cause), by index and name, and at its step.
    let l = root.layers[0];
    let started = format!("{l} (layer{l}) at step {}", root.steps.first);
    assert!(card.contains(&started), "{started} not in {card}");
    // The evidence chart of the root cause, and the fix it suggests, marked as not verified.
    assert!(card.contains("id=\"chart-update-ratios\""), "{card}");
    let set = &root.suggestion.as_ref().unwrap().set[0];
    assert!(card.contains("Suggested fix (not verified)"));
    assert!(
        card.contains(&format!("--set '{set}'")),
        "{set} not in {card}"
    );
    assert!(!card.contains("Verified fix"));
    // The gradient heatmap, the best "where" chart, follows the card, before the other findings.
    let heatmap = html.find("id=\"chart-grad-heatmap\"").unwrap();
    assert!(heatmap > html.find(card).unwrap() && heatmap < html.find("Other findings").unwrap());
    // The headline finding is not listed again below.
    let heading = format!("</span> {}</h3>", head.kind.name());
    assert_eq!(html.matches(&heading).count(), 0);
    assert!(html.contains("<h2>Other findings</h2>"));
}

#[test]
fn a_verified_fix_is_shown_in_the_cause_card_with_the_loss_before_and_after() {
    let dir = TempDir::new().unwrap();
    stabcheck(&["fix", "layer-lr-100x", "--out"], dir.path());
    let fix: FixRecord = read_json(&dir.path().join("fix.json")).unwrap();
    let best = &fix.candidates[fix.ranking[0]];
    // The stored curve is the re-run's own: it ends at the final loss the ranking shows.
    assert_eq!(best.run.curve.steps.len(), fix.scenario.steps);
    assert_eq!(best.run.curve.loss.last(), Some(&best.run.final_loss));
    let html = index(dir.path());
    let card = cause_card(&html);
    assert!(card.contains("Verified fix:"), "{card}");
    let args = html_escape::encode_text(&best.set_args()).to_string();
    assert!(card.contains(&args), "{args} not in {card}");
    assert!(card.contains("id=\"chart-fix-loss\""), "{card}");
    let svg = std::fs::read_to_string(dir.path().join("fix-loss.svg")).unwrap();
    assert!(svg.contains("with the fix") && svg.contains("original"));
    // The interactive loss chart draws the fixed run over the original, on one step axis.
    let data = page_data(&html);
    assert_eq!(data["compare"]["label"], "with the fix");
    let steps = data["steps"].as_array().unwrap();
    for (s, l) in best.run.curve.steps.iter().zip(&best.run.curve.loss) {
        let i = steps.iter().position(|x| x == s).unwrap();
        let shown = data["compare"]["loss"][i].as_f64().unwrap();
        assert!(
            (shown - l).abs() <= 1e-4 * l.abs(),
            "step {s}: {shown} vs {l}"
        );
    }
}

#[test]
fn a_fix_json_made_for_another_configuration_is_not_shown_as_this_runs_fix() {
    let fixed = TempDir::new().unwrap();
    stabcheck(&["fix", "layer-lr-100x", "--out"], fixed.path());
    assert!(fixed.path().join("fix-loss.svg").is_file());
    // Another seed in another folder, given the fix.json; and, in the fix's own folder, the
    // same scenario re-run with a `--set`, which leaves fix.json beside the new run.json.
    let seed = TempDir::new().unwrap();
    stabcheck(
        &["scenario", "layer-lr-100x", "--seed", "8", "--out"],
        seed.path(),
    );
    std::fs::copy(fixed.path().join("fix.json"), seed.path().join("fix.json")).unwrap();
    stabcheck(&["report"], &seed.path().join("run.json"));
    let lr = [
        "scenario",
        "layer-lr-100x",
        "--set",
        "optimizer.lr=0.07",
        "--out",
    ];
    stabcheck(&lr, fixed.path());
    for dir in [seed.path(), fixed.path()] {
        let html = index(dir);
        let card = cause_card(&html);
        assert!(card.contains("Suggested fix (not verified)"), "{card}");
        assert!(!card.contains("Verified fix"));
        // The stale before/after chart is gone, not left beside the page.
        assert!(!dir.join("fix-loss.svg").exists());
        // The fix record's own section still lists what was tried.
        assert!(html.contains("id=\"verified-fixes\""));
    }
}

#[test]
fn a_passing_run_has_no_cause_card() {
    let dir = TempDir::new().unwrap();
    stabcheck(
        &["scenario", "deep-mlp", "--steps", "30", "--out"],
        dir.path(),
    );
    let run = RunRecord::read(&dir.path().join("run.json")).unwrap();
    let errors = run.verdict.as_ref().unwrap().errors().count();
    assert_eq!(errors, 0, "deep-mlp passes");
    let html = index(dir.path());
    assert_eq!(cause_card(&html), "");
    assert!(html.contains("<h2>Findings</h2>"));
}

#[test]
fn report_compare_draws_a_second_run_over_this_one_matched_by_layer_name() {
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    stabcheck(
        &["scenario", "deep-mlp", "--steps", "30", "--out"],
        a.path(),
    );
    let lr = [
        "scenario",
        "deep-mlp",
        "--steps",
        "40",
        "--set",
        "optimizer.lr=0.004",
    ];
    stabcheck(&[&lr[..], &["--out"]].concat(), b.path());
    let other = RunRecord::read(&b.path().join("run.json")).unwrap();
    let out = Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("report")
        .arg(a.path())
        .arg("--compare")
        .arg(b.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let data = page_data(&index(a.path()));
    let label = data["compare"]["label"].as_str().unwrap();
    let folder = b.path().file_name().unwrap().to_string_lossy();
    assert!(
        label.starts_with(&*folder) && label.contains("seed"),
        "{label}"
    );
    // One axis: the union of both runs' steps (the other run is 10 steps longer).
    let steps: Vec<u64> = (data["steps"].as_array().unwrap().iter())
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(steps.len(), other.trace.steps.len());
    for (i, s) in other.trace.steps.iter().enumerate() {
        assert_eq!(steps[i], s.step as u64);
        let want = s.layers[3].weight_grad_norm;
        let shown = data["compare"]["grad"][3][i].as_f64().unwrap();
        assert!(
            (shown - want).abs() <= 1e-4 * want,
            "step {}: {shown} vs {want}",
            s.step
        );
        let loss = data["compare"]["loss"][i].as_f64().unwrap();
        assert!((loss - s.loss).abs() <= 1e-4 * s.loss);
    }
    // This run has no point past its last step: `false` (joined), never a 0 or a gap.
    assert_eq!(data["loss"][35], false);
    assert!(a.path().join("compare-loss.svg").is_file());

    // A record that is not a run, or nothing at all, is refused with exit 2.
    let robust = TempDir::new().unwrap();
    stabcheck(
        &[
            "robust", "deep-mlp", "--cases", "2", "--steps", "10", "--out",
        ],
        robust.path(),
    );
    let not_a_run = Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("report")
        .arg(a.path())
        .arg("--compare")
        .arg(robust.path().join("robust.json"))
        .output()
        .unwrap();
    assert_eq!(not_a_run.status.code(), Some(2), "{not_a_run:?}");
    let stderr = String::from_utf8_lossy(&not_a_run.stderr);
    assert!(stderr.contains("--compare takes a run record"), "{stderr}");
    let bad = Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("report")
        .arg(a.path().join("run.json"))
        .args(["--compare", "/nonexistent/run.json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
