//! `stabcheck merge`: combine the shard files of one robust or sweep run into the record an
//! unsharded run writes, byte for byte, then render the report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::record::read_json;
use crate::robust::shard::{Merged, ShardRecord, merge};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shard files (shard-K-of-N.json), all N of them.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged record and the report (default: reports/<scenario name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `text` (a summary) or `json` (the merged record's JSON output on stdout).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: &MergeArgs) -> Result<ExitCode> {
    let shards = args
        .shards
        .iter()
        .map(|p| Ok((p.clone(), read_json::<ShardRecord>(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = merge(&shards)?;
    let name = match &merged {
        Merged::Robust(r) => &r.scenario.name,
        Merged::Sweep(s) => &s.scenario.name,
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(name));
    let json = args.format == super::Format::Json;
    match &merged {
        Merged::Robust(r) => super::robust::finish(r, &dir, json),
        Merged::Sweep(s) => super::sweep::finish(s, &dir, args.format),
    }
}
