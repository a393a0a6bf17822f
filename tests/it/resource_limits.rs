//! Resource limits through the binary: a scenario over the memory or compute budget is refused
//! before anything is built (no data read, no allocation), with the estimate and the flag that
//! raises the budget; raising it lets the same scenario past the check.

use assert_cmd::Command;
use tempfile::TempDir;

fn stabcheck() -> Command {
    Command::cargo_bin("stabcheck").unwrap()
}

#[test]
fn a_billion_wide_layer_is_refused_before_anything_is_built() {
    let dir = TempDir::new().unwrap();
    // The data is a CSV file that does not exist: if stabcheck got as far as loading data or
    // building the model, the error would be about the file, not about the width.
    let path = dir.path().join("wide.toml");
    let text = "name = \"wide\"\n[data]\nkind = \"csv\"\npath = \"missing.csv\"\ninputs = 8\nclasses = 2\nsamples = 64\n[model]\ndepth = 1\nwidth = 1000000000\n";
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let assert = stabcheck()
        .arg("scenario")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("wide.toml:10:9"), "{stderr}");
    assert!(stderr.contains("model.width = 1000000000"), "{stderr}");
    assert!(stderr.contains("at most 268435456 parameters"), "{stderr}");
    assert!(!stderr.contains("missing.csv"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn over_the_memory_budget_is_refused_with_the_estimate_and_raising_it_passes_the_check() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("deep-long.toml");
    // Every size passes validation; 1025 layers × 10⁶ steps of trace do not fit in 4 GiB. The CSV
    // is missing on purpose: past the budget check the run fails on it, which proves the check
    // passed without running anything long.
    let text = "name = \"deep-long\"\nsteps = 1000000\n[data]\nkind = \"csv\"\npath = \"missing.csv\"\ninputs = 4\nclasses = 2\nsamples = 64\nbatch = 8\n[model]\ndepth = 1024\nwidth = 1\n";
    std::fs::write(&path, text).unwrap();
    let assert = stabcheck()
        .arg("scenario")
        .arg(&path)
        .arg("--no-report")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("deep-long.toml: the scenario needs an estimated"),
        "{stderr}"
    );
    assert!(
        stderr.contains("GiB of memory") && stderr.contains("trace"),
        "{stderr}"
    );
    assert!(
        stderr.contains("over the budget of 4.0 GiB") && stderr.contains("--max-memory"),
        "{stderr}"
    );
    let assert = stabcheck()
        .arg("scenario")
        .arg(&path)
        .args(["--no-report", "--max-memory", "1TiB"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("missing.csv"), "{stderr}");
}

#[test]
fn over_the_compute_budget_is_refused_and_max_flops_raises_it() {
    // deep-mlp's 300 steps are 2.94e10 FLOPs.
    let assert = stabcheck()
        .args(["scenario", "deep-mlp", "--no-report", "--max-flops", "1e10"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("deep-mlp: the scenario needs an estimated 2.94e10 FLOPs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("over the budget of 1.00e10 FLOPs"),
        "{stderr}"
    );
    stabcheck()
        .args([
            "scenario",
            "deep-mlp",
            "--no-report",
            "--steps",
            "5",
            "--max-flops",
            "1e10",
        ])
        .assert()
        .code(0);
}
