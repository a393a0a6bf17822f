//! Whole-model checks of the GPT: f64 finite differences over every parameter, causality, names.

use super::*;
use crate::core::gradcheck::{Tolerance, check};

/// A 2-block model small enough to difference every parameter: vocab 7, T 4, d 8, 2 heads.
fn small(position: NormPosition) -> GptSpec {
    GptSpec {
        vocab: 7,
        context: 4,
        d_model: 8,
        heads: 2,
        blocks: 2,
        mlp_ratio: 2,
        mlp_activation: MlpActivation::Gelu,
        norm: TokenNorm::Layernorm,
        norm_position: position,
        qk_norm: false,
        tie_embeddings: false,
        bias: true,
        // Large enough that every path carries an O(1) gradient the tolerance can see.
        init_std: 0.6,
        norm_eps: 1e-5,
        z_loss: 0.0,
        batch: 2,
    }
}

fn tokens(spec: &GptSpec, salt: u32) -> Vec<u32> {
    (0..spec.tokens() as u32)
        .map(|i| (i * 5 + salt * 3 + i * i) % spec.vocab as u32)
        .collect()
}

/// Non-trivial norm gains and biases (init makes them 1 and 0, which hides some formula errors).
fn perturb_non_weights(gpt: &mut Gpt<f64>) {
    for (i, seg) in gpt.params.segments.clone().iter().enumerate() {
        if seg.kind != crate::core::params::ParamKind::Weight {
            for (k, v) in gpt.params.values[seg.range()].iter_mut().enumerate() {
                *v += 0.3 * ((i * 31 + k) as f64).sin();
            }
        }
    }
}

fn assert_gradients(spec: GptSpec) {
    let mut gpt = Gpt::<f64>::new(spec, 11);
    perturb_non_weights(&mut gpt);
    let (x, y) = (tokens(&spec, 0), tokens(&spec, 1));
    gpt.forward_backward(&x, &y);
    let analytic = gpt.params.grads.clone();
    let x0 = gpt.params.values.clone();
    let report = check(
        |v| {
            gpt.params.values.copy_from_slice(v);
            gpt.forward_backward(&x, &y).total
        },
        &x0,
        &analytic,
    );
    let worst = report.worst_index;
    let seg = gpt
        .params
        .segments
        .iter()
        .position(|s| s.range().contains(&worst));
    let name = seg.map_or("?", |s| gpt.names[s].as_str());
    assert!(
        report.passed(Tolerance::GRADCHECK),
        "{spec:?}\nworst in {name}: {report}"
    );
}

#[test]
fn gradients_match_finite_differences_pre_and_post_ln() {
    assert_gradients(small(NormPosition::Pre));
    assert_gradients(small(NormPosition::Post));
}

#[test]
fn gradients_match_finite_differences_with_qk_norm() {
    for position in [NormPosition::Pre, NormPosition::Post] {
        assert_gradients(GptSpec {
            qk_norm: true,
            ..small(position)
        });
    }
}

#[test]
fn gradients_match_finite_differences_tied_and_with_z_loss() {
    assert_gradients(GptSpec {
        tie_embeddings: true,
        ..small(NormPosition::Pre)
    });
    assert_gradients(GptSpec {
        tie_embeddings: true,
        z_loss: 0.1,
        ..small(NormPosition::Post)
    });
    assert_gradients(GptSpec {
        z_loss: 1e-4,
        ..small(NormPosition::Pre)
    });
}

#[test]
fn gradients_match_finite_differences_for_each_mlp_activation() {
    // Every registered activation (`small` itself uses GELU), a new one included.
    for &act in MlpActivation::ALL {
        assert_gradients(GptSpec {
            mlp_activation: act,
            ..small(NormPosition::Pre)
        });
    }
}

#[test]
fn gradients_match_finite_differences_rmsnorm_without_biases() {
    let spec = GptSpec {
        norm: TokenNorm::Rmsnorm,
        bias: false,
        qk_norm: true,
        ..small(NormPosition::Pre)
    };
    assert_gradients(spec);
    assert_gradients(GptSpec {
        norm_position: NormPosition::Post,
        ..spec
    });
}

/// Positions whose logits change when only a later token of their sequence changes: 0 for a
/// causal model. Comparison is exact: a causal model's earlier logits do not depend on later
/// tokens at all, not even by rounding.
fn causality_violations(gpt: &mut Gpt<f64>) -> usize {
    let spec = gpt.spec;
    let x = tokens(&spec, 2);
    gpt.forward(&x);
    let base = gpt.logits.clone();
    let mut violations = 0;
    for t in 1..spec.context {
        let mut changed = x.clone();
        for b in 0..spec.batch {
            let i = b * spec.context + t;
            changed[i] = (changed[i] + 1) % spec.vocab as u32;
        }
        gpt.forward(&changed);
        for b in 0..spec.batch {
            for s in 0..t {
                let row = b * spec.context + s;
                violations += usize::from(gpt.logits.row(row) != base.row(row));
            }
        }
    }
    violations
}

#[test]
fn a_mask_that_lets_a_position_see_one_future_token_is_caught() {
    for qk_norm in [false, true] {
        let mut gpt = Gpt::<f64>::new(
            GptSpec {
                qk_norm,
                ..small(NormPosition::Pre)
            },
            3,
        );
        assert_eq!(
            causality_violations(&mut gpt),
            0,
            "the causal model sees no future token"
        );
        for block in &mut gpt.blocks {
            block.attention_mut().attn.future = 1;
        }
        // Position s sees s + 1: every (s, t = s + 1) pair in each sequence is a violation.
        let leaks = causality_violations(&mut gpt);
        assert!(
            leaks >= gpt.spec.batch * (gpt.spec.context - 1),
            "leak not caught: {leaks}"
        );
    }
}

#[test]
fn parameters_carry_state_dict_names_and_count() {
    let spec = GptSpec {
        qk_norm: true,
        ..small(NormPosition::Pre)
    };
    let gpt = Gpt::<f32>::new(spec, 0);
    assert_eq!(gpt.names.len(), gpt.params.segments.len());
    for name in [
        "tok_emb.weight",
        "pos_emb.weight",
        "blocks.1.attn.qkv.weight",
        "blocks.0.attn.q_norm.bias",
        "blocks.1.mlp.fc1.bias",
        "ln_f.weight",
        "head.weight",
        "head.bias",
    ] {
        assert!(
            gpt.segment(name).is_some(),
            "{name} missing from {:?}",
            gpt.names
        );
    }
    let mut unique = gpt.names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), gpt.names.len(), "names are unique");
    // tiny-gpt has the peers' 867,328 parameters (gpt_common.n_params).
    assert_eq!(
        Gpt::<f32>::new(GptSpec::tiny_gpt(), 0).params.len(),
        867_328
    );
    let tied = Gpt::<f32>::new(
        GptSpec {
            tie_embeddings: true,
            ..spec
        },
        0,
    );
    assert!(tied.segment("head.weight").is_none() && tied.segment("head.bias").is_some());
}

#[test]
fn init_follows_the_stated_scales() {
    let spec = GptSpec {
        init_std: 0.02,
        ..GptSpec::tiny_gpt()
    };
    let gpt = Gpt::<f64>::new(spec, 5);
    let std_of = |name: &str| {
        let (i, _) = gpt.segment(name).unwrap();
        let v = gpt.params.value(i);
        (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
    };
    // 16k-65k draws: the sample std is within 2% of the target.
    assert!((std_of("blocks.0.attn.qkv.weight") / 0.02 - 1.0).abs() < 0.02);
    assert!((std_of("blocks.3.mlp.fc2.weight") / (0.02 / 8f64.sqrt()) - 1.0).abs() < 0.02);
    assert_eq!(std_of("blocks.0.ln1.bias"), 0.0);
    assert_eq!(std_of("ln_f.weight"), 1.0);
}
