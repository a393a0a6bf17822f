//! Every validation rule refuses its impossible values, at the right place and key.
//! Each case's text starts with `name = "t"` on line 1; columns are counted by hand.

use super::*;

/// (text after line 1, line, column, key, part of the message)
#[rustfmt::skip]
const CASES: &[(&str, usize, usize, &str, &str)] = &[
    ("seed = -1\n", 2, 8, "seed", "an integer >= 0"),
    ("steps = 0\n", 2, 9, "steps", "an integer in 1..=1000000"),
    ("steps = 1000001\n", 2, 9, "steps", "an integer in 1..=1000000"),
    ("[data]\nclasses = 1\n", 3, 11, "data.classes", "an integer >= 2"),
    ("[data]\noutputs = 2\n", 3, 11, "data.outputs", "has class labels"),
    ("[data]\nkind = \"spirals\"\ninputs = 3\n", 4, 10, "data.inputs", "2 (spirals are 2-D)"),
    ("[data]\ninput_scale = 0.0\n", 3, 15, "data.input_scale", "a finite number > 0"),
    ("[data]\nsamples = 100000000\n", 3, 11, "data.samples", "at most 268435456"),
    ("[model]\nwidth = 8\nhidden = [8]\n", 4, 10, "model.hidden", "model.width is also set"),
    ("[model]\nhidden = [8, 0, 8]\n", 3, 14, "model.hidden[1]", "an integer >= 1"),
    ("[model]\ndepth = 3\nhidden = [8, 8]\n", 3, 9, "model.depth", "lists 2 widths"),
    ("[model]\ndepth = 2000\n", 3, 9, "model.depth", "an integer in 0..=1024"),
    ("[model]\nwidth = 100000\n", 3, 9, "model.width", "at most 268435456 parameters"),
    (
        "[data]\nsamples = 100000\nbatch = 100000\n[model]\ndepth = 2\nwidth = 4000\n",
        7,
        9,
        "model.width",
        "at most 67108864 activation values",
    ),
    ("[data]\nsamples = 4\nbatch = 1\n[model]\nnorm = \"batchnorm\"\n", 6, 8, "model.norm", "data.batch >= 2"),
    ("[model]\nweights = \" \"\n", 3, 11, "model.weights", "a non-empty path"),
    ("[model]\ninit = \"normal\"\n", 3, 8, "model.init_std", "missing required key"),
    ("[model]\ninit_std = 0.1\n", 3, 12, "model.init_std", "only model.init = \"normal\""),
    ("[model]\ninit = \"normal\"\ninit_std = -0.1\n", 4, 12, "model.init_std", "> 0"),
    ("[model]\ninit_scale = 0.0\n", 3, 14, "model.init_scale", "a finite number > 0"),
    ("[model]\nnorm_eps = -1e-5\n", 3, 12, "model.norm_eps", "a finite number >= 0"),
    ("[model]\nnorm_eps = nan\n", 3, 12, "model.norm_eps", "a finite number >= 0"),
    ("[model]\ndropout = 1.0\n", 3, 11, "model.dropout", "a number in [0, 1)"),
    ("[model]\nbias_init = -inf\n", 3, 13, "model.bias_init", "a finite number"),
    ("[loss]\nkind = \"mse\"\n[data]\nkind = \"teacher-regression\"\nclasses = 3\n", 6, 11, "data.classes", "set data.outputs instead"),
    ("[data]\nkind = \"teacher-regression\"\n[loss]\nkind = \"bce\"\n", 5, 8, "loss.kind", "it needs class labels"),
    ("[data]\nkind = \"teacher-regression\"\n[loss]\nkind = \"cross-entropy\"\n", 5, 8, "loss.kind", "use \"mse\""),
    ("[optimizer]\nmomentum = 1.0\n", 3, 12, "optimizer.momentum", "a number in [0, 1)"),
    ("[optimizer]\nbetas = [0.9, 1.0]\n", 3, 15, "optimizer.betas[1]", "a number in [0, 1)"),
    ("[optimizer]\neps = -1.0\n", 3, 7, "optimizer.eps", "a finite number >= 0"),
    ("[optimizer]\nalpha = 1.0\n", 3, 9, "optimizer.alpha", "a number in [0, 1)"),
    ("[optimizer]\nweight_decay = -0.1\n", 3, 16, "optimizer.weight_decay", ">= 0"),
    ("[optimizer]\nkind = \"adam\"\nindependent_weight_decay = true\n", 4, 28, "optimizer.independent_weight_decay", "kind = \"adamw\" only"),
    ("[optimizer]\nl1 = -1.0\n", 3, 6, "optimizer.l1", ">= 0"),
    ("[optimizer]\nl2 = inf\n", 3, 6, "optimizer.l2", ">= 0"),
    ("[[optimizer.groups]]\nlayers = [17]\n", 3, 11, "optimizer.groups[0].layers[0]", "a layer index in 0..=16"),
    ("[[optimizer.groups]]\nlayers = [-1]\n", 3, 11, "optimizer.groups[0].layers[0]", "the output layer is 16"),
    ("[[optimizer.groups]]\nlayers = [1]\n[[optimizer.groups]]\nlayers = [2, 1]\n", 5, 14, "optimizer.groups[1].layers[1]", "layer 1 is already in optimizer.groups[0]"),
    ("[[optimizer.groups]]\nlayers = []\n", 3, 10, "optimizer.groups[0].layers", "at least one layer index"),
    ("[[optimizer.groups]]\nlayers = [0]\nlr_scale = 0.0\n", 4, 12, "optimizer.groups[0].lr_scale", "> 0"),
    ("[schedule]\ngamma = 0.0\n", 3, 9, "schedule.gamma", "a number in (0, 1]"),
    ("[schedule]\ngamma = 1.5\n", 3, 9, "schedule.gamma", "a number in (0, 1]"),
    ("[schedule]\nstep_size = 0\n", 3, 13, "schedule.step_size", "an integer >= 1"),
    ("steps = 10\n[schedule]\nwarmup = 10\n", 4, 10, "schedule.warmup", "an integer in 0..10 (fewer than steps = 10)"),
    ("[schedule]\nmin_lr = 0.1\n", 3, 10, "schedule.min_lr", "a number in [0, optimizer.lr = 0.001]"),
    ("[schedule]\nmin_lr = -0.0001\n", 3, 10, "schedule.min_lr", "a number in [0, optimizer.lr"),
    ("[clip]\nkind = \"norm\"\nmax = 0.0\n", 4, 7, "clip.max", "a finite number > 0"),
    ("[probe]\nhistogram_every = -1\n", 3, 19, "probe.histogram_every", "an integer >= 0"),
    ("[gates]\nmax_grad_norm = 0.0\n", 3, 17, "gates.max_grad_norm", "a finite number > 0"),
    ("[gates]\nmin_grad_norm = 1e4\n", 3, 17, "gates.min_grad_norm", "[0, gates.max_grad_norm = 1000.0)"),
    ("[gates]\nmax_layer_grad_ratio = 0.5\n", 3, 24, "gates.max_layer_grad_ratio", ">= 1"),
    ("[gates]\nmax_loss_spike = 0.5\n", 3, 18, "gates.max_loss_spike", ">= 1"),
    ("[gates]\nmax_final_loss_ratio = 0.0\n", 3, 24, "gates.max_final_loss_ratio", "> 0"),
    ("[gates]\nmax_dead_fraction = 1.5\n", 3, 21, "gates.max_dead_fraction", "a number in [0, 1]"),
    ("[gates]\nmax_saturated_fraction = -0.1\n", 3, 26, "gates.max_saturated_fraction", "a number in [0, 1]"),
    ("[gates]\nmax_update_ratio = 0.0\n", 3, 20, "gates.max_update_ratio", "> 0"),
    ("[gates]\nmax_sharpness_ratio = -1.0\n", 3, 23, "gates.max_sharpness_ratio", "> 0"),
    ("[gates]\nmax_weight_growth = 0.5\n", 3, 21, "gates.max_weight_growth", ">= 1"),
    ("[gates]\nmax_loss_growth = 0.9\n", 3, 19, "gates.max_loss_growth", ">= 1"),
    ("[gates]\nmax_loss_oscillation = -1.0\n", 3, 24, "gates.max_loss_oscillation", "> 0"),
    ("[[model.init_groups]]\nlayers = [17]\n", 3, 11, "model.init_groups[0].layers[0]", "a layer index in 0..=16"),
    ("[[model.init_groups]]\nlayers = [1]\n[[model.init_groups]]\nlayers = [1]\n", 5, 11, "model.init_groups[1].layers[0]", "layer 1 is already in model.init_groups[0]"),
    ("[[model.init_groups]]\nlayers = [3]\ninit_scale = 0.0\n", 4, 14, "model.init_groups[0].init_scale", "> 0"),
    ("[model]\nweights = \"w.npz\"\n[[model.init_groups]]\nlayers = [3]\n", 4, 1, "model.init_groups", "replaces the drawn init"),
    ("[robust]\ncases = 0\n", 3, 9, "robust.cases", "an integer >= 1"),
    ("[robust]\nmin_stable_fraction = 2.0\n", 3, 23, "robust.min_stable_fraction", "[0, 1]"),
    ("[robust]\nlr = [3.0, 0.3]\n", 3, 6, "robust.lr", "[lo, hi] with lo <= hi"),
    ("[robust]\ninit_scale = [0.0, 2.0]\n", 3, 15, "robust.init_scale[0]", "> 0"),
    ("[robust]\nbatch = [0, 8]\n", 3, 10, "robust.batch[0]", "an integer >= 1"),
    ("[robust]\nbatch = [64, 8]\n", 3, 9, "robust.batch", "lo <= hi"),
];

#[test]
fn every_rule_refuses_at_the_right_place() {
    refuses_at_the_right_place(CASES);
}

/// Each case's text, after a first line `name = "t"`, is refused at its line, column and key, with
/// the message containing its part.
pub(super) fn refuses_at_the_right_place(cases: &[(&str, usize, usize, &str, &str)]) {
    for &(body, line, column, key, needle) in cases {
        let text = format!("name = \"t\"\n{body}");
        let err = match parse_str(&text, "x.toml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        };
        let shown = err.to_string();
        let place = (err.line(), err.column(), err.key());
        assert_eq!(
            place,
            (Some(line), Some(column), Some(key)),
            "{text}\n{shown}"
        );
        assert!(
            shown.starts_with(&format!("x.toml:{line}:{column}: ")),
            "{shown}"
        );
        assert!(shown.contains(key), "{shown}");
        assert!(shown.contains(needle), "{shown:?} lacks {needle:?}");
    }
}

#[test]
fn validate_without_source_still_names_the_key() {
    let mut file: ScenarioFile = toml::from_str("name = \"t\"").unwrap();
    file.optimizer.lr = f64::NAN;
    let err = file.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "scenario: optimizer.lr = NaN is not allowed: expected a finite number > 0"
    );
    assert_eq!(err.line(), None);
}
