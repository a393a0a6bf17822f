//! `--seed`, `--steps` and `--set key=value` on a resolved scenario, validated like a file.

use super::*;
use crate::core::layers::activation::Activation;

fn deep_mlp() -> Scenario {
    resolve("deep-mlp").unwrap()
}

fn sets(args: &[&str]) -> Overrides {
    Overrides {
        set: args
            .iter()
            .map(|a| SetOverride::parse(a).unwrap())
            .collect(),
        ..Overrides::default()
    }
}

#[test]
fn seed_and_steps_change_only_themselves() {
    let overrides = Overrides {
        seed: Some(123),
        steps: Some(10),
        set: vec![],
    };
    let changed = apply_overrides(&deep_mlp(), &overrides).unwrap();
    let mut expected = deep_mlp();
    expected.seed = 123;
    expected.steps = 10;
    assert_eq!(changed, expected);
    assert_eq!(
        apply_overrides(&deep_mlp(), &Overrides::default()).unwrap(),
        deep_mlp()
    );
}

#[test]
fn bad_seed_and_steps_name_the_flag() {
    let zero_steps = Overrides {
        steps: Some(0),
        ..Overrides::default()
    };
    let err = apply_overrides(&deep_mlp(), &zero_steps).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--steps 0: steps = 0 is not allowed: expected an integer in 1..=1000000"
    );
    let huge_seed = Overrides {
        seed: Some(u64::MAX),
        ..Overrides::default()
    };
    let err = apply_overrides(&deep_mlp(), &huge_seed).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--seed 18446744073709551615: cannot apply"),
        "{err}"
    );
}

#[test]
fn set_parses_toml_values_and_bare_words() {
    let changed = apply_overrides(
        &deep_mlp(),
        &sets(&[
            "optimizer.lr=0.01",
            "model.activation=tanh",
            "description=a bare sentence",
            "robust.lr=[0.5, 2.0]",
            "model.residual=true",
        ]),
    )
    .unwrap();
    assert_eq!(changed.optimizer.lr, 0.01);
    assert_eq!(changed.mlp().unwrap().activation, Activation::Tanh);
    assert_eq!(changed.description, "a bare sentence");
    assert_eq!(changed.robust.lr, [0.5, 2.0]);
    assert!(changed.mlp().unwrap().residual);
}

#[test]
fn set_depth_or_width_reshapes_a_uniform_model() {
    let deeper = apply_overrides(&deep_mlp(), &sets(&["model.depth=4"])).unwrap();
    assert_eq!(deeper.hidden_widths(), vec![128; 4]);
    let wider = apply_overrides(&deep_mlp(), &sets(&["model.width=32"])).unwrap();
    assert_eq!(wider.hidden_widths(), vec![32; 16]);
    let tapered = apply_overrides(&deep_mlp(), &sets(&["model.hidden=[64, 32]"])).unwrap();
    assert_eq!(tapered.hidden_widths(), vec![64, 32]);
    let err = apply_overrides(&tapered, &sets(&["model.depth=3"])).unwrap_err();
    assert!(
        matches!(err.kind(), ScenarioErrorKind::BadOverride { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("set model.hidden instead"),
        "{err}"
    );
}

#[test]
fn set_errors_name_the_argument_and_key() {
    let err = apply_overrides(&deep_mlp(), &sets(&["model.width=-3"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set model.width=-3: model.width = -3 is not allowed: expected an integer >= 1"
    );
    let err = apply_overrides(&deep_mlp(), &sets(&["model.widht=3"])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--set model.widht=3: unknown key `model.widht`; did you mean `width`?"),
        "{err}"
    );
    let err = apply_overrides(&deep_mlp(), &sets(&["model.width=big"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set model.width=big: model.width = \"big\" has the wrong type: expected an integer"
    );
    let err = apply_overrides(&deep_mlp(), &sets(&["optimizer.lr=nan", "steps=5"])).unwrap_err();
    assert_eq!(err.origin(), "--set optimizer.lr=nan");
}

#[test]
fn a_consequence_of_one_set_blames_that_set() {
    let err = apply_overrides(&deep_mlp(), &sets(&["data.kind=teacher-regression"])).unwrap_err();
    assert_eq!(err.key(), Some("data.classes"));
    assert_eq!(
        err.origin(),
        "the scenario after --set data.kind=teacher-regression"
    );
}

#[test]
fn malformed_set_arguments_are_refused() {
    for arg in [
        "model.width",
        "model..width=3",
        "=3",
        "model.width=[1,",
        "x y=1",
    ] {
        let err = SetOverride::parse(arg).unwrap_err();
        assert!(
            matches!(err.kind(), ScenarioErrorKind::BadOverride { .. }),
            "{arg}: {err}"
        );
        assert_eq!(err.origin(), format!("--set {arg}"));
    }
    let err = apply_overrides(&deep_mlp(), &sets(&["steps.x=1"])).unwrap_err();
    assert!(
        err.to_string().contains("`steps` is a value, not a table"),
        "{err}"
    );
}
