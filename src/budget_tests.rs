//! Tests of the resource estimate against sizes worked out by hand.

use super::*;
use crate::scenario::{parse_str, resolve};

#[test]
fn deep_mlp_estimate_matches_a_hand_count() {
    let s = resolve("deep-mlp").unwrap();
    let e = Estimate::of(&s);
    // 64 → 16×128 → 10: weights 64·128 + 15·128² + 128·10 = 255,232; biases 16·128 + 10 = 2,058.
    let n_params = 255_232 + 2_058;
    assert_eq!(e.parameters, 4 * n_params);
    assert_eq!(e.gradients, 4 * n_params);
    assert_eq!(e.optimizer_state, 2 * 4 * n_params, "Adam keeps m and v");
    // 8 buffers × batch 64 × (64 + 16·128 + 10) values × 4 bytes.
    assert_eq!(e.activations, 8 * 64 * 2_122 * 4);
    // 2048 samples × 74 values, generated in f64 and cast to f32.
    assert_eq!(e.data, 2_048 * 74 * 12);
    // The benchmark's nominal 98.0 MFLOP per step, times 300 steps.
    assert_eq!(e.flops, 6.0 * 255_232.0 * 64.0 * 300.0);
    assert!(e.check(&Budget::default()).is_ok());
}

#[test]
fn a_deep_long_run_is_refused_for_its_trace() {
    // Each size passes validation, but 1025 layers × 10⁶ steps of per-layer statistics do not fit.
    let text = "name = \"x\"\nsteps = 1000000\n[model]\ndepth = 1024\nwidth = 1\n";
    let s = parse_str(text, "t.toml").unwrap();
    let e = Estimate::of(&s);
    let trace_floor = 1_000_000u128 * 1_025 * size_of::<LayerStats>() as u128;
    assert!(e.trace >= trace_floor && e.trace > e.parameters);
    let err = e.check(&Budget::default()).unwrap_err().to_string();
    assert!(err.contains("estimated"), "{err}");
    assert!(
        err.contains("memory") && err.contains("4.0 GiB") && err.contains("--max-memory"),
        "{err}"
    );
    assert!(err.contains("trace"), "{err}");
    let raised = Budget {
        max_memory_bytes: u64::MAX,
        ..Budget::default()
    };
    // With memory raised, the compute budget still holds it: 6·(64·1 + 1023·1 + 10)·64·10⁶ FLOPs
    // = 4.2e11, under 1e13, so it passes.
    assert!(e.check(&raised).is_ok());
}

#[test]
fn compute_over_the_budget_is_refused_with_the_estimate() {
    let s = resolve("deep-mlp").unwrap();
    let tight = Budget {
        max_flops: 1e9,
        ..Budget::default()
    };
    let err = Estimate::of(&s).check(&tight).unwrap_err().to_string();
    assert!(
        err.contains("2.94e10 FLOPs") && err.contains("1.00e9"),
        "{err}"
    );
    assert!(err.contains("--max-flops"), "{err}");
}

#[test]
fn sizes_and_flop_counts_parse() {
    assert_eq!(parse_size("4GiB"), Ok(4 << 30));
    assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
    assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
    assert_eq!(parse_size("1000"), Ok(1000));
    assert!(parse_size("4 parsecs").is_err());
    assert!(parse_size("-1").is_err());
    assert!(parse_size("0").is_err());
    assert_eq!(parse_flops("1e15"), Ok(1e15));
    assert!(parse_flops("inf").is_err() && parse_flops("0").is_err() && parse_flops("x").is_err());
    assert_eq!(human_bytes(512.0), "512 B");
    assert_eq!(human_bytes(1536.0), "1.5 KiB");
    assert_eq!(human_bytes((4u64 << 30) as f64), "4.0 GiB");
}
