//! What a repaired scenario changes from the original, key by key, and how big the change is.
//!
//! Both scenarios are written in file shape (every key explicit) and compared leaf by leaf, so
//! a change is counted in the keys it actually moves, whatever `--set` arguments produced it.
//! Size of one changed key: `|ln(new / old)|` when both values are positive numbers (lr ×0.3
//! costs 1.20, ×0.1 costs 2.30), otherwise [`CATEGORICAL_SIZE`] = ln 10 = 2.30 (a choice, a
//! flag, a sign change or a zero crossing counts as much as a tenfold change of a number).

use toml::{Table, Value};

use crate::robust::Change;
use crate::scenario::{Scenario, ScenarioFile};

/// Size of a change that is not a ratio of positive numbers: as much as a tenfold change.
pub const CATEGORICAL_SIZE: f64 = std::f64::consts::LN_10;

/// Keys that name a scenario rather than configure its run: never counted as changes.
const IDENTITY_KEYS: [&str; 2] = ["name", "description"];

/// The keys `fixed` changes from `base`, sorted by dotted key (values written as TOML).
pub fn changes(base: &Scenario, fixed: &Scenario) -> Vec<Change> {
    let (a, b) = (leaves(base), leaves(fixed));
    let mut out = Vec::new();
    for (key, value) in &b {
        let old = a.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if old != Some(value) && !IDENTITY_KEYS.contains(&key.as_str()) {
            out.push(Change {
                key: key.clone(),
                base: old.map_or_else(|| "(unset)".to_string(), Value::to_string),
                value: value.to_string(),
            });
        }
    }
    for (key, value) in &a {
        if !b.iter().any(|(k, _)| k == key) {
            out.push(Change {
                key: key.clone(),
                base: value.to_string(),
                value: "(unset)".to_string(),
            });
        }
    }
    out.sort_by(|x, y| x.key.cmp(&y.key));
    out
}

/// The summed size of `changes` (see the module comment), rounded to 1e-9 so that sizes equal
/// on paper compare equal (lr ×0.1 costs exactly as much as a categorical change).
pub fn change_size(changes: &[Change]) -> f64 {
    let size: f64 = changes.iter().map(one_size).sum();
    (size * 1e9).round() / 1e9
}

fn one_size(c: &Change) -> f64 {
    let number = |text: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    match (number(&c.base), number(&c.value)) {
        (Some(old), Some(new)) => (new / old).ln().abs(),
        _ => CATEGORICAL_SIZE,
    }
}

/// Every leaf of the scenario's file shape as `(dotted key, value)`; arrays are leaves.
fn leaves(s: &Scenario) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Ok(table) = Table::try_from(ScenarioFile::from(s)) {
        walk("", &table, &mut out);
    }
    out
}

fn walk(prefix: &str, table: &Table, out: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => walk(&dotted, inner, out),
            other => out.push((dotted, other.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Overrides, SetOverride, apply_overrides, resolve};

    fn with(s: &Scenario, sets: &[&str]) -> Scenario {
        let set = sets
            .iter()
            .map(|a| SetOverride::parse(a).unwrap())
            .collect();
        let overrides = Overrides {
            set,
            ..Overrides::default()
        };
        apply_overrides(s, &overrides).unwrap()
    }

    #[test]
    fn changes_are_counted_per_key_moved_with_log_ratio_sizes() {
        let base = resolve("sgd-lr-1").unwrap(); // lr 1.0, clip none, relu
        let fixed = with(&base, &["optimizer.lr=0.1", "clip.kind=\"norm\""]);
        let c = changes(&base, &fixed);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["clip.kind", "optimizer.lr"]);
        assert_eq!((c[1].base.as_str(), c[1].value.as_str()), ("1.0", "0.1"));
        // |ln 0.1| = ln 10, plus ln 10 for the categorical change: equal after rounding.
        let one = change_size(&c[..1]);
        assert_eq!(one, change_size(&c[1..]));
        assert!((change_size(&c) - 2.0 * 10f64.ln()).abs() < 1e-9);
    }

    #[test]
    fn setting_a_key_to_its_current_value_or_renaming_is_no_change() {
        let base = resolve("deep-mlp").unwrap(); // he-normal at scale 1 already
        let mut fixed = with(&base, &["model.init=\"he-normal\"", "model.init_scale=1.0"]);
        fixed.name = "deep-mlp-fixed".into();
        assert!(changes(&base, &fixed).is_empty());
    }

    #[test]
    fn zero_crossings_and_emptied_arrays_cost_a_tenfold_change() {
        let base = resolve("layer-lr-100x").unwrap();
        let fixed = with(&base, &["optimizer.groups=[]", "model.bias_init=-1.0"]);
        let c = changes(&base, &fixed);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["model.bias_init", "optimizer.groups"]);
        assert_eq!(c[1].value, "(unset)");
        assert!((change_size(&c) - 2.0 * 10f64.ln()).abs() < 1e-9);
    }
}
