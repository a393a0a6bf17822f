//! Fuzz-target bodies, one function per target taking arbitrary bytes: they must never panic.
//!
//! The fuzz crate's library (`stabcheck_fuzz`): `fuzz/fuzz_targets/*.rs` call these under
//! libFuzzer, and `tests/it/fuzz_seeds.rs` includes this file to replay every committed seed and
//! crash-regression file through them on stable Rust. They live here, not in stabcheck's library,
//! because their asserts are test scaffolding that users never run. Each target rejects what
//! the library rejects (an `Err` is a fine outcome) and asserts invariants on what it accepts.

mod training;

use std::path::Path;
use std::sync::OnceLock;

use stabcheck::core::data::Task;
use stabcheck::core::data::csv::parse_bytes;
use stabcheck::record::RunRecord;
use stabcheck::scenario::{self, Overrides, Scenario, SetOverride};

pub use training::tiny_training;

/// A fuzz target: its name (the folder under `fuzz/seeds/`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by the name of its `fuzz/fuzz_targets/` file.
pub const TARGETS: &[Target] = &[
    ("scenario_toml", scenario_toml),
    ("set_override", set_override),
    ("csv_data", csv_data),
    ("run_json_report", run_json_report),
    ("tiny_training", tiny_training),
];

/// Scenario TOML → parse + validate. An accepted scenario survives a round trip through the
/// override machinery (serialize, parse, validate) unchanged, and its resource estimate is
/// computable (no overflow).
pub fn scenario_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = scenario::parse_str(text, "fuzz.toml") else {
        return;
    };
    let again = scenario::apply_overrides(&s, &Overrides::default());
    assert_eq!(again.as_ref().ok(), Some(&s), "round trip changed {text:?}");
    let _ = stabcheck::budget::Estimate::of(&s);
}

/// One `--set key=value` per line, applied in order to a small base scenario.
pub fn set_override(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = text
        .lines()
        .map(SetOverride::parse)
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let overrides = Overrides {
        seed: None,
        steps: None,
        set,
    };
    let Some(base) = base_scenario() else {
        return;
    };
    if let Ok(s) = scenario::apply_overrides(base, &overrides) {
        // What the overrides produced is a valid scenario: applying nothing keeps it.
        let again = scenario::apply_overrides(&s, &Overrides::default());
        assert_eq!(again.as_ref().ok(), Some(&s), "round trip changed {text:?}");
    }
}

/// The base scenario of [`set_override`]: the built-in `deep-mlp`, parsed once.
fn base_scenario() -> Option<&'static Scenario> {
    static BASE: OnceLock<Option<Scenario>> = OnceLock::new();
    BASE.get_or_init(|| scenario::resolve("deep-mlp").ok())
        .as_ref()
}

/// CSV loading. The first byte picks the task (classification with 2-9 classes, or regression
/// with 1-3 outputs), the second the expected input count (0 = the file decides), the third the
/// rows to read (0 = all); the rest is the file. An accepted dataset is finite, has at least one
/// row, the expected columns, and class labels in range.
pub fn csv_data(data: &[u8]) {
    let [task, inputs, samples, text @ ..] = data else {
        return;
    };
    let task = match task % 12 {
        n @ 0..=7 => Task::Classification {
            classes: usize::from(n) + 2,
        },
        n => Task::Regression {
            outputs: usize::from(n % 4).max(1),
        },
    };
    let inputs = (*inputs % 8 != 0).then_some(usize::from(*inputs % 8));
    let samples = (*samples % 16 != 0).then_some(usize::from(*samples % 16));
    let Ok(d) = parse_bytes(Path::new("fuzz.csv"), text, task, inputs, samples) else {
        return;
    };
    assert!(!d.is_empty(), "an empty dataset was accepted");
    assert!(inputs.is_none_or(|n| d.inputs() == n));
    assert!(samples.is_none_or(|n| d.len() <= n));
    assert!(
        d.x.iter().all(|v| v.is_finite()),
        "a non-finite input was accepted"
    );
    match &d.targets {
        stabcheck::core::data::Targets::Classes(labels) => {
            assert_eq!(labels.len(), d.len());
            assert!(labels.iter().all(|&c| c < d.outputs()));
        }
        stabcheck::core::data::Targets::Values(v) => {
            assert_eq!(v.dim(), (d.len(), d.outputs()));
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }
}

/// run.json → parse, then render every chart and the page in memory. A record that parses
/// renders (or fails with a typed error): never a panic.
pub fn run_json_report(data: &[u8]) {
    let Ok(record) = RunRecord::from_json(data, None) else {
        return;
    };
    let Ok(charts) = stabcheck::report::charts(&record) else {
        return;
    };
    let _ = stabcheck::report::html::page(
        (Some(&record), &Default::default()),
        &charts,
        &[],
        &record.scenario,
    );
}
