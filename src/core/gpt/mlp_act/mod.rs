//! The MLP's non-linearities as parts: each in its own file implementing [`MlpFn`] (forward and
//! backward side by side, the formula in its header), listed once in the registry below.
//!
//! The registry line is all a new activation needs besides its file: it makes the
//! [`MlpActivation`] variant, its scenario name (`model.mlp_activation`), its op names in events
//! and NaN origins (`mlp.NAME`, `mlp.NAME.backward`), and puts it in [`MlpActivation::ALL`], over
//! which the finite-difference checks (of the part here, and of whole 2-block models) and the
//! scenario-parsing test run. See the README's "Adding a layer".

use ndarray::{ArrayView2, ArrayViewMut2};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::float::Real;
use crate::core::layers::activation::Activation;

/// One MLP non-linearity over `[tokens, width]` buffers.
pub trait MlpFn {
    /// The MLP core's activation computing the same function, when the unit probes should
    /// count its dead units (`None`: no unit probe).
    const UNITS: Option<Activation> = None;

    /// Width of `z` (fc1's output) for a hidden width of `hidden` (a gated unit needs more).
    fn input_width(hidden: usize) -> usize {
        hidden
    }

    /// `a = act(z)`; `a` is `[n, hidden]`, `z` is `[n, input_width(hidden)]`.
    fn forward<T: Real>(z: ArrayView2<'_, T>, a: ArrayViewMut2<'_, T>);

    /// `dz` (overwritten) from `da`; `a` is the forward output.
    fn backward<T: Real>(
        z: ArrayView2<'_, T>,
        a: ArrayView2<'_, T>,
        da: ArrayView2<'_, T>,
        dz: ArrayViewMut2<'_, T>,
    );
}

/// Builds [`MlpActivation`], its dispatch and the `mod` declarations from one line per
/// activation: `Variant = "scenario-name" in file_module => PartType`.
macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident = $name:literal in $module:ident => $part:ident,)+) => {
        $(mod $module;)+


        /// The MLP's non-linearity (one registry line each in `core/gpt/mlp_act/mod.rs`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub enum MlpActivation {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl MlpActivation {
            /// Every registered activation, in registry order.
            pub const ALL: &'static [MlpActivation] = &[$(MlpActivation::$variant,)+];

            /// The scenario name (`model.mlp_activation = "gelu-tanh"`).
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ }
            }

            /// The forward op's name in events and records (`mlp.gelu-tanh`).
            pub fn op_name(self) -> &'static str {
                match self { $(Self::$variant => concat!("mlp.", $name),)+ }
            }

            /// The backward op's name (`mlp.gelu-tanh.backward`).
            pub fn backward_op_name(self) -> &'static str {
                match self { $(Self::$variant => concat!("mlp.", $name, ".backward"),)+ }
            }

            /// See [`MlpFn::UNITS`].
            pub fn units(self) -> Option<Activation> {
                match self { $(Self::$variant => <$module::$part as MlpFn>::UNITS,)+ }
            }

            /// See [`MlpFn::input_width`].
            pub fn input_width(self, hidden: usize) -> usize {
                match self { $(Self::$variant => <$module::$part>::input_width(hidden),)+ }
            }

            /// See [`MlpFn::forward`].
            pub fn forward<T: Real>(self, z: ArrayView2<'_, T>, a: ArrayViewMut2<'_, T>) {
                match self { $(Self::$variant => <$module::$part>::forward(z, a),)+ }
            }

            /// See [`MlpFn::backward`].
            pub fn backward<T: Real>(
                self,
                z: ArrayView2<'_, T>,
                a: ArrayView2<'_, T>,
                da: ArrayView2<'_, T>,
                dz: ArrayViewMut2<'_, T>,
            ) {
                match self { $(Self::$variant => <$module::$part>::backward(z, a, da, dz),)+ }
            }
        }
    };
}

registry! {
    /// Exact GELU, `z·Φ(z)` (PyTorch's default `nn.GELU()`).
    Gelu = "gelu" in gelu => GeluFn,
    /// GELU's tanh approximation (`approximate='tanh'`, GPT-2's).
    GeluTanh = "gelu-tanh" in gelu_tanh => GeluTanhFn,
    Relu = "relu" in relu => ReluFn,
    /// `silu(a) ⊙ g`, with `fc1` producing `[a | g]` (twice the hidden width).
    Swiglu = "swiglu" in swiglu => SwigluFn,
    /// `max(z, 0)²` (So et al. 2021, "Primer").
    Relu2 = "relu2" in relu2 => Relu2Fn,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gradcheck::{Tolerance, check_op};
    use crate::core::params::Params;
    use ndarray::array;

    /// Every registered activation, a new one included, against f64 central differences.
    #[test]
    fn every_registered_activation_matches_finite_differences() {
        let z = array![[0.3, -1.7, 2.2, 0.05], [-0.4, 1.1, -2.6, 0.9]];
        for &act in MlpActivation::ALL {
            // The hidden width whose fc1 output is z's 4 columns (2 for a gated unit).
            let width = (1..=4).find(|&h| act.input_width(h) == 4).unwrap();
            let report = check_op(&Params::new(), &z, (2, width), &mut |_, z, out, back| {
                act.forward(z.view(), out.view_mut());
                if let Some((da, dz)) = back {
                    act.backward(z.view(), out.view(), da.view(), dz.view_mut());
                }
            });
            assert!(report.passed(Tolerance::GRADCHECK), "{act:?}: {report}");
        }
    }

    #[test]
    fn names_are_the_serde_names_and_op_names_follow() {
        for &act in MlpActivation::ALL {
            let json = serde_json::to_string(&act).unwrap();
            assert_eq!(json, format!("\"{}\"", act.name()));
            assert_eq!(act.op_name(), format!("mlp.{}", act.name()));
            assert_eq!(
                act.backward_op_name(),
                format!("{}.backward", act.op_name())
            );
        }
    }
}
