//! The candidate table: every error kind has ideas, and each idea computes its `--set` arguments
//! from the scenario (MLP and transformer alike) or stands aside.

use super::*;
use crate::core::gpt::MlpActivation;
use crate::scenario::resolve;

#[test]
fn every_error_kind_has_ideas_and_warnings_have_none() {
    for (kind, ideas) in TABLE {
        assert!(!ideas.is_empty(), "{kind:?}");
        // Errors about progress (not instabilities) have ideas too.
        let progress = matches!(
            kind,
            FindingKind::NoProgress
                | FindingKind::AdamEpsilon
                | FindingKind::GradientUnderflow
                | FindingKind::LostUpdates
        );
        assert!(kind.is_instability() || progress, "{kind:?}");
    }
    assert!(ideas_for(FindingKind::Plateau).is_empty());
    assert!(ideas_for(FindingKind::DepthScaling).is_empty());
}

#[test]
fn the_transformer_output_and_eps_ideas_apply_only_where_they_change_something() {
    let s = resolve("gpt-logit-divergence").unwrap(); // AdamW, wd 0, no z-loss
    assert_eq!((Z_LOSS.sets)(&s), sets(&["loss.z_loss=1e-4"]));
    assert_eq!((Z_LOSS_X10.sets)(&s), None);
    assert_eq!(
        (WEIGHT_DECAY.sets)(&s),
        sets(&["optimizer.weight_decay=0.1"])
    );
    let z = resolve("gpt-logit-divergence-z-loss").unwrap();
    assert_eq!((Z_LOSS_X10.sets)(&z), sets(&["loss.z_loss=0.001"]));
    let eps = resolve("gpt-adam-eps-large").unwrap();
    assert_eq!((EPS_X001.sets)(&eps), sets(&["optimizer.eps=0.0001"]));
    assert_eq!(
        (EPS_X001.sets)(&resolve("sgd-lr-1").unwrap()),
        None,
        "SGD has no eps"
    );
    assert_eq!((WEIGHT_DECAY.sets)(&resolve("deep-mlp").unwrap()), None);
}

#[test]
fn ideas_compute_their_sets_from_the_scenario() {
    let s = resolve("sgd-lr-1").unwrap(); // SGD at lr 1.0, 20 steps, relu, no norm
    assert_eq!((LR_X03.sets)(&s), sets(&["optimizer.lr=0.3"]));
    assert_eq!((LR_X100.sets)(&s), sets(&["optimizer.lr=100.0"]));
    assert_eq!(
        (WARMUP.sets)(&s),
        sets(&["schedule.kind=\"warmup-cosine\"", "schedule.warmup=2"])
    );
    assert_eq!(
        (ADAM.sets)(&s),
        sets(&["optimizer.kind=\"adam\"", "optimizer.lr=0.001"])
    );
    // Already relu, no groups, no norm, no bias: these do not apply.
    for idea in [RELU_FAMILY, DROP_GROUPS, NORM_EPS, OPTIMIZER_EPS, BIAS_ZERO] {
        assert_eq!((idea.sets)(&s), None, "{}", idea.name);
    }
    let adam = resolve("adam-eps-0").unwrap();
    assert_eq!((ADAM.sets)(&adam), None);
    assert_eq!((OPTIMIZER_EPS.sets)(&adam), sets(&["optimizer.eps=1e-5"]));
    let ln = resolve("layernorm-eps-0").unwrap();
    assert_eq!((NORM_EPS.sets)(&ln), sets(&["model.norm_eps=1e-5"]));
    assert_eq!((LAYERNORM.sets)(&ln), None);
    let sigmoid = resolve("sigmoid-vanishing").unwrap();
    assert_eq!(
        (MATCHED_INIT.sets)(&sigmoid),
        sets(&["model.init=\"xavier-normal\"", "model.init_scale=1.0"])
    );
    assert_eq!(
        (RELU_FAMILY.sets)(&sigmoid),
        sets(&["model.activation=\"relu\""])
    );
}

#[test]
fn a_transformer_gets_its_own_ideas_and_none_of_the_mlps() {
    let mut s = resolve("tiny-gpt-fast").unwrap(); // pre-LN, no qk-norm, z-loss 0, AdamW
    assert_eq!((QK_NORM.sets)(&s), sets(&["model.qk_norm=true"]));
    assert_eq!((Z_LOSS.sets)(&s), sets(&["loss.z_loss=1e-4"]));
    for idea in [
        PRE_LN,
        GPT2_INIT,
        NORM_EPS,
        ADAM,
        XAVIER_INIT,
        MATCHED_INIT,
        LAYERNORM,
        RESIDUAL,
        RELU_FAMILY,
        LEAKY_RELU,
        BIAS_ZERO,
        INPUT_SCALE_ONE,
    ] {
        assert_eq!((idea.sets)(&s), None, "{}", idea.name);
    }
    let t = match &mut s.model {
        crate::scenario::ModelConfig::Transformer(t) => t,
        crate::scenario::ModelConfig::Mlp(_) => unreachable!("tiny-gpt-fast is a transformer"),
    };
    t.norm_position = NormPosition::Post;
    t.qk_norm = true;
    t.init_std = 0.1;
    t.norm_eps = 0.0;
    t.mlp_activation = MlpActivation::Relu;
    s.loss.z_loss = 1e-4;
    s.optimizer.kind = crate::core::optim::OptimizerKind::Sgd;
    assert_eq!((PRE_LN.sets)(&s), sets(&["model.norm_position=\"pre\""]));
    assert_eq!((GPT2_INIT.sets)(&s), sets(&["model.init_std=0.02"]));
    assert_eq!((NORM_EPS.sets)(&s), sets(&["model.norm_eps=1e-5"]));
    assert_eq!(
        (GELU_MLP.sets)(&s),
        sets(&["model.mlp_activation=\"gelu\""])
    );
    assert_eq!(
        (ADAM.sets)(&s),
        sets(&["optimizer.kind=\"adamw\"", "optimizer.lr=0.001"])
    );
    assert_eq!((QK_NORM.sets)(&s), None);
    assert_eq!((Z_LOSS.sets)(&s), None);
    // Every idea a transformer gets validates on it (none is refused as an MLP key).
    for (_, ideas) in TABLE {
        for idea in *ideas {
            if let Some(set) = (idea.sets)(&s) {
                let overrides = crate::scenario::Overrides {
                    seed: None,
                    steps: None,
                    set: set
                        .iter()
                        .map(|a| crate::scenario::SetOverride::parse(a).unwrap())
                        .collect(),
                };
                crate::scenario::apply_overrides(&s, &overrides)
                    .unwrap_or_else(|e| panic!("{}: {e}", idea.name));
            }
        }
    }
}
