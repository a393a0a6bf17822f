//! Ctrl-C stops a run at a step boundary, writes nothing and exits 130, leaving the previous report
//! byte for byte. (kill -9 mid-write is tested in `src/cli/kill_tests.rs`, where a test-only pause
//! before the rename exists.)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const TINY: &str = "name = \"tiny\"\nsteps = 5\n[data]\ninputs = 3\nclasses = 2\nsamples = 16\nbatch = 8\n[model]\ndepth = 2\nwidth = 4\n";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stabcheck"))
}

fn setup() -> (TempDir, PathBuf, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let scenario = tmp.path().join("tiny.toml");
    std::fs::write(&scenario, TINY).unwrap();
    let out = tmp.path().join("report");
    (tmp, scenario, out)
}

/// Runs `stabcheck scenario FILE --out DIR --seed SEED` to completion.
fn run_to_end(scenario: &Path, out: &Path, seed: &str) {
    let status = Command::new(bin())
        .arg("scenario")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--seed", seed])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}");
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stabcheck-") && n.ends_with(".tmp"))
        .collect()
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_at_a_step_writes_nothing_and_exits_130() {
    let (_tmp, scenario, out) = setup();
    run_to_end(&scenario, &out, "1");
    let (record, page) = (read(&out, "run.json"), read(&out, "index.html"));
    // A run of about four minutes: the interrupt must end it within seconds.
    let mut child = Command::new(bin())
        .args(["scenario", "deep-mlp", "--steps", "100000", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The headline is printed after the handler is installed.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut headline = String::new();
    stdout.read_line(&mut headline).unwrap();
    assert!(headline.contains("deep-mlp"), "{headline}");
    // Keep draining stdout, so the child never writes into a closed pipe.
    let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    drain.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted after"), "{stderr}");
    assert!(stderr.contains("previous report"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(read(&out, "run.json"), record);
    assert_eq!(read(&out, "index.html"), page);
    assert!(temp_files(&out).is_empty());
}
