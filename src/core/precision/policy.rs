//! Precision policies: where a 16-bit run rounds, following PyTorch autocast's op lists.
//!
//! Under `*-mixed` (autocast) a matmul casts its inputs (activations and weights) to 16 bits,
//! accumulates in f32 and writes a 16-bit output; an elementwise op (activation, dropout) runs
//! in its input's format; norms, softmax, the loss, embedding lookups and residual adds of an
//! f32 stream run in f32. Master weights, their gradients and the optimizer state stay f32: a
//! weight's gradient is the f32 cast of its 16-bit copy's gradient, so it is rounded once. The
//! gradient of any 16-bit tensor is itself 16-bit, so it is rounded where it enters the op that
//! produced the tensor. Under pure `bf16` / `fp16` every stored tensor (outputs of every op,
//! weights after each update, optimizer state, gradients) is rounded; matmuls still accumulate
//! in f32 as tensor cores do.
//!
//! Where the emulation departs from a GPU, by design (each is one rounding more or less of a
//! value that is already 16-bit or f32):
//! - a matmul with a bias and its scale (`q·kᵀ/√d`) round once, after the bias or scale, as a
//!   fused epilogue does; an unfused PyTorch graph rounds the product first;
//! - attention's probabilities are rounded in place for `P·V`, so the softmax backward reads the
//!   rounded `P` (PyTorch keeps the f32 output for it);
//! - a gradient reaching a 16-bit tensor from two consumers is summed in f32 and rounded once
//!   (PyTorch accumulates in 16 bits, rounding each partial sum);
//! - a tied embedding's lookup reads the 16-bit copy of the table that the head uses (PyTorch
//!   looks up the f32 table), and its gradient (lookup plus head) is rounded as a whole;
//! - accumulation order inside a matmul is this crate's GEMM's, not cuBLAS's.

use serde::{Deserialize, Serialize};

use super::Half;

/// A 16-bit policy: the format, and whether every stored tensor is in it (pure) or only the
/// autocast ops' (mixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub half: Half,
    pub pure: bool,
}

/// What a part is to autocast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A matmul (dense, linear, attention): 16-bit inputs and output, f32 accumulation.
    Matmul,
    /// Runs in its input's format (activations, dropout).
    Elementwise,
    /// Runs in f32 under autocast (norms, softmax, loss, residual adds).
    Wide,
}

impl Policy {
    /// Whether an op of `role` whose input is 16-bit (`input16`) writes a 16-bit output.
    pub fn output16(self, role: Role, input16: bool) -> bool {
        match role {
            Role::Matmul => true,
            Role::Elementwise => input16 || self.pure,
            Role::Wide => self.pure,
        }
    }

    /// The format a tensor of `role`'s output is stored in, when 16-bit.
    pub fn format_of(self, role: Role, input16: bool) -> Option<Half> {
        self.output16(role, input16).then_some(self.half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_rounds_matmuls_and_what_follows_them_but_not_norms() {
        let p = Policy {
            half: Half::Fp16,
            pure: false,
        };
        assert!(p.output16(Role::Matmul, false));
        assert!(p.output16(Role::Elementwise, true));
        assert!(!p.output16(Role::Elementwise, false));
        assert!(!p.output16(Role::Wide, true));
        let pure = Policy { pure: true, ..p };
        assert!(pure.output16(Role::Wide, false) && pure.output16(Role::Elementwise, false));
    }
}
