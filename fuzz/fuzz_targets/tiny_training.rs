//! Fuzz target `tiny_training`: the body is `stabcheck_fuzz::tiny_training`, which `tests/it/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck_fuzz::tiny_training(data));
