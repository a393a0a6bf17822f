//! Progress on long runs: on a terminal, `stabcheck scenario` draws a bar of finished steps with
//! an ETA on stderr once the run has taken a second; off a terminal (CI logs, pipes) it draws
//! nothing. The terminal comes from util-linux's `script`, skipped (saying so) without it.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;

#[test]
fn a_long_scenario_shows_steps_and_an_eta_on_a_terminal_and_nothing_in_a_pipe() {
    let bin = cargo_bin("stabcheck");
    let args = "scenario tiny-gpt --set steps=40 --no-report";
    let piped = Command::new(&bin).args(args.split(' ')).output().unwrap();
    assert!(piped.status.code().is_some_and(|c| c <= 1), "{piped:?}");
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("ETA"));
    let Some((text, code)) = on_a_terminal(args) else {
        return;
    };
    assert!(
        text.contains("/40 steps, ") && text.contains(" elapsed, ETA "),
        "{text}"
    );
    // The count moves: some redraw shows steps done.
    let counts: Vec<usize> = (text.split("/40 steps").filter_map(|before| {
        let digits: String = before
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().ok()
    }))
    .collect();
    assert!(counts.iter().any(|&n| n > 0 && n <= 40), "{counts:?}");
    // The bar is cleared before the summary; the run and its exit code are the pipe's.
    assert!(text.contains("verdict: "), "{text}");
    assert_eq!(code, piped.status.code());
}

/// `args` run under `script`, which gives them a terminal: what they drew, and the exit code.
/// `None` (saying so) without `script`.
fn on_a_terminal(args: &str) -> Option<(String, Option<i32>)> {
    if which::which("script").is_err() {
        eprintln!("SKIPPED: no `script` (util-linux) to give the run a terminal");
        return None;
    }
    let bin = cargo_bin("stabcheck");
    let tty = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("{} {args}", bin.display()))
        .arg("/dev/null")
        .output()
        .unwrap();
    Some((
        String::from_utf8_lossy(&tty.stdout).into_owned(),
        tty.status.code(),
    ))
}

/// `fix` counts its runs against their upper bound (the original and every candidate allowed);
/// `robust` its cases and `sweep` its cells, each with an ETA.
#[test]
fn fix_robust_and_sweep_show_their_runs_and_an_eta_on_a_terminal() {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().display();
    let commands = [
        (
            format!("fix layer-lr-100x --max-candidates 6 --out {out}/f"),
            "/7 runs (at most)",
        ),
        (
            format!("robust deep-mlp --cases 5 --steps 30 --out {out}/r"),
            "/5 cases",
        ),
        (
            format!("sweep deep-mlp --x optimizer.lr=1e-4..1e-2 --grid 3 --steps 30 --out {out}/s"),
            "/3 cells",
        ),
    ];
    for (args, bar) in commands {
        let Some((text, code)) = on_a_terminal(&args) else {
            return;
        };
        assert!(
            text.contains(bar) && text.contains(" elapsed, ETA "),
            "{args}: {text}"
        );
        assert!(matches!(code, Some(0 | 1)), "{args}: {text}");
    }
}
