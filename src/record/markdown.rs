//! The pull-request summary (`stabcheck scenario --summary FILE`): GitHub-flavoured markdown for
//! `$GITHUB_STEP_SUMMARY` or a PR comment, built from the verdict alone.
//!
//! What it holds, in order: the verdict as a heading; the gates that failed or were not judged
//! (a table; one line when all held); the first finding (the cause the verdict groups first, else
//! the first warning) with its evidence and fix as `--set` arguments; the other findings, one
//! line each; where the HTML report is. Every piece of text that comes from a record is escaped,
//! so a finding's summary can never break the table or inject HTML.

use std::fmt::Write as _;

use super::diff::{DiffRecord, Excursion};
use super::text::fmt;
use super::verdict::{Finding, GateStatus, Outcome, Severity, Status, Verdict};

/// What the summary says beside the verdict.
#[derive(Debug, Clone, Copy)]
pub struct SummaryFacts<'a> {
    pub scenario: &'a str,
    pub steps: usize,
    pub initial_loss: f64,
    pub final_loss: f64,
    /// Where index.html was written (`None` with `--no-report`).
    pub report: Option<&'a str>,
    /// The comparison with a baseline (`--baseline`), when made.
    pub diff: Option<&'a DiffRecord>,
}

/// Backslash-escapes every ASCII punctuation character GitHub's markdown could read as syntax
/// (CommonMark allows a backslash before any of them), and turns newlines into spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn headline(v: &Verdict, diff: Option<&DiffRecord>) -> &'static str {
    match (v.status, v.outcome) {
        (Status::Pass, _) if diff.is_some_and(|d| !d.passed) => "❌ FAIL (against the baseline)",
        (Status::Pass, _) => "✅ PASS",
        (Status::Fail, Outcome::Unstable) => "❌ FAIL (unstable)",
        (Status::Fail, Outcome::NoProgress) => "❌ FAIL (no progress)",
        (Status::Fail, Outcome::Stable) if diff.is_some_and(|d| !d.passed) => {
            "❌ FAIL (against the baseline)"
        }
        (Status::Fail, Outcome::Stable) => "❌ FAIL",
    }
}

/// The markdown summary of one run.
pub fn summary_markdown(v: &Verdict, facts: &SummaryFacts) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## stabcheck {}: {}\n",
        escape(facts.scenario),
        headline(v, facts.diff)
    );
    let held = v
        .gates
        .iter()
        .filter(|g| g.status == GateStatus::Pass)
        .count();
    let _ = writeln!(
        out,
        "{held} of {} gates held; {} steps, loss {} → {}.\n",
        v.gates.len(),
        facts.steps,
        escape(&fmt(facts.initial_loss)),
        escape(&fmt(facts.final_loss))
    );
    let bad: Vec<_> = v
        .gates
        .iter()
        .filter(|g| g.status != GateStatus::Pass)
        .collect();
    if !bad.is_empty() {
        out.push_str("| gate | status | measured | limit |\n|---|---|---|---|\n");
        for g in bad {
            let status = match g.status {
                GateStatus::Fail => "failed",
                _ => "not judged",
            };
            let _ = writeln!(
                out,
                "| `{}` | {status} | {} | {} |",
                g.gate,
                escape(&fmt(g.measured)),
                escape(&fmt(g.threshold))
            );
        }
        out.push('\n');
    }
    let first =
        (v.errors().next()).or_else(|| v.findings.iter().find(|f| f.severity == Severity::Warning));
    if let Some(f) = first {
        first_finding(&mut out, f);
    }
    let others: Vec<&Finding> = v
        .findings
        .iter()
        .filter(|f| !first.is_some_and(|x| std::ptr::eq(x, *f)))
        .collect();
    if !others.is_empty() {
        out.push_str("Other findings:\n\n");
        for f in others.iter().take(12) {
            let _ = writeln!(
                out,
                "- `{}` ({}): {}",
                f.kind.name(),
                severity(f),
                escape(&f.summary)
            );
        }
        if others.len() > 12 {
            let _ = writeln!(out, "- and {} more (see the report)", others.len() - 12);
        }
        out.push('\n');
    }
    if let Some(d) = facts.diff {
        diff_section(&mut out, d);
    }
    match facts.report {
        Some(path) => {
            let _ = writeln!(
                out,
                "Report: `{}` (charts and every finding's evidence).",
                path.replace('`', "'")
            );
        }
        None => out.push_str("No report was written (`--no-report`).\n"),
    }
    out
}

fn severity(f: &Finding) -> &'static str {
    match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn first_finding(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "### First finding: `{}` ({})\n",
        f.kind.name(),
        severity(f)
    );
    let _ = writeln!(out, "{}\n", escape(&f.summary));
    if let (Some(gate), Some(t)) = (f.gate, f.threshold) {
        let _ = writeln!(
            out,
            "Gate `{gate}`: measured {}, limit {}.\n",
            escape(&fmt(f.measured)),
            escape(&fmt(t))
        );
    }
    if let Some(s) = &f.suggestion {
        let set: Vec<String> = s.set.iter().map(|a| format!("--set '{a}'")).collect();
        let _ = writeln!(
            out,
            "**Fix:** `{}`: {}\n",
            set.join(" ").replace('`', "'"),
            escape(&s.why)
        );
    }
}

/// "### Against the baseline": the diff's outcome, its first excursion and the others (a table),
/// and the layers only one side has.
fn diff_section(out: &mut String, d: &DiffRecord) {
    let runs = d.baseline_seeds.len();
    out.push_str("### Against the baseline\n\n");
    match &d.first {
        None => {
            let _ = writeln!(
                out,
                "Every statistic stayed inside the noise band of {runs} baseline run(s) (largest excess {} band widths).\n",
                escape(&fmt(d.max_excess))
            );
        }
        Some(first) => {
            let _ = writeln!(
                out,
                "{} statistic(s) left the noise band of {runs} baseline run(s). First: {}.\n",
                d.excursions.len(),
                escape(&excursion_text(first))
            );
            out.push_str(
                "| statistic | layer | steps | head / baseline | excess |\n|---|---|---|---|---|\n",
            );
            for e in d.excursions.iter().take(10) {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {}-{} | {} | {} |",
                    e.stat.name(),
                    escape(e.layer.as_deref().unwrap_or("(loss)")),
                    e.first_steps[0],
                    e.first_steps[1],
                    escape(&fmt(e.ratio)),
                    escape(&fmt(e.excess))
                );
            }
            out.push('\n');
        }
    }
    for (which, layers) in [("head", &d.added_layers), ("baseline", &d.removed_layers)] {
        if !layers.is_empty() {
            let _ = writeln!(
                out,
                "Layers only in the {which}: {}.\n",
                escape(&layers.join(", "))
            );
        }
    }
}

fn excursion_text(e: &Excursion) -> String {
    format!("{}, {}x the baseline", e.headline(), fmt(e.ratio))
}
