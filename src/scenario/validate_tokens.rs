//! Validation of `[data]` with `kind = "tokens"`: a seeded synthetic source or a UTF-8 text file.

use super::checker::{Checker, choice};
use super::error::ScenarioError;
use super::file_scenario::DataTable;
use super::resolved::DataConfig;
use super::validate::MAX_DATA_VALUES;
use crate::core::data::DataKind;
use crate::core::data::tokens::TokenTask;

/// Defaults of token data: the peers' tiny-gpt shape and a Markov source.
pub(crate) const VOCAB: usize = 256;
pub(crate) const CONTEXT: usize = 64;
pub(crate) const SAMPLES: usize = 4096;
/// A text file's tokens are its bytes.
pub(crate) const BYTE_VOCAB: usize = 256;

pub(crate) fn validate_tokens(ck: &Checker, d: &DataTable) -> Result<DataConfig, ScenarioError> {
    let why = "token data has token sequences, not feature vectors";
    ck.not_applicable("data.inputs", d.inputs.is_some(), opt(d.inputs), why)?;
    let vocab_instead = format!("{why}; the vocabulary is data.vocab");
    ck.not_applicable(
        "data.classes",
        d.classes.is_some(),
        opt(d.classes),
        &vocab_instead,
    )?;
    ck.not_applicable(
        "data.outputs",
        d.outputs.is_some(),
        opt(d.outputs),
        vocab_instead,
    )?;
    let scale = d.input_scale;
    ck.not_applicable(
        "data.input_scale",
        scale.is_some(),
        scale.unwrap_or(1.0),
        why,
    )?;
    let path = match &d.path {
        Some(p) if p.trim().is_empty() => {
            let found = format!("{p:?}");
            return Err(ck.range_error("data.path", &[], found, "a non-empty file path"));
        }
        p => p.clone(),
    };
    let task = match (&path, d.task) {
        (Some(p), Some(task)) => {
            let reason = format!("data.path = {p:?} already gives the tokens; drop one of them");
            return Err(ck.conflict("data.task", &["data.path"], choice(&task), reason));
        }
        (Some(_), None) => None,
        (None, task) => Some(task.unwrap_or(TokenTask::Markov)),
    };
    let vocab = ck.int_at_least("data.vocab", d.vocab.unwrap_or(VOCAB as i64), 3)?;
    if path.is_some() && vocab != BYTE_VOCAB {
        let expected = format!("{BYTE_VOCAB}: a text file's tokens are its bytes");
        return Err(ck.range_error("data.vocab", &["data.path"], vocab, expected));
    }
    let context = ck.int_at_least("data.context", d.context.unwrap_or(CONTEXT as i64), 2)?;
    let samples = match (&path, d.samples) {
        (Some(_), Some(n)) => {
            let reason = "a text file is cut into as many sequences as it holds";
            return Err(ck.conflict("data.samples", &["data.path"], n, reason));
        }
        (Some(_), None) => None,
        (None, n) => Some(ck.int_at_least("data.samples", n.unwrap_or(SAMPLES as i64), 1)?),
    };
    let batch = ck.int_at_least("data.batch", d.batch, 1)?;
    if let Some(samples) = samples {
        if batch > samples {
            let expected = format!("an integer in 1..=data.samples ({samples})");
            return Err(ck.range_error("data.batch", &["data.samples"], batch, expected));
        }
        let values = samples as u128 * (context as u128 + 1);
        if values > MAX_DATA_VALUES {
            let expected = format!(
                "at most {MAX_DATA_VALUES} stored tokens (samples x (context + 1)); this is {values}"
            );
            return Err(ck.range_error("data.samples", &["data.context"], samples, expected));
        }
    }
    Ok(DataConfig {
        kind: DataKind::Tokens,
        task,
        vocab: Some(vocab),
        context: Some(context),
        inputs: None,
        classes: None,
        outputs: None,
        samples,
        batch,
        path,
        input_scale: 1.0,
    })
}

/// Token keys given with feature data.
pub(crate) fn refuse_token_keys(ck: &Checker, d: &DataTable) -> Result<(), ScenarioError> {
    let reason = format!(
        "it describes token data, and data.kind = {}",
        choice(&d.kind)
    );
    if let Some(task) = d.task {
        return Err(ck.conflict("data.task", &["data.kind"], choice(&task), reason));
    }
    ck.not_applicable("data.vocab", d.vocab.is_some(), opt(d.vocab), &reason)?;
    ck.not_applicable("data.context", d.context.is_some(), opt(d.context), reason)
}

fn opt(n: Option<i64>) -> String {
    n.map_or_else(|| "none".to_string(), |n| n.to_string())
}
