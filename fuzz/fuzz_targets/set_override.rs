//! Fuzz target `set_override`: the body is `stabcheck_fuzz::set_override`, which `tests/it/fuzz_seeds.rs` also replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stabcheck_fuzz::set_override(data));
