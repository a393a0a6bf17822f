//! Dead ReLU units in a GPT's MLP, diagnosed by construction: every `fc1` bias at −50 leaves no
//! unit a token can lift over 0 (normalized inputs through weights of std 0.02), so every unit is
//! dead from step 0 and stays dead (a dead unit's bias gets no gradient and AdamW does not decay
//! biases). The same model with its initial zero biases, and a GELU MLP, are not.

use stabcheck::diagnose::FindingKind;
use stabcheck::run::run_recorded;
use tempfile::TempDir;

use crate::gpt_nan_origin::{ADAMW, gpt, with_weights};

fn dead_units_finding(model: &str, bias: Option<f32>, seed: u64) -> Option<(f64, Vec<usize>)> {
    let dir = TempDir::new().unwrap();
    let mut s = match bias {
        Some(b) => with_weights(dir.path(), (20, model, ADAMW), |name, values| {
            if name.ends_with("mlp.fc1.bias") {
                values.fill(b);
            }
        }),
        None => gpt(20, model, ADAMW),
    };
    s.seed = seed;
    let run = run_recorded(&s, None, None).unwrap();
    let finding = run
        .verdict
        .errors()
        .find(|f| f.kind == FindingKind::DeadUnits)?;
    Some((finding.measured, finding.layers.clone()))
}

#[test]
fn a_relu_mlp_with_every_unit_pushed_negative_is_dead_in_every_block() {
    for seed in 1..=5 {
        let (measured, layers) = dead_units_finding("mlp_activation = \"relu\"", Some(-50.0), seed)
            .unwrap_or_else(|| panic!("seed {seed}: no dead-units finding"));
        assert_eq!(measured, 1.0, "seed {seed}");
        // Both blocks' fc1 modules (layer 8 and 14 of the probe order without qk-norm).
        assert_eq!(layers.len(), 2, "seed {seed}: {layers:?}");
    }
}

#[test]
fn zero_biases_and_gelu_units_are_not_dead() {
    for seed in 1..=5 {
        assert_eq!(
            dead_units_finding("mlp_activation = \"relu\"", None, seed),
            None
        );
        assert_eq!(
            dead_units_finding("mlp_activation = \"gelu\"", None, seed),
            None
        );
    }
}
