//! One axis of a stability-map sweep: a scenario key, a range and how it is spaced.
//!
//! `KEY=LO..HI` is log-spaced when both ends are positive and span at least a factor of 10, and
//! linear otherwise; a `:log` or `:lin` suffix says so explicitly. A key whose value in the base
//! scenario is an integer (`data.batch`, `model.depth`, ...) takes rounded values.

pub use crate::record::sweep::Axis;
use crate::scenario::{Scenario, ScenarioFile};

/// Why an axis specification was refused (a usage error: exit 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{flag} {spec}: {reason}")]
pub struct AxisError {
    pub flag: String,
    pub spec: String,
    pub reason: String,
}

const SYNTAX: &str = "expected KEY=LO..HI (optionally :log or :lin), e.g. optimizer.lr=1e-4..10";

impl Axis {
    /// Parses `KEY=LO..HI[:log|:lin]` for `points` grid points, reading the key's type from `base`.
    pub fn parse(
        flag: &str,
        spec: &str,
        points: usize,
        base: &Scenario,
    ) -> Result<Axis, AxisError> {
        let fail = |reason: String| AxisError {
            flag: flag.to_string(),
            spec: spec.to_string(),
            reason,
        };
        let (key, range) = spec.split_once('=').ok_or_else(|| fail(SYNTAX.into()))?;
        let (range, spacing) = match range.rsplit_once(':') {
            Some((r, "log")) => (r, Some(true)),
            Some((r, "lin")) => (r, Some(false)),
            Some(_) => return Err(fail(SYNTAX.into())),
            None => (range, None),
        };
        let (lo, hi) = range.split_once("..").ok_or_else(|| fail(SYNTAX.into()))?;
        let number = |t: &str| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| fail(format!("`{t}` is not a finite number; {SYNTAX}")))
        };
        let (lo, hi) = (number(lo)?, number(hi)?);
        if lo >= hi {
            return Err(fail(format!("the range must rise: {lo} is not below {hi}")));
        }
        let positive = lo > 0.0;
        let log = spacing.unwrap_or(positive && hi / lo >= 10.0);
        if log && !positive {
            return Err(fail("a log-spaced range needs LO > 0".into()));
        }
        let integer = match key_type(base, key.trim()) {
            KeyType::Integer => true,
            KeyType::Float | KeyType::Absent => false,
            KeyType::Other(found) => {
                return Err(fail(format!(
                    "`{}` is a {found} in the scenario; a sweep axis needs a numeric key",
                    key.trim()
                )));
            }
        };
        if points < 1 {
            return Err(fail("the grid needs at least one point per axis".into()));
        }
        Ok(Axis {
            key: key.trim().to_string(),
            lo,
            hi,
            log,
            integer,
            points,
        })
    }
}

enum KeyType {
    Integer,
    Float,
    Absent,
    Other(&'static str),
}

fn key_type(base: &Scenario, key: &str) -> KeyType {
    let Ok(mut value) = toml::Value::try_from(ScenarioFile::from(base)) else {
        return KeyType::Absent;
    };
    for part in key.split('.') {
        match value.get(part) {
            Some(v) => value = v.clone(),
            // Left out of the file form (a default, or a key of the other model kind).
            None => return of_schema(key),
        }
    }
    match value {
        toml::Value::Integer(_) => KeyType::Integer,
        toml::Value::Float(_) => KeyType::Float,
        toml::Value::String(_) => KeyType::Other("string"),
        toml::Value::Boolean(_) => KeyType::Other("boolean"),
        toml::Value::Array(_) => KeyType::Other("list"),
        _ => KeyType::Other("table"),
    }
}

fn of_schema(key: &str) -> KeyType {
    match crate::scenario::key_type(key).as_deref() {
        Some("integer") => KeyType::Integer,
        Some("number") | None => KeyType::Float,
        Some("string") => KeyType::Other("string"),
        Some("boolean") => KeyType::Other("boolean"),
        Some("array") => KeyType::Other("list"),
        Some(_) => KeyType::Other("table"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        crate::scenario::resolve("deep-mlp").unwrap()
    }

    #[test]
    fn a_wide_positive_range_is_log_spaced_and_hits_both_ends() {
        let a = Axis::parse("--x", "optimizer.lr=1e-4..10", 6, &base()).unwrap();
        assert!(a.log && !a.integer);
        let v = a.values();
        let expected = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
        for (got, want) in v.iter().zip(expected) {
            assert!((got / want - 1.0).abs() < 1e-12, "{v:?}");
        }
    }

    #[test]
    fn a_narrow_range_is_linear_and_integer_keys_round() {
        let a = Axis::parse("--x", "data.batch=16..64", 4, &base()).unwrap();
        assert!(!a.log && a.integer);
        assert_eq!(a.values(), [16.0, 32.0, 48.0, 64.0]);
        assert_eq!(a.set_arg(32.0), "data.batch=32");
        let l = Axis::parse("--y", "model.init_scale=0.5..4:lin", 3, &base()).unwrap();
        assert_eq!(l.values(), [0.5, 2.25, 4.0]);
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        let b = base();
        for (spec, needle) in [
            ("optimizer.lr", "expected KEY=LO..HI"),
            ("optimizer.lr=1..0.1", "must rise"),
            ("optimizer.lr=-1..1:log", "LO > 0"),
            ("optimizer.lr=a..1", "not a finite number"),
            ("model.activation=1..2", "string"),
        ] {
            let e = Axis::parse("--x", spec, 4, &b).unwrap_err();
            assert!(e.to_string().contains(needle), "{spec}: {e}");
        }
    }
}
