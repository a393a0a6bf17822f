//! Parsing and defaults: the built-in reference, every default filled, serde round trips.
//! (Error classes are in `error_tests.rs`.)

use super::*;
use crate::core::clip::ClipKind;
use crate::core::data::DataKind;
use crate::core::init::InitKind;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::loss::LossKind;
use crate::core::optim::OptimizerKind;
use crate::core::schedule::ScheduleKind;

/// The defaults, written out by hand from scenarios/deep-mlp.toml's comments and the field docs.
fn documented_defaults(name: &str) -> Scenario {
    Scenario {
        name: name.into(),
        description: String::new(),
        seed: 7,
        steps: 300,
        precision: Precision::F32,
        data: DataConfig {
            kind: DataKind::TeacherClassification,
            task: None,
            vocab: None,
            context: None,
            inputs: Some(64),
            classes: Some(10),
            outputs: None,
            samples: Some(2048),
            batch: 64,
            path: None,
            input_scale: 1.0,
        },
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![128; 16],
            activation: Activation::Relu,
            init: InitKind::HeNormal,
            init_scale: 1.0,
            init_std: None,
            norm: NormKind::None,
            norm_eps: 1e-5,
            bias_init: 0.0,
            residual: false,
            dropout: 0.0,
            init_groups: Vec::new(),
            weights: None,
        }),
        loss: LossConfig {
            kind: LossKind::CrossEntropy,
            z_loss: 0.0,
        },
        optimizer: OptimizerConfig {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
            momentum: 0.9,
            betas: [0.9, 0.999],
            eps: 1e-8,
            alpha: 0.99,
            weight_decay: 0.0,
            independent_weight_decay: false,
            l1: 0.0,
            l2: 0.0,
            groups: vec![],
        },
        schedule: ScheduleConfig {
            kind: ScheduleKind::Constant,
            warmup: 0,
            step_size: 100,
            gamma: 0.1,
            min_lr: 0.0,
        },
        clip: ClipConfig {
            kind: ClipKind::None,
            max: 1.0,
        },
        probe: ProbeConfig {
            histogram_every: 50,
            checkpoint_every: 100,
            sharpness_every: 0,
        },
        gates: Gates {
            nonfinite: NonfinitePolicy::Forbid,
            max_grad_norm: 1e3,
            min_grad_norm: 1e-7,
            max_layer_grad_ratio: 1e4,
            max_loss_spike: 5.0,
            max_final_loss_ratio: 0.9,
            max_dead_fraction: 0.5,
            max_saturated_fraction: 0.5,
            max_update_ratio: 1.0,
            max_weight_growth: 100.0,
            max_loss_growth: 2.0,
            max_loss_oscillation: 0.1,
            max_sharpness_ratio: 1.0,
            max_attention_logit: 50.0,
            min_grad_rms_over_eps: 1.0,
            max_cast_overflow: 0.0,
            max_grad_flushed_fraction: 0.05,
            min_loss_scale: 1.0,
            max_skipped_fraction: 0.1,
            max_lost_update_fraction: 0.25,
            max_regression: 1.0,
            max_log_z: 20.0,
            max_output_grad_imbalance: 50.0,
        },
        robust: RobustConfig {
            cases: 64,
            min_stable_fraction: 0.9,
            lr: [0.3, 3.0],
            init_scale: [0.5, 2.0],
            batch: [16, 256],
            input_scale: [0.1, 10.0],
            vary_seed: true,
        },
        f32_layers: Vec::new(),
        // PyTorch GradScaler's defaults, with scaling off.
        loss_scale: crate::core::precision::scaler::ScalerSpec {
            kind: crate::core::precision::scaler::ScaleKind::None,
            init: 65536.0,
            growth_factor: 2.0,
            backoff_factor: 0.5,
            growth_interval: 2000,
        },
    }
}

fn parse(text: &str) -> Scenario {
    parse_str(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_name_alone_gets_every_documented_default() {
    assert_eq!(parse("name = \"tiny\""), documented_defaults("tiny"));
}

#[test]
fn deep_mlp_is_the_reference_it_claims_to_be() {
    let scenario = resolve("deep-mlp").unwrap();
    let mut expected = documented_defaults("deep-mlp");
    expected.description = "16 hidden layers, ReLU, He init, Adam: the stable reference".into();
    // Its [robust] ranges are narrower than the format's defaults, for the reasons in its file.
    expected.robust.lr = [0.3, 1.5];
    expected.robust.init_scale = [0.7, 1.4];
    expected.robust.batch = [32, 128];
    assert_eq!(scenario, expected);
    assert_eq!(scenario.depth(), 16);
    assert_eq!(scenario.hidden_widths(), vec![128; 16]);
    assert_eq!(scenario.outputs(), 10);
    assert!(scenario.is_classification());
}

#[test]
fn scenario_round_trips_through_json_and_toml() {
    let mut scenario = resolve("deep-mlp").unwrap();
    scenario.optimizer.lr = 1e30;
    if let ModelConfig::Mlp(m) = &mut scenario.model {
        m.hidden = vec![256, 128, 64];
    }
    scenario.optimizer.groups = vec![GroupConfig {
        layers: vec![3, 1],
        lr_scale: 100.0,
    }];
    let json = serde_json::to_value(&scenario).unwrap();
    assert!(!json.to_string().contains("null"), "{json}");
    let from_json: Scenario = serde_json::from_value(json).unwrap();
    assert_eq!(from_json, scenario);
    let toml_text = toml::to_string(&scenario).unwrap();
    assert_eq!(parse_str(&toml_text, "written.toml").unwrap(), scenario);
}

#[test]
fn reading_json_validates_again() {
    let mut json = serde_json::to_value(resolve("deep-mlp").unwrap()).unwrap();
    json["optimizer"]["lr"] = serde_json::json!(-1.0);
    let err = serde_json::from_value::<Scenario>(json).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("optimizer.lr = -1.0 is not allowed"),
        "{text}"
    );
}

#[test]
fn table_defaults_match_serde_defaults() {
    assert_eq!(
        toml::from_str::<DataTable>("").unwrap(),
        DataTable::default()
    );
    assert_eq!(
        toml::from_str::<ModelTable>("").unwrap(),
        ModelTable::default()
    );
    assert_eq!(
        toml::from_str::<LossTable>("").unwrap(),
        LossTable::default()
    );
    assert_eq!(
        toml::from_str::<OptimizerTable>("").unwrap(),
        OptimizerTable::default()
    );
    assert_eq!(
        toml::from_str::<ScheduleTable>("").unwrap(),
        ScheduleTable::default()
    );
    assert_eq!(
        toml::from_str::<ClipTable>("").unwrap(),
        ClipTable::default()
    );
    assert_eq!(
        toml::from_str::<ProbeTable>("").unwrap(),
        ProbeTable::default()
    );
    assert_eq!(toml::from_str::<Gates>("").unwrap(), Gates::default());
    assert_eq!(
        toml::from_str::<RobustTable>("").unwrap(),
        RobustTable::default()
    );
}

#[test]
fn defaults_follow_the_data_kind() {
    let regression = parse("name = \"r\"\n[data]\nkind = \"teacher-regression\"\n");
    assert_eq!(
        (regression.data.classes, regression.data.outputs),
        (None, Some(1))
    );
    assert_eq!(regression.loss.kind, LossKind::Mse);
    assert_eq!(regression.outputs(), 1);
    let spirals = parse("name = \"s\"\n[data]\nkind = \"spirals\"\n");
    assert_eq!(
        (spirals.data.inputs, spirals.data.classes),
        (Some(2), Some(2))
    );
    let csv = parse("name = \"c\"\n[data]\nkind = \"csv\"\npath = \"d.csv\"\noutputs = 3\n");
    assert_eq!(
        (csv.data.inputs, csv.data.samples, csv.outputs()),
        (None, None, 3)
    );
    assert_eq!(csv.loss.kind, LossKind::Mse);
    let exponential = parse("name = \"e\"\n[schedule]\nkind = \"exponential\"\n");
    assert_eq!(exponential.schedule.gamma, 0.99);
}

#[test]
fn edge_values_that_are_allowed() {
    let text = "name = \"edge-1\"\n[data]\nsamples = 64\nbatch = 64\n\
                [model]\nhidden = [64, 32, 32]\nresidual = true\nnorm_eps = 0.0\n\
                init = \"normal\"\ninit_std = 0.01\n\
                [optimizer]\nlr = 1e30\neps = 0.0\n[[optimizer.groups]]\nlayers = [3]\n";
    let s = parse(text);
    assert_eq!(s.hidden_widths(), vec![64, 32, 32]);
    assert_eq!(
        (s.data.batch, s.optimizer.lr, s.mlp().unwrap().norm_eps),
        (64, 1e30, 0.0)
    );
    assert_eq!(
        s.optimizer.groups[0].layers,
        vec![3],
        "index depth is the output layer"
    );
    assert_eq!(parse("name = \"lin\"\n[model]\ndepth = 0\n").depth(), 0);
    assert_eq!(
        parse("name = \"h\"\n[model]\ndepth = 2\nhidden = [5, 6]\n").depth(),
        2
    );
}
