//! Interrupts never destroy a good report: a kill -9 between "temp file written" and "renamed into
//! place" leaves the previous files byte for byte, and Ctrl-C stops a run at a step boundary,
//! writes nothing and exits 130. The kill lands at a test-only pause before the rename
//! (`STABCHECK_TEST_PAUSE_BEFORE_RENAME`), so the test is exact rather than a race.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stabcheck::record::RunRecord;
use stabcheck::record::atomic::PAUSE_BEFORE_RENAME_VAR;
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

/// Waits (up to two minutes) for a stderr line containing `needle`; panics on EOF or timeout.
fn wait_for_line(child: &mut Child, needle: &str) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains(&needle) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the child never reached the pause");
}

/// Starts a second run that pauses before renaming `pause_at`, kills it -9 there, and returns the
/// report folder's state afterwards.
fn kill_during_write(scenario: &Path, out: &Path, pause_at: &str) {
    let mut child = Command::new(bin())
        .arg("scenario")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--seed", "99"])
        .env(PAUSE_BEFORE_RENAME_VAR, pause_at)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_line(&mut child, &format!("{}", out.join(pause_at).display()));
    assert_eq!(
        temp_files(out).len(),
        1,
        "the new {pause_at} sits in a temp file"
    );
    child.kill().unwrap(); // SIGKILL on Unix: no handler, no cleanup
    child.wait().unwrap();
}

#[test]
fn a_kill_before_renaming_run_json_keeps_the_previous_report_byte_for_byte() {
    let (_tmp, scenario, out) = setup();
    run_to_end(&scenario, &out, "1");
    let (record, page) = (read(&out, "run.json"), read(&out, "index.html"));
    kill_during_write(&scenario, &out, "run.json");
    assert_eq!(read(&out, "run.json"), record);
    assert_eq!(read(&out, "index.html"), page);
    let kept = RunRecord::read(&out.join("run.json")).unwrap();
    assert_eq!(kept.scenario.seed, 1);
    // The killed run would have written something else: the test can tell the files apart.
    run_to_end(&scenario, &out, "99");
    assert_ne!(read(&out, "run.json"), record);
    assert_eq!(
        RunRecord::read(&out.join("run.json"))
            .unwrap()
            .scenario
            .seed,
        99
    );
}

#[test]
fn a_kill_before_renaming_index_html_keeps_the_previous_page_whole() {
    let (_tmp, scenario, out) = setup();
    run_to_end(&scenario, &out, "1");
    let page = read(&out, "index.html");
    kill_during_write(&scenario, &out, "index.html");
    // run.json (written first) is the new one, complete; index.html is still the old one.
    assert_eq!(
        RunRecord::read(&out.join("run.json"))
            .unwrap()
            .scenario
            .seed,
        99
    );
    assert_eq!(read(&out, "index.html"), page);
    let text = String::from_utf8(page).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>") && text.trim_end().ends_with("</html>"));
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
