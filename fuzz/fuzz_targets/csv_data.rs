//! Fuzz target `csv_data`: the body is `stabcheck_fuzz::csv_data`, which `tests/it/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck_fuzz::csv_data(data));
