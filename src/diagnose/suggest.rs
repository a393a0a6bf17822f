//! Suggested fixes, written as `--set` overrides so a person (or `stabcheck fix`) can apply them.

use super::finding::Suggestion;
use crate::core::clip::ClipKind;
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::scenario::Scenario;

/// A number as a TOML float literal (`1.0`, `0.0003`, `3e-7`), never an integer, rounded to three
/// significant digits (a suggested lr of 0.000333 reads better than 0.0003333333333333333).
pub fn toml_float(x: f64) -> String {
    let x: f64 = format!("{x:.2e}").parse().unwrap_or(x);
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else if (1e-4..1e4).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn make(set: Vec<String>, why: impl Into<String>) -> Option<Suggestion> {
    Some(Suggestion {
        set,
        why: why.into(),
    })
}

/// Divide the learning rate by `factor`.
pub fn lower_lr(s: &Scenario, factor: f64, why: &str) -> Option<Suggestion> {
    let lr = s.optimizer.lr / factor;
    make(vec![format!("optimizer.lr={}", toml_float(lr))], why)
}

/// Clip the global gradient norm (or keep an existing norm clip but tighten it).
pub fn clip_norm(s: &Scenario, why: &str) -> Option<Suggestion> {
    let max = match s.clip.kind {
        ClipKind::Norm => s.clip.max / 10.0,
        _ => 1.0,
    };
    make(
        vec![
            "clip.kind=\"norm\"".to_string(),
            format!("clip.max={}", toml_float(max)),
        ],
        why,
    )
}

/// An init matched to the activation, at scale 1 (He for the ReLU family, Xavier otherwise).
pub fn matched_init(s: &Scenario, why: &str) -> Option<Suggestion> {
    let init = match s.mlp()?.activation {
        Activation::Relu | Activation::LeakyRelu | Activation::Gelu => "he-normal",
        _ => "xavier-normal",
    };
    make(
        vec![
            format!("model.init=\"{init}\""),
            "model.init_scale=1.0".to_string(),
        ],
        why,
    )
}

/// Normalize activations (layernorm, the batch-independent choice), unless already normalized:
/// then add residual connections.
pub fn normalize_or_residual(s: &Scenario, why: &str) -> Option<Suggestion> {
    let m = s.mlp()?;
    if m.norm == NormKind::None {
        make(vec!["model.norm=\"layernorm\"".to_string()], why)
    } else if !m.residual {
        make(vec!["model.residual=true".to_string()], why)
    } else {
        None
    }
}

/// For dead ReLUs: a leaky activation, and a zero bias when the bias was pushed negative.
pub fn revive_units(s: &Scenario, why: &str) -> Option<Suggestion> {
    let mut set = Vec::new();
    let Some(m) = s.mlp() else {
        return lower_lr(s, 10.0, why);
    };
    if m.bias_init < 0.0 {
        set.push("model.bias_init=0.0".to_string());
    }
    if m.activation == Activation::Relu {
        set.push("model.activation=\"leaky-relu\"".to_string());
    }
    if set.is_empty() {
        return lower_lr(s, 10.0, why);
    }
    make(set, why)
}

/// For saturated tanh/sigmoid units: a smaller init scale and a zero bias, or a ReLU family
/// activation when the init is already modest.
pub fn desaturate(s: &Scenario, why: &str) -> Option<Suggestion> {
    let mut set = Vec::new();
    let m = s.mlp()?;
    if m.bias_init != 0.0 {
        set.push("model.bias_init=0.0".to_string());
    }
    if m.init_scale > 1.0 {
        set.push("model.init_scale=1.0".to_string());
    }
    if set.is_empty() {
        set.push("model.norm=\"layernorm\"".to_string());
    }
    make(set, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_toml_floats_never_integers() {
        assert_eq!(toml_float(1.0), "1.0");
        assert_eq!(toml_float(0.0001), "0.0001");
        assert_eq!(toml_float(3e-7), "3e-7");
        assert_eq!(toml_float(2.5e20), "2.5e20");
        assert_eq!(toml_float(1.0 / 3.0), "0.333");
        for x in [1.0, 0.0001, 3e-7, 2.5e20, 123.0] {
            let parsed: toml::Value = toml::from_str(&format!("x = {}", toml_float(x)))
                .map(|t: toml::Table| t["x"].clone())
                .unwrap();
            assert_eq!(parsed.as_float(), Some(x));
        }
    }
}
