//! Sweeps and shards through the binary: `sweep --format json` has the documented cell shape,
//! 3 merged shards equal the unsharded robust.json and sweep.json byte for byte, a missing or
//! foreign shard is refused (exit 2), the report renders a sweep, and `scenario --robust` gates
//! on the robust lower bound.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// deep-mlp made small and fast (4 × 32, 512 samples) with an lr high enough that some robust
/// cases blow up.
const SMALL: &[&str] = &[
    "--set",
    "model.depth=4",
    "--set",
    "model.width=32",
    "--set",
    "optimizer.lr=0.03",
    "--set",
    "data.samples=512",
    "--steps",
    "20",
];

/// Runs the binary with `--out` and a thread count (shared with other modules).
pub(crate) fn stabcheck(args: &[&str], out: &Path, threads: &str) -> std::process::Output {
    Command::cargo_bin("stabcheck")
        .unwrap()
        .args(args)
        .arg("--out")
        .arg(out)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

fn robust_args() -> Vec<&'static str> {
    let mut a = vec!["robust", "deep-mlp", "--cases", "9", "--seed", "3"];
    a.extend_from_slice(SMALL);
    a
}

fn sweep_args() -> Vec<&'static str> {
    let mut a = vec![
        "sweep",
        "deep-mlp",
        "--x",
        "optimizer.lr=1e-3..1",
        "--y",
        "model.init_scale=0.5..2",
        "--grid",
        "4x3",
    ];
    a.extend_from_slice(SMALL);
    a
}

/// Runs `args` whole (2 threads) and as 3 shards (1 thread each) merged; returns both records.
fn whole_and_merged(args: &[&str], record: &str) -> (String, String) {
    let whole = TempDir::new().unwrap();
    let out = stabcheck(args, whole.path(), "2");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let shards = TempDir::new().unwrap();
    for k in 1..=3 {
        let spec = format!("{k}/3");
        let mut a = args.to_vec();
        a.extend(["--shard", spec.as_str()]);
        let out = stabcheck(&a, shards.path(), "1");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let merged = TempDir::new().unwrap();
    let files: Vec<String> = (1..=3)
        .map(|k| {
            shards
                .path()
                .join(format!("shard-{k}-of-3.json"))
                .display()
                .to_string()
        })
        .collect();
    let mut a = vec!["merge"];
    a.extend(files.iter().rev().map(String::as_str));
    let out = stabcheck(&a, merged.path(), "2");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let read = |d: &TempDir| std::fs::read_to_string(d.path().join(record)).unwrap();
    assert!(merged.path().join("index.html").is_file());
    (read(&whole), read(&merged))
}

/// Equal strings, or a failure that shows where they first differ (not both whole records).
fn assert_same(a: &str, b: &str) {
    if let Some(i) = a.bytes().zip(b.bytes()).position(|(x, y)| x != y) {
        let at = |s: &str| {
            s.get(i.saturating_sub(60)..(i + 60).min(s.len()))
                .unwrap_or("")
                .to_string()
        };
        panic!("differ at byte {i}:\n  {}\n  {}", at(a), at(b));
    }
    assert_eq!(a.len(), b.len(), "one is a prefix of the other");
}

#[test]
fn three_merged_robust_shards_equal_the_unsharded_run_byte_for_byte() {
    let (whole, merged) = whole_and_merged(&robust_args(), "robust.json");
    assert!(
        whole.contains("\"minimal_failure\":{"),
        "this base fails sometimes, so a shrunk failure is compared too"
    );
    assert_same(&whole, &merged);
}

#[test]
fn three_merged_sweep_shards_equal_the_unsharded_sweep_byte_for_byte() {
    let (whole, merged) = whole_and_merged(&sweep_args(), "sweep.json");
    assert_same(&whole, &merged);
}

#[test]
fn merge_refuses_a_missing_or_repeated_shard() {
    let shards = TempDir::new().unwrap();
    for k in ["1/3", "2/3"] {
        let mut a = sweep_args();
        a.extend(["--shard", k]);
        assert_eq!(stabcheck(&a, shards.path(), "2").status.code(), Some(0));
    }
    let f = |k: usize| {
        shards
            .path()
            .join(format!("shard-{k}-of-3.json"))
            .display()
            .to_string()
    };
    let out = stabcheck(&["merge", &f(1), &f(2)], shards.path(), "1");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shards 3/3 are missing"), "{err}");
    let out = stabcheck(&["merge", &f(1), &f(1), &f(2)], shards.path(), "1");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is also given"));
    let out = stabcheck(&["report", &f(1)], shards.path(), "1");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stabcheck merge"));
}

#[test]
fn sweep_json_cells_have_the_documented_shape() {
    let dir = TempDir::new().unwrap();
    let mut one = vec![
        "sweep",
        "deep-mlp",
        "--x",
        "optimizer.lr=1e-3..10",
        "--grid",
        "5",
    ];
    one.extend_from_slice(SMALL);
    one.extend(["--format", "json"]);
    let out = stabcheck(&one, dir.path(), "2");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("only JSON on stdout");
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5);
    let xs: Vec<f64> = cells.iter().map(|c| c["x"].as_f64().unwrap()).collect();
    for (x, want) in xs.iter().zip([1e-3, 1e-2, 1e-1, 1.0, 10.0]) {
        assert!((x / want - 1.0).abs() < 1e-9, "log-spaced: {xs:?}");
    }
    for c in cells {
        assert!(c.get("y").is_none(), "one axis: no y: {c}");
        let stable = c["stable"].as_bool().unwrap();
        match c["finding"].as_str() {
            None => assert!(stable),
            Some("no-progress") => assert!(stable),
            Some(_) => assert!(!stable, "{c}"),
        }
    }
    assert!(
        !cells[4]["stable"].as_bool().unwrap(),
        "lr 10 with Adam blows up"
    );
    let mut two = sweep_args();
    two.extend(["--format", "json"]);
    let out = stabcheck(&two, dir.path(), "2");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 12);
    assert!(cells.iter().all(|c| c["y"].is_f64()));
    let svg = std::fs::read_to_string(dir.path().join("stability-map.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the map is XML");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    for needle in ["optimizer.lr", "model.init_scale", "stable"] {
        assert!(text.contains(needle), "{needle} in the map's text");
    }
    // The base scenario (with the command's --set) is marked with its own values.
    let sweep: stabcheck::record::sweep::SweepRecord =
        stabcheck::record::read_json(&dir.path().join("sweep.json")).unwrap();
    let lr = stabcheck::report::style::tick(&sweep.scenario.optimizer.lr);
    let mark = format!("base scenario: optimizer.lr = {lr}, model.init_scale = ");
    assert!(text.contains(&mark), "{mark} in {text}");
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("<h2>Stability map</h2>") && html.contains("first unstable value"));
}

#[test]
fn a_one_axis_sweep_without_grid_runs_16_points_not_an_error_about_grid() {
    let dir = TempDir::new().unwrap();
    let mut args = vec!["sweep", "deep-mlp", "--x", "optimizer.lr=1e-3..1e-2"];
    args.extend_from_slice(SMALL);
    args.extend(["--format", "json"]);
    let out = stabcheck(&args, dir.path(), "2");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 16);
    // The text summary counts the no-progress cells and rounds the row values.
    let mut text = vec!["sweep", "deep-mlp", "--x", "optimizer.lr=1e-3..1e-1"];
    text.extend(["--y", "model.init_scale=0.37..3", "--grid", "3x3"]);
    text.extend_from_slice(SMALL);
    let out = stabcheck(&text, dir.path(), "2");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("of them without progress)"), "{stdout}");
    assert!(stdout.contains("model.init_scale = 1.685:"), "{stdout}");
}

#[test]
fn bad_sweep_axes_exit_2_and_say_what_is_allowed() {
    let dir = TempDir::new().unwrap();
    for (x, needle) in [
        ("optimizer.lr", "expected KEY=LO..HI"),
        ("model.activation=1..2", "needs a numeric key"),
        ("optimizer.lr=-1..1", "not allowed"),
    ] {
        let out = stabcheck(
            &["sweep", "deep-mlp", "--x", x, "--grid", "3"],
            dir.path(),
            "1",
        );
        assert_eq!(out.status.code(), Some(2), "{x}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{x}: {err}");
    }
}

#[test]
fn scenario_robust_gates_on_the_lower_confidence_bound() {
    // tiny-lr made shallow never blows up: 4 of 4 stable has a lower bound of 0.025^(1/4) = 0.40.
    let dir = TempDir::new().unwrap();
    let run = |min: &str| {
        let gate = format!("robust.min_stable_fraction={min}");
        let args = [
            "scenario",
            "tiny-lr",
            "--robust",
            "--steps",
            "10",
            "--set",
            "model.depth=2",
            "--set",
            "model.width=32",
            "--set",
            "robust.cases=4",
            "--set",
            &gate,
            "--set",
            "gates.max_final_loss_ratio=2.0",
            "--format",
            "json",
        ];
        stabcheck(&args, dir.path(), "2")
    };
    let pass = run("0.3");
    assert_eq!(pass.status.code(), Some(0), "{pass:?}");
    let v: serde_json::Value = serde_json::from_slice(&pass.stdout).unwrap();
    assert_eq!(v["verdict"]["status"], "pass");
    assert_eq!(v["robust"]["passed"], true);
    let lower = v["robust"]["interval"][0].as_f64().unwrap();
    assert!((lower - 0.025f64.powf(0.25)).abs() < 1e-9, "{lower}");
    let fail = run("0.5");
    assert_eq!(
        fail.status.code(),
        Some(1),
        "the single run passes; the robust gate fails"
    );
    assert!(dir.path().join("robust.json").is_file());
}
