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

/// Lines written by the core (with a NaN run's non-finite strings) validate against `stabcheck
/// schema --trace`; lines the reader refuses do not, so the schema and the reader agree.
#[test]
fn trace_lines_validate_against_the_printed_json_schema() {
    let out = assert_cmd::Command::cargo_bin("stabcheck")
        .unwrap()
        .args(["schema", "--trace"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in ["deep-mlp", "adam-eps-0"] {
        let s = builtin_with(name, None, &["steps=30"]);
        let run = run_recorded(&s, None, None).unwrap();
        let names: Vec<String> = (0..run.trace.steps[0].layers.len())
            .map(|l| format!("layer{l}"))
            .collect();
        let text = to_jsonl(&to_lines(&run.trace, &names)).unwrap();
        assert_eq!(
            text.contains(r#""loss":"NaN""#),
            name == "adam-eps-0",
            "{name}"
        );
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:?}\n{line}");
        }
    }
    let refused = [
        r#"{"schema":2,"step":0,"loss":1,"lr":0.1,"grad_norm":1,"tensors":{}}"#,
        r#"{"schema":1,"step":0,"loss":1,"lr":0.1,"grad_norm":1,"tensors":{},"extra":1}"#,
        r#"{"schema":1,"step":0,"loss":"nan","lr":0.1,"grad_norm":1,"tensors":{}}"#,
        r#"{"schema":1,"step":0,"loss":1,"lr":0.1,"tensors":{}}"#,
        r#"{"schema":1,"step":0,"loss":1,"lr":0.1,"grad_norm":1,"tensors":{"a.weight":{"norm":1}}}"#,
    ];
    for line in refused {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(!validator.is_valid(&value), "the schema accepts {line}");
        assert!(
            from_jsonl(line, Path::new("t.jsonl")).is_err(),
            "the reader accepts {line}"
        );
    }
}

/// A trace in DESIGN's shared format, without `modules`: its layers are the `.weight` tensors in
/// order, their output statistics not measured (NaN), and the gates that need them not judged.
#[test]
fn a_trace_without_modules_takes_its_layers_from_the_weight_tensors() {
    let line = |k: usize| {
        format!(
            r#"{{"schema":1,"step":{k},"loss":{},"lr":0.1,"grad_norm":1.0,"tensors":{{"enc.weight":{{"grad_norm":0.5}},"enc.bias":{{"grad_norm":0.1}},"head.weight":{{"grad_norm":0.7,"norm":2.0}}}}}}"#,
            2.0 / (k as f64 + 1.0)
        )
    };
    let text: String = (0..20).map(|k| line(k) + "\n").collect();
    let trace = from_jsonl(&text, Path::new("t.jsonl")).unwrap();
    assert_eq!(
        trace.layer_names,
        vec!["enc".to_string(), "head".to_string()]
    );
    let enc = &trace.steps[3].layers[0];
    assert_eq!((enc.weight_grad_norm, enc.bias_grad_norm), (0.5, 0.1));
    assert!(enc.activation_std.is_nan() && enc.weight_norm.is_nan());
    assert_eq!(trace.steps[3].layers[1].weight_norm, 2.0);
    let s = stabcheck::scenario::parse_str("name = \"t\"\n", "t.toml").unwrap();
    let verdict = diagnose::run(&trace, &s, None);
    assert_eq!(verdict.status, diagnose::Status::Pass, "{verdict:?}");
}

/// The (module, weight) JSON of one step and layer of a built trace.
type Cell = dyn Fn(usize, usize) -> (String, String);

/// Without a replay, the nonfinite finding names where a trace's statistics first show the value,
/// in the order a step computes them, on traces built to put it in each place: a module's output
/// (forward), a gradient (backward: the deepest layer first), the weights after the update.
#[test]
fn a_traces_first_non_finite_value_is_placed_by_phase_without_a_replay() {
    // 3 layers, 12 steps; `bad(step, layer)` returns the JSON of (module, weight) for that cell.
    let trace = |bad: &Cell| -> String {
        (0..12)
            .map(|k| {
                let (mut modules, mut tensors) = (Vec::new(), Vec::new());
                for l in 0..3 {
                    let (m, w) = bad(k, l);
                    modules.push(format!(r#""fc{l}":{m}"#));
                    tensors.push(format!(r#""fc{l}.weight":{w}"#));
                }
                format!(
                    r#"{{"schema":1,"step":{k},"loss":{},"lr":0.1,"grad_norm":1.0,"tensors":{{{}}},"modules":{{{}}}}}"#,
                    2.0 / (k as f64 + 1.0),
                    tensors.join(","),
                    modules.join(",")
                ) + "\n"
            })
            .collect()
    };
    let ok_m =
        r#"{"activation_mean":0.1,"activation_std":1.0,"activation_max_abs":3.0,"nonfinite":0}"#;
    let ok_w = r#"{"grad_norm":0.5,"norm":2.0,"update_ratio":0.001}"#;
    let nan_m = r#"{"activation_mean":"NaN","activation_std":"NaN","activation_max_abs":"NaN","nonfinite":7}"#;
    let cases: [(&str, Box<Cell>); 3] = [
        (
            "step 4 is the first with a non-finite value, first in layer 1 (fc1)'s output (forward)",
            Box::new(|k, l| match (k >= 4 && l >= 1, l) {
                (true, _) => (nan_m.into(), ok_w.into()),
                _ => (ok_m.into(), ok_w.into()),
            }),
        ),
        (
            "step 6 is the first with a non-finite value, first in layer 2 (fc2)'s gradient (backward)",
            Box::new(|k, _| match k >= 6 {
                true => (ok_m.into(), r#"{"grad_norm":"inf","norm":2.0}"#.into()),
                false => (ok_m.into(), ok_w.into()),
            }),
        ),
        (
            "step 2 is the first with a non-finite value, first in the weights after the update (2 layer(s), first layer 0 (fc0))",
            Box::new(|k, l| match k >= 2 && l != 1 {
                true => (ok_m.into(), r#"{"grad_norm":0.5,"norm":"NaN"}"#.into()),
                false => (ok_m.into(), ok_w.into()),
            }),
        ),
    ];
    let s = stabcheck::scenario::parse_str("name = \"t\"\n", "t.toml").unwrap();
    for (expected, bad) in cases {
        let t = from_jsonl(&trace(&*bad), Path::new("t.jsonl")).unwrap();
        let verdict = diagnose::run(&t, &s, None);
        let f = (verdict.findings.iter())
            .find(|f| f.kind == diagnose::FindingKind::Nonfinite)
            .expect("a nonfinite finding");
        assert!(
            f.summary.contains(expected),
            "{}\nexpected: {expected}",
            f.summary
        );
        assert!(
            f.explanation.contains("cannot be replayed"),
            "{}",
            f.explanation
        );
    }
}
