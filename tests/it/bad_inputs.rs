//! The bad-input corpus (`tests/bad_inputs/`): every malformed scenario, CSV, run.json and .npz
//! file listed in `manifest.toml` goes through the binary and must exit 2 with a message naming
//! the file, line, column and key (as the manifest spells out), and never print "panicked".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde::Deserialize;

/// Files in the folder that are not bad inputs: the manifest and the weights control.
const CONTROLS: [&str; 3] = ["manifest.toml", "npz-good.toml", "good.npz"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: Option<String>,
    args: Option<Vec<String>>,
    expect: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// Runs one case; returns what is wrong with its outcome, if anything.
fn check(case: &Case, tmp: &Path) -> Option<String> {
    let default = vec!["check".to_string(), "{file}".to_string()];
    let args: Vec<String> = case
        .args
        .as_ref()
        .unwrap_or(&default)
        .iter()
        .map(|a| {
            a.replace("{file}", case.file.as_deref().unwrap_or(""))
                .replace("{tmp}", &tmp.display().to_string())
        })
        .collect();
    let output = Command::cargo_bin("stabcheck")
        .unwrap()
        .current_dir(corpus_dir())
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit {:?}, not 2", output.status.code()));
    }
    if stderr.contains("panicked") {
        problems.push("it panicked".to_string());
    }
    // Regressions: the OS reason printed twice ("… (os error 2): … (os error 2)"), and an error
    // line without its newline.
    if stderr.matches("(os error").count() > 1 {
        problems.push("the OS error is printed more than once".to_string());
    }
    if !stderr.ends_with('\n') {
        problems.push("stderr does not end with a newline".to_string());
    }
    for needle in &case.expect {
        if !stderr.contains(needle.as_str()) {
            problems.push(format!("`{needle}` missing"));
        }
    }
    (!problems.is_empty()).then(|| format!("{args:?}: {}\n  stderr: {stderr}", problems.join(", ")))
}

#[test]
fn every_bad_input_exits_2_with_a_located_message() {
    let tmp = tempfile::TempDir::new().unwrap();
    let failures: Vec<String> = manifest()
        .case
        .iter()
        .filter_map(|case| check(case, tmp.path()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was written for any of them.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn the_corpus_has_at_least_40_files_and_each_is_used() {
    let files: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !CONTROLS.contains(&name.as_str()))
        .collect();
    assert!(files.len() >= 40, "only {} files", files.len());
    let cases = manifest().case;
    let text = std::fs::read_to_string(corpus_dir().join("manifest.toml")).unwrap();
    for file in &files {
        // A data file is used by the scenario naming it; every scenario, record and data file is
        // named somewhere in the manifest or in a listed scenario.
        let named_by_scenario = cases.iter().filter_map(|c| c.file.as_ref()).any(|f| {
            std::fs::read(corpus_dir().join(f))
                .map(|b| String::from_utf8_lossy(&b).contains(file.as_str()))
                .unwrap_or(false)
        });
        assert!(
            text.contains(&format!("\"{file}\"")) || named_by_scenario,
            "{file} is in the corpus but no case uses it"
        );
    }
}

#[test]
fn the_control_weights_file_loads() {
    // good.npz has the shapes the npz-* scenarios need: the failures above are the files' fault.
    let output = Command::cargo_bin("stabcheck")
        .unwrap()
        .current_dir(corpus_dir())
        .args(["scenario", "npz-good.toml", "--no-report"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{stderr}");
}
