//! The one definition of a model's size: parameter count and activation values per batch.
//!
//! Validation, the budget estimate and the trainer's size check all ask this module, so the
//! limits a user is told about are the sizes [`super::Model::new`] actually allocates (a test
//! below holds the two together).

use crate::core::layers::NormKind;

/// The sizes of an MLP: input width, hidden widths, output width, and its norm.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    pub inputs: usize,
    pub hidden: &'a [usize],
    pub outputs: usize,
    pub norm: NormKind,
}

impl Shape<'_> {
    /// Layer widths from the input to the output: `[inputs, hidden.., outputs]`.
    fn widths(&self) -> impl Iterator<Item = u128> + Clone + '_ {
        std::iter::once(self.inputs)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(self.outputs))
            .map(|w| w as u128)
    }

    /// `Σ fan_in·fan_out` over the dense layers: the multiply-adds of one sample's forward pass.
    pub fn fan_products(&self) -> u128 {
        self.widths()
            .zip(self.widths().skip(1))
            .map(|(a, b)| a * b)
            .sum()
    }

    /// Every trainable scalar: weights, biases, and a norm's gain and shift per hidden unit.
    pub fn parameter_count(&self) -> u128 {
        let biases: u128 = self.widths().skip(1).sum();
        let hidden_units: u128 = self.hidden.iter().map(|&w| w as u128).sum();
        let norm = match self.norm {
            NormKind::None => 0,
            NormKind::Layernorm | NormKind::Batchnorm => 2 * hidden_units,
        };
        self.fan_products() + biases + norm
    }

    /// Activation values one batch holds across layer boundaries: `batch × Σ widths`.
    pub fn activation_values(&self, batch: usize) -> u128 {
        batch as u128 * self.widths().sum::<u128>()
    }

    /// Number of dense layers (hidden plus the output layer).
    pub fn layers(&self) -> usize {
        self.hidden.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::layers::activation::Activation;
    use crate::core::model::{Model, ModelSpec};

    #[test]
    fn parameter_count_is_what_the_model_allocates() {
        let cases: [(&[usize], NormKind); 5] = [
            (&[], NormKind::None),
            (&[7], NormKind::None),
            (&[5, 3, 9], NormKind::Layernorm),
            (&[4, 4], NormKind::Batchnorm),
            (&[1], NormKind::Layernorm),
        ];
        for (hidden, norm) in cases {
            let shape = Shape {
                inputs: 6,
                hidden,
                outputs: 2,
                norm,
            };
            let spec = ModelSpec {
                inputs: 6,
                hidden: hidden.to_vec(),
                outputs: 2,
                activation: Activation::Relu,
                norm,
                norm_eps: 1e-5,
                residual: false,
                dropout: 0.0,
            };
            let model = Model::<f64>::new(spec, 3, 0);
            assert_eq!(
                shape.parameter_count(),
                model.params.len() as u128,
                "{hidden:?} {norm:?}"
            );
            assert_eq!(shape.layers(), model.depth() + 1);
        }
    }

    #[test]
    fn hand_counted_sizes() {
        // 6→5→2: weights 30 + 10, biases 5 + 2, layernorm γ and β 2·5.
        let shape = Shape {
            inputs: 6,
            hidden: &[5],
            outputs: 2,
            norm: NormKind::Layernorm,
        };
        assert_eq!(shape.fan_products(), 40);
        assert_eq!(shape.parameter_count(), 57);
        assert_eq!(shape.activation_values(4), 4 * 13);
    }
}
