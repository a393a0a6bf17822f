//! Command-line overrides (`--seed N`, `--steps N`, `--set key=value`) applied to a resolved
//! scenario, which is then validated again exactly like a file; errors name the override.

use std::str::FromStr;

use toml::{Table, Value};

use super::error::{ScenarioError, ScenarioErrorKind};
use super::file_scenario::ScenarioFile;
use super::load::parse_str;
use super::resolved::Scenario;

/// Changes requested on the command line, applied in order: seed, steps, then each `--set`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--seed N`.
    pub seed: Option<u64>,
    /// `--steps N`.
    pub steps: Option<u64>,
    /// `--set key=value`, in command-line order (a later one wins).
    pub set: Vec<SetOverride>,
}

/// One `--set key=value`: a dotted key (`optimizer.lr`) and a TOML value (`0.01`, `[64, 32]`,
/// `"relu"`); a value that is not valid TOML, such as a bare word, is taken as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOverride {
    arg: String,
    key: Vec<String>,
    value: Value,
}

const SET_SYNTAX: &str = "key=value, e.g. `optimizer.lr=0.01` or `model.activation=tanh` (the value is TOML; a bare word is a string)";

impl SetOverride {
    /// The argument as given (`optimizer.lr=0.01`).
    pub fn arg(&self) -> &str {
        &self.arg
    }

    /// Parse `key=value` as given to `--set`.
    pub fn parse(arg: &str) -> Result<Self, ScenarioError> {
        let bad = |expected: &str| {
            let kind = ScenarioErrorKind::BadOverride {
                found: arg.to_string(),
                expected: expected.to_string(),
            };
            ScenarioError::new(format!("--set {arg}"), None, None, kind)
        };
        let (key, text) = arg.split_once('=').ok_or_else(|| bad(SET_SYNTAX))?;
        let is_word = |s: &&str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let key: Vec<String> = key.trim().split('.').map(str::to_string).collect();
        if !key.iter().all(|segment| is_word(&segment.as_str())) {
            return Err(bad(
                "a dotted key of letters, digits, '_' and '-', e.g. `model.width`",
            ));
        }
        let text = text.trim();
        let value = match text.parse::<Value>() {
            Ok(value) => value,
            Err(_) if !text.is_empty() && !text.starts_with(['"', '\'', '[', '{']) => {
                Value::String(text.to_string())
            }
            Err(e) => {
                return Err(bad(&format!(
                    "a TOML value after '=' ({})",
                    e.message().trim()
                )));
            }
        };
        Ok(Self {
            arg: arg.to_string(),
            key,
            value,
        })
    }

    /// The dotted key, e.g. `optimizer.lr`.
    pub fn key(&self) -> String {
        self.key.join(".")
    }

    /// The parsed value.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl FromStr for SetOverride {
    type Err = ScenarioError;

    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        Self::parse(arg)
    }
}

/// `scenario` with `overrides` applied and validated again. An error names the `--set`,
/// `--seed` or `--steps` argument it comes from (all of them when it arises between several).
pub fn apply_overrides(
    scenario: &Scenario,
    overrides: &Overrides,
) -> Result<Scenario, ScenarioError> {
    let mut table = Table::try_from(ScenarioFile::from(scenario)).map_err(|e| {
        let kind = ScenarioErrorKind::Syntax {
            message: e.to_string(),
        };
        ScenarioError::new("the resolved scenario", None, None, kind)
    })?;
    let mut applied: Vec<(String, String)> = Vec::new();
    let counts = [("seed", overrides.seed), ("steps", overrides.steps)];
    for (key, count) in counts {
        let Some(count) = count else { continue };
        let arg = format!("--{key} {count}");
        let value = i64::try_from(count).map_err(|_| {
            let expected = format!("--{key} at most {}", i64::MAX);
            let kind = ScenarioErrorKind::BadOverride {
                found: arg.clone(),
                expected,
            };
            ScenarioError::new(arg.clone(), None, Some(key.to_string()), kind)
        })?;
        table.insert(key.to_string(), Value::Integer(value));
        applied.push((key.to_string(), arg));
    }
    for set in &overrides.set {
        let arg = format!("--set {}", set.arg);
        insert(&mut table, set).map_err(|expected| {
            let kind = ScenarioErrorKind::BadOverride {
                found: set.arg.clone(),
                expected,
            };
            ScenarioError::new(arg.clone(), None, Some(set.key()), kind)
        })?;
        applied.push((set.key(), arg));
    }
    let text = toml::to_string(&table).map_err(|e| {
        let kind = ScenarioErrorKind::Syntax {
            message: e.to_string(),
        };
        ScenarioError::new("overrides", None, None, kind)
    })?;
    parse_str(&text, "overrides").map_err(|err| {
        let origin = blame(err.key(), &applied);
        err.relocated(origin)
    })
}

/// The argument(s) an error about `key` comes from: the last override of that key (or of a table
/// containing it), else every override.
fn blame(key: Option<&str>, applied: &[(String, String)]) -> String {
    let related = |set: &str| match key {
        Some(key) => {
            key == set
                || key.starts_with(&format!("{set}."))
                || key.starts_with(&format!("{set}["))
                || set.starts_with(&format!("{key}."))
        }
        None => false,
    };
    match applied.iter().rev().find(|(set, _)| related(set)) {
        Some((_, arg)) => arg.clone(),
        None => {
            let all: Vec<&str> = applied.iter().map(|(_, arg)| arg.as_str()).collect();
            format!("the scenario after {}", all.join(" "))
        }
    }
}

/// Put `set.value` at `set.key`, creating tables on the way; the message says why not.
fn insert(table: &mut Table, set: &SetOverride) -> Result<(), String> {
    reshape_model(table, &set.key)?;
    let (last, parents) = set.key.split_last().ok_or("a non-empty key")?;
    let mut current = table;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{}` is a value, not a table", parents[..=depth].join(".")))?;
    }
    current.insert(last.clone(), set.value.clone());
    Ok(())
}

/// A resolved model stores `hidden = [..]`; before `model.depth` or `model.width` is set, write
/// the shape back as `depth` + `width` (possible only while every hidden layer has one width).
fn reshape_model(table: &mut Table, key: &[String]) -> Result<(), String> {
    let setting_depth = key == ["model", "depth"];
    if !setting_depth && key != ["model", "width"] {
        return Ok(());
    }
    let Some(model) = table.get_mut("model").and_then(Value::as_table_mut) else {
        return Ok(());
    };
    let Some(Value::Array(hidden)) = model.get("hidden").cloned() else {
        return Ok(());
    };
    let widths: Vec<&Value> = hidden.iter().collect();
    let uniform = widths.windows(2).all(|pair| pair[0] == pair[1]);
    if setting_depth && !uniform {
        return Err("model.hidden has unequal widths; set model.hidden instead".to_string());
    }
    model.remove("hidden");
    model.insert("depth".into(), Value::Integer(widths.len() as i64));
    if let Some(&width) = widths.first() {
        model.insert("width".into(), width.clone());
    }
    Ok(())
}
