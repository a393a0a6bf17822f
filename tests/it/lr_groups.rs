//! `[[optimizer.groups]]` multiplies the learning rate of exactly the listed layers.

use stabcheck::core::observer::NoopObserver;
use stabcheck::core::train::Trainer;
use stabcheck::run::build::build_trainer;
use stabcheck::scenario;

fn first_step_update_norms(groups: &str) -> (Vec<usize>, Vec<f64>) {
    let text = format!(
        "name = \"g\"\nsteps = 1\nprecision = \"f64\"\n[data]\nsamples = 64\n[model]\ndepth = 3\nwidth = 16\n[optimizer]\nkind = \"sgd\"\nlr = 0.01\n{groups}"
    );
    let s = scenario::parse_str(&text, "g.toml").unwrap();
    let mut t: Trainer<f64> = build_trainer(&s, None).unwrap();
    t.step(&mut NoopObserver);
    let layers = t
        .model
        .params
        .segments
        .iter()
        .map(|seg| seg.layer)
        .collect();
    (layers, t.updater.update_sq_norms.clone())
}

#[test]
fn a_group_scales_only_its_layers_updates() {
    let (layers, plain) = first_step_update_norms("");
    let (_, grouped) =
        first_step_update_norms("[[optimizer.groups]]\nlayers = [1, 3]\nlr_scale = 3.0\n");
    for ((layer, p), g) in layers.iter().zip(&plain).zip(&grouped) {
        // SGD at step 0 sees the same gradient, so the update norm scales by exactly lr_scale (up to rounding).
        let expected = if [1, 3].contains(layer) { 9.0 } else { 1.0 };
        assert!(*p > 0.0, "layer {layer} did not move");
        assert!(
            (g / p - expected).abs() < 1e-9,
            "layer {layer}: ratio {}",
            g / p
        );
    }
}
