//! NaN origin on a transformer: weights and settings built so the first non-finite op of a GPT
//! is known in advance (attention scores overflowing, a LayerNorm/RMSNorm 0/0, an AdamW 0/0), the
//! same scenarios repaired staying finite, and a late blow-up replayed bit for bit.

use std::path::Path;

use stabcheck::core::gpt::state_dict::{Buffer, npz_bytes};
use stabcheck::core::observer::Phase;
use stabcheck::probe::trace::NanOrigin;
use stabcheck::run::gpt::build_gpt_trainer;
use stabcheck::run::{RecordedRun, run_recorded};
use stabcheck::scenario::{Scenario, parse_str};
use tempfile::TempDir;

/// The optimizer table of most cases.
pub const ADAMW: &str = "kind = \"adamw\"\nlr = 1e-3";

/// A 2-block GPT on a 64-token Markov source: `model` adds keys to its table, `optimizer` is
/// the whole optimizer table.
pub fn gpt(steps: usize, model: &str, optimizer: &str) -> Scenario {
    let text = format!(
        "name = \"gpt-nan\"\nseed = 3\nsteps = {steps}\nprecision = \"f32\"\n\
         [data]\nkind = \"tokens\"\ntask = \"markov\"\nvocab = 64\ncontext = 8\nsamples = 64\nbatch = 4\n\
         [model]\nkind = \"transformer\"\nd_model = 16\nheads = 2\nblocks = 2\n{model}\n\
         [optimizer]\n{optimizer}\n"
    );
    parse_str(&text, "gpt-nan.toml").unwrap()
}

/// [`gpt`] starting from its own initial weights after `edit` (by state_dict name), given to it
/// as an npz file.
pub fn with_weights(
    dir: &Path,
    (steps, model, optimizer): (usize, &str, &str),
    edit: impl Fn(&str, &mut [f32]),
) -> Scenario {
    let s = gpt(steps, model, optimizer);
    let t = s.transformer().unwrap();
    let mut trainer = build_gpt_trainer::<f32>(&s, t, None).unwrap();
    let net = &mut trainer.gpt;
    for (i, seg) in net.params.segments.clone().iter().enumerate() {
        edit(&net.names[i], &mut net.params.values[seg.range()]);
    }
    let path = dir.join("edited.npz");
    std::fs::write(
        &path,
        npz_bytes(&net.state_dict(Buffer::Values, "")).unwrap(),
    )
    .unwrap();
    let weights = format!("{model}\nweights = {:?}", path.display().to_string());
    gpt(steps, &weights, optimizer)
}

fn origin(run: &RecordedRun) -> &NanOrigin {
    assert_eq!(
        run.origin.replay_divergence, None,
        "the replay must be bit-exact"
    );
    run.origin
        .origin
        .as_ref()
        .expect("a non-finite run has an origin")
}

fn assert_site(o: &NanOrigin, step: usize, module: &str, op: &str, phase: Phase) {
    let got = (o.step, o.module.as_deref(), o.op.as_str(), o.phase);
    assert_eq!(got, (step, Some(module), op, phase), "{o:#?}");
}

/// Multiplies the query and key columns of block 0's fused projection (`[16, 48]`, `[in, out]`:
/// columns 0..16 are q, 16..32 are k) by 1e21. The init is N(0, 0.02²) and ln1's output has unit
/// RMS over 16 features, so q and k entries are about 0.02·1e21·√16 ≈ 8e19, finite, while a score
/// sums hd = 8 products of about 6e39 each (scaled by 1/√8): far above f32::MAX = 3.4e38. So the
/// first non-finite op is the score matmul of block 0 at step 0, not the projection before it.
fn blown_up_queries_and_keys(name: &str, w: &mut [f32]) {
    if name == "blocks.0.attn.qkv.weight" {
        for (k, v) in w.iter_mut().enumerate() {
            if k % 48 < 32 {
                *v *= 1e21;
            }
        }
    }
}

#[test]
fn overflowing_attention_scores_are_named_as_the_qk_matmul_of_their_block() {
    let dir = TempDir::new().unwrap();
    let s = with_weights(dir.path(), (3, "", ADAMW), blown_up_queries_and_keys);
    let run = run_recorded(&s, None, None).unwrap();
    let o = origin(&run);
    assert_site(o, 0, "blocks.0.attn", "attn.qk_matmul", Phase::Forward);
    assert_eq!(
        o.layer,
        Some(3),
        "filed under blocks.0.attn.qkv, probe layer 3"
    );
    assert!(o.explanation.contains("qk-norm"), "{}", o.explanation);
    assert!(o.explanation.contains("f32::MAX"), "{}", o.explanation);
    let finding = &run.verdict.findings[0].summary;
    assert!(
        finding.contains("layer 3 (blocks.0.attn) forward attn.qk_matmul at step 0"),
        "{finding}"
    );
}

#[test]
fn the_same_queries_and_keys_at_their_initial_scale_stay_finite() {
    let run = run_recorded(&gpt(3, "", ADAMW), None, None).unwrap();
    assert!(run.summary.steps.iter().all(|s| s.loss.is_finite()));
    assert_eq!(run.origin.origin, None);
}

/// Every embedding entry set to `value`: every row of h₀ = tok_emb[x] + pos_emb is the constant
/// 2·value, so block 0's first norm sees a constant row (LayerNorm: variance 0) or, for value 0,
/// an all-zero row (RMSNorm: mean square 0). With eps 0 that is 0/0 at step 0.
fn constant_embeddings(value: f32) -> impl Fn(&str, &mut [f32]) {
    move |name, w| {
        if name.ends_with("_emb.weight") {
            w.fill(value);
        }
    }
}

#[test]
fn a_constant_row_into_layernorm_with_eps_0_is_0_over_0_in_ln1() {
    let dir = TempDir::new().unwrap();
    let s = with_weights(
        dir.path(),
        (3, "norm_eps = 0.0", ADAMW),
        constant_embeddings(0.5),
    );
    let run = run_recorded(&s, None, None);
    let run = run.unwrap();
    let o = origin(&run);
    assert_site(o, 0, "blocks.0.ln1", "layernorm.normalize", Phase::Forward);
    assert!(
        o.explanation.contains("variance 0 with eps 0"),
        "{}",
        o.explanation
    );
    assert!(
        o.explanation.contains("every z = 1.0e0"),
        "{}",
        o.explanation
    );
}

#[test]
fn an_all_zero_row_into_rmsnorm_with_eps_0_is_0_over_0_and_eps_repairs_it() {
    let dir = TempDir::new().unwrap();
    let rms = "norm = \"rmsnorm\"\nnorm_eps = 0.0";
    let s = with_weights(dir.path(), (3, rms, ADAMW), constant_embeddings(0.0));
    let bad = run_recorded(&s, None, None);
    let bad = bad.unwrap();
    let o = origin(&bad);
    assert_site(o, 0, "blocks.0.ln1", "rmsnorm.normalize", Phase::Forward);
    assert!(o.explanation.contains("all zeros"), "{}", o.explanation);
    let rms = "norm = \"rmsnorm\"\nnorm_eps = 1e-5";
    let s = with_weights(dir.path(), (3, rms, ADAMW), constant_embeddings(0.0));
    let good = run_recorded(&s, None, None);
    let good = good.unwrap();
    assert!(good.summary.steps.iter().all(|s| s.loss.is_finite()));
    assert_eq!(good.origin.origin, None);
}

/// A batch holds 4 × 8 = 32 tokens of a 64-token vocabulary, so at least 32 rows of the untied
/// token embedding get an exactly zero gradient; AdamW with eps 0 divides 0 by √0 there. The
/// embedding is the first segment updated, so the origin is its update at step 0. (A tied table
/// also gets the head's gradient, non-zero for every row, so the test unties it.)
#[test]
fn adamw_with_eps_0_on_unseen_token_rows_is_0_over_0_in_the_embedding_update() {
    let s = gpt(3, "tie_embeddings = false", &format!("{ADAMW}\neps = 0.0"));
    let run = run_recorded(&s, None, None).unwrap();
    let o = origin(&run);
    assert_site(o, 0, "tok_emb", "adamw.update", Phase::Update);
    assert_eq!(o.value, "NaN");
    let fixed = run_recorded(
        &gpt(3, "tie_embeddings = false", &format!("{ADAMW}\neps = 1e-8")),
        None,
        None,
    );
    assert_eq!(fixed.unwrap().origin.origin, None);
}

/// SGD at lr 1e12 multiplies each update by a factor the next step's activations cannot hold:
/// the run goes non-finite some steps in, and the replay to that step must reproduce every loss
/// bit for bit (checked in `origin`) and name a real module of the model.
#[test]
fn a_late_blow_up_is_replayed_bit_for_bit_and_named_by_module() {
    let s = gpt(12, "", "kind = \"sgd\"\nlr = 1e12");
    let run = run_recorded(&s, None, None).unwrap();
    let o = origin(&run);
    assert!(o.step >= 1, "the first step stays finite at any lr: {o:#?}");
    let names = &run.trace.layer_names;
    let module = o.module.clone().unwrap_or_default();
    assert!(
        o.layer.is_none() || names.iter().any(|n| n.starts_with(&module)),
        "{module} is not a module of {names:?}"
    );
}
