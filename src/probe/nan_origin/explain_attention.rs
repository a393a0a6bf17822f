//! Why attention scores `q·kᵀ/√hd` overflowed, located by sequence, head, query and key.
//!
//! The scores event's output is `[batch·heads·T, T]` (block `b·heads + h` is one head's map) and
//! its inputs are `q, k: [batch·T, d_model]`, so the shapes alone give `heads = rows / (batch·T)`
//! and `hd = d_model / heads`; nothing else need be passed in.

use super::explain::{Hyper, Site, sci};

/// `attn.qk_matmul` produced a non-finite score from finite `q`, `k`.
pub(super) fn scores<T>(site: &Site<'_, '_, T>, h: &Hyper) -> String {
    let (q, k) = (site.input(0), site.input(1));
    let (rows, t) = site.event.output.dim();
    let heads = rows.checked_div(q.rows).unwrap_or(0).max(1);
    let hd = (q.cols / heads).max(1);
    let [r, j] = site.at;
    let t = t.max(1);
    let (b, head, i) = (r / (heads * t), (r / t) % heads, r % t);
    let bound = q.max_abs * k.max_abs * (hd as f64).sqrt();
    let head_text = format!(
        "inputs finite (max |q| = {}, max |k| = {}); a score q·k/√{hd} over {hd} head dimensions \
         can reach max |q|·max |k|·√{hd} = {}",
        sci(q.max_abs),
        sci(k.max_abs),
        sci(bound)
    );
    // The product covers the whole T × T square; the causal mask applies in the softmax after.
    let masked = if j > i {
        "; a future key, masked only after the product"
    } else {
        ""
    };
    format!(
        "{head_text}, above {}: the attention logits overflow (sequence {b}, head {head}, query \
         {i}, key {j}{masked}). Queries and keys are unbounded without qk-norm",
        h.limit()
    )
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::core::observer::{Op, OpEvent, Phase};
    use crate::probe::nan_origin::NonFinite;
    use crate::record::trace::TensorSummary;

    #[test]
    fn the_bad_score_is_located_by_sequence_head_query_and_key() {
        // 2 sequences × 4 tokens, 2 heads of hd 8: scores are [2·2·4, 4]; row 13 = b 1, h 1, i 1.
        let out = Array2::<f32>::zeros((16, 4));
        let event = OpEvent {
            step: 3,
            layer: Some(3),
            op: Op::AttnScores,
            phase: Phase::Forward,
            inputs: &[],
            output: out.view(),
        };
        let summary = |max_abs| TensorSummary {
            rows: 8,
            cols: 16,
            max_abs,
            ..TensorSummary::default()
        };
        let inputs = [summary(2e19), summary(3e19)];
        let site = Site {
            event: &event,
            value: NonFinite::PosInf,
            at: [13, 0],
            inputs: &inputs,
        };
        let hyper = Hyper {
            precision: "f32",
            max: f64::from(f32::MAX),
            norm_eps: 1e-5,
            optimizer_eps: 1e-8,
            lr: 1e-3,
            lr_scales: vec![],
        };
        let text = scores(&site, &hyper);
        assert!(
            text.contains("sequence 1, head 1, query 1, key 0"),
            "{text}"
        );
        // 2e19 · 3e19 · √8 = 1.7e39.
        assert!(text.contains("√8 = 1.7e39"), "{text}");
    }
}
