//! `stabcheck diff`: what a change did to training, measured against the noise of the baseline's seeds.
//!
//! Every statistic (the loss; each layer's weight norm, activation std, gradient norm and update
//! ratio) is averaged in log space over windows of steps (step 0 alone, then [`WINDOWS`] equal
//! windows) and compared with the band the baseline ensemble gives it ([`band`]). Layers are
//! matched by name, so an architecture change compares what both runs have and lists the rest.
//! Reads records only.

pub mod band;

use std::collections::{BTreeMap, BTreeSet};

use band::{Band, STD_FLOOR, half_width, window_mean};

use crate::record::RunRecord;
use crate::record::diff::{DiffRecord, DiffStat, Excursion, Overlay};

/// Windows after step 0.
pub const WINDOWS: usize = 20;

/// The default `max_regression`: a statistic fails when it leaves its band at all.
pub const MAX_REGRESSION: f64 = 1.0;

type Key = (DiffStat, Option<String>);
/// A run's statistics: `(step, value)` pairs in step order, by statistic and layer name.
type Series = BTreeMap<Key, Vec<(usize, f64)>>;

/// A layer's name in records: its state_dict module, or for an MLP `layerL`, the name its
/// weights have in npz files and traces (`layerL.weight`), so a trace and a run match.
pub fn layer_name(record: &RunRecord, l: usize) -> String {
    (record.trace.layer_names.get(l).cloned()).unwrap_or_else(|| format!("layer{l}"))
}

/// `record`'s layer names that `keep` accepts, in the model's order (not name order, which
/// would put `layer10` before `layer2`).
fn in_model_order(record: &RunRecord, keep: impl Fn(&String) -> bool) -> Vec<String> {
    let layers = record.trace.steps.first().map_or(0, |s| s.layers.len());
    (0..layers)
        .map(|l| layer_name(record, l))
        .filter(|n| keep(n))
        .collect()
}

fn series(record: &RunRecord) -> Series {
    let mut out = Series::new();
    for s in &record.trace.steps {
        out.entry((DiffStat::Loss, None))
            .or_default()
            .push((s.step, s.loss));
        for ls in &s.layers {
            let name = layer_name(record, ls.layer);
            for stat in DiffStat::LAYER {
                let v = match stat {
                    DiffStat::WeightNorm => ls.weight_norm,
                    DiffStat::ActivationStd => ls.activation_std,
                    DiffStat::WeightGradNorm => ls.weight_grad_norm,
                    _ => ls.update_ratio,
                };
                let key = (stat, Some(name.clone()));
                out.entry(key).or_default().push((s.step, v));
            }
        }
    }
    out
}

/// `[first, last]` steps of each window over `0..steps`: step 0 alone (the init shows there),
/// then up to [`WINDOWS`] of equal width.
pub fn windows(steps: usize) -> Vec<[usize; 2]> {
    let mut out = vec![[0, 0]];
    let rest = steps.saturating_sub(1);
    let width = rest.div_ceil(WINDOWS).max(1);
    let mut a = 1;
    while a < steps {
        out.push([a, (a + width - 1).min(steps - 1)]);
        a += width;
    }
    out
}

/// The log-mean of `s` over the steps of `w`; `None` when it has no step there, and
/// `Some(None)` when one is non-finite.
fn in_window(s: &[(usize, f64)], w: [usize; 2]) -> Option<Option<f64>> {
    let mut values = s
        .iter()
        .filter(|(t, _)| (w[0]..=w[1]).contains(t))
        .peekable();
    values.peek()?;
    Some(window_mean(values.map(|&(_, v)| v)))
}

/// The band of window `w` from the baseline runs finite there; `None` without any.
fn band_at(base: &[&Vec<(usize, f64)>], w: [usize; 2], floor: f64) -> Option<Band> {
    let values: Vec<f64> = base
        .iter()
        .filter_map(|s| in_window(s, w).flatten())
        .collect();
    Band::of(&values, floor)
}

fn last_step(record: &RunRecord) -> usize {
    record.trace.steps.last().map_or(0, |s| s.step)
}

/// Compares `head` with the `base` ensemble (at least one run); see the module header.
pub fn diff(base: &[RunRecord], head: &RunRecord, max_regression: f64) -> DiffRecord {
    let bases: Vec<Series> = base.iter().map(series).collect();
    let head_series = series(head);
    let steps = (base.iter().map(last_step).min().unwrap_or(0)).min(last_step(head)) + 1;
    let windows = windows(steps);
    let names = |s: &Series| -> BTreeSet<String> { s.keys().filter_map(|k| k.1.clone()).collect() };
    let base_names = bases.first().map(names).unwrap_or_default();
    let head_names = names(&head_series);
    let keys: Vec<&Key> = (head_series.keys())
        .filter(|k| bases.iter().all(|b| b.contains_key(*k)))
        .collect();
    let (width, floor) = match half_width(base.len(), keys.len() * windows.len()) {
        Some(w) => (w, STD_FLOOR),
        None => (1.0, std::f64::consts::LN_2),
    };
    let mut max_excess = 0.0f64;
    let mut excursions: Vec<(usize, Excursion)> = Vec::new();
    for key in &keys {
        let head_s = &head_series[*key];
        let base_s: Vec<&Vec<(usize, f64)>> = bases.iter().map(|b| &b[*key]).collect();
        let (out, widest) = excursion(
            key,
            head_s,
            &base_s,
            &windows,
            (width, floor, max_regression),
        );
        max_excess = max_excess.max(widest);
        excursions.extend(out);
    }
    excursions.sort_by(|a, b| (a.0.cmp(&b.0)).then(b.1.excess.abs().total_cmp(&a.1.excess.abs())));
    let excursions: Vec<Excursion> = excursions.into_iter().map(|(_, e)| e).collect();
    let loss: Key = (DiffStat::Loss, None);
    let shown = std::iter::once(&loss).chain(keys.iter().copied().filter(|k| {
        **k != loss
            && excursions
                .iter()
                .take(3)
                .any(|e| (e.stat, &e.layer) == (k.0, &k.1))
    }));
    let overlays = shown
        .filter(|k| head_series.contains_key(*k) && bases.iter().all(|b| b.contains_key(*k)))
        .map(|key| {
            let base_s: Vec<&Vec<(usize, f64)>> = bases.iter().map(|b| &b[key]).collect();
            overlay(
                key,
                &head_series[key],
                &base_s,
                &windows,
                (width, floor, max_regression),
            )
        })
        .collect();
    DiffRecord {
        schema: crate::record::SCHEMA,
        baseline_seeds: base.iter().map(|r| r.scenario.seed).collect(),
        head_seed: head.scenario.seed,
        max_regression,
        max_excess,
        half_width: width,
        std_floor: floor,
        windows,
        added_layers: in_model_order(head, |n| !base_names.contains(n)),
        removed_layers: base
            .first()
            .map_or_else(Vec::new, |b| in_model_order(b, |n| !head_names.contains(n))),
        first: excursions.first().cloned(),
        passed: excursions.is_empty(),
        excursions,
        overlays,
    }
}

/// `key`'s band edges, mean and head per window, in the statistic's units.
fn overlay(
    key: &Key,
    head: &[(usize, f64)],
    base: &[&Vec<(usize, f64)>],
    windows: &[[usize; 2]],
    (width, floor, max_regression): (f64, f64, f64),
) -> Overlay {
    let mut o = Overlay {
        stat: key.0,
        layer: key.1.clone(),
        steps: Vec::new(),
        mean: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
        head: Vec::new(),
    };
    for &w in windows {
        let band = band_at(base, w, floor);
        let reach = band.map_or(f64::NAN, |b| max_regression * width * b.std);
        let mean = band.map_or(f64::NAN, |b| b.mean);
        o.steps.push((w[0] + w[1]) as f64 / 2.0);
        o.mean.push(mean.exp());
        o.lo.push((mean - reach).exp());
        o.hi.push((mean + reach).exp());
        o.head
            .push(in_window(head, w).flatten().map_or(f64::NAN, f64::exp));
    }
    o
}

/// The first window where `key` leaves its band by more than `max_regression` (with that
/// window's index; `None` when it stays inside), and its largest `|excess|` in any window.
fn excursion(
    key: &Key,
    head: &[(usize, f64)],
    base: &[&Vec<(usize, f64)>],
    windows: &[[usize; 2]],
    (width, floor, max_regression): (f64, f64, f64),
) -> (Option<(usize, Excursion)>, f64) {
    let mut first: Option<(usize, f64, f64)> = None;
    let mut max_excess = 0.0f64;
    for (i, &w) in windows.iter().enumerate() {
        let Some(h) = in_window(head, w) else {
            continue;
        };
        let Some(band) = band_at(base, w, floor) else {
            continue;
        };
        let excess = band.z(h) / width;
        max_excess = max_excess.max(excess.abs());
        if first.is_none() && excess.abs() > max_regression {
            let ratio = h.map_or(f64::NAN, |h| (h - band.mean).exp());
            first = Some((i, excess, ratio));
        }
    }
    let out = first.map(|(i, excess, ratio)| {
        let e = Excursion {
            stat: key.0,
            layer: key.1.clone(),
            first_steps: windows[i],
            excess,
            ratio,
            max_excess,
        };
        (i, e)
    });
    (out, max_excess)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_put_step_0_alone_and_cover_every_step_once() {
        assert_eq!(windows(1), vec![[0, 0]]);
        assert_eq!(windows(4), vec![[0, 0], [1, 1], [2, 2], [3, 3]]);
        let w = windows(301);
        assert_eq!(w.len(), 21);
        assert_eq!((w[1], w[20]), ([1, 15], [286, 300]));
        let w = windows(300);
        assert_eq!(w.last(), Some(&[286, 299]));
        for pair in w.windows(2) {
            assert_eq!(pair[1][0], pair[0][1] + 1);
        }
    }
}
