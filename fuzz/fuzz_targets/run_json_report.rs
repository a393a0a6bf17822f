//! Fuzz target `run_json_report`: the body is `stabcheck::fuzzing::run_json_report`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck::fuzzing::run_json_report(data));
