//! Helpers shared by the integration tests.

use stabcheck::scenario::{self, Overrides, Scenario, SetOverride, apply_overrides};

/// The built-in `name` with `--seed seed` (when given) and `--set` arguments `sets` applied.
pub fn builtin_with(name: &str, seed: Option<u64>, sets: &[&str]) -> Scenario {
    let overrides = Overrides {
        seed,
        set: sets
            .iter()
            .map(|a| SetOverride::parse(a).unwrap())
            .collect(),
        ..Overrides::default()
    };
    apply_overrides(&scenario::resolve(name).unwrap(), &overrides).unwrap()
}
