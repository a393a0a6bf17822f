//! The built-in scenarios (the TOML files of `scenarios/`, embedded) and name-or-path resolution.

use std::path::Path;

use super::error::{ScenarioError, ScenarioErrorKind};
use super::load::{load_file, parse_str};
use super::resolved::Scenario;

/// Name and source text of every built-in scenario, in catalogue order.
const BUILTINS: &[(&str, &str)] = &[("deep-mlp", include_str!("../../scenarios/deep-mlp.toml"))];

/// Names of the built-in scenarios, in catalogue order.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}

/// The TOML text of a built-in scenario.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, source)| *source)
}

/// A built-in scenario by name, else a scenario file by path (a built-in name wins over a file
/// of the same name in the working directory).
pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(source) = builtin_source(name_or_path) {
        return parse_str(source, &format!("scenarios/{name_or_path}.toml (built-in)"));
    }
    let path = Path::new(name_or_path);
    if path.exists() {
        return load_file(path);
    }
    let kind = ScenarioErrorKind::UnknownScenario {
        builtins: builtin_names().into_iter().map(String::from).collect(),
    };
    Err(ScenarioError::new(name_or_path, None, None, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_is_named_after_itself() {
        for name in builtin_names() {
            let scenario = resolve(name).unwrap();
            assert_eq!(scenario.name, name);
        }
    }

    #[test]
    fn an_unknown_name_lists_the_builtins() {
        let err = resolve("no-such-scenario").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no-such-scenario: this is neither a built-in scenario (`deep-mlp`) nor an existing file"
        );
    }
}
