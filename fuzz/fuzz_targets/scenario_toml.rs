//! Fuzz target `scenario_toml`: the body is `stabcheck::fuzzing::scenario_toml`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck::fuzzing::scenario_toml(data));
