//! The built-in scenarios (the TOML files of `scenarios/`, embedded) and name-or-path resolution.

use std::path::Path;

use super::error::{ScenarioError, ScenarioErrorKind};
use super::load::{load_file, parse_str};
use super::resolved::Scenario;

/// `(name, source)` of the built-in scenario `scenarios/<name>.toml`.
macro_rules! builtin {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../scenarios/", $name, ".toml")),
        )
    };
}

/// Name and source text of every built-in scenario, in catalogue order: the stable ones first
/// (the reference, then the repaired variants), then one per failure they show.
const BUILTINS: &[(&str, &str)] = &[
    builtin!("deep-mlp"),
    builtin!("deep-residual-layernorm"),
    builtin!("relu-init-3-repaired"),
    builtin!("sgd-lr-1-clipped"),
    builtin!("tiny-gpt"),
    builtin!("tiny-gpt-fast"),
    builtin!("gpt-attn-logit-growth-qk-norm"),
    builtin!("gpt-logit-divergence-z-loss"),
    builtin!("gpt-post-ln-warmup"),
    builtin!("fp16-dynamic-scale"),
    builtin!("fp16-grad-underflow-scaled"),
    builtin!("sigmoid-vanishing"),
    builtin!("relu-init-3"),
    builtin!("sgd-lr-1"),
    builtin!("layer-lr-100x"),
    builtin!("layernorm-eps-0"),
    builtin!("adam-eps-0"),
    builtin!("dead-relu-bias"),
    builtin!("adam-lr-too-high"),
    builtin!("tanh-saturated"),
    builtin!("tiny-lr"),
    builtin!("loss-oscillation"),
    builtin!("gpt-attn-logit-growth"),
    builtin!("gpt-logit-divergence"),
    builtin!("gpt-post-ln-no-warmup"),
    builtin!("gpt-adam-eps-large"),
    builtin!("fp16-activation-overflow"),
    builtin!("fp16-scale-collapse"),
    builtin!("fp16-grad-underflow"),
    builtin!("bf16-lost-updates"),
];

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
    let builtins: Vec<String> = builtin_names().into_iter().map(String::from).collect();
    let looks_like_path = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml");
    let kind = ScenarioErrorKind::UnknownScenario {
        suggestion: (!looks_like_path)
            .then(|| super::suggest::nearest(name_or_path, &builtins))
            .flatten(),
        builtins,
        looks_like_path,
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
    fn every_scenario_file_is_built_in_and_describes_itself() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut names = builtin_names();
        names.sort_unstable();
        assert_eq!(files, names);
        for name in builtin_names() {
            let source = builtin_source(name).unwrap();
            assert!(
                source.starts_with(&format!("# {name}: ")),
                "{name}: no header"
            );
            assert!(!resolve(name).unwrap().description.is_empty(), "{name}");
        }
    }

    #[test]
    fn a_misspelt_name_gets_a_did_you_mean_and_a_missing_path_says_no_such_file() {
        let message = resolve("deep-mpl").unwrap_err().to_string();
        assert!(message.contains("did you mean `deep-mlp`?"), "{message}");
        let message = resolve("configs/missing.toml").unwrap_err().to_string();
        assert!(
            message.starts_with("configs/missing.toml: no such file"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_builtins() {
        let err = resolve("no-such-scenario").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("no-such-scenario: this is neither a built-in scenario (`deep-mlp`, `deep-residual-layernorm`, "),
            "{message}"
        );
        assert!(
            message.ends_with("`fp16-grad-underflow`, `bf16-lost-updates`) nor an existing file"),
            "{message}"
        );
    }
}
