//! Fuzz target `scenario_toml`: the body is `stabcheck_fuzz::scenario_toml`, which `tests/it/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck_fuzz::scenario_toml(data));
