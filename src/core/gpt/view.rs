//! The GPT as probes see it: one layer per module that owns parameters, named like PyTorch's state_dict.
//!
//! Order: `tok_emb`, `pos_emb`, then per block `ln1`, `attn.qkv`, (`attn.q_norm`, `attn.k_norm`),
//! `attn.proj`, `ln2`, `mlp.fc1`, `mlp.fc2`, then `ln_f` (pre-LN) and `head`. A layer's output is
//! the module's own output (both embeddings report their sum `h₀`, the only tensor the model
//! keeps of them); `grad_out` is given where the backward pass leaves `∂L/∂output` in a buffer
//! (qkv, q/k norms, proj, fc1, ln_f, head) and is absent elsewhere. The modules do not form a
//! plain stack (residual stream, attention's three inputs), so the view is not sequential.
//! A tied head reports the embedding table as its weight: the same tensor and gradient.
//! `mlp.fc1` carries a ReLU MLP's units for the dead-unit probe.

use super::Gpt;
use super::NormPosition;
use super::linear::Linear;
use super::rownorm::RowNorm;
use crate::core::blocked::MomentSums;
use crate::core::float::Real;
use crate::core::model::hidden::BufferSums;
use crate::core::model::view::{LayerView, Probed, TransformerView, UnitsView};
use crate::core::params::Params;

/// One parameter-owning module of the GPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    TokEmb,
    PosEmb,
    Ln1(usize),
    Qkv(usize),
    QNorm(usize),
    KNorm(usize),
    Proj(usize),
    Ln2(usize),
    Fc1(usize),
    Fc2(usize),
    LnF,
    Head,
}

const BLOCK_PARTS: [fn(usize) -> Part; 6] = [
    Part::Ln1,
    Part::Qkv,
    Part::Proj,
    Part::Ln2,
    Part::Fc1,
    Part::Fc2,
];
const QK_BLOCK_PARTS: [fn(usize) -> Part; 8] = [
    Part::Ln1,
    Part::Qkv,
    Part::QNorm,
    Part::KNorm,
    Part::Proj,
    Part::Ln2,
    Part::Fc1,
    Part::Fc2,
];

/// Probe-order layers per block: ln1, qkv, (q_norm, k_norm,) proj, ln2, fc1, fc2.
pub const fn block_layers(qk_norm: bool) -> usize {
    match qk_norm {
        true => QK_BLOCK_PARTS.len(),
        false => BLOCK_PARTS.len(),
    }
}

/// The probe-order layer index of each module of one block: where its op events are filed.
/// Without qk-norm, `q_norm` and `k_norm` repeat `qkv` (they report nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockLayers {
    pub ln1: usize,
    pub qkv: usize,
    pub q_norm: usize,
    pub k_norm: usize,
    pub proj: usize,
    pub ln2: usize,
    pub fc1: usize,
    pub fc2: usize,
}

impl BlockLayers {
    /// Block `b`'s layers, from the same part order the view uses.
    pub fn of(qk_norm: bool, b: usize) -> Self {
        let parts: &[fn(usize) -> Part] = if qk_norm {
            &QK_BLOCK_PARTS
        } else {
            &BLOCK_PARTS
        };
        let base = 2 + b * parts.len();
        let mut out = BlockLayers::default();
        for (k, part) in parts.iter().enumerate() {
            let slot = match part(b) {
                Part::Ln1(_) => &mut out.ln1,
                Part::Qkv(_) => &mut out.qkv,
                Part::QNorm(_) => &mut out.q_norm,
                Part::KNorm(_) => &mut out.k_norm,
                Part::Proj(_) => &mut out.proj,
                Part::Ln2(_) => &mut out.ln2,
                Part::Fc1(_) => &mut out.fc1,
                _ => &mut out.fc2,
            };
            *slot = base + k;
        }
        if !qk_norm {
            (out.q_norm, out.k_norm) = (out.qkv, out.qkv);
        }
        out
    }
}

impl<T: Real> Gpt<T> {
    fn parts_per_block(&self) -> usize {
        block_layers(self.spec.qk_norm)
    }

    fn has_final_norm(&self) -> bool {
        self.spec.norm_position == NormPosition::Pre
    }

    /// The probe-order layers of `ln_f` (post-LN: the head's) and of the head.
    pub(super) fn final_layers(&self) -> (usize, usize) {
        let head = self.layer_count() - 1;
        (head - usize::from(self.has_final_norm()), head)
    }

    /// The probe-order layer of each parameter segment: the first module that shows it (a tied
    /// head's weight is `tok_emb`'s).
    pub fn segment_layers(&self) -> Vec<usize> {
        let mut out = vec![usize::MAX; self.params.segments.len()];
        for l in (0..self.layer_count()).rev() {
            let v = self.layer_view(l);
            for k in std::iter::once(v.weight).chain(v.bias) {
                out[k] = l;
            }
        }
        out
    }

    /// Module `l` in probe order; out-of-range `l` is the head.
    fn part(&self, l: usize) -> Part {
        let per = self.parts_per_block();
        let in_blocks = self.spec.blocks * per;
        match l {
            0 => Part::TokEmb,
            1 => Part::PosEmb,
            l if l - 2 < in_blocks => {
                let (b, k) = ((l - 2) / per, (l - 2) % per);
                match self.spec.qk_norm {
                    true => QK_BLOCK_PARTS[k](b),
                    false => BLOCK_PARTS[k](b),
                }
            }
            l if l - 2 == in_blocks && self.has_final_norm() => Part::LnF,
            _ => Part::Head,
        }
    }

    fn view_of(&self, part: Part) -> LayerView<'_, T> {
        let h0 = self.stream[0].view();
        let linear = |lin: &Linear, output, grad_out| view(lin.weight, lin.bias, output, grad_out);
        let norm = |n: &RowNorm<T>, output, grad_out| view(n.gain, n.shift, output, grad_out);
        match part {
            Part::TokEmb => view(self.embed.tok, None, h0, None),
            Part::PosEmb => view(self.embed.pos, None, h0, None),
            Part::Ln1(b) => {
                let blk = &self.blocks[b];
                norm(blk.norm1(), blk.ln1_out(), None)
            }
            Part::Qkv(b) => {
                let blk = &self.blocks[b];
                linear(&blk.qkv, blk.qkv_out(), Some(blk.d_qkv()))
            }
            Part::QNorm(b) | Part::KNorm(b) => {
                let Some(qk) = &self.blocks[b].attention().qk_norm else {
                    return self.view_of(Part::Qkv(b));
                };
                match part {
                    Part::QNorm(_) => norm(&qk.q_norm, qk.q.view(), Some(qk.dq.view())),
                    _ => norm(&qk.k_norm, qk.k.view(), Some(qk.dk.view())),
                }
            }
            Part::Proj(b) => {
                let blk = &self.blocks[b];
                linear(&blk.proj, blk.proj_out(), Some(blk.d_proj()))
            }
            Part::Ln2(b) => {
                let blk = &self.blocks[b];
                norm(blk.norm2(), blk.ln2_out(self.stream[b + 1].view()), None)
            }
            Part::Fc1(b) => {
                let blk = &self.blocks[b];
                let mut v = linear(&blk.fc1, blk.fc1_out(), Some(blk.d_fc1()));
                v.units = blk.act.units().map(|activation| UnitsView {
                    activation,
                    pre_activation: blk.fc1_out(),
                    post_activation: blk.act_out(),
                });
                v
            }
            Part::Fc2(b) => {
                let blk = &self.blocks[b];
                linear(&blk.fc2, blk.fc2_out(), None)
            }
            Part::LnF => match &self.final_norm {
                Some(n) => norm(n, self.normed.view(), Some(self.d_normed.view())),
                None => self.view_of(Part::Head),
            },
            Part::Head => linear(&self.head, self.logits.view(), Some(self.d_logits.view())),
        }
    }

    /// The sums the forward pass took of `part`'s output, when it measured them.
    fn output_sums(&self, part: Part) -> Option<MomentSums> {
        let block = |b: usize, k: usize| self.blocks[b].output_sums()[k];
        match part {
            Part::TokEmb | Part::PosEmb => self.sums.h0,
            Part::Ln1(b) => block(b, 0),
            Part::Qkv(b) => block(b, 1),
            Part::QNorm(b) | Part::KNorm(b) => match self.spec.qk_norm {
                true => None,
                false => block(b, 1),
            },
            Part::Proj(b) => block(b, 2),
            Part::Ln2(b) => block(b, 3),
            Part::Fc1(b) => block(b, 4),
            Part::Fc2(b) => block(b, 5),
            Part::LnF if self.final_norm.is_some() => self.sums.normed,
            Part::LnF | Part::Head => self.sums.logits,
        }
    }

    fn part_name(&self, part: Part) -> String {
        let name = |b: usize, module: &str| format!("blocks.{b}.{module}");
        match part {
            Part::TokEmb => "tok_emb".to_string(),
            Part::PosEmb => "pos_emb".to_string(),
            Part::Ln1(b) => name(b, "ln1"),
            Part::Qkv(b) => name(b, "attn.qkv"),
            Part::QNorm(b) => name(b, "attn.q_norm"),
            Part::KNorm(b) => name(b, "attn.k_norm"),
            Part::Proj(b) => name(b, "attn.proj"),
            Part::Ln2(b) => name(b, "ln2"),
            Part::Fc1(b) => name(b, "mlp.fc1"),
            Part::Fc2(b) => name(b, "mlp.fc2"),
            Part::LnF => "ln_f".to_string(),
            Part::Head => "head".to_string(),
        }
    }
}

fn view<'a, T>(
    weight: usize,
    bias: Option<usize>,
    output: ndarray::ArrayView2<'a, T>,
    grad_out: Option<ndarray::ArrayView2<'a, T>>,
) -> LayerView<'a, T> {
    LayerView {
        weight,
        bias,
        output,
        grad_out,
        sums: BufferSums::default(),
        units: None,
    }
}

impl<T: Real> Probed<T> for Gpt<T> {
    fn params(&self) -> &Params<T> {
        &self.params
    }

    fn layer_count(&self) -> usize {
        2 + self.spec.blocks * self.parts_per_block() + usize::from(self.has_final_norm()) + 1
    }

    fn layer_view(&self, l: usize) -> LayerView<'_, T> {
        let part = self.part(l);
        let mut v = self.view_of(part);
        v.sums.output = self.output_sums(part);
        v
    }

    fn layer_name(&self, l: usize) -> Option<String> {
        Some(self.part_name(self.part(l)))
    }

    fn tensor_name(&self, k: usize) -> Option<String> {
        self.names.get(k).cloned()
    }

    fn sequential(&self) -> bool {
        false
    }

    fn transformer(&self) -> Option<TransformerView<'_, T>> {
        let attention = self
            .blocks
            .iter()
            .map(|b| {
                let a = &b.attention().attn;
                a.measure
                    .then_some((a.row_max.as_slice(), a.row_entropy.as_slice()))
            })
            .collect();
        Some(TransformerView {
            heads: self.spec.heads,
            context: self.spec.context,
            future: self.blocks.first().map_or(0, |b| b.attention().attn.future),
            attention,
            stream: self.stream.iter().map(|s| s.view()).collect(),
            stream_sums: std::iter::once(self.sums.h0)
                .chain(self.blocks.iter().map(|b| b.out_sums()))
                .collect(),
            loss: self.last_loss,
        })
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
