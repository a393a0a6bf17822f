//! Range checks that build located errors: each check names its dotted key, and the error points
//! at that key's value in the source (or at a related key when this one was left to its default).

use serde::Serialize;

use super::error::{Location, ScenarioError, ScenarioErrorKind};
use super::source_map::SourceMap;

/// Where validation errors are reported: the origin, and the source text when there is one.
pub(crate) struct Checker<'a> {
    origin: &'a str,
    source: Option<&'a SourceMap<'a>>,
}

/// A float as TOML would write it (`1e30`, `0.001`, `NaN`).
pub(crate) fn num(value: f64) -> String {
    format!("{value:?}")
}

/// The kebab-case name of a choice enum, as written in a scenario file.
pub(crate) fn choice<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => format!("\"{name}\""),
        _ => format!("{value:?}"),
    }
}

impl<'a> Checker<'a> {
    pub fn new(origin: &'a str, source: Option<&'a SourceMap<'a>>) -> Self {
        Self { origin, source }
    }

    /// An error about `key`, located at its value if written, else at the first written key of
    /// `near`, else at the header of its table; unlocated without a source text.
    pub fn error_near(&self, key: &str, near: &[&str], kind: ScenarioErrorKind) -> ScenarioError {
        ScenarioError::new(
            self.origin,
            self.locate(key, near),
            Some(key.to_string()),
            kind,
        )
    }

    fn locate(&self, key: &str, near: &[&str]) -> Option<Location> {
        let source = self.source?;
        let value_of = |k: &str| source.entry(k).map(|e| source.location(e.value.start));
        if let Some(found) = std::iter::once(key)
            .chain(near.iter().copied())
            .find_map(value_of)
        {
            return Some(found);
        }
        let mut table = key;
        while let Some(cut) = table.rfind(['.', '[']) {
            table = &table[..cut];
            if let Some(entry) = source.entry(table) {
                return Some(source.location(entry.key.start));
            }
        }
        None
    }

    /// The value of `key` as written, or `fallback` marked as the default when not written.
    pub fn found(&self, key: &str, fallback: impl std::fmt::Display) -> String {
        match self.source.and_then(|s| s.value_text(key)) {
            Some(text) => text.to_string(),
            None if self.source.is_some() => format!("{fallback} (the default)"),
            None => fallback.to_string(),
        }
    }

    /// `key = found is not allowed: expected <expected>`, located near `near` if not written.
    pub fn range_error(
        &self,
        key: &str,
        near: &[&str],
        found: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> ScenarioError {
        let kind = ScenarioErrorKind::OutOfRange {
            found: self.found(key, found),
            expected: expected.into(),
        };
        self.error_near(key, near, kind)
    }

    /// `key = found is not allowed: <reason>`.
    pub fn conflict(
        &self,
        key: &str,
        near: &[&str],
        found: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> ScenarioError {
        let kind = ScenarioErrorKind::Conflict {
            found: self.found(key, found),
            reason: reason.into(),
        };
        self.error_near(key, near, kind)
    }

    /// A required key that is absent, located near the key that requires it.
    pub fn missing(&self, key: &str, near: &[&str], expected: impl Into<String>) -> ScenarioError {
        let kind = ScenarioErrorKind::MissingKey {
            expected: expected.into(),
        };
        self.error_near(key, near, kind)
    }

    /// Refuses `key` where it does not apply: when it is written in the source text, or (without
    /// a source text, as for JSON) when its value is not the default.
    pub fn not_applicable(
        &self,
        key: &str,
        not_default: bool,
        found: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Result<(), ScenarioError> {
        let given = match self.source {
            Some(source) => source.entry(key).is_some(),
            None => not_default,
        };
        match given {
            true => Err(self.conflict(key, &[], found, reason)),
            false => Ok(()),
        }
    }

    /// An integer in `min..=max`, as a `usize`.
    pub fn int_in(
        &self,
        key: &str,
        value: i64,
        min: i64,
        max: i64,
    ) -> Result<usize, ScenarioError> {
        if (min..=max).contains(&value)
            && let Ok(n) = usize::try_from(value)
        {
            return Ok(n);
        }
        let expected = if max == i64::MAX {
            format!("an integer >= {min}")
        } else {
            format!("an integer in {min}..={max}")
        };
        Err(self.range_error(key, &[], value, expected))
    }

    /// An integer >= `min`, as a `usize`.
    pub fn int_at_least(&self, key: &str, value: i64, min: i64) -> Result<usize, ScenarioError> {
        self.int_in(key, value, min, i64::MAX)
    }

    /// A float accepted by `ok`, described as `expected` (NaN never passes a comparison).
    pub fn float(
        &self,
        key: &str,
        value: f64,
        ok: bool,
        expected: &str,
    ) -> Result<f64, ScenarioError> {
        if ok && value.is_finite() {
            Ok(value)
        } else {
            Err(self.range_error(key, &[], num(value), expected))
        }
    }

    /// Finite and > 0.
    pub fn positive(&self, key: &str, value: f64) -> Result<f64, ScenarioError> {
        self.float(key, value, value > 0.0, "a finite number > 0")
    }

    /// Finite and >= 0.
    pub fn non_negative(&self, key: &str, value: f64) -> Result<f64, ScenarioError> {
        self.float(key, value, value >= 0.0, "a finite number >= 0")
    }

    /// In [0, 1).
    pub fn below_one(&self, key: &str, value: f64) -> Result<f64, ScenarioError> {
        let ok = (0.0..1.0).contains(&value);
        self.float(key, value, ok, "a number in [0, 1)")
    }

    /// In [0, 1].
    pub fn fraction(&self, key: &str, value: f64) -> Result<f64, ScenarioError> {
        let ok = (0.0..=1.0).contains(&value);
        self.float(key, value, ok, "a number in [0, 1]")
    }
}
