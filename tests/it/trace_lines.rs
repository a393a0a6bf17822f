//! Traces of real runs (JSONL): deep-mlp's own run written as trace lines reads back into the
//! same per-layer statistics and gets the same gate results; bad lines are named by file and line.

use std::path::Path;

use stabcheck::diagnose;
use stabcheck::record::trace_lines::{from_jsonl, to_jsonl, to_lines};
use stabcheck::run::run_recorded;

use super::helpers::builtin_with;

#[test]
fn deep_mlps_run_as_trace_lines_reads_back_with_the_same_statistics_and_gates() {
    for name in ["deep-mlp", "adam-lr-too-high"] {
        let s = builtin_with(name, None, &[]);
        let run = run_recorded(&s, None, None).unwrap();
        let layers = run.trace.steps[0].layers.len();
        let names: Vec<String> = (0..layers).map(|l| format!("layer{l}")).collect();
        let text = to_jsonl(&to_lines(&run.trace, &names)).unwrap();
        assert_eq!(text.lines().count(), run.trace.steps.len());
        let back = from_jsonl(&text, Path::new("t.jsonl")).unwrap();
        assert_eq!(back.layer_names, names);
        for (a, b) in run.trace.steps.iter().zip(&back.steps) {
            assert_eq!(
                (a.step, a.loss.to_bits(), a.lr),
                (b.step, b.loss.to_bits(), b.lr)
            );
            for (x, y) in a.layers.iter().zip(&b.layers) {
                let same =
                    |p: f64, q: f64| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan());
                assert!(
                    same(x.weight_grad_norm, y.weight_grad_norm),
                    "{name} {}",
                    a.step
                );
                assert!(same(x.bias_grad_norm, y.bias_grad_norm));
                assert!(same(x.weight_norm, y.weight_norm) && same(x.update_ratio, y.update_ratio));
                assert!(same(x.activation_std, y.activation_std));
                assert!(same(x.activation_max_abs, y.activation_max_abs));
                assert_eq!(x.nonfinite, y.nonfinite);
            }
        }
        let verdict = diagnose::run(&back, &s, None);
        assert_eq!(verdict.status, run.verdict.status, "{name}");
        let gates = |v: &diagnose::Verdict| -> Vec<String> {
            v.gates
                .iter()
                .map(|g| format!("{:?} {:?}", g.gate, g.status))
                .collect()
        };
        assert_eq!(gates(&verdict), gates(&run.verdict), "{name}");
    }
}

#[test]
fn a_bad_trace_line_is_named_by_file_and_line() {
    let good = r#"{"schema":1,"step":0,"loss":2.0,"lr":0.1,"grad_norm":1.0,"tensors":{"fc.weight":{"grad_norm":1.0}},"modules":{"fc":{}}}"#;
    let back = from_jsonl(&format!("{good}\n"), Path::new("t.jsonl")).unwrap();
    assert_eq!(back.layer_names, vec!["fc".to_string()]);
    assert!(
        back.steps[0].layers[0].activation_std.is_nan(),
        "not measured reads as NaN"
    );
    for (bad, want) in [
        ("{\"schema\":1,", "line 2"),
        (&good.replace("\"lr\"", "\"lrate\"") as &str, "lrate"),
        (&good.replace("\"schema\":1", "\"schema\":7"), "schema 7"),
        (&good.replace("fc.weight", "fc.w"), "`fc.weight` is missing"),
    ] {
        let err = from_jsonl(&format!("{good}\n{bad}\n"), Path::new("t.jsonl")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("t.jsonl") && text.contains("line 2") && text.contains(want),
            "{text}"
        );
    }
}

/// `scenario --trace` writes the run as trace lines; `diagnose` on them gives the same verdict
/// line and exit code; a bad trace exits 2 naming the file and line.
#[test]
fn the_cli_writes_a_trace_that_diagnose_judges_like_the_run() {
    use assert_cmd::Command;
    let dir = tempfile::TempDir::new().unwrap();
    let bin = || Command::cargo_bin("stabcheck").unwrap();
    let verdict_line = |out: &std::process::Output| -> String {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find(|l| l.starts_with("verdict:"))
            .unwrap_or_default()
            .to_string()
    };
    for name in ["deep-mlp", "adam-lr-too-high"] {
        let trace = dir.path().join(format!("{name}.jsonl"));
        let run = bin()
            .args(["scenario", name, "--no-report", "--trace"])
            .arg(&trace)
            .output()
            .unwrap();
        let judged = bin()
            .args(["diagnose", "--scenario", name, "--out"])
            .arg(dir.path().join(name))
            .arg(&trace)
            .output()
            .unwrap();
        assert_eq!(
            judged.status.code(),
            run.status.code(),
            "{name}: {judged:?}"
        );
        assert_eq!(verdict_line(&judged), verdict_line(&run), "{name}");
        assert!(dir.path().join(name).join("index.html").is_file());
    }
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"schema\": 1,\n").unwrap();
    let out = bin().arg("diagnose").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl") && err.contains("line 1"), "{err}");
}
