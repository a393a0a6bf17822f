//! The human summary printed by `stabcheck scenario`: the headline, a per-step table, the final
//! numbers, the verdict with its findings and fixes, and the gate table.
//!
//! Text goes through `anstream`, which strips the colours when stdout is not a terminal (CI logs,
//! pipes, snapshot tests see plain text).

use super::out::outln;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::diagnose::series::fmt;
use crate::diagnose::{Finding, FindingKind, GateStatus, Severity, Status, Verdict};
use crate::probe::nan_origin::CheckedOrigin;
use crate::run::RunSummary;
use crate::scenario::{ModelConfig, Scenario, TransformerConfig};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const INFO: Style = AnsiColor::Cyan.on_default();
const PASS: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

/// Warns when the NaN-origin replay did not reproduce the run bit for bit.
pub(crate) fn print_replay_warning(origin: &CheckedOrigin) {
    if let Some(d) = &origin.replay_divergence {
        outln!(
            "{WARNING}warning{WARNING:#}: the replay did not reproduce step {} bit for bit (loss {} vs {}); the origin describes the replay",
            d.step,
            num(d.original_loss),
            num(d.replayed_loss)
        );
    }
}

pub(crate) fn headline(s: &Scenario) -> String {
    let m = match &s.model {
        ModelConfig::Mlp(m) => m,
        ModelConfig::Transformer(t) => return transformer_headline(s, t),
    };
    let shape = match m.hidden.first() {
        Some(&w) if m.hidden.iter().all(|&x| x == w) => {
            format!("{} hidden layers of {w}", m.hidden.len())
        }
        Some(_) => format!("hidden {:?}", m.hidden),
        None => "linear model".to_string(),
    };
    format!(
        "{}: {shape}, {}, {} init (scale {}), {} lr {}, {}, {} steps, seed {}",
        s.name,
        kebab(&m.activation),
        kebab(&m.init),
        m.init_scale,
        kebab(&s.optimizer.kind),
        s.optimizer.lr,
        kebab(&s.precision),
        s.steps,
        s.seed
    )
}

fn transformer_headline(s: &Scenario, t: &TransformerConfig) -> String {
    let qk = if t.qk_norm { ", qk-norm" } else { "" };
    format!(
        "{}: transformer, {} {}-LN blocks of d_model {} ({} heads{qk}), {} MLP x{}, {} {} lr {}, {}, {} steps, seed {}",
        s.name,
        t.blocks,
        kebab(&t.norm_position),
        t.d_model,
        t.heads,
        kebab(&t.mlp_activation),
        t.mlp_ratio,
        kebab(&t.norm),
        kebab(&s.optimizer.kind),
        s.optimizer.lr,
        kebab(&s.precision),
        s.steps,
        s.seed
    )
}

/// The kebab-case name serde gives a config enum.
pub(crate) fn kebab<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) fn print_steps(summary: &RunSummary, every: usize) {
    outln!(
        "{:>6}  {:>12}  {:>12}  {:>10}",
        "step",
        "loss",
        "grad-norm",
        "lr"
    );
    let last = summary.steps.len().saturating_sub(1);
    for s in summary
        .steps
        .iter()
        .filter(|s| s.step % every == 0 || s.step == last)
    {
        outln!(
            "{:>6}  {:>12}  {:>12}  {:>10}",
            s.step,
            num(s.loss),
            num(s.grad_norm),
            num(s.lr)
        );
    }
}

pub(crate) fn print_final(summary: &RunSummary) {
    let (Some(first), Some(last)) = (summary.steps.first(), summary.steps.last()) else {
        return;
    };
    outln!(
        "final: loss {} (initial {}, ratio {}), grad norm {}; {} parameters, checksum {:016x}",
        num(last.loss),
        num(first.loss),
        num(last.loss / first.loss),
        num(last.grad_norm),
        summary.n_params,
        summary.param_checksum
    );
}

/// Four significant digits (as snapshot tests round); non-finite values spelled as in run.json (`NaN`, `inf`, `-inf`).
pub(crate) fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:.3e}")
    }
}

/// The verdict line, every finding (errors first) with its gate and fix, then the gate table.
pub(crate) fn verdict_text(v: &Verdict) -> String {
    let mut out = String::new();
    let outcome = kebab(&v.outcome);
    let word = match v.status {
        Status::Pass => format!("{PASS}PASS{PASS:#}"),
        Status::Fail => format!("{ERROR}FAIL{ERROR:#}"),
    };
    let _ = writeln!(out, "verdict: {word} ({outcome}): {}", v.gate_summary());
    for f in &v.findings {
        finding_text(&mut out, f);
    }
    let _ = writeln!(out, "gates:");
    for g in &v.gates {
        let mark = match g.status {
            GateStatus::Pass => format!("{DIM}pass{DIM:#}"),
            GateStatus::Fail => format!("{ERROR}FAIL{ERROR:#}"),
            GateStatus::NotJudged => format!("{WARNING}n/j {WARNING:#}"),
        };
        let _ = write!(
            out,
            "  {mark}  {:<24} {:>10}  limit {}",
            g.gate.key(),
            fmt(g.measured),
            fmt(g.threshold)
        );
        match &g.reason {
            Some(reason) => {
                let _ = writeln!(out, "  (not judged: {reason})");
            }
            None => out.push('\n'),
        }
    }
    out
}

fn finding_text(out: &mut String, f: &Finding) {
    let (style, label) = match f.severity {
        Severity::Error => (ERROR, "error"),
        Severity::Warning => (WARNING, "warning"),
        Severity::Info => (INFO, "info"),
    };
    let _ = writeln!(
        out,
        "  {style}{label:<7}{style:#}  {}: {}",
        f.kind.name(),
        f.summary
    );
    if let Some(cause) = f.consequence_of {
        let _ = writeln!(
            out,
            "           consequence of the {} above (fix that first)",
            cause.name()
        );
    }
    if let (Some(gate), Some(t)) = (&f.gate, f.threshold) {
        if f.kind == FindingKind::RootCause {
            let _ = writeln!(out, "           explains the failed gate {gate}");
        } else if f.severity == Severity::Error {
            let _ = writeln!(
                out,
                "           gate {gate}: measured {}, limit {}",
                fmt(f.measured),
                fmt(t)
            );
        }
    }
    if !f.explanation.is_empty() {
        let _ = writeln!(out, "           why: {}", f.explanation);
    }
    if let Some(s) = &f.suggestion {
        let set: Vec<String> = s.set.iter().map(|a| format!("--set '{a}'")).collect();
        let _ = writeln!(out, "           fix: {} ({})", set.join(" "), s.why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_spell_non_finite_values_like_run_json() {
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
        assert_eq!(num(1234.5), "1.234e3");
    }
}
