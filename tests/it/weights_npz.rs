//! Weights in and out: `[model] weights = "x.npz"` starts from given weights; `--save-weights`
//! writes them; wrong names and shapes are refused with the layer and both shapes.

use std::path::Path;

use assert_cmd::Command;
use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;
use stabcheck::core::train::Trainer;
use stabcheck::record::atomic::save_npz;
use stabcheck::run::build::build_trainer;
use stabcheck::scenario::{self, Scenario};
use tempfile::TempDir;

fn small(seed: u64, width: usize, precision: &str, weights: Option<&Path>) -> Scenario {
    let weights = weights.map_or(String::new(), |p| {
        format!("weights = {:?}\n", p.display().to_string())
    });
    let text = format!(
        "name = \"w\"\nseed = {seed}\nsteps = 2\nprecision = \"{precision}\"\n[data]\ninputs = 4\nclasses = 3\nsamples = 32\nbatch = 8\n[model]\ndepth = 2\nwidth = {width}\nnorm = \"layernorm\"\n{weights}"
    );
    scenario::parse_str(&text, "w.toml").unwrap()
}

#[test]
fn loaded_weights_replace_the_init_exactly() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("init.npz");
    let source: Trainer<f32> = build_trainer(&small(1, 16, "f32", None), None).unwrap();
    save_npz(&path, &source.model.params).unwrap();
    // Another seed would draw other weights: the file must win, bit for bit.
    let loaded: Trainer<f32> = build_trainer(&small(2, 16, "f32", Some(&path)), None).unwrap();
    let bits = |t: &Trainer<f32>| {
        t.model
            .params
            .values
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&loaded), bits(&source));
    let unloaded: Trainer<f32> = build_trainer(&small(2, 16, "f32", None), None).unwrap();
    assert_ne!(bits(&unloaded), bits(&source));
}

#[test]
fn float32_files_load_into_f64_runs() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("init.npz");
    let source: Trainer<f32> = build_trainer(&small(1, 16, "f32", None), None).unwrap();
    save_npz(&path, &source.model.params).unwrap();
    let loaded: Trainer<f64> = build_trainer(&small(1, 16, "f64", Some(&path)), None).unwrap();
    let widened: Vec<f64> = source
        .model
        .params
        .values
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    assert_eq!(loaded.model.params.values, widened);
}

#[test]
fn a_shape_mismatch_names_the_layer_and_both_shapes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("init.npz");
    let source: Trainer<f32> = build_trainer(&small(1, 16, "f32", None), None).unwrap();
    save_npz(&path, &source.model.params).unwrap();
    let err = build_trainer::<f32>(&small(1, 8, "f32", Some(&path)), None)
        .unwrap_err()
        .to_string();
    for needle in ["init.npz", "layer0.weight", "layer 0", "[4, 16]", "[4, 8]"] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
}

#[test]
fn unknown_and_missing_arrays_are_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("torch.npz");
    let mut npz = NpzWriter::new(std::fs::File::create(&path).unwrap());
    npz.add_array("fc1.weight", &Array2::<f32>::zeros((16, 4)))
        .unwrap();
    npz.finish().unwrap();
    let err = build_trainer::<f32>(&small(1, 16, "f32", Some(&path)), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fc1.weight") && err.contains("layer0.weight"),
        "{err}"
    );

    let partial = dir.path().join("partial.npz");
    let mut npz = NpzWriter::new(std::fs::File::create(&partial).unwrap());
    npz.add_array("layer0.weight", &Array2::<f32>::zeros((4, 16)))
        .unwrap();
    npz.add_array("layer0.bias", &Array1::<f32>::zeros(16))
        .unwrap();
    npz.finish().unwrap();
    let err = build_trainer::<f32>(&small(1, 16, "f32", Some(&partial)), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no array `layer1.weight`"), "{err}");
}

#[test]
fn the_cli_saves_weights_and_a_missing_weights_file_exits_2() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("final.npz");
    Command::cargo_bin("stabcheck")
        .unwrap()
        .args([
            "scenario",
            "deep-mlp",
            "--steps",
            "2",
            "--no-report",
            "--save-weights",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(
        npz.names().unwrap().len(),
        34,
        "16 hidden + output layer, weight and bias each"
    );
    let w: Array2<f32> = npz.by_name("layer16.weight").unwrap();
    assert_eq!(w.dim(), (128, 10));
    let assert = Command::cargo_bin("stabcheck")
        .unwrap()
        .args([
            "scenario",
            "deep-mlp",
            "--no-report",
            "--set",
            "model.weights=/nonexistent/init.npz",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("/nonexistent/init.npz"));
}
