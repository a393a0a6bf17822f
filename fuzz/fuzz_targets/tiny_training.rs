//! Fuzz target `tiny_training`: the body is `stabcheck::fuzzing::tiny_training`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck::fuzzing::tiny_training(data));
