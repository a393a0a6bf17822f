//! Replays every committed fuzz seed (`fuzz/seeds/<target>/`) and crash regression
//! (`fuzz/regressions/<target>/`) through the fuzz crate's target bodies (`fuzz/bodies/`, included here) on stable Rust, so a
//! fixed crash stays fixed and the seeds stay meaningful without libFuzzer.

use std::path::{Path, PathBuf};

#[path = "../../fuzz/bodies/mod.rs"]
mod bodies;

use bodies::TARGETS;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target)
}

/// Runs `target`'s body on every file of `fuzz/<kind>/<target>/`, naming the file that panics.
fn replay(kind: &str, target: &str, body: fn(&[u8])) -> usize {
    let files = files(&fuzz_dir(kind, target));
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| body(&bytes));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
    }
    files.len()
}

#[test]
fn every_target_has_seeds_and_none_panics() {
    for (target, body) in TARGETS {
        let seeds = replay("seeds", target, *body);
        assert!(seeds >= 5, "{target}: only {seeds} seed files");
    }
}

#[test]
fn every_crash_regression_replays_without_a_panic() {
    for (target, body) in TARGETS {
        replay("regressions", target, *body);
    }
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (target, _) in TARGETS {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/fuzz_targets")
            .join(format!("{target}.rs"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("stabcheck_fuzz::{target}(data)")),
            "{}",
            file.display()
        );
    }
}

#[test]
fn the_report_seeds_are_records_that_render() {
    // So the report target's seeds reach the renderer, not only the JSON parser.
    for seed in ["tiny.json", "tiny-nan.json", "tiny-layernorm-f64.json"] {
        let bytes = std::fs::read(fuzz_dir("seeds", "run_json_report").join(seed)).unwrap();
        let record = stabcheck::record::RunRecord::from_json(&bytes, None).unwrap();
        let charts = stabcheck::report::charts(&record).unwrap();
        assert!(
            stabcheck::report::html::page(
                (Some(&record), &Default::default()),
                &charts,
                &[],
                &record.scenario
            )
            .is_ok(),
            "{seed}"
        );
    }
}

/// Found by `run_json_report` (1 crash in 995 runs): a histogram whose `edges` has fewer than
/// `counts + 1` entries indexed past the end in the histogram chart.
#[test]
fn run_json_report_histogram_with_fewer_edges_than_counts() {
    let path = fuzz_dir("regressions", "run_json_report")
        .join("histogram-with-fewer-edges-than-counts.json");
    bodies::run_json_report(&std::fs::read(path).unwrap());
}
