//! Fuzz target `set_override`: the body is `stabcheck::fuzzing::set_override`, which `tests/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck::fuzzing::set_override(data));
