//! Unit tests of `scenario::error`, in their own file to keep the module within the house size.

use super::*;

#[test]
fn display_matches_the_documented_example() {
    let err = ScenarioError::new(
        "scenarios/x.toml",
        Some(Location {
            line: 12,
            column: 9,
        }),
        Some("model.width".into()),
        ScenarioErrorKind::OutOfRange {
            found: "-3".into(),
            expected: "an integer >= 1".into(),
        },
    );
    assert_eq!(
        err.to_string(),
        "scenarios/x.toml:12:9: model.width = -3 is not allowed: expected an integer >= 1"
    );
    assert_eq!((err.line(), err.column()), (Some(12), Some(9)));
}

#[test]
fn display_without_location_names_the_origin_only() {
    let err = ScenarioError::new(
        "--set model.width=big",
        None,
        Some("model.width".into()),
        ScenarioErrorKind::WrongType {
            found: "\"big\"".into(),
            expected: "an integer".into(),
        },
    );
    assert_eq!(
        err.to_string(),
        "--set model.width=big: model.width = \"big\" has the wrong type: expected an integer"
    );
}
