//! `stabcheck scenario X --precision-check`: the f32 reference and the 16-bit policies side by
//! side; exits 1 when the scenario's own policy (or, for an f32 scenario, the reference) fails
//! a gate.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::out::{out, outln};
use super::progress::progress_bar;
use crate::diagnose::Status;
use crate::record::Record;
use crate::record::precision_check::{PolicyRun, PrecisionCheckRecord};
use crate::record::text::fmt;
use crate::run::precision_check::{POLICIES, run as check};
use crate::scenario::Scenario;

pub fn run(
    s: &Scenario,
    base_dir: Option<&Path>,
    dir: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    let bar = progress_bar(POLICIES.len() + 1, "runs");
    let record = check(s, base_dir, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(dir) = dir {
        eprintln!("wrote {}", record.write_in(dir)?.display());
    }
    match format {
        Format::Json => outln!("{}", record.to_json()?),
        Format::Text => out!("{}", summary(&record)),
    }
    let own = (record.policies.iter()).find(|p| p.precision == s.precision);
    let judged = own.unwrap_or(&record.reference);
    Ok(match judged.status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
    })
}

fn kebab<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn line(r: &PolicyRun) -> String {
    let verdict = match r.status {
        Status::Pass => "PASS".to_string(),
        Status::Fail => {
            let errors: Vec<&str> = r.errors.iter().map(|k| k.name()).collect();
            format!("FAIL ({})", errors.join(", "))
        }
    };
    let mut out = format!("{:<11} {verdict}\n", kebab(&r.precision));
    out.push_str(&format!("            final loss {}", fmt(r.final_loss)));
    if r.precision != crate::scenario::Precision::F32 {
        out.push_str(&format!(" (minus f32's: {})", fmt(r.loss_gap)));
        match &r.departure {
            Some(d) => out.push_str(&format!(
                "; parts from f32 at step {}, layer {}: {} {} against {}",
                d.step,
                d.layer,
                d.statistic.name(),
                fmt(d.value),
                fmt(d.reference)
            )),
            None => out.push_str("; never parts from f32 (no statistic off by 2x)"),
        }
    }
    out.push('\n');
    let overflow: Vec<String> = (r.layers.iter())
        .filter(|l| l.overflow > 0)
        .map(|l| format!("layer {} {}", l.layer, l.overflow))
        .collect();
    let worst = r
        .layers
        .iter()
        .max_by(|a, b| a.flushed_fraction.total_cmp(&b.flushed_fraction));
    if !r.layers.is_empty() {
        out.push_str(&format!(
            "            overflow: {}; flushed gradients: worst layer {}",
            if overflow.is_empty() {
                "none".to_string()
            } else {
                overflow.join(", ")
            },
            worst.map_or("-".to_string(), |w| format!(
                "{} {}%",
                w.layer,
                fmt(100.0 * w.flushed_fraction)
            ))
        ));
        if r.skipped_steps > 0 {
            out.push_str(&format!("; {} skipped steps", r.skipped_steps));
        }
        out.push('\n');
    }
    out
}

fn summary(r: &PrecisionCheckRecord) -> String {
    let mut out = format!(
        "{}: the f32 reference and the 16-bit policies (a statistic off by 2x from f32's parts a run)\n",
        r.scenario.name
    );
    out.push_str(&line(&r.reference));
    for p in &r.policies {
        out.push_str(&line(p));
    }
    out
}
