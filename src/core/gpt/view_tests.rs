//! The GPT as probes see it: every parameter segment under its state_dict prefix, and kept
//! outputs and gradients from this step.

use super::*;
use crate::core::gpt::GptSpec;

fn small(qk_norm: bool, norm_position: NormPosition, tie: bool) -> Gpt<f64> {
    let spec = GptSpec {
        qk_norm,
        norm_position,
        tie_embeddings: tie,
        batch: 3,
        ..GptSpec::for_tests()
    };
    Gpt::new(spec, 1)
}

#[test]
fn every_parameter_segment_is_seen_once_under_its_state_dict_prefix() {
    for (qk, pos, tie) in [
        (false, NormPosition::Pre, false),
        (true, NormPosition::Pre, true),
        (true, NormPosition::Post, false),
    ] {
        let gpt = small(qk, pos, tie);
        let mut seen = Vec::new();
        for l in 0..gpt.layer_count() {
            let v = gpt.layer_view(l);
            let name = gpt.layer_name(l).expect("GPT layers are named");
            let w = &gpt.names[v.weight];
            let own = w.starts_with(&format!("{name}.")) || (tie && name == "head");
            assert!(own, "layer {name} shows {w}");
            if !(tie && name == "head") {
                seen.push(v.weight);
            }
            seen.extend(v.bias);
            assert_eq!(v.output.nrows(), gpt.spec.tokens(), "{name}");
            if let Some(g) = v.grad_out {
                assert_eq!(g.dim(), v.output.dim(), "{name}");
            }
        }
        seen.sort_unstable();
        let before = seen.len();
        seen.dedup();
        assert_eq!(
            before,
            seen.len(),
            "a segment shown twice ({qk}, {pos:?}, {tie})"
        );
        assert_eq!(
            seen.len(),
            gpt.params.segments.len(),
            "a segment never shown"
        );
    }
}

#[test]
fn kept_outputs_and_gradients_are_this_steps_values() {
    let mut gpt = small(true, NormPosition::Pre, false);
    let n = gpt.spec.tokens();
    let tokens: Vec<u32> = (0..n as u32).map(|i| i % 11).collect();
    let targets: Vec<u32> = (0..n as u32).map(|i| (i + 1) % 11).collect();
    gpt.forward_backward(&tokens, &targets);
    let names: Vec<String> = (0..gpt.layer_count())
        .filter_map(|l| gpt.layer_name(l))
        .collect();
    let at = |name: &str| names.iter().position(|n| n == name).expect(name);
    let head = gpt.layer_view(at("head"));
    assert_eq!(head.output, gpt.logits.view());
    // ∂L/∂logits of a mean cross-entropy sums to 0 over each row (softmax minus one-hot).
    let g = head.grad_out.expect("the head keeps ∂L/∂logits");
    for row in g.rows() {
        assert!(row.sum().abs() < 1e-12);
    }
    let proj = gpt.layer_view(at("blocks.1.attn.proj"));
    let b = &gpt.blocks[1];
    // Pre-LN: mid = h + proj_out, so the kept output is exactly mid − h.
    let diff = &b.body.outs[0] - &gpt.stream[1];
    let err = (&diff - &proj.output)
        .mapv(f64::abs)
        .fold(0.0f64, |m, &x| m.max(x));
    assert!(err < 1e-12, "{err}");
    assert!(!gpt.sequential());
}

/// The sums the forward pass takes for probes are those of the buffers the view shows, bit for
/// bit (every layout, under a 16-bit policy too), and none are kept once measuring stops.
#[test]
fn forward_sums_equal_the_shown_outputs_sums_and_vanish_when_not_measured() {
    use crate::core::blocked::moment_sums;
    use crate::core::model::contiguous;
    use crate::core::precision::Half;
    use crate::core::precision::policy::Policy;
    for (qk, pos, tie, policy) in [
        (false, NormPosition::Pre, false, None),
        (true, NormPosition::Pre, true, None),
        (false, NormPosition::Post, false, None),
        (
            true,
            NormPosition::Post,
            true,
            Some(Policy {
                half: Half::Bf16,
                pure: false,
            }),
        ),
    ] {
        let mut gpt = small(qk, pos, tie);
        if let Some(p) = policy {
            gpt.set_policy(p, &[]);
        }
        let n = gpt.spec.tokens();
        let tokens: Vec<u32> = (0..n as u32).map(|i| i * 7 % 11).collect();
        let targets: Vec<u32> = (0..n as u32).map(|i| (i + 3) % 11).collect();
        gpt.set_buffer_sums(true);
        gpt.forward_backward(&tokens, &targets);
        let mut measured = 0;
        for l in 0..gpt.layer_count() {
            let v = gpt.layer_view(l);
            let name = gpt.layer_name(l).unwrap_or_default();
            let norm_of_qk = name.contains("q_norm") || name.contains("k_norm");
            match v.sums.output {
                Some(s) => {
                    assert_eq!(s, moment_sums(contiguous(v.output)), "{name}");
                    measured += 1;
                }
                None => assert!(qk && norm_of_qk, "{name} unmeasured"),
            }
        }
        assert!(measured >= gpt.layer_count() - 2 * gpt.spec.blocks);
        gpt.set_buffer_sums(false);
        gpt.forward_backward(&tokens, &targets);
        assert!((0..gpt.layer_count()).all(|l| gpt.layer_view(l).sums.output.is_none()));
    }
}
