//! Extra report sections, rendered from the records other commands leave next to run.json
//! (`robust.json`, `sweep.json`, ...): a new section is one function from its record to a
//! [`Section`] plus one line in [`Extras::sections`].

use std::path::Path;

use super::Chart;
use crate::error::Error;
use crate::record::RunRecord;
use crate::record::diff::DiffRecord;
use crate::record::fix::FixRecord;
use crate::record::lr_sensitivity::LrSensitivityRecord;
use crate::record::read_json;
use crate::record::robust::RobustRecord;
use crate::record::sweep::SweepRecord;
use crate::scenario::Scenario;

/// One section of the page: a heading, its HTML body and the charts it shows (written as SVG
/// files beside index.html and inlined in the body by the page).
#[derive(Debug, Clone)]
pub struct Section {
    /// Anchor id, e.g. `robustness`.
    pub id: &'static str,
    pub title: String,
    /// The section's HTML, without the `<section>`/`<h2>` wrapper; charts are appended after it.
    pub html: String,
    pub charts: Vec<Chart>,
}

/// The records found next to run.json that add sections to the page.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub robust: Option<RobustRecord>,
    pub sweep: Option<SweepRecord>,
    pub fix: Option<FixRecord>,
    pub lr_sensitivity: Option<LrSensitivityRecord>,
    /// `diff.json` from `scenario --baseline` or `stabcheck diff`.
    pub diff: Option<DiffRecord>,
    /// A second run drawn over this one (`stabcheck report --compare`), with its label.
    pub compare: Option<(String, RunRecord)>,
}

pub use crate::record::{DIFF_FILE, FIX_FILE, LR_SENSITIVITY_FILE, ROBUST_FILE, SWEEP_FILE};

impl Extras {
    /// Reads every known record present in `dir`; a file that is there but unreadable is an
    /// error naming it (never silently left out of the page).
    pub fn load(dir: &Path) -> Result<Self, Error> {
        Ok(Extras {
            robust: read_if_present(&dir.join(ROBUST_FILE))?,
            sweep: read_if_present(&dir.join(SWEEP_FILE))?,
            fix: read_if_present(&dir.join(FIX_FILE))?,
            lr_sensitivity: read_if_present(&dir.join(LR_SENSITIVITY_FILE))?,
            diff: read_if_present(&dir.join(DIFF_FILE))?,
            compare: None,
        })
    }

    /// Every section, in page order.
    pub fn sections(&self) -> Result<Vec<Section>, Error> {
        let mut out = Vec::new();
        if let Some(d) = &self.diff {
            out.push(super::diff_section::diff(d)?);
        }
        if let Some(r) = &self.robust {
            out.push(super::robust_section::robust(r)?);
        }
        if let Some(s) = &self.sweep {
            out.push(super::robust_section::sweep(s)?);
        }
        if let Some(f) = &self.fix {
            out.push(super::fix_section::fixes(f)?);
        }
        if let Some(l) = &self.lr_sensitivity {
            out.push(super::lr_section::lr_sensitivity(l)?);
        }
        Ok(out)
    }

    /// The scenario of the first record present (names a page that has no run.json).
    pub fn scenario(&self) -> Option<&Scenario> {
        self.robust
            .as_ref()
            .map(|r| &r.scenario)
            .or(self.sweep.as_ref().map(|s| &s.scenario))
            .or(self.fix.as_ref().map(|f| &f.scenario))
            .or(self.lr_sensitivity.as_ref().map(|l| &l.scenario))
    }

    pub fn is_empty(&self) -> bool {
        self.robust.is_none()
            && self.sweep.is_none()
            && self.fix.is_none()
            && self.lr_sensitivity.is_none()
    }
}

fn read_if_present<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    if path.is_file() {
        read_json(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Which record a file holds, told by its top-level keys (every record is a JSON object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Run,
    Robust,
    Sweep,
    Fix,
    LrSensitivity,
}

/// Reads `path`'s top-level keys and says which record it is; a shard or an unknown object is an
/// error that says what to do.
pub fn kind_of(path: &Path) -> Result<RecordKind, Error> {
    #[derive(serde::Deserialize)]
    struct Keys {
        trace: Option<serde::de::IgnoredAny>,
        cases: Option<serde::de::IgnoredAny>,
        cells: Option<serde::de::IgnoredAny>,
        ranking: Option<serde::de::IgnoredAny>,
        shard: Option<serde::de::IgnoredAny>,
        variants: Option<serde::de::IgnoredAny>,
    }
    let bytes = crate::record::read::read_capped(path)?;
    let bad = |message: String| Error::Record {
        path: Some(path.to_path_buf()),
        message,
    };
    let keys: Keys =
        serde_json::from_slice(&bytes).map_err(|e| bad(crate::record::read::located(&e, None)))?;
    match keys {
        Keys { shard: Some(_), .. } => Err(bad(
            "is one shard of a run: combine all shards with `stabcheck merge shard-*.json` first"
                .into(),
        )),
        Keys { trace: Some(_), .. } => Ok(RecordKind::Run),
        Keys { cells: Some(_), .. } => Ok(RecordKind::Sweep),
        Keys { cases: Some(_), .. } => Ok(RecordKind::Robust),
        Keys {
            ranking: Some(_), ..
        } => Ok(RecordKind::Fix),
        Keys {
            variants: Some(_), ..
        } => Ok(RecordKind::LrSensitivity),
        _ => Err(bad(
            "is not a stabcheck record (run.json, robust.json, sweep.json, fix.json or \
             lr-sensitivity.json)"
                .into(),
        )),
    }
}
