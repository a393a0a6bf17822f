//! The transformer and token keys: each refused combination is named at its place, a written MLP
//! key on a transformer (or a transformer key on an MLP) is an error even at its default value,
//! and a resolved transformer scenario survives the trip through its file form.
//! Each case's text starts with `name = "t"` on line 1; columns are counted by hand.

use super::*;

/// `[data]` of tokens and `[model]` of a transformer, lines 2 to 5.
const T: &str = "[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\n";

/// (text after line 1, line, column, key, part of the message)
#[rustfmt::skip]
const CASES: &[(&str, usize, usize, &str, &str)] = &[
    ("[model]\nkind = \"transformer\"\n", 3, 8, "model.kind", "use data.kind = \"tokens\""),
    ("[data]\nkind = \"tokens\"\n", 3, 8, "data.kind", "model.kind = \"transformer\""),
    ("[model]\nnorm = \"rmsnorm\"\n", 3, 8, "model.norm", "transformer"),
    ("[model]\nd_model = 64\n", 3, 11, "model.d_model", "it shapes a transformer"),
    ("[model]\nqk_norm = false\n", 3, 11, "model.qk_norm", "it shapes a transformer"),
    ("[loss]\nz_loss = 1e-4\n", 3, 10, "loss.z_loss", "tokens"),
    ("[data]\nvocab = 16\n", 3, 9, "data.vocab", "it describes token data"),
    ("[data]\nkind = \"tokens\"\ninputs = 4\n[model]\nkind = \"transformer\"\n", 4, 10, "data.inputs", "token sequences, not feature vectors"),
    ("[data]\nkind = \"tokens\"\ninput_scale = 1.0\n[model]\nkind = \"transformer\"\n", 4, 15, "data.input_scale", "token sequences"),
    ("[data]\nkind = \"tokens\"\nvocab = 2\n[model]\nkind = \"transformer\"\n", 4, 9, "data.vocab", "an integer >= 3"),
    ("[data]\nkind = \"tokens\"\ncontext = 1\n[model]\nkind = \"transformer\"\n", 4, 11, "data.context", "an integer >= 2"),
    ("[data]\nkind = \"tokens\"\npath = \"a.txt\"\ntask = \"copy\"\n[model]\nkind = \"transformer\"\n", 5, 8, "data.task", "drop one of them"),
    ("[data]\nkind = \"tokens\"\npath = \"a.txt\"\nvocab = 64\n[model]\nkind = \"transformer\"\n", 5, 9, "data.vocab", "a text file's tokens are its bytes"),
    ("[data]\nkind = \"tokens\"\nsamples = 4\nbatch = 8\n[model]\nkind = \"transformer\"\n", 5, 9, "data.batch", "1..=data.samples (4)"),
    ("[data]\nkind = \"tokens\"\nsamples = 100000000\n[model]\nkind = \"transformer\"\n", 4, 11, "data.samples", "stored tokens"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\ndepth = 4\n", 6, 9, "model.depth", "it shapes an MLP"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\nactivation = \"relu\"\n", 6, 14, "model.activation", "use model.mlp_activation"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\ninit_scale = 2.0\n", 6, 14, "model.init_scale", "model.init_std"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\ndropout = 0.1\n", 6, 11, "model.dropout", "no dropout"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\nheads = 3\n", 6, 9, "model.heads", "a divisor of model.d_model (128)"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\nnorm = \"batchnorm\"\n", 6, 8, "model.norm", "\"layernorm\" or \"rmsnorm\""),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\ninit_std = 0.0\n", 6, 12, "model.init_std", "> 0"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\nd_model = 8192\nheads = 1\nblocks = 64\n", 6, 11, "model.d_model", "parameters"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\n[loss]\nkind = \"mse\"\n", 7, 8, "loss.kind", "cross-entropy"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\n[loss]\nz_loss = -1.0\n", 7, 10, "loss.z_loss", ">= 0"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\n[optimizer]\nl2 = 0.1\n", 7, 6, "optimizer.l2", "weight_decay"),
    ("[data]\nkind = \"tokens\"\n[model]\nkind = \"transformer\"\n[robust]\ninput_scale = [1.0, 1.0]\n", 7, 15, "robust.input_scale", "no input scale"),
];

#[test]
fn every_transformer_rule_refuses_at_the_right_place() {
    assert!(CASES.iter().filter(|c| c.0.starts_with(T)).count() >= 10);
    super::validation_tests::refuses_at_the_right_place(CASES);
}

#[test]
fn a_transformer_with_only_its_kinds_gets_the_documented_defaults() {
    let s = parse_str(&format!("name = \"t\"\n{T}"), "x.toml").unwrap();
    let t = s.transformer().expect("a transformer");
    assert_eq!((t.d_model, t.heads, t.blocks, t.mlp_ratio), (128, 4, 4, 4));
    assert_eq!(t.init_std, 0.02);
    assert!(s.mlp().is_none());
    assert_eq!(
        (s.data.vocab, s.data.context, s.data.samples),
        (Some(256), Some(64), Some(4096))
    );
    assert!(s.is_classification());
}

/// Regression: the file form of a transformer once carried the MLP's defaults (`input_scale`,
/// `activation`, ...), which its own validation refuses when written, so every override failed.
#[test]
fn a_resolved_transformer_round_trips_through_toml_and_overrides() {
    for name in ["tiny-gpt", "tiny-gpt-fast"] {
        let s = resolve(name).unwrap();
        let text = toml::to_string(&ScenarioFile::from(&s)).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let keys = |t: &str| {
            table[t]
                .as_table()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(!keys("data").contains(&"input_scale".to_string()), "{text}");
        for mlp_key in [
            "activation",
            "init",
            "init_scale",
            "bias_init",
            "dropout",
            "residual",
        ] {
            assert!(
                !keys("model").contains(&mlp_key.to_string()),
                "{name} writes {mlp_key}:\n{text}"
            );
        }
        assert_eq!(parse_str(&text, "again.toml").unwrap(), s, "{text}");
        let again = apply_overrides(&s, &Overrides::default()).unwrap();
        assert_eq!(again, s);
    }
}

#[test]
fn without_a_source_an_mlp_key_on_a_transformer_is_still_refused_even_at_its_default() {
    let mut file: ScenarioFile = toml::from_str(&format!("name = \"t\"\n{T}")).unwrap();
    file.validate().unwrap();
    file.model.dropout = Some(0.0);
    let err = file.validate().unwrap_err().to_string();
    assert!(err.contains("model.dropout = 0.0 is not allowed"), "{err}");
}

/// A registered MLP activation is a scenario value by its registry name, with nothing else to add.
#[test]
fn every_registered_mlp_activation_is_a_scenario_value() {
    use crate::core::gpt::MlpActivation;
    for &act in MlpActivation::ALL {
        let text = format!("name = \"t\"\n{T}mlp_activation = \"{}\"\n", act.name());
        let s = parse_str(&text, "x.toml").unwrap_or_else(|e| panic!("{}: {e}", act.name()));
        assert_eq!(s.transformer().unwrap().mlp_activation, act);
    }
}
