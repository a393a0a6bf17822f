//! The `--format json` object `stabcheck scenario` prints on stdout.

use std::path::Path;

use anyhow::Result;

use super::out::outln;
use crate::diagnose::Verdict;
use crate::robust::RobustRecord;

/// The `--format json` object on stdout.
pub(super) fn print_json(
    scenario: &str,
    verdict: &Verdict,
    record: Option<&Path>,
    robust: Option<&RobustRecord>,
) -> Result<()> {
    let out = JsonOutput {
        scenario,
        verdict,
        record,
        robust: robust.map(|r| RobustGate {
            stable_fraction: r.stable_fraction,
            interval: r.interval,
            min_stable_fraction: r.min_stable_fraction,
            passed: r.passed,
        }),
    };
    outln!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// The `--format json` object: the scenario name, its verdict (as in run.json) and the record's
/// path (`null` with `--no-report`).
#[derive(serde::Serialize)]
struct JsonOutput<'a> {
    scenario: &'a str,
    verdict: &'a Verdict,
    record: Option<&'a Path>,
    /// With `--robust`: the robustness gate (robust.json holds the cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    robust: Option<RobustGate>,
}

#[derive(serde::Serialize)]
struct RobustGate {
    stable_fraction: f64,
    interval: [f64; 2],
    min_stable_fraction: f64,
    passed: bool,
}
