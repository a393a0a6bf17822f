//! The size of a GPT before building it: one definition of its parameter count and of the
//! activation values a training step keeps, for the scenario limits and the budget.

use super::{GptSpec, NormPosition, TokenNorm};

impl GptSpec {
    /// Trainable numbers of the model [`super::Gpt::new`] builds (tested equal to its buffer).
    pub fn parameter_count(&self) -> u128 {
        let (v, t, d) = (
            self.vocab as u128,
            self.context as u128,
            self.d_model as u128,
        );
        let (zw, h) = (
            self.mlp_activation.input_width(self.hidden()) as u128,
            self.hidden() as u128,
        );
        let b = u128::from(self.bias);
        let norm = |width: u128| {
            let shift = b * u128::from(self.norm == TokenNorm::Layernorm);
            width * (1 + shift)
        };
        let linear = |fan_in: u128, fan_out: u128| fan_in * fan_out + b * fan_out;
        let qk = match self.qk_norm {
            true => 2 * norm(self.head_dim() as u128),
            false => 0,
        };
        let block =
            2 * norm(d) + linear(d, 3 * d) + qk + linear(d, d) + linear(d, zw) + linear(h, d);
        let final_norm = match self.norm_position {
            NormPosition::Pre => norm(d),
            NormPosition::Post => 0,
        };
        let head = match self.tie_embeddings {
            true => b * v,
            false => linear(d, v),
        };
        v * d + t * d + self.blocks as u128 * block + final_norm + head
    }

    /// Floating-point operations of one training step: 6 per token per matmul weight (forward,
    /// and backward to inputs and weights) plus attention's four `T × T` products per head
    /// (causal masking is not subtracted). tiny-gpt: 5.43e9, the peers' 5.44 GFLOP.
    pub fn flops_per_step(&self) -> f64 {
        let (d, v) = (self.d_model as f64, self.vocab as f64);
        let zw = self.mlp_activation.input_width(self.hidden()) as f64;
        let h = self.hidden() as f64;
        let matmul = self.blocks as f64 * (4.0 * d * d + d * zw + h * d) + v * d;
        let t = self.context as f64;
        let attention = 12.0 * self.batch as f64 * t * t * d * self.blocks as f64;
        6.0 * matmul * self.tokens() as f64 + attention
    }

    /// Activation and gradient values a training step keeps (an upper estimate: every buffer
    /// the blocks, the attention and the head allocate, counted once).
    pub fn activation_values(&self) -> u128 {
        let n = self.tokens() as u128;
        let (d, v) = (self.d_model as u128, self.vocab as u128);
        let zw = self.mlp_activation.input_width(self.hidden()) as u128;
        let h = self.hidden() as u128;
        let t = self.context as u128;
        let attention = 2 * (self.batch * self.heads) as u128 * t * t;
        let qk = if self.qk_norm { 8 * n * d } else { 0 };
        let block = n * (16 * d + 2 * zw + 2 * h) + attention + qk;
        (self.blocks as u128 + 4) * n * d + self.blocks as u128 * block + 2 * n * v
    }
}

#[cfg(test)]
mod tests {
    use crate::core::gpt::{Gpt, GptSpec, MlpActivation, NormPosition, TokenNorm};

    #[test]
    fn parameter_count_is_the_built_models_for_every_variant() {
        let base = GptSpec {
            ..GptSpec::for_tests()
        };
        assert_eq!(GptSpec::tiny_gpt().parameter_count(), 867_328);
        let flops = GptSpec::tiny_gpt().flops_per_step();
        assert!((flops / 5.44e9 - 1.0).abs() < 0.005, "{flops}");
        for qk_norm in [false, true] {
            for tie in [false, true] {
                for bias in [false, true] {
                    for (norm, pos, act) in [
                        (TokenNorm::Layernorm, NormPosition::Pre, MlpActivation::Gelu),
                        (
                            TokenNorm::Rmsnorm,
                            NormPosition::Post,
                            MlpActivation::Swiglu,
                        ),
                    ] {
                        let spec = GptSpec {
                            qk_norm,
                            tie_embeddings: tie,
                            bias,
                            norm,
                            norm_position: pos,
                            mlp_activation: act,
                            ..base
                        };
                        let built = Gpt::<f32>::new(spec, 0).params.len() as u128;
                        assert_eq!(spec.parameter_count(), built, "{spec:?}");
                    }
                }
            }
        }
    }
}
