//! Fuzz target `csv_data`: the body is `stabcheck::fuzzing::csv_data`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck::fuzzing::csv_data(data));
