//! `stabcheck lr-sensitivity`: final loss against learning rate for a scenario and its variants,
//! and the LR-sensitivity metric of each (Wortsman et al. 2023).

use super::out::{out, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow};

use super::TargetArgs;
use super::progress::progress_bar;
use crate::diagnose::series::fmt;
use crate::record::Record;
use crate::report::{Extras, render_folder};
use crate::robust::lr_sensitivity::{
    DEFAULT_LRS, DEFAULT_POINTS, LrSensitivityRecord, default_variants, log_spaced, run as sweep,
};

#[derive(Debug, clap::Args)]
pub struct LrSensitivityArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The learning rates: LO..HI, log-spaced [default: 3e-4..3e-1, Wortsman et al. 2023's range]
    #[arg(long, value_name = "LO..HI")]
    pub lr: Option<String>,
    /// How many learning rates (7 puts the default range half a decade apart).
    #[arg(long, default_value_t = DEFAULT_POINTS)]
    pub points: usize,
    /// A variant to compare: NAME:KEY=VALUE[;KEY=VALUE...], e.g. `qk:model.qk_norm=true`.
    /// Repeatable; the base scenario is always the first. Default for a transformer: qk-norm, and
    /// qk-norm with z-loss 1e-4 (those it does not already have).
    #[arg(long, value_name = "NAME:KEY=VALUE")]
    pub variant: Vec<String>,
    /// Folder for lr-sensitivity.json and the report (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `text` (a table) or `json` (the record on stdout, nothing else).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

fn parse_range(text: &str) -> Result<(f64, f64)> {
    let bad = || anyhow!("--lr {text}: expected LO..HI with 0 < LO < HI, e.g. 3e-4..3e-1");
    let (lo, hi) = text.split_once("..").ok_or_else(bad)?;
    let (lo, hi): (f64, f64) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    (lo > 0.0 && lo < hi && hi.is_finite())
        .then_some((lo, hi))
        .ok_or_else(bad)
}

fn parse_variant(text: &str) -> Result<(String, Vec<String>)> {
    let bad = || {
        anyhow!(
            "--variant {text}: expected NAME:KEY=VALUE[;KEY=VALUE...], e.g. qk:model.qk_norm=true"
        )
    };
    let (name, sets) = text.split_once(':').ok_or_else(bad)?;
    let sets: Vec<String> = sets.split(';').map(|s| s.trim().to_string()).collect();
    match !name.trim().is_empty() && sets.iter().all(|s| s.contains('=')) {
        true => Ok((name.trim().to_string(), sets)),
        false => Err(bad()),
    }
}

pub fn run(args: &LrSensitivityArgs) -> Result<ExitCode> {
    let (base, base_dir) = args.target.resolve(None)?;
    let (lo, hi) = args.lr.as_deref().map_or(Ok(DEFAULT_LRS), parse_range)?;
    if !(1..=64).contains(&args.points) {
        return Err(anyhow!("--points {}: expected 1 to 64", args.points));
    }
    let variants = match args.variant.is_empty() {
        true => default_variants(&base),
        false => {
            let mut v = vec![("base".to_string(), Vec::new())];
            for text in &args.variant {
                v.push(parse_variant(text)?);
            }
            v
        }
    };
    let lrs = log_spaced(lo, hi, args.points);
    let bar = progress_bar(lrs.len() * variants.len(), "runs");
    let record = sweep(&base, base_dir.as_deref(), &lrs, &variants, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&base.name));
    let path = record.write_in(&dir)?;
    eprintln!("wrote {}", path.display());
    let mut extras = Extras::load(&dir)?;
    extras.lr_sensitivity = Some(record.clone());
    let written = render_folder(super::existing_run(&dir)?.as_ref(), &extras, &dir)?;
    eprintln!("wrote {}", written.index.display());
    match args.format {
        super::Format::Json => outln!("{}", record.to_json()?),
        super::Format::Text => out!("{}", summary(&record)),
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(r: &LrSensitivityRecord) -> String {
    let mut out = format!(
        "{}: final loss (mean of the last tenth of the run) by lr\n",
        r.scenario.name
    );
    out.push_str(&format!("{:<18}", "lr"));
    for v in &r.variants {
        out.push_str(&format!("{:>20}", v.name));
    }
    out.push('\n');
    for (i, lr) in r.lrs.iter().enumerate() {
        out.push_str(&format!("{:<18}", fmt(*lr)));
        for v in &r.variants {
            let run = &v.runs[i];
            let mark = if run.passed { "" } else { " (fail)" };
            out.push_str(&format!("{:>20}", format!("{}{mark}", fmt(run.final_loss))));
        }
        out.push('\n');
    }
    for v in &r.variants {
        let growth = v.logit_growth_lr.map_or("none".to_string(), fmt);
        out.push_str(&format!(
            "{}: LR sensitivity {} (best loss {} at lr {}); attention-logit growth from lr {growth}\n",
            v.name, fmt(v.sensitivity), fmt(v.best_loss), fmt(v.best_lr)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_variants_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_range("3e-4..3e-1").unwrap(), (3e-4, 3e-1));
        assert!(parse_range("0..1").is_err() && parse_range("1..0.1").is_err());
        let v = parse_variant("qk+z:model.qk_norm=true;loss.z_loss=1e-4").unwrap();
        assert_eq!(v.0, "qk+z");
        assert_eq!(v.1, vec!["model.qk_norm=true", "loss.z_loss=1e-4"]);
        let e = parse_variant("model.qk_norm").unwrap_err().to_string();
        assert!(e.contains("NAME:KEY=VALUE"), "{e}");
    }
}
