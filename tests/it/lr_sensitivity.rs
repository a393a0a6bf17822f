//! `stabcheck lr-sensitivity` through the binary: the record holds every variant at every lr,
//! each final loss is the mean of an independent run's last window, the metric follows its
//! definition, the output is the same whatever the thread count, and bad input exits 2.

use stabcheck::record::lr_sensitivity::LrSensitivityRecord;
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Overrides, SetOverride, apply_overrides};
use tempfile::TempDir;

use crate::shards_and_sweeps::stabcheck as run;

const ARGS: &[&str] = &[
    "lr-sensitivity",
    "tiny-gpt-fast",
    "--lr",
    "1e-3..1e-1",
    "--points",
    "3",
    "--steps",
    "30",
    "--format",
    "json",
];

/// The same scenario run on its own: the mean loss of its last 10 steps (a 30-step run's window).
fn independent_final_loss(sets: &[String]) -> f64 {
    let overrides = Overrides {
        steps: Some(30),
        set: sets
            .iter()
            .map(|a| SetOverride::parse(a).unwrap())
            .collect(),
        ..Overrides::default()
    };
    let s = apply_overrides(&scenario::resolve("tiny-gpt-fast").unwrap(), &overrides).unwrap();
    let losses: Vec<f64> = run_recorded(&s, None, None)
        .unwrap()
        .summary
        .steps
        .iter()
        .map(|st| st.loss)
        .collect();
    losses[20..].iter().sum::<f64>() / 10.0
}

#[test]
fn lr_sensitivity_records_every_variant_and_follows_its_definition() {
    let dir = TempDir::new().unwrap();
    let out = run(ARGS, dir.path(), "2");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: LrSensitivityRecord = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = r.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["base", "qk-norm", "qk-norm + z-loss"]);
    assert!(
        (r.lrs[1] - 1e-2).abs() < 1e-12 && r.lrs.len() == 3,
        "{:?}",
        r.lrs
    );
    for v in &r.variants {
        assert_eq!(v.runs.len(), 3);
        let capped: Vec<f64> = (v.runs.iter())
            .map(|x| {
                if x.final_loss.is_finite() {
                    x.final_loss.min(x.initial_loss)
                } else {
                    x.initial_loss
                }
            })
            .collect();
        let best = capped.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = capped.iter().map(|c| c - best).sum::<f64>() / 3.0;
        assert!(
            (v.sensitivity - mean).abs() < 1e-12,
            "{}: {} vs {mean}",
            v.name,
            v.sensitivity
        );
        assert_eq!(v.best_loss, best);
    }
    // One cell against an independent run of the same scenario.
    let qk = &r.variants[1];
    let mut sets = qk.set.clone();
    sets.push(format!("optimizer.lr={:e}", r.lrs[1]));
    assert_eq!(qk.runs[1].final_loss, independent_final_loss(&sets));
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(page.contains("id=\"lr-sensitivity\""));
    let svg = std::fs::read_to_string(dir.path().join("lr-sensitivity.svg")).unwrap();
    assert!(svg.contains("learning rate (log scale)"));
    // Bit for bit the same with one thread.
    let again = TempDir::new().unwrap();
    let one = run(ARGS, again.path(), "1");
    assert_eq!(one.stdout, out.stdout);
}

#[test]
fn lr_sensitivity_bad_input_exits_2_and_says_what_is_expected() {
    let dir = TempDir::new().unwrap();
    for (bad, says) in [
        (&["--lr", "1..0.1"][..], "0 < LO < HI"),
        (&["--variant", "qk_norm"][..], "NAME:KEY=VALUE"),
        (&["--variant", "x:model.no_such_key=1"][..], "no_such_key"),
        (&["--points", "0"][..], "1 to 64"),
    ] {
        let mut args = vec!["lr-sensitivity", "tiny-gpt-fast", "--steps", "12"];
        args.extend_from_slice(bad);
        let out = run(&args, dir.path(), "1");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.contains(says), "{bad:?}: {err}");
    }
    assert!(!dir.path().join("lr-sensitivity.json").exists());
}
