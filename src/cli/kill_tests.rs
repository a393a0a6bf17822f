//! kill -9 never destroys a good report: killed between "temp file written" and "renamed into
//! place", a run leaves the previous files byte for byte.
//!
//! The kill must land exactly in that window, so the child is this unit-test binary itself,
//! re-executed to run one `stabcheck scenario` in-process with the test-only pause of
//! `record::atomic` switched on. The pause exists only in this build (`cfg(test)`): the binary
//! users run has no such code path.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;

use super::{Cli, run};
use crate::record::atomic::PAUSE_BEFORE_RENAME_VAR;
use crate::record::{Record, RunRecord};

/// The child's arguments, separated by newlines; set only in the re-executed child.
const CHILD_ARGS_VAR: &str = "STABCHECK_KILL_TEST_CHILD_ARGS";

const TINY: &str = "name = \"tiny\"\nsteps = 5\n[data]\ninputs = 3\nclasses = 2\nsamples = 16\nbatch = 8\n[model]\ndepth = 2\nwidth = 4\n";

/// The child's body: a no-op in a normal test run, one in-process `stabcheck` run when the
/// parent re-executes this binary with [`CHILD_ARGS_VAR`] set.
#[test]
#[ignore = "runs only as the child process of the kill tests"]
fn kill_child() {
    let Ok(args) = std::env::var(CHILD_ARGS_VAR) else {
        return;
    };
    let cli = Cli::try_parse_from(std::iter::once("stabcheck").chain(args.lines())).unwrap();
    let code = i32::from(run(cli).is_err());
    std::process::exit(code);
}

/// Runs `stabcheck scenario FILE --out DIR --seed SEED` in the child, pausing before renaming
/// `pause_at` (or never, when `None`).
fn child(scenario: &Path, out: &Path, seed: &str, pause_at: Option<&str>) -> Command {
    let args = format!(
        "scenario\n{}\n--out\n{}\n--seed\n{seed}",
        scenario.display(),
        out.display()
    );
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "cli::kill_tests::kill_child", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_ARGS_VAR, args)
        .env_remove(PAUSE_BEFORE_RENAME_VAR)
        .stdout(Stdio::null());
    if let Some(name) = pause_at {
        cmd.env(PAUSE_BEFORE_RENAME_VAR, name);
    }
    cmd
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::TempDir::new().unwrap();
    let scenario = tmp.path().join("tiny.toml");
    std::fs::write(&scenario, TINY).unwrap();
    let out = tmp.path().join("report");
    (tmp, scenario, out)
}

fn run_to_end(scenario: &Path, out: &Path, seed: &str) {
    let status = child(scenario, out, seed, None)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stabcheck-") && n.ends_with(".tmp"))
        .count()
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

/// Starts a second run (seed 99) that pauses before renaming `pause_at`, and kills it -9 there.
fn kill_during_write(scenario: &Path, out: &Path, pause_at: &str) {
    let mut child = child(scenario, out, "99", Some(pause_at))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_line(&mut child, &format!("{}", out.join(pause_at).display()));
    assert_eq!(temp_files(out), 1, "the new {pause_at} sits in a temp file");
    child.kill().unwrap(); // SIGKILL on Unix: no handler, no cleanup
    child.wait().unwrap();
}

fn seed_of(out: &Path) -> u64 {
    RunRecord::read(&out.join("run.json"))
        .unwrap()
        .scenario
        .seed
}

#[test]
fn a_kill_before_renaming_run_json_keeps_the_previous_report_byte_for_byte() {
    let (_tmp, scenario, out) = setup();
    run_to_end(&scenario, &out, "1");
    let (record, page) = (read(&out, "run.json"), read(&out, "index.html"));
    kill_during_write(&scenario, &out, "run.json");
    assert_eq!(read(&out, "run.json"), record);
    assert_eq!(read(&out, "index.html"), page);
    assert_eq!(seed_of(&out), 1);
    // The killed run would have written something else: the test can tell the files apart.
    run_to_end(&scenario, &out, "99");
    assert_ne!(read(&out, "run.json"), record);
    assert_eq!(seed_of(&out), 99);
}

#[test]
fn a_kill_before_renaming_index_html_keeps_the_previous_page_whole() {
    let (_tmp, scenario, out) = setup();
    run_to_end(&scenario, &out, "1");
    let page = read(&out, "index.html");
    kill_during_write(&scenario, &out, "index.html");
    // run.json (written first) is the new one, complete; index.html is still the old one.
    assert_eq!(seed_of(&out), 99);
    assert_eq!(read(&out, "index.html"), page);
    let text = String::from_utf8(page).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>") && text.trim_end().ends_with("</html>"));
}
