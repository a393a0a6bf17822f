//! `stabcheck diff BASE HEAD` and `scenario --seeds N`: a seed ensemble, and a run compared with
//! one statistic by statistic against the ensemble's noise bands (`crate::diff`).

use super::out::outln;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::diagnose::baseline_gate::BaselineEvidence;
use crate::diagnose::{Status, Verdict};
use crate::diff::{MAX_REGRESSION, diff, layer_name};
use crate::record::diff::{DiffRecord, Excursion};
use crate::record::{RUN_FILE, Record, RunRecord};
use crate::run::run_recorded;
use crate::scenario::Scenario;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The baseline: a run.json, or a folder holding a seed ensemble (`scenario --seeds N`
    /// writes `seed-S/run.json` in it).
    pub base: PathBuf,
    /// The run to judge: a run.json, or a folder holding one.
    pub head: PathBuf,
    /// How far outside its band a statistic may go, in band half-widths (1: the band's edge).
    #[arg(long, value_name = "X", default_value_t = MAX_REGRESSION)]
    pub max_regression: f64,
    /// Folder for diff.json and the head's report with its overlay (default: the head's folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `text` (a summary) or `json` (diff.json's content on stdout).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: &DiffArgs) -> Result<ExitCode> {
    check_max_regression(args.max_regression)?;
    let base = load_runs(&args.base)?;
    let head = match load_runs(&args.head)?.as_slice() {
        [one] => one.clone(),
        many => bail!(
            "{}: HEAD must be one run, found {} (compare each seed's run.json on its own)",
            args.head.display(),
            many.len()
        ),
    };
    let record = diff(&base, &head, args.max_regression);
    let dir = args.out.clone().unwrap_or_else(|| folder_of(&args.head));
    let path = record.write_in(&dir)?;
    // The head's page, with the overlay section diff.json adds.
    let page = crate::report::render_against(&head, &base, &dir)?;
    match args.format {
        super::Format::Json => outln!("{}", record.to_json()?),
        super::Format::Text => print_text(&record),
    }
    eprintln!("wrote {} and {}", path.display(), page.index.display());
    Ok(exit(record.passed))
}

fn exit(passed: bool) -> ExitCode {
    match passed {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.is_dir() {
        true => path.to_path_buf(),
        false => path.parent().map_or_else(PathBuf::new, Path::to_path_buf),
    }
}

/// The runs at `path`: a record file, a folder's `*/run.json` (an ensemble, in name order), or
/// else the folder's own run.json.
pub fn load_runs(path: &Path) -> Result<Vec<RunRecord>> {
    if !path.is_dir() {
        return Ok(vec![RunRecord::read(path)?]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join(RUN_FILE)))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    if found.is_empty() && path.join(RUN_FILE).is_file() {
        found.push(path.join(RUN_FILE));
    }
    if found.is_empty() {
        bail!(
            "{}: no {RUN_FILE} in the folder or its subfolders (write an ensemble with `stabcheck scenario NAME --seeds N --out {}`)",
            path.display(),
            path.display()
        );
    }
    let mut runs = found
        .iter()
        .map(|p| Ok(RunRecord::read(p)?))
        .collect::<Result<Vec<_>>>()?;
    runs.sort_by_key(|r| r.scenario.seed);
    Ok(runs)
}

fn print_text(r: &DiffRecord) {
    let seeds = r
        .baseline_seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>();
    outln!(
        "diff: head (seed {}) against {} baseline run(s) (seeds {}); band half-width {:.3} std, std floor {}",
        r.head_seed,
        r.baseline_seeds.len(),
        seeds.join(", "),
        r.half_width,
        r.std_floor
    );
    match &r.first {
        None => outln!(
            "PASS: every statistic stayed inside its band (largest excess {:.2} band widths, max_regression {})",
            r.max_excess,
            r.max_regression
        ),
        Some(first) => {
            outln!(
                "FAIL: {} statistic(s) left their band; first: {}",
                r.excursions.len(),
                describe(first)
            );
            for e in r.excursions.iter().take(10) {
                outln!("  {}", describe(e));
            }
        }
    }
    if !r.added_layers.is_empty() {
        outln!("layers only in head: {}", r.added_layers.join(", "));
    }
    if !r.removed_layers.is_empty() {
        outln!(
            "layers only in the baseline: {}",
            r.removed_layers.join(", ")
        );
    }
}

/// "layer 3 weight_norm at steps 0-0: 0.502x the baseline (excess -3.1 band widths, at most 3.4)".
fn describe(e: &Excursion) -> String {
    format!(
        "{}: {:.3}x the baseline (excess {:.2} band widths, at most {:.2})",
        e.headline(),
        e.ratio,
        e.excess,
        e.max_excess
    )
}

/// `--baseline`: `head` judged against `base` (diff.json written into `out` when given); its
/// verdict with the `max_regression` gate folded in, and the diff.
pub fn baseline_gate(
    base: &[RunRecord],
    head: &RunRecord,
    (max_regression, out): (f64, Option<&Path>),
    text: bool,
) -> Result<(Verdict, DiffRecord)> {
    check_max_regression(max_regression)?;
    let record = diff(base, head, max_regression);
    if text {
        print_text(&record);
    }
    if let Some(dir) = out {
        eprintln!("wrote {}", record.write_in(dir)?.display());
    }
    let verdict = head.verdict.clone().unwrap_or_else(|| {
        crate::diagnose::run(&head.trace, &head.scenario, head.nan_origin.as_ref())
    });
    let verdict = verdict.with_baseline(&evidence(&record, head));
    if text {
        let line = super::summary::verdict_text(&verdict);
        let line = line.lines().next().unwrap_or_default();
        outln!(
            "{}",
            line.replacen("verdict:", "verdict with the baseline:", 1)
        );
    }
    Ok((verdict, record))
}

/// The diff's numbers for the `max_regression` gate; the first excursion's layer found by name
/// among the head's layers.
fn evidence(d: &DiffRecord, head: &RunRecord) -> BaselineEvidence {
    let layers = head.trace.steps.first().map_or(0, |s| s.layers.len());
    let layer = (d.first.as_ref())
        .and_then(|e| e.layer.as_deref())
        .and_then(|name| (0..layers).find(|&l| layer_name(head, l) == name));
    BaselineEvidence {
        max_regression: d.max_regression,
        max_excess: d.max_excess,
        runs: d.baseline_seeds.len(),
        excursions: d.excursions.len(),
        first: (d.first.as_ref()).map(|e| (e.headline(), e.ratio, e.first_steps)),
        layer,
    }
}

fn check_max_regression(x: f64) -> Result<()> {
    if !(x.is_finite() && x > 0.0) {
        bail!("--max-regression must be a finite number > 0, got {x}");
    }
    Ok(())
}

/// `scenario --seeds N`: runs `s` with seeds `s.seed ..= s.seed + N − 1`, writing each run's
/// record as `dir/seed-S/run.json` (records only: no pages). Exits 1 when any run fails a gate.
pub fn run_seeds(s: &Scenario, base_dir: Option<&Path>, dir: &Path, n: u64) -> Result<ExitCode> {
    let mut passed = true;
    for k in 0..n {
        let seed = s.seed.saturating_add(k);
        let one = Scenario { seed, ..s.clone() };
        let run = run_recorded(&one, base_dir, None)?;
        let status = run.verdict.status;
        passed &= status == Status::Pass;
        let record = run.into_record(&one);
        let path = record.write_in(&dir.join(format!("seed-{seed}")))?;
        let word = if status == Status::Pass {
            "PASS"
        } else {
            "FAIL"
        };
        outln!("seed {seed}: {word}, {}", path.display());
    }
    Ok(exit(passed))
}
