//! Token sequences for language models: seeded synthetic tasks a tiny model learns in a few hundred steps, or a text file's bytes.
//!
//! A sample is `context + 1` tokens: the model reads the first `context` and predicts each next
//! one (targets are the sequence shifted by one). Every draw comes from
//! `stream_rng(seed, Stream::DataGen)`; batches follow the shared [`Batcher`] order. Tasks, with
//! `k = context / 2` and token 0 reserved as a separator where one is needed:
//! - `copy`: `x₁..x_k, 0, x₁..x_k(, x₁)`, `xᵢ` uniform in `1..vocab`: the second half is predictable.
//! - `reverse`: `x₁..x_k, 0, x_k..x₁(, x_k)`.
//! - `modular-add`: `a, b, =, (a+b) mod p, a', b', =, ...` with `p = vocab − 1`, `=` the token `p`.
//! - `markov`: a seeded first-order chain where each state has 4 successors with random weights,
//!   so the best possible loss is the chain's entropy rate ([`TokenData::markov_entropy`]), well below ln vocab.
//! - a text file: its bytes (vocab 256), cut into consecutive, non-overlapping samples.

use std::path::{Path, PathBuf};

use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::batcher::Batcher;
use crate::core::rng::{Stream, stream_rng};

/// The seeded synthetic sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenTask {
    Copy,
    Reverse,
    ModularAdd,
    Markov,
}

/// Successors per state of the Markov source.
pub const MARKOV_FANOUT: usize = 4;
/// Largest text file read as tokens (64 MiB).
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// Why a text file cannot be token data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileError {
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: {bytes} bytes is over the {MAX_TEXT_BYTES}-byte limit for a text file", path.display())]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error("{}:{line}:{column}: not UTF-8 text (byte 0x{byte:02x}); token data reads UTF-8 text files", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        column: usize,
        byte: u8,
    },
    #[error("{}: {bytes} bytes give no sample of context {context} + 1 tokens; a text file needs at least {} bytes", path.display(), context + 1)]
    TooShort {
        path: PathBuf,
        bytes: usize,
        context: usize,
    },
}

/// Token sequences, `samples × (context + 1)` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenData {
    pub vocab: usize,
    pub context: usize,
    pub sequences: Vec<u32>,
    /// The Markov source's transition table (`vocab × vocab` probabilities), for its entropy rate.
    markov: Option<Vec<f64>>,
}

impl TokenData {
    /// `samples` sequences of `task`. The caller validates `vocab ≥ 3` and `context ≥ 2`.
    pub fn synthetic(
        task: TokenTask,
        vocab: usize,
        context: usize,
        samples: usize,
        seed: u64,
    ) -> Self {
        let mut rng = stream_rng(seed, Stream::DataGen);
        let len = context + 1;
        let mut sequences = vec![0u32; samples * len];
        let markov = (task == TokenTask::Markov).then(|| transition_table(vocab, &mut rng));
        for seq in sequences.chunks_exact_mut(len) {
            match task {
                TokenTask::Copy | TokenTask::Reverse => {
                    let k = (context / 2).max(1);
                    let x: Vec<u32> = (0..k).map(|_| rng.random_range(1..vocab as u32)).collect();
                    for (i, t) in seq.iter_mut().enumerate() {
                        *t = match i {
                            i if i < k => x[i],
                            i if i == k => 0,
                            i if task == TokenTask::Copy => x[(i - k - 1) % k],
                            i => x[k - 1 - (i - k - 1) % k],
                        };
                    }
                }
                TokenTask::ModularAdd => {
                    let p = vocab as u32 - 1;
                    let (mut a, mut b) = (0, 0);
                    for (i, t) in seq.iter_mut().enumerate() {
                        *t = match i % 4 {
                            0 => {
                                (a, b) = (rng.random_range(0..p), rng.random_range(0..p));
                                a
                            }
                            1 => b,
                            2 => p,
                            _ => (a + b) % p,
                        };
                    }
                }
                TokenTask::Markov => {
                    let table = markov.as_deref().unwrap_or_default();
                    let mut state = rng.random_range(0..vocab);
                    for t in seq.iter_mut() {
                        *t = state as u32;
                        state = next_state(
                            &table[state * vocab..(state + 1) * vocab],
                            rng.random::<f64>(),
                        );
                    }
                }
            }
        }
        TokenData {
            vocab,
            context,
            sequences,
            markov,
        }
    }

    /// The bytes of the UTF-8 text file at `path` as tokens (vocab 256), cut into consecutive
    /// samples of `context + 1` bytes (a trailing partial sample is dropped).
    pub fn text_file(path: &Path, context: usize) -> Result<Self, TokenFileError> {
        let io = |e: std::io::Error| TokenFileError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let bytes = std::fs::metadata(path).map_err(io)?.len();
        if bytes > MAX_TEXT_BYTES {
            return Err(TokenFileError::TooLarge {
                path: path.to_path_buf(),
                bytes,
            });
        }
        let text = std::fs::read(path).map_err(io)?;
        if let Err(e) = std::str::from_utf8(&text) {
            let at = e.valid_up_to();
            let line = 1 + text[..at].iter().filter(|&&b| b == b'\n').count() as u64;
            let start = text[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = 1 + String::from_utf8_lossy(&text[start..at]).chars().count();
            return Err(TokenFileError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column,
                byte: text[at],
            });
        }
        let len = context + 1;
        if text.len() < len {
            return Err(TokenFileError::TooShort {
                path: path.to_path_buf(),
                bytes: text.len(),
                context,
            });
        }
        let samples = text.len() / len;
        let sequences = text[..samples * len]
            .iter()
            .map(|&b| u32::from(b))
            .collect();
        Ok(TokenData {
            vocab: 256,
            context,
            sequences,
            markov: None,
        })
    }

    pub fn samples(&self) -> usize {
        self.sequences.len() / (self.context + 1)
    }

    /// Fills `tokens` and `targets` (`batch × context` each) with the next batch of `batcher`.
    pub fn next_batch(&self, batcher: &mut Batcher, tokens: &mut [u32], targets: &mut [u32]) {
        self.fill(batcher.next_indices(), tokens, targets);
    }

    /// Fills row `b` of `tokens` and `targets` with sample `samples[b]`: its first `context`
    /// tokens, and the same shifted by one (each token's target is the next).
    pub fn fill(&self, samples: &[usize], tokens: &mut [u32], targets: &mut [u32]) {
        let (t, len) = (self.context, self.context + 1);
        for (b, &sample) in samples.iter().enumerate() {
            let seq = &self.sequences[sample * len..(sample + 1) * len];
            tokens[b * t..(b + 1) * t].copy_from_slice(&seq[..t]);
            targets[b * t..(b + 1) * t].copy_from_slice(&seq[1..]);
        }
    }

    /// The Markov source's entropy rate in nats per token under its stationary distribution
    /// (the best mean loss any model can reach on long sequences); `None` for other data.
    pub fn markov_entropy(&self) -> Option<f64> {
        let table = self.markov.as_deref()?;
        let v = self.vocab;
        // Stationary distribution by power iteration from uniform (the chain is aperiodic
        // almost surely: random successor sets include cycles of coprime lengths).
        let mut pi = vec![1.0 / v as f64; v];
        for _ in 0..2_000 {
            let mut next = vec![0.0; v];
            for (s, &p) in pi.iter().enumerate() {
                for (n, &q) in table[s * v..(s + 1) * v].iter().enumerate() {
                    next[n] += p * q;
                }
            }
            pi = next;
        }
        let row_entropy = |s: usize| -> f64 {
            table[s * v..(s + 1) * v]
                .iter()
                .filter(|&&q| q > 0.0)
                .map(|&q| -q * q.ln())
                .sum()
        };
        Some((0..v).map(|s| pi[s] * row_entropy(s)).sum())
    }
}

/// A `vocab × vocab` table in which each state moves to `MARKOV_FANOUT` distinct random states
/// with weights drawn uniformly and normalized.
fn transition_table(vocab: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
    let mut table = vec![0.0; vocab * vocab];
    let fanout = MARKOV_FANOUT.min(vocab);
    for row in table.chunks_exact_mut(vocab) {
        let mut picked = 0;
        while picked < fanout {
            let s = rng.random_range(0..vocab);
            if row[s] == 0.0 {
                row[s] = 0.1 + rng.random::<f64>();
                picked += 1;
            }
        }
        let total: f64 = row.iter().sum();
        row.iter_mut().for_each(|q| *q /= total);
    }
    table
}

/// The state whose cumulative probability first exceeds `u ∈ [0, 1)` (the last positive one if
/// rounding leaves `u` above the total).
fn next_state(row: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (s, &q) in row.iter().enumerate() {
        if q > 0.0 {
            acc += q;
            last = s;
            if u < acc {
                return s;
            }
        }
    }
    last
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
