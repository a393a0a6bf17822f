//! Fuzz target `run_json_report`: the body is `stabcheck_fuzz::run_json_report`, which `tests/it/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck_fuzz::run_json_report(data));
