//! `diff.json`: a head run compared with a baseline's noise bands, statistic by statistic.
//!
//! The definitions (bands, windows, the regression measure) are in `crate::diff` and
//! docs/diff.md; this is only what is written.

use serde::{Deserialize, Serialize};

/// A statistic compared between runs: the loss, or one of a layer's per-step statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffStat {
    Loss,
    WeightGradNorm,
    UpdateRatio,
    WeightNorm,
    ActivationStd,
}

impl DiffStat {
    /// Every per-layer statistic, in the order excursions are listed.
    pub const LAYER: [DiffStat; 4] = [
        DiffStat::WeightNorm,
        DiffStat::ActivationStd,
        DiffStat::WeightGradNorm,
        DiffStat::UpdateRatio,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DiffStat::Loss => "loss",
            DiffStat::WeightGradNorm => "weight_grad_norm",
            DiffStat::UpdateRatio => "update_ratio",
            DiffStat::WeightNorm => "weight_norm",
            DiffStat::ActivationStd => "activation_std",
        }
    }
}

/// One statistic of one layer (`None`: the loss) that left the band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excursion {
    pub stat: DiffStat,
    /// The layer's name (`layer 3` for an MLP, the state_dict module for a transformer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// First and last step of the first window where `|excess| > max_regression`.
    pub first_steps: [usize; 2],
    /// How far outside in that window, in band half-widths, signed: `(log head − band mean) /
    /// (band std · half_width)`; 1 is the band's edge, +inf a non-finite head value.
    #[serde(with = "crate::record::nonfinite")]
    pub excess: f64,
    /// `head / baseline` there, as a factor: exp(log head − band mean) (NaN when non-finite).
    #[serde(with = "crate::record::nonfinite")]
    pub ratio: f64,
    /// The largest `|excess|` over every window.
    #[serde(with = "crate::record::nonfinite")]
    pub max_excess: f64,
}

/// One statistic's band and head, window by window, for the report's overlay chart; values in
/// the statistic's own units (the exp of the log-space window means), NaN where a window has no
/// band or a non-finite head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlay {
    pub stat: DiffStat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Each window's middle step.
    pub steps: Vec<f64>,
    #[serde(with = "crate::record::nonfinite::vec")]
    pub mean: Vec<f64>,
    /// The band's edges: mean · exp(∓ max_regression · half_width · std).
    #[serde(with = "crate::record::nonfinite::vec")]
    pub lo: Vec<f64>,
    #[serde(with = "crate::record::nonfinite::vec")]
    pub hi: Vec<f64>,
    #[serde(with = "crate::record::nonfinite::vec")]
    pub head: Vec<f64>,
}

impl Excursion {
    /// "layer 3 weight_norm at steps 0-0": what left its band, and where first.
    pub fn headline(&self) -> String {
        let layer = self
            .layer
            .as_deref()
            .map_or(String::new(), |l| format!("{l} "));
        let [a, b] = self.first_steps;
        format!("{layer}{} at steps {a}-{b}", self.stat.name())
    }
}

/// The comparison of one head run with a baseline ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRecord {
    pub schema: u32,
    /// Baseline runs, and their seeds.
    pub baseline_seeds: Vec<u64>,
    pub head_seed: u64,
    /// `|excess|` beyond which a statistic fails the `max_regression` gate (1: the band's edge).
    pub max_regression: f64,
    /// The largest `|excess|` of any statistic in any window: how near the gate the head came.
    #[serde(with = "crate::record::nonfinite")]
    pub max_excess: f64,
    /// The band's half-width in std units (the Bonferroni t quantile; 1 below three baseline runs,
    /// whose band is a factor of 2), and the smallest std used, in natural-log units.
    pub half_width: f64,
    pub std_floor: f64,
    /// Window edges: `[first, last]` step of each window compared.
    pub windows: Vec<[usize; 2]>,
    /// Layers of the head that the baseline lacks, and the reverse (matched by name).
    pub added_layers: Vec<String>,
    pub removed_layers: Vec<String>,
    /// Every statistic that left the band, earliest window first, then by `|excess|`.
    pub excursions: Vec<Excursion>,
    /// The first excursion: in the earliest window, the largest `|excess|` (what moved most, in
    /// noise units, where the runs first part).
    pub first: Option<Excursion>,
    /// Whether the `max_regression` gate holds (no excursion).
    pub passed: bool,
    /// Band and head of the loss and of the first three statistics that left their band.
    #[serde(default)]
    pub overlays: Vec<Overlay>,
}

impl super::Record for DiffRecord {
    fn file_name(&self) -> String {
        super::DIFF_FILE.to_string()
    }
}
