//! The CI gate through the binary: exit 0 when every gate holds and 1 when one fails, `--junit`
//! XML with one test case per gate, `--format json` agreeing with run.json, and snapshots of the
//! human summary.

use assert_cmd::Command;
use tempfile::TempDir;

use stabcheck::diagnose::Gate;

fn stabcheck() -> Command {
    Command::cargo_bin("stabcheck").unwrap()
}

/// The catalogue's relu-init-3 (deep-mlp with He init scaled by 3): the gradient norm is ~1e9
/// from step 0, so max_grad_norm fails.
const EXPLODING: &[&str] = &["scenario", "relu-init-3"];

#[test]
fn the_stable_reference_exits_0_and_says_pass() {
    let out = stabcheck()
        .args(["scenario", "deep-mlp", "--no-report"])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("verdict: PASS (stable)"), "{stdout}");
}

#[test]
fn a_failed_gate_exits_1_and_names_the_gate_and_a_fix() {
    let out = stabcheck()
        .args(EXPLODING)
        .arg("--no-report")
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("verdict: FAIL (unstable)"), "{stdout}");
    assert!(stdout.contains("exploding-gradients"), "{stdout}");
    assert!(stdout.contains("FAIL  max_layer_grad_ratio"), "{stdout}");
    assert!(stdout.contains("fix: --set"), "{stdout}");
}

#[test]
fn bad_input_still_exits_2_not_1() {
    stabcheck()
        .args(["scenario", "deep-mlp", "--set", "optimizer.lr=-1.0"])
        .assert()
        .code(2);
    stabcheck()
        .args(["scenario", "no-such-scenario"])
        .assert()
        .code(2);
}

#[test]
fn junit_xml_parses_and_has_one_testcase_per_gate() {
    let dir = TempDir::new().unwrap();
    let xml_path = dir.path().join("gates.xml");
    stabcheck()
        .args(EXPLODING)
        .arg("--no-report")
        .arg("--junit")
        .arg(&xml_path)
        .assert()
        .code(1);
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().map(|n| n.attribute("name").unwrap()).collect();
    // max_sharpness_ratio is listed only when the sharpness probe ran (`[probe] sharpness_every`),
    // min_stable_fraction only with `--robust`, max_regression only with `--baseline`, the
    // transformer gates only for a transformer,
    // the precision gates only under a 16-bit policy or loss scaling.
    let listed: Vec<&str> = Gate::ALL
        .into_iter()
        .filter(|g| {
            !matches!(
                g,
                Gate::MaxSharpnessRatio
                    | Gate::MinStableFraction
                    | Gate::MaxRegression
                    | Gate::MaxAttentionLogit
                    | Gate::MinGradRmsOverEps
                    | Gate::MaxLogZ
                    | Gate::MaxOutputGradImbalance
                    | Gate::MaxCastOverflow
                    | Gate::MaxGradFlushedFraction
                    | Gate::MinLossScale
                    | Gate::MaxSkippedFraction
                    | Gate::MaxLostUpdateFraction
            )
        })
        .map(Gate::key)
        .collect();
    assert_eq!(names, listed);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|n| n.children().any(|c| c.has_tag_name("failure")))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert!(failed.contains(&"max_layer_grad_ratio"), "{failed:?}");
    assert!(!failed.contains(&"nonfinite"), "{failed:?}");
    // The numbers in a failure message read like the text summary's (3 significant digits,
    // exponent past 1e4), never a 30-digit integer.
    for failure in doc.descendants().filter(|n| n.has_tag_name("failure")) {
        let message = failure.attribute("message").unwrap();
        let measured = message
            .split("measured ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert!(measured.len() <= 10, "{message}");
    }
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("failures"),
        Some(&*failed.len().to_string())
    );
}

#[test]
fn json_output_is_only_json_and_matches_run_json() {
    let dir = TempDir::new().unwrap();
    let out = stabcheck()
        .args(EXPLODING)
        .args(["--format", "json", "--out"])
        .arg(dir.path())
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(printed["verdict"], record["verdict"]);
    assert_eq!(printed["verdict"]["status"], "fail");
    assert_eq!(printed["scenario"], "relu-init-3");
    let path = printed["record"].as_str().unwrap();
    assert!(path.ends_with("run.json"), "{path}");
}

/// The human summary with the stderr timing line left out: numbers are rounded to 4 significant
/// digits, so the same binary on the same CPU prints the same text.
fn summary(args: &[&str]) -> String {
    let out = stabcheck().args(args).arg("--no-report").output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn summary_of_the_stable_reference() {
    insta::assert_snapshot!(summary(&["scenario", "deep-mlp", "--every", "50"]));
}

#[test]
fn summary_of_an_exploding_init() {
    insta::assert_snapshot!(summary(EXPLODING));
}

#[test]
fn a_failed_robust_gate_fails_the_json_status_the_junit_file_and_the_banner() {
    // 8 cases can never pass min_stable_fraction 0.9: 8 of 8 stable has a 95% Clopper-Pearson
    // lower bound of 0.025^(1/8) = 0.63. The warning comes before any case runs.
    let dir = TempDir::new().unwrap();
    let xml_path = dir.path().join("gates.xml");
    let out = stabcheck()
        .args(["scenario", "deep-mlp", "--robust", "--steps", "20"])
        .args(["--set", "robust.cases=8", "--format", "json", "--out"])
        .arg(dir.path())
        .arg("--junit")
        .arg(&xml_path)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("cannot pass with 8 cases"), "{stderr}");
    assert!(stderr.contains("at least 36 cases"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["verdict"]["status"], "fail");
    assert_eq!(json["robust"]["passed"], false);
    let gate = json["verdict"]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "min_stable_fraction")
        .unwrap()
        .clone();
    assert_eq!(gate["status"], "fail");
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("min_stable_fraction"))
        .unwrap();
    assert!(case.children().any(|c| c.has_tag_name("failure")));
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("class=\"banner fail\""));
}
