//! `stabcheck diff` against a seed ensemble: a change that halves one hidden layer's init is
//! flagged at that layer and step 0, a seed change alone is not (the false-alarm rate over 20
//! seed pairs), layers are matched by name; and `[[model.init_groups]]` scales exactly the listed
//! layers' initial weights.

use std::sync::OnceLock;

use assert_cmd::Command;
use rayon::prelude::*;
use stabcheck::core::train::Trainer;
use stabcheck::diff::{MAX_REGRESSION, diff};
use stabcheck::record::RunRecord;
use stabcheck::record::diff::DiffStat;
use stabcheck::run::build::build_trainer;
use stabcheck::run::run_recorded;
use stabcheck::scenario;
use tempfile::TempDir;

use super::helpers::builtin_with;

fn record(sets: &[&str], seed: u64) -> RunRecord {
    let s = builtin_with("deep-mlp", Some(seed), sets);
    run_recorded(&s, None, None).unwrap().into_record(&s)
}

/// deep-mlp with seeds 1-5: the baseline ensemble (built once for every test here).
fn baseline() -> &'static [RunRecord] {
    static BASE: OnceLock<Vec<RunRecord>> = OnceLock::new();
    BASE.get_or_init(|| (1..=5).into_par_iter().map(|s| record(&[], s)).collect())
}

fn halved(layer: usize, seed: u64) -> RunRecord {
    let set = format!("model.init_groups=[{{layers=[{layer}],init_scale=0.5}}]");
    record(&[&set], seed)
}

#[test]
fn halving_one_hidden_layers_init_is_flagged_at_that_layer_and_step_0() {
    for (layer, seed) in [(3, 40), (9, 41), (14, 42)] {
        let d = diff(baseline(), &halved(layer, seed), MAX_REGRESSION);
        let first = d.first.as_ref().expect("a halved init leaves its band");
        assert!(!d.passed);
        assert_eq!(
            first.layer.as_deref(),
            Some(format!("layer{layer}").as_str())
        );
        assert_eq!(first.first_steps, [0, 0], "{first:?}");
        // The weight norm after one small Adam step is still half the baseline's.
        assert_eq!(first.stat, DiffStat::WeightNorm, "{first:?}");
        assert!((first.ratio - 0.5).abs() < 0.02, "{first:?}");
    }
}

/// The bands promise at most 1% false alarms per diff (`diff::band`): 20 heads that differ from
/// the baseline by their seed alone must all pass. The largest excess seen is printed (run with
/// `--nocapture`) for docs/diff.md.
#[test]
fn a_seed_change_alone_is_not_flagged_over_20_seed_pairs() {
    // Outside the parallel loop: a worker waiting on the ensemble another test is building with
    // the same pool would deadlock it.
    let base = baseline();
    let results: Vec<(u64, bool, f64)> = (100..120u64)
        .into_par_iter()
        .map(|seed| {
            let d = diff(base, &record(&[], seed), MAX_REGRESSION);
            (seed, d.passed, d.max_excess)
        })
        .collect();
    let flagged: Vec<u64> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    let widest = results.iter().map(|r| r.2).fold(0.0f64, f64::max);
    eprintln!(
        "seed-only diffs flagged: {} of {}; largest excess {widest:.3} band widths",
        flagged.len(),
        results.len()
    );
    assert!(flagged.is_empty(), "false alarms for seeds {flagged:?}");
}

#[test]
fn layers_are_matched_by_name_and_the_unmatched_listed() {
    let head = record(&["model.depth=17"], 50);
    let d = diff(baseline(), &head, MAX_REGRESSION);
    assert_eq!(d.added_layers, vec!["layer17".to_string()]);
    assert!(d.removed_layers.is_empty());
    let shallow = record(&["model.depth=15"], 50);
    let d = diff(baseline(), &shallow, MAX_REGRESSION);
    assert_eq!(d.removed_layers, vec!["layer16".to_string()]);
}

#[test]
fn init_groups_scale_exactly_the_listed_layers_initial_weights() {
    let build = |groups: &str| -> Trainer<f64> {
        let text = format!(
            "name = \"g\"\nsteps = 1\nprecision = \"f64\"\n[data]\nsamples = 64\n[model]\ndepth = 4\nwidth = 16\n{groups}"
        );
        build_trainer(&scenario::parse_str(&text, "g.toml").unwrap(), None).unwrap()
    };
    let plain = build("");
    let grouped = build("[[model.init_groups]]\nlayers = [1, 4]\ninit_scale = 0.5\n");
    let (p, g) = (&plain.model.params, &grouped.model.params);
    let mut scaled = 0;
    for seg in &p.segments {
        let r = seg.range();
        let is_weight = seg.kind == stabcheck::core::params::ParamKind::Weight;
        let factor = if is_weight && [1, 4].contains(&seg.layer) {
            scaled += 1;
            0.5
        } else {
            1.0
        };
        for (a, b) in p.values[r.clone()].iter().zip(&g.values[r]) {
            assert_eq!(*b, a * factor, "layer {} {:?}", seg.layer, seg.kind);
        }
    }
    assert_eq!(scaled, 2, "layer 1's and the output layer's weights");
}

#[test]
fn seeds_write_an_ensemble_that_diff_reads_and_bad_paths_exit_2() {
    let dir = TempDir::new().unwrap();
    let base = dir.path().join("base");
    let bin = || Command::cargo_bin("stabcheck").unwrap();
    let out = bin()
        .args([
            "scenario", "deep-mlp", "--set", "steps=20", "--seeds", "5", "--out",
        ])
        .arg(&base)
        .output()
        .unwrap();
    // Exit 1 exactly when a seed's run fails a gate (20 steps are too few for some seeds to
    // make progress).
    let failed = String::from_utf8_lossy(&out.stdout).contains("FAIL");
    assert_eq!(out.status.code(), Some(i32::from(failed)), "{out:?}");
    for seed in 7..12 {
        assert!(
            base.join(format!("seed-{seed}/run.json")).is_file(),
            "seed {seed}"
        );
    }
    let member = base.join("seed-8/run.json");
    let out = bin().arg("diff").arg(&base).arg(&member).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"));
    assert!(base.join("seed-8/diff.json").is_file());
    // The head's page gains the overlay section: the loss drawn over its band.
    let page = std::fs::read_to_string(base.join("seed-8/index.html")).unwrap();
    assert!(page.contains("Against the baseline") && page.contains("loss against the baseline"));
    assert!(base.join("seed-8/diff-0.svg").is_file());
    // Its interactive charts draw the baseline's first seed dashed over the head.
    let data = super::report_cause::page_data(&page);
    let first = <stabcheck::record::RunRecord as stabcheck::record::Record>::read(
        &base.join("seed-7/run.json"),
    )
    .unwrap();
    let label = data["compare"]["label"].as_str().unwrap();
    assert!(label.starts_with("baseline seed 7 (1 of "), "{label}");
    let loss = data["compare"]["loss"][3].as_f64().unwrap();
    let want = first.trace.steps[3].loss;
    assert!((loss - want).abs() <= 1e-4 * want, "{loss} vs {want}");
    // `scenario --baseline`: seed 7 again is inside every band; a halved layer init is not.
    let gate = |sets: &[&str]| {
        let mut cmd = bin();
        cmd.args([
            "scenario",
            "deep-mlp",
            "--set",
            "steps=20",
            "--no-report",
            "--baseline",
        ]);
        cmd.arg(&base);
        for set in sets {
            cmd.args(["--set", set]);
        }
        cmd.output().unwrap()
    };
    let same = gate(&[]);
    assert!(
        String::from_utf8_lossy(&same.stdout).contains("PASS: every statistic"),
        "{same:?}"
    );
    let half = gate(&["model.init_groups=[{layers=[5],init_scale=0.5}]"]);
    assert_eq!(half.status.code(), Some(1), "{half:?}");
    let text = String::from_utf8_lossy(&half.stdout);
    assert!(
        text.contains("first: layer5 weight_norm at steps 0-0"),
        "{text}"
    );
    let out = bin().arg("diff").arg(&base).arg(&base).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an ensemble as HEAD");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD must be one run"));
    let missing = dir.path().join("nothing");
    let out = bin()
        .arg("diff")
        .arg(&missing)
        .arg(&member)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing"));
}

/// `--baseline` folds a `max_regression` gate into the verdict, so the exit code, JSON, JUnit and
/// the summary agree; `[gates] max_regression` sets it and `--max-regression` overrides it; and
/// a trace of the same run (`diagnose --baseline`) is judged like the run.
#[test]
fn the_max_regression_gate_joins_the_verdict_junit_summary_and_a_traces_diagnosis() {
    let dir = TempDir::new().unwrap();
    let base = dir.path().join("base");
    let bin = || Command::cargo_bin("stabcheck").unwrap();
    let steps = ["--set", "steps=20"];
    let made = (bin().args(["scenario", "deep-mlp", "--seeds", "5", "--out"]))
        .arg(&base)
        .args(steps)
        .output()
        .unwrap();
    assert!(made.status.code().is_some_and(|c| c <= 1), "{made:?}");
    let half = ["--set", "model.init_groups=[{layers=[5],init_scale=0.5}]"];
    let run = |extra: &[&str]| {
        let mut cmd = bin();
        cmd.args(["scenario", "deep-mlp", "--no-report", "--baseline"]);
        cmd.arg(&base).args(steps).args(half).args(extra);
        cmd.output().unwrap()
    };
    let trace = dir.path().join("half.jsonl");
    let (junit, summary) = (dir.path().join("j.xml"), dir.path().join("s.md"));
    let failed = run(&["--trace", trace.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "verdict with the baseline: FAIL (stable): 1 of 13 gates failed: max_regression"
        ),
        "{text}"
    );
    // The gate's key in the scenario, and the flag over the key.
    assert_eq!(
        run(&["--set", "gates.max_regression=1e6"]).status.code(),
        Some(0)
    );
    let flag = run(&["--set", "gates.max_regression=1e6", "--max-regression", "1"]);
    assert_eq!(flag.status.code(), Some(1));
    assert_eq!(
        run(&["--set", "gates.max_regression=0"]).status.code(),
        Some(2)
    );
    // The trace of the same run, judged against the same ensemble.
    let out = bin()
        .arg("diagnose")
        .arg(&trace)
        .args([
            "--scenario",
            "deep-mlp",
            "--no-report",
            "--format",
            "json",
            "--baseline",
        ])
        .arg(&base)
        .arg("--junit")
        .arg(&junit)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gates = json["verdict"]["gates"].as_array().unwrap();
    let gate = gates
        .iter()
        .find(|g| g["gate"] == "max_regression")
        .unwrap();
    assert_eq!(gate["status"], "fail");
    let finding = &json["verdict"]["findings"][0];
    assert_eq!(finding["kind"], "baseline-regression", "{json}");
    assert!(
        finding["summary"]
            .as_str()
            .unwrap()
            .contains("layer5 weight_norm at steps 0-0")
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = (doc.descendants())
        .find(|n| n.attribute("name") == Some("max_regression"))
        .unwrap();
    assert!(case.children().any(|c| c.has_tag_name("failure")), "{xml}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("FAIL (against the baseline)") && md.contains("layer5"),
        "{md}"
    );
}

/// One layer trained at twice the lr (`[[optimizer.groups]]`): its update ratio doubles from
/// step 0 while its weights start as the baseline's. Found against 10 baseline runs. Against the
/// 5 of `baseline()` it is found on layer 3 but not on layer 11 (measured largest excess 0.73
/// of the band there): the t band with 4 degrees of freedom is ±30 σ, with 9 it is ±9 σ.
#[test]
fn a_2x_lr_on_one_layer_is_flagged_at_its_update_ratio_against_10_runs() {
    let five = baseline();
    let more: Vec<RunRecord> = (6..=10).into_par_iter().map(|s| record(&[], s)).collect();
    let ten: Vec<RunRecord> = five.iter().cloned().chain(more).collect();
    for (layer, seed) in [(3, 43), (11, 44)] {
        let set = format!("optimizer.groups=[{{layers=[{layer}],lr_scale=2.0}}]");
        let d = diff(&ten, &record(&[&set], seed), MAX_REGRESSION);
        let first = d
            .first
            .as_ref()
            .expect("a doubled update ratio leaves its band");
        assert_eq!(
            first.layer.as_deref(),
            Some(format!("layer{layer}").as_str())
        );
        assert_eq!(
            (first.stat, first.first_steps),
            (DiffStat::UpdateRatio, [0, 0])
        );
        assert!((first.ratio - 2.0).abs() < 0.1, "{first:?}");
    }
}
