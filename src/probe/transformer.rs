//! The transformer probes: attention logits and entropy per head, output logits and `log Z`,
//! residual-stream RMS per block, and Adam's `RMS(g)/ε` per tensor, from one step's buffers.
//!
//! The core takes each softmax row's largest score and entropy in the pass it makes anyway
//! (`core::gpt::softmax`); this folds them per head: the logit maximum over every row, the
//! entropy's mean and minimum over positions `t ≥ 1` (position 0 attends only itself, so its
//! entropy is 0 whatever the model does, and would pin every minimum at 0).

use crate::core::blocked::{MomentSums, fast_sq_norm};
use crate::core::float::Real;
use crate::core::model::contiguous;
use crate::core::model::view::TransformerView;
use crate::core::params::Segment;
use crate::record::transformer::{BlockStats, HeadStats, TransformerStats};

/// This step's statistics; `grad_sq` is `‖∂L/∂θ‖²` per segment, `eps` the adaptive optimizer's ε.
pub fn transformer_stats<T: Real>(
    v: &TransformerView<'_, T>,
    segments: &[Segment],
    grad_sq: &[f64],
    eps: Option<f64>,
) -> TransformerStats {
    let blocks = v
        .attention
        .iter()
        .zip(v.stream[1..].iter().zip(sums_of(v, 1..)))
        .filter_map(|(rows, (out, sums))| {
            let (max, entropy) = (*rows)?;
            Some(BlockStats {
                heads: (0..v.heads)
                    .map(|h| head_stats(v, h, max, entropy))
                    .collect(),
                residual_rms: rms(*out, sums),
            })
        })
        .collect();
    let loss = v.loss;
    let grad_rms_over_eps = match eps {
        Some(eps) => segments
            .iter()
            .zip(grad_sq)
            .map(|(seg, &sq)| (sq / seg.len() as f64).sqrt() / eps)
            .collect(),
        None => Vec::new(),
    };
    TransformerStats {
        blocks,
        uniform_entropy: uniform_entropy(v.context, v.future),
        embed_rms: (v.stream.first())
            .map_or(f64::NAN, |h0| rms(*h0, sums_of(v, 0..).next().flatten())),
        output_logit_max: loss.map_or(f64::NAN, |l| l.logit_max),
        log_z_mean: loss.map_or(f64::NAN, |l| l.log_z_mean),
        log_z_max: loss.map_or(f64::NAN, |l| l.log_z_max),
        grad_rms_over_eps,
    }
}

/// Head `h`'s rows: `(b·heads + h)·T + t` for every sequence b and position t.
fn head_stats<T: Real>(
    v: &TransformerView<'_, T>,
    h: usize,
    max: &[T],
    entropy: &[T],
) -> HeadStats {
    let t_len = v.context;
    let sequences = max.len() / (v.heads * t_len);
    let (mut logit_max, mut sum, mut min, mut n) = (f64::NEG_INFINITY, 0.0, f64::INFINITY, 0usize);
    for b in 0..sequences {
        let row = (b * v.heads + h) * t_len;
        for t in 0..t_len {
            logit_max = nan_max(logit_max, max[row + t].wide());
            // Rows that attend more than one key: t ≥ 1, or every row when the future leaks.
            if t + v.future >= 1 {
                let e = entropy[row + t].wide();
                sum += e;
                min = if e.is_nan() || min.is_nan() {
                    f64::NAN
                } else {
                    min.min(e)
                };
                n += 1;
            }
        }
    }
    HeadStats {
        logit_max,
        entropy_mean: if n == 0 { f64::NAN } else { sum / n as f64 },
        entropy_min: if n == 0 { f64::NAN } else { min },
    }
}

/// `mean ln(attended length)` over the rows the entropies average: what uniform attention gives.
fn uniform_entropy(context: usize, future: usize) -> f64 {
    let lens: Vec<f64> = (0..context)
        .map(|t| (t + 1 + future).min(context) as f64)
        .filter(|&len| len > 1.0)
        .collect();
    match lens.len() {
        0 => f64::NAN,
        n => lens.iter().map(|l| l.ln()).sum::<f64>() / n as f64,
    }
}

/// `stream_sums[range]`, each `None` where the view has none.
fn sums_of<'v, T>(
    v: &'v TransformerView<'_, T>,
    range: std::ops::RangeFrom<usize>,
) -> impl Iterator<Item = Option<MomentSums>> + 'v {
    let given = v.stream_sums.get(range.clone()).unwrap_or(&[]);
    (range.start..v.stream.len()).map(move |i| given.get(i - range.start).copied().flatten())
}

/// RMS of `x`, from the forward pass's sums when they hold ([`MomentSums::sq_total`]), else
/// from a pass over `x`.
fn rms<T: Real>(x: ndarray::ArrayView2<'_, T>, sums: Option<MomentSums>) -> f64 {
    let n = x.len();
    let sq = sums
        .and_then(|s| s.sq_total::<T>(n))
        .unwrap_or_else(|| fast_sq_norm(contiguous(x)));
    (sq / n.max(1) as f64).sqrt()
}

fn nan_max(m: f64, v: f64) -> f64 {
    if m.is_nan() || v.is_nan() {
        f64::NAN
    } else {
        m.max(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blocked::moment_sums;
    use crate::core::gpt::attention::Attention;
    use crate::core::gpt::token_loss;
    use crate::core::params::ParamKind;
    use ndarray::{Array2, array};

    /// Two tokens, one head of two dims, every statistic computed here by hand.
    #[test]
    fn every_probe_matches_a_hand_computation_on_a_two_token_attention() {
        let q = array![[1.0, 2.0], [3.0, -1.0]];
        let k = array![[0.5, 1.0], [2.0, 0.25]];
        let v = array![[1.0, 0.0], [0.0, 1.0]];
        let mut att = Attention::<f64>::new(1, 2, 1);
        att.measure = true;
        let mut o = Array2::zeros((2, 2));
        att.forward(q.view(), k.view(), v.view(), o.view_mut());
        // Scores q_i·k_j/√2: s00 = 2.5/√2, s10 = 0.5/√2, s11 = 5.75/√2 (s01 is masked).
        let r2 = 2f64.sqrt();
        let (s00, s10, s11) = (2.5 / r2, 0.5 / r2, 5.75 / r2);
        let p0 = 1.0 / (1.0 + (s11 - s10).exp());
        let p1 = 1.0 - p0;
        let h1 = -(p0 * p0.ln() + p1 * p1.ln());

        let logits = array![[1.0, 2.0, 3.0], [0.0, -1.0, 10.0]];
        let mut grad = Array2::zeros((2, 3));
        let loss = token_loss::forward_backward(logits.view(), &[0, 2], 0.0, grad.view_mut());
        let lse = |r: [f64; 3]| r.iter().map(|x| x.exp()).sum::<f64>().ln();
        let (z0, z1) = (lse([1.0, 2.0, 3.0]), lse([0.0, -1.0, 10.0]));

        let h0 = array![[3.0, 4.0], [0.0, 0.0]];
        let out = array![[1.0, 1.0], [1.0, -1.0]];
        let seg = |offset, rows, cols| Segment {
            layer: 0,
            kind: ParamKind::Weight,
            offset,
            rows,
            cols,
        };
        let view = TransformerView {
            heads: 1,
            context: 2,
            future: 0,
            attention: vec![Some((att.row_max.as_slice(), att.row_entropy.as_slice()))],
            stream: vec![h0.view(), out.view()],
            stream_sums: vec![],
            loss: Some(loss),
        };
        let segments = [seg(0, 2, 2), seg(4, 1, 3)];
        let stats = transformer_stats(&view, &segments, &[16.0, 27.0], Some(1e-8));

        let head = &stats.blocks[0].heads[0];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(head.logit_max, s00.max(s10).max(s11)), "{head:?}");
        assert!(
            close(head.entropy_mean, h1) && close(head.entropy_min, h1),
            "{head:?}"
        );
        assert!(close(stats.uniform_entropy, 2f64.ln()));
        assert!(close(stats.embed_rms, (25.0f64 / 4.0).sqrt()));
        assert!(close(stats.blocks[0].residual_rms, 1.0));
        assert!(close(stats.output_logit_max, 10.0));
        assert!(close(stats.log_z_mean, (z0 + z1) / 2.0) && close(stats.log_z_max, z1));
        // The same RMS from the forward pass's sums, when the view carries them.
        let sums = [&h0, &out].map(|x| Some(moment_sums(x.as_slice().expect("owned"))));
        let summed = TransformerView {
            stream_sums: sums.to_vec(),
            ..view.clone()
        };
        let again = transformer_stats(&summed, &segments, &[16.0, 27.0], Some(1e-8));
        assert!(close(again.embed_rms, stats.embed_rms));
        assert!(close(again.blocks[0].residual_rms, 1.0));
        // ... and they are what is read: sums of 2·out give twice its RMS.
        let doubled = (&out * 2.0).as_slice().map(moment_sums);
        let read = TransformerView {
            stream_sums: vec![None, doubled],
            ..view.clone()
        };
        let twice = transformer_stats(&read, &segments, &[16.0, 27.0], Some(1e-8));
        assert!(close(twice.blocks[0].residual_rms, 2.0));
        assert!(close(twice.embed_rms, stats.embed_rms));
        // RMS(g)/ε: sqrt(16/4)/1e-8 and sqrt(27/3)/1e-8.
        assert!(close(stats.grad_rms_over_eps[0], 2e8) && close(stats.grad_rms_over_eps[1], 3e8));
    }

    #[test]
    fn unmeasured_rows_give_no_blocks_and_sgd_no_epsilon_ratios() {
        let h = Array2::<f32>::zeros((2, 2));
        let view = TransformerView {
            heads: 1,
            context: 2,
            future: 0,
            attention: vec![None],
            stream: vec![h.view(), h.view()],
            stream_sums: vec![],
            loss: None,
        };
        let stats = transformer_stats(&view, &[], &[], None);
        assert!(stats.blocks.is_empty() && stats.grad_rms_over_eps.is_empty());
        assert!(stats.log_z_mean.is_nan(), "no loss measured is NaN, not 0");
    }

    #[test]
    fn a_nan_row_makes_its_heads_statistics_nan_not_a_finite_minimum() {
        let max = [1.0f32, f32::NAN];
        let entropy = [0.0f32, f32::NAN];
        let h = Array2::<f32>::zeros((2, 2));
        let view = TransformerView {
            heads: 1,
            context: 2,
            future: 0,
            attention: vec![Some((&max[..], &entropy[..]))],
            stream: vec![h.view(), h.view()],
            stream_sums: vec![],
            loss: None,
        };
        let head = &transformer_stats(&view, &[], &[], None).blocks[0].heads[0];
        assert!(head.logit_max.is_nan() && head.entropy_min.is_nan() && head.entropy_mean.is_nan());
    }
}
