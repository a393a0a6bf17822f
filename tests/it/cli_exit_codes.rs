//! Exit codes through the binary: 0 for a completed run, 2 for bad input or usage, with messages
//! naming the file, line, column and key, and never a panic.

use stabcheck::record::Record as _;
use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn stabcheck() -> Command {
    Command::cargo_bin("stabcheck").unwrap()
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// (file name, contents, text the error must contain: `file:line:column` and the key)
const BAD_SCENARIOS: &[(&str, &str, &[&str])] = &[
    (
        "syntax.toml",
        "name = \"x\"\n[model]\nwidth = \n",
        &["syntax.toml:3:9", "model.width", "syntax"],
    ),
    (
        "unknown-key.toml",
        "name = \"x\"\n[model]\nwidht = 3\n",
        &[
            "unknown-key.toml:3:1",
            "model.widht",
            "did you mean `width`",
        ],
    ),
    (
        "wrong-type.toml",
        "name = \"x\"\n[model]\nwidth = \"big\"\n",
        &["wrong-type.toml:3:9", "model.width", "expected an integer"],
    ),
    (
        "negative-width.toml",
        "name = \"x\"\n\n[model]\nwidth = -3\n",
        &["negative-width.toml:4:9", "model.width = -3", ">= 1"],
    ),
    (
        "zero-batch.toml",
        "name = \"x\"\n[data]\nbatch = 0\n",
        &["zero-batch.toml:3:9", "data.batch = 0", ">= 1"],
    ),
    (
        "lr-nan.toml",
        "name = \"x\"\n[optimizer]\nlr = nan\n",
        &["lr-nan.toml:3:6", "optimizer.lr = nan", "finite number > 0"],
    ),
    (
        "lr-inf.toml",
        "name = \"x\"\n[optimizer]\nlr = inf\n",
        &["lr-inf.toml:3:6", "optimizer.lr = inf", "finite number > 0"],
    ),
    (
        "lr-negative.toml",
        "name = \"x\"\n[optimizer]\nlr = -0.1\n",
        &["lr-negative.toml:3:6", "optimizer.lr = -0.1"],
    ),
    (
        "bad-choice.toml",
        "name = \"x\"\n[model]\nactivation = \"relux\"\n",
        &["bad-choice.toml:3:14", "model.activation", "relu"],
    ),
];

#[test]
fn bad_scenario_files_exit_2_naming_file_line_and_key() {
    let dir = TempDir::new().unwrap();
    for (name, text, expected) in BAD_SCENARIOS {
        let path = write(&dir, name, text);
        for command in ["check", "scenario"] {
            let assert = stabcheck().args([command]).arg(&path).assert().code(2);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            for needle in *expected {
                assert!(
                    stderr.contains(needle),
                    "{command} {name}: `{needle}` missing from:\n{stderr}"
                );
            }
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn non_utf8_and_missing_files_exit_2() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bytes.toml");
    std::fs::write(&path, [0x6e, 0x61, 0xff, 0xfe, 0x0a]).unwrap();
    stabcheck()
        .arg("check")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bytes.toml"));
    stabcheck()
        .args(["scenario", "no-such-scenario"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("deep-mlp"));
}

#[test]
fn bad_overrides_exit_2_naming_the_override() {
    stabcheck()
        .args(["scenario", "deep-mlp", "--set", "optimizer.lr=-1"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--set optimizer.lr=-1")
                .and(predicate::str::contains("finite number > 0")),
        );
    stabcheck()
        .args(["scenario", "deep-mlp", "--steps", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("steps"));
}

#[test]
fn usage_errors_exit_2() {
    stabcheck().arg("bogus").assert().code(2);
    stabcheck().args(["scenario"]).assert().code(2);
    stabcheck()
        .args(["scenario", "deep-mlp", "--seed", "minus-one"])
        .assert()
        .code(2);
}

#[test]
fn a_valid_run_exits_0_and_prints_steps_and_final_numbers() {
    stabcheck()
        .args(["scenario", "deep-mlp", "--steps", "5", "--no-report"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("final: loss").and(predicate::str::contains("checksum")));
}

#[test]
fn list_check_and_schema_work() {
    stabcheck()
        .arg("list")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("deep-mlp"));
    stabcheck()
        .args(["check", "scenarios/deep-mlp.toml"])
        .assert()
        .code(0);
    let out = stabcheck()
        .arg("schema")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let schema: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(schema["properties"]["model"].is_object(), "{schema}");
}

#[test]
fn help_is_available_everywhere() {
    for args in [
        &["--help"][..],
        &["scenario", "--help"],
        &["list", "--help"],
        &["check", "--help"],
        &["schema", "--help"],
    ] {
        stabcheck()
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn every_zero_is_a_usage_error_not_a_panic() {
    let assert = stabcheck()
        .args(["scenario", "deep-mlp", "--steps", "2", "--every", "0"])
        .assert()
        .code(2);
    assert!(!String::from_utf8_lossy(&assert.get_output().stderr).contains("panicked"));
}

/// A 4-unit net on 4-row batches: "dead for every sample of the batch" is too noisy to gate on at
/// that size, and this test is about reading the CSV, so the dead-unit gate is off.
const CSV_SCENARIO: &str = "name = \"csv-run\"\nsteps = 3\n[data]\nkind = \"csv\"\npath = \"train.csv\"\nclasses = 2\nbatch = 4\n[model]\ndepth = 1\nwidth = 4\n[gates]\nmax_dead_fraction = 1.0\n";

#[test]
fn csv_data_is_read_relative_to_the_scenario_file() {
    let dir = TempDir::new().unwrap();
    let rows: String = (0..8)
        .map(|i| format!("{}.5,{},{}\n", i, 7 - i, i % 2))
        .collect();
    write(&dir, "train.csv", &format!("a,b,label\n{rows}"));
    let scenario = write(&dir, "csv.toml", CSV_SCENARIO);
    stabcheck()
        .arg("scenario")
        .arg(&scenario)
        .arg("--no-report")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("final: loss"));
}

#[test]
fn a_bad_csv_cell_exits_2_naming_file_line_and_column() {
    let dir = TempDir::new().unwrap();
    write(&dir, "train.csv", "a,b,label\n1,2,0\n3,oops,1\n");
    let scenario = write(&dir, "csv.toml", CSV_SCENARIO);
    let assert = stabcheck().arg("scenario").arg(&scenario).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for needle in ["train.csv", "line 3", "column 2", "oops"] {
        assert!(stderr.contains(needle), "`{needle}` missing from {stderr}");
    }
}

#[test]
fn a_run_writes_run_json_that_reads_back() {
    let dir = TempDir::new().unwrap();
    stabcheck()
        .args(["scenario", "deep-mlp", "--steps", "3", "--out"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains("run.json"));
    let record = stabcheck::record::RunRecord::read(&dir.path().join("run.json")).unwrap();
    assert_eq!(
        (record.schema, record.steps_run, record.trace.steps.len()),
        (1, 3, 3)
    );
    assert_eq!(record.scenario.name, "deep-mlp");
    let none = TempDir::new().unwrap();
    stabcheck()
        .args([
            "scenario",
            "deep-mlp",
            "--steps",
            "2",
            "--no-report",
            "--out",
        ])
        .arg(none.path())
        .assert()
        .code(0);
    assert!(!none.path().join("run.json").exists());
}

#[test]
fn a_truncated_record_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "run.json", "{\"schema\": 1, \"stabcheck_version\": ");
    let err = stabcheck::record::RunRecord::read(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("run.json") && err.contains("line 1"), "{err}");
    let wrong = write(&dir, "old.json", "{\"schema\": 99}");
    let err = stabcheck::record::RunRecord::read(&wrong)
        .unwrap_err()
        .to_string();
    assert!(err.contains("schema"), "{err}");
}

/// Regression: `stabcheck scenario tiny-lr --every 1 --steps 3000 | head -1` exited 101 with a
/// panic message. A reader that goes away ends the run quietly with 141 (128 + SIGPIPE), never
/// 0: the run stopped before its verdict.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_the_run_quietly_with_141_not_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = TempDir::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stabcheck"))
        .args([
            "scenario", "tiny-lr", "--every", "1", "--steps", "3000", "--out",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, like `head -1` exiting after its line.
    assert!(first.contains("tiny-lr"), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

/// A transformer runs end to end (its run.json reads back with state_dict layer names), and so
/// does `robust` on it (it once exited 2: "MLP scenarios only so far").
#[test]
fn a_transformer_runs_end_to_end_under_scenario_and_robust() {
    let dir = TempDir::new().unwrap();
    stabcheck()
        .args(["scenario", "tiny-gpt-fast", "--steps", "12", "--out"])
        .arg(dir.path())
        .assert()
        .stdout(predicate::str::contains("transformer, 2 pre-LN blocks"));
    let record = stabcheck::record::RunRecord::read(&dir.path().join("run.json")).unwrap();
    assert_eq!(record.steps_run, 12);
    let names = &record.trace.layer_names;
    assert_eq!(names.first().map(String::as_str), Some("tok_emb"));
    assert!(names.iter().any(|n| n == "blocks.1.attn.qkv"), "{names:?}");
    stabcheck()
        .args([
            "robust",
            "tiny-gpt-fast",
            "--cases",
            "2",
            "--steps",
            "12",
            "--out",
        ])
        .arg(dir.path().join("robust"))
        .assert()
        .code(predicate::in_iter([0, 1]))
        .stdout(predicate::str::contains("of 2 cases stable"));
}
