//! `stabcheck fix`: every failing catalogue scenario gets a fix whose re-run passes every gate
//! and whose fixed.toml replays as a passing scenario; a candidate is verified only when its
//! re-run passed (a plausible fix that leaves a gate failing is not), `--robust` adds the robust
//! check as a requirement, and bad input exits 2.

use assert_cmd::Command;
use stabcheck::record::Record as _;
use tempfile::TempDir;

use stabcheck::diagnose::{FindingKind, Status};
use stabcheck::repair::{FixOptions, FixRecord, run_fix};
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Scenario, parse_str};

/// The catalogue's failing scenarios (README, "The built-in catalogue"); the other four pass.
const FAILING: &[&str] = &[
    "sigmoid-vanishing",
    "relu-init-3",
    "sgd-lr-1",
    "layer-lr-100x",
    "layernorm-eps-0",
    "adam-eps-0",
    "dead-relu-bias",
    "adam-lr-too-high",
    "tanh-saturated",
    "tiny-lr",
    "loss-oscillation",
    "gpt-attn-logit-growth",
    "gpt-logit-divergence",
    "gpt-post-ln-no-warmup",
    "gpt-adam-eps-large",
    "fp16-activation-overflow",
    "fp16-scale-collapse",
    "fp16-grad-underflow",
    "bf16-lost-updates",
];
const PASSING: &[&str] = &[
    "deep-mlp",
    "deep-residual-layernorm",
    "relu-init-3-repaired",
    "sgd-lr-1-clipped",
    "tiny-gpt",
    "tiny-gpt-fast",
    "gpt-attn-logit-growth-qk-norm",
    "gpt-logit-divergence-z-loss",
    "gpt-post-ln-warmup",
    "fp16-dynamic-scale",
    "fp16-grad-underflow-scaled",
];
/// Checked through the binary (fix, then `stabcheck scenario fixed.toml`); the rest through the
/// library.
const THROUGH_THE_BINARY: &[&str] = &["relu-init-3", "sgd-lr-1", "layernorm-eps-0"];

fn with(name: &str, sets: &[&str]) -> Scenario {
    crate::helpers::builtin_with(name, None, sets)
}

/// Every candidate is verified exactly when its re-run passed, and the ranking holds exactly the
/// verified ones (without `--robust`).
fn assert_verified_means_passed(r: &FixRecord) {
    for c in &r.candidates {
        assert_eq!(c.verified, c.run.status == Status::Pass, "{c:?}");
        assert_eq!(c.verified, c.run.failed_gates.is_empty(), "{c:?}");
    }
    let mut verified: Vec<usize> = r
        .candidates
        .iter()
        .filter(|c| c.verified)
        .map(|c| c.index)
        .collect();
    let mut ranked = r.ranking.clone();
    verified.sort_unstable();
    ranked.sort_unstable();
    assert_eq!(ranked, verified);
}

#[test]
fn the_failing_list_is_the_catalogue_minus_the_passing_ones() {
    let mut names: Vec<&str> = FAILING.iter().chain(PASSING).copied().collect();
    names.sort_unstable();
    let mut builtins = scenario::builtin_names();
    builtins.sort_unstable();
    assert_eq!(names, builtins);
}

#[test]
fn every_failing_catalogue_scenario_gets_a_fix_that_replays_as_a_pass() {
    for &name in FAILING.iter().filter(|n| !THROUGH_THE_BINARY.contains(n)) {
        let base = scenario::resolve(name).unwrap();
        let r = run_fix(&base, None, &FixOptions::default()).unwrap();
        assert_eq!(r.original.status, Status::Fail, "{name}");
        assert_verified_means_passed(&r);
        let best = r
            .best()
            .unwrap_or_else(|| panic!("{name}: no verified fix"));
        assert!(!best.changes.is_empty(), "{name}");
        // Independently: the written TOML parses, keeps every key but the changed ones, and a
        // fresh run of it passes every gate.
        let text = r.fixed_toml().unwrap().unwrap();
        let fixed = parse_str(&text, "fixed.toml").unwrap();
        assert_eq!(fixed.name, format!("{name}-fixed"));
        assert_eq!((fixed.seed, fixed.steps), (base.seed, base.steps), "{name}");
        let run = run_recorded(&fixed, None, None).unwrap();
        assert_eq!(run.verdict.status, Status::Pass, "{name}: {best:?}");
        assert_eq!(run.summary.steps.last().unwrap().loss, best.run.final_loss);
    }
}

fn fix_cli(args: &[&str], out: &std::path::Path) -> (Option<i32>, String) {
    let output = Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("fix")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn through_the_binary_the_fixed_toml_passes_stabcheck_scenario() {
    for &name in THROUGH_THE_BINARY {
        let dir = TempDir::new().unwrap();
        let (code, stdout) = fix_cli(&[name], dir.path());
        assert_eq!(code, Some(0), "{name}: {stdout}");
        assert!(
            stdout.contains("verified fixes (re-run passed every gate)"),
            "{stdout}"
        );
        let diff = std::fs::read_to_string(dir.path().join("fixed.diff")).unwrap();
        assert!(diff.starts_with(&format!("--- {name}.toml (original)\n+++ fixed.toml\n")));
        let record = FixRecord::read(&dir.path().join("fix.json")).unwrap();
        assert_verified_means_passed(&record);
        // Every changed key appears in the diff as an added line with the new value (as TOML:
        // the user's file keeps the `--set` spelling, `1e-5` for 0.00001).
        let value = |text: &str| -> toml::Value {
            let text = text.split(" #").next().unwrap().trim();
            toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
        };
        for c in &record.best().unwrap().changes {
            let leaf = c.key.rsplit('.').next().unwrap();
            let prefix = format!("+{leaf} = ");
            let added = diff.lines().find(|l| l.starts_with(&prefix));
            let added = added.unwrap_or_else(|| panic!("no `{prefix}` line:\n{diff}"));
            assert_eq!(value(&added[prefix.len()..]), value(&c.value), "{diff}");
        }
        // The original's page carries the ranking as its "Verified fixes" section.
        let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        let section = &page[page.find("<section id=\"verified-fixes\">").unwrap()..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(
            section.contains(&record.best().unwrap().set_args()),
            "{section}"
        );
        assert!(section.contains(&format!("All {} candidates tried", record.candidates.len())));
        Command::cargo_bin("stabcheck")
            .unwrap()
            .arg("scenario")
            .arg(dir.path().join("fixed.toml"))
            .arg("--no-report")
            .assert()
            .code(0);
    }
}

#[test]
fn a_plausible_fix_that_leaves_a_gate_failing_is_not_verified() {
    // layernorm-eps-0 goes NaN at step 0; norm_eps = 1e-5 (its own suggested fix) cures the NaN,
    // but no 5-step run gets its median loss under 1% of the initial loss, so with that gate no
    // candidate can pass.
    let gate = "gates.max_final_loss_ratio=0.01";
    let base = with("layernorm-eps-0", &[gate]);
    let cured = with("layernorm-eps-0", &[gate, "model.norm_eps=1e-5"]);
    let independent = run_recorded(&cured, None, None).unwrap();
    let errors: Vec<FindingKind> = independent.verdict.errors().map(|f| f.kind).collect();
    // The NaN is cured; what it hid shows: no progress (and units left dead by the constant
    // inputs, which only the pairs address).
    assert!(!errors.contains(&FindingKind::Nonfinite), "{errors:?}");
    assert!(errors.contains(&FindingKind::NoProgress), "{errors:?}");

    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("fixed.toml"), "stale").unwrap();
    let (code, stdout) = fix_cli(&["layernorm-eps-0", "--set", gate], dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("no verified fix: no candidate's re-run passed every gate"));
    assert!(
        !dir.path().join("fixed.toml").exists(),
        "a stale fix is removed"
    );
    assert!(!dir.path().join("fixed.diff").exists());
    let r = FixRecord::read(&dir.path().join("fix.json")).unwrap();
    assert_eq!(r.scenario, base);
    assert_verified_means_passed(&r);
    assert!(r.ranking.is_empty() && r.fixed.is_none());
    let eps = r
        .candidates
        .iter()
        .find(|c| c.set == ["model.norm_eps=1e-5"])
        .unwrap();
    assert_eq!(eps.ideas, ["suggested by nonfinite"]);
    assert!(
        eps.run
            .failed_gates
            .contains(&"max_final_loss_ratio".to_string())
    );
    assert!(!eps.run.failed_gates.contains(&"nonfinite".to_string()));
    assert!(!eps.verified);
    assert_eq!(eps.run.final_loss, independent.summary.steps[4].loss);
    // It cured a failing gate, so pairs were built on it.
    assert!(r.candidates.iter().any(|c| c.extends == Some(eps.index)));
}

#[test]
fn with_robust_a_fix_must_also_pass_the_robust_check() {
    // 4 of 4 stable cases give a Clopper-Pearson lower bound of 0.025^(1/4) = 0.40, so a
    // required fraction of 0.99 cannot be met: candidates that pass every gate stay unverified.
    let dir = TempDir::new().unwrap();
    let strict = "robust.min_stable_fraction=0.99";
    let args = [
        "relu-init-3",
        "--robust",
        "--robust-cases",
        "4",
        "--set",
        strict,
    ];
    let (code, stdout) = fix_cli(&args, dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    let r = FixRecord::read(&dir.path().join("fix.json")).unwrap();
    assert_eq!(r.robust_cases, Some(4));
    let passed: Vec<_> = r
        .candidates
        .iter()
        .filter(|c| c.run.status == Status::Pass)
        .collect();
    assert!(!passed.is_empty(), "some candidate passes every gate");
    assert!(r.ranking.is_empty());
    for c in &r.candidates {
        assert!(!c.verified, "{c:?}");
    }
    let checked: Vec<_> = passed.iter().filter_map(|c| c.robust.as_ref()).collect();
    assert_eq!(
        checked.len(),
        passed.len().min(stabcheck::repair::ROBUST_CHECKS)
    );
    for check in checked {
        assert_eq!(check.cases, 4);
        assert!(check.lower_bound <= 0.025f64.powf(0.25) + 1e-9, "{check:?}");
        assert!(!check.passed);
    }
}

#[test]
fn bad_input_exits_2_and_runs_nothing() {
    let dir = TempDir::new().unwrap();
    let (code, _) = fix_cli(&["no-such-scenario"], dir.path());
    assert_eq!(code, Some(2));
    let (code, _) = fix_cli(&["relu-init-3", "--set", "optimizer.lr=-1"], dir.path());
    assert_eq!(code, Some(2));
    let (code, _) = fix_cli(&["relu-init-3", "--max-candidates", "0"], dir.path());
    assert_eq!(code, Some(2));
    assert!(!dir.path().join("fix.json").exists());
}

/// `fix` on a transformer: AdamW at lr 3 spikes and makes no progress; the candidates include
/// the transformer's own ideas (qk-layernorm, z-loss), none is an MLP key refused by validation,
/// and a verified fix (a lower lr) replays from fixed.toml as a pass.
#[test]
fn a_transformer_gets_its_own_candidates_and_a_verified_fix() {
    let base = with("tiny-gpt-fast", &["optimizer.lr=3.0"]);
    let r = run_fix(&base, None, &FixOptions::default()).unwrap();
    assert_eq!(r.original.status, Status::Fail);
    assert_verified_means_passed(&r);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let tried = |set: &str| r.candidates.iter().any(|c| c.set.iter().any(|s| s == set));
    assert!(tried("model.qk_norm=true") && tried("loss.z_loss=1e-4"));
    let best = r.best().expect("a verified fix");
    assert!(
        best.set.iter().any(|s| s.starts_with("optimizer.lr=")),
        "{best:?}"
    );
    let fixed = parse_str(&r.fixed_toml().unwrap().unwrap(), "fixed.toml").unwrap();
    assert!(fixed.transformer().is_some());
    let run = run_recorded(&fixed, None, None).unwrap();
    assert_eq!(run.verdict.status, Status::Pass, "{:?}", run.verdict);
}

/// Regression (issue 22): fixed.toml kept a relative CSV path that resolved against the report
/// folder, so its own replay command failed, and fixed.diff was against the expanded scenario,
/// not the user's file.
#[test]
fn fixed_toml_of_a_csv_scenario_replays_from_the_report_folder_and_diffs_against_the_users_file() {
    let home = TempDir::new().unwrap();
    let rows: String = (0..8)
        .map(|i| format!("{}.5,{},{}\n", i, 7 - i, i % 2))
        .collect();
    std::fs::write(home.path().join("train.csv"), format!("a,b,label\n{rows}")).unwrap();
    let user = "# my csv model\nname = \"csv-run\"\nsteps = 20\n[data]\nkind = \"csv\"\npath = \"train.csv\"\nclasses = 2\nbatch = 4\n[model]\ndepth = 1\nwidth = 4\n[optimizer]\nkind = \"sgd\"\nlr = 1000.0 # far too high\n[gates]\nmax_dead_fraction = 1.0\n";
    let file = home.path().join("csv.toml");
    std::fs::write(&file, user).unwrap();
    let out = TempDir::new().unwrap();
    let (code, stdout) = fix_cli(&[file.to_str().unwrap()], out.path());
    assert_eq!(code, Some(0), "{stdout}");
    let fixed = std::fs::read_to_string(out.path().join("fixed.toml")).unwrap();
    assert!(
        fixed.contains("# my csv model\nname = \"csv-run-fixed\""),
        "{fixed}"
    );
    let csv = std::fs::canonicalize(home.path().join("train.csv")).unwrap();
    assert!(
        fixed.contains(&format!("path = \"{}\"", csv.display())),
        "{fixed}"
    );
    // Replayed from elsewhere, as its header says.
    Command::cargo_bin("stabcheck")
        .unwrap()
        .arg("scenario")
        .arg(out.path().join("fixed.toml"))
        .arg("--no-report")
        .current_dir(out.path())
        .assert()
        .code(0);
    // The diff's old side is the user's file: every context and removed line is one of its lines.
    let diff = std::fs::read_to_string(out.path().join("fixed.diff")).unwrap();
    assert!(
        diff.starts_with(&format!("--- {} (original)\n", file.display())),
        "{diff}"
    );
    let lines: Vec<&str> = user.lines().collect();
    for l in diff
        .lines()
        .skip(2)
        .filter(|l| l.starts_with(' ') || l.starts_with('-'))
    {
        assert!(
            lines.contains(&&l[1..]),
            "`{l}` is not a line of the user's file:\n{diff}"
        );
    }
}
