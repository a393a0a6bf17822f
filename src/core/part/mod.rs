//! Layers as parts: one trait with forward and backward side by side, and the registry of every part.
//!
//! A part maps an input `x: [rows, in]` to an output `y: [rows, out]` that its caller owns, keeps
//! what its backward pass needs, reports its ops to the observer, and registers its parameters
//! in the model's flat [`Params`] buffer at construction. Models are compositions of parts:
//! [`Sequential`] chains them (owning the buffers between them), [`Residual`] adds a skip
//! connection around a sequence. The MLP's hidden block (`Dense → Norm → Activation →
//! Dropout`, with a skip when widths match) and the GPT's block (two residual sublayers) are
//! both built this way, from the same two containers.
//!
//! Adding a part: implement [`Part`] in the part's own file and add one line to
//! `registry!` below; see the README's "Adding a layer".

pub mod cast;
pub mod frozen;
mod residual;
mod sequential;

use ndarray::{ArrayView2, ArrayViewMut2};

pub use self::residual::Residual;
pub use self::sequential::Sequential;
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::params::Params;

/// A part's forward input and output, as its backward pass reads them.
#[derive(Debug, Clone, Copy)]
pub struct Io<'a, T> {
    pub x: ArrayView2<'a, T>,
    pub y: ArrayView2<'a, T>,
}

/// One layer: forward and backward over `[rows, width]` buffers its caller owns.
pub trait Part<T: Real> {
    /// The output width for an input of `width` features.
    fn out_width(&self, width: usize) -> usize;

    /// `y = f(x)` (overwritten), every op reported to `e`.
    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    );

    /// From `dy = ∂L/∂y`, writes the part's parameter gradients into `params` and, when asked,
    /// `dx = ∂L/∂x` (overwritten). `io` is the last forward pass's input and output.
    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    );
}

impl<T: Real, P: Part<T>> Part<T> for Box<P> {
    fn out_width(&self, width: usize) -> usize {
        (**self).out_width(width)
    }
    fn forward(
        &mut self,
        params: &Params<T>,
        x: ArrayView2<'_, T>,
        y: ArrayViewMut2<'_, T>,
        e: &mut Emit<'_, T>,
    ) {
        (**self).forward(params, x, y, e);
    }
    fn backward(
        &mut self,
        params: &mut Params<T>,
        io: Io<'_, T>,
        dy: ArrayView2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
        e: &mut Emit<'_, T>,
    ) {
        (**self).backward(params, io, dy, dx, e);
    }
}

/// Declares [`Layer`], the closed set of parts a composition holds: one line per part,
/// `Variant(Type)`. Makes the enum, its [`Part`] dispatch, `From<Type>` and `as_<variant>`-style
/// accessors through [`Layer::get`].
macro_rules! registry {
    ($($variant:ident($ty:ty)),+ $(,)?) => {
        /// Every kind of part a [`Sequential`] may hold.
        // A model holds a few parts per block, built once and never moved in a step: boxing the
        // large ones would add an indirection per call for no saving that matters.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone)]
        pub enum Layer<T> {
            $($variant($ty),)+
        }

        impl<T: Real> Part<T> for Layer<T> {
            fn out_width(&self, width: usize) -> usize {
                match self { $(Layer::$variant(p) => Part::<T>::out_width(p, width),)+ }
            }
            fn forward(
                &mut self,
                params: &Params<T>,
                x: ArrayView2<'_, T>,
                y: ArrayViewMut2<'_, T>,
                e: &mut Emit<'_, T>,
            ) {
                match self { $(Layer::$variant(p) => Part::<T>::forward(p, params, x, y, e),)+ }
            }
            fn backward(
                &mut self,
                params: &mut Params<T>,
                io: Io<'_, T>,
                dy: ArrayView2<'_, T>,
                dx: Option<ArrayViewMut2<'_, T>>,
                e: &mut Emit<'_, T>,
            ) {
                match self { $(Layer::$variant(p) => Part::<T>::backward(p, params, io, dy, dx, e),)+ }
            }
        }

        $(
            impl<T: Real> From<$ty> for Layer<T> {
                fn from(p: $ty) -> Self {
                    Layer::$variant(p)
                }
            }

            impl<T: Real> Downcast<$ty> for Layer<T> {
                fn get(&self) -> Option<&$ty> {
                    match self { Layer::$variant(p) => Some(p), #[allow(unreachable_patterns)] _ => None }
                }
                fn get_mut(&mut self) -> Option<&mut $ty> {
                    match self { Layer::$variant(p) => Some(p), #[allow(unreachable_patterns)] _ => None }
                }
            }
        )+
    };
}

/// The concrete part inside a [`Layer`], for views and tests that read a part's own fields.
pub trait Downcast<P> {
    fn get(&self) -> Option<&P>;
    fn get_mut(&mut self) -> Option<&mut P>;
}

use crate::core::gpt::attn_part::SelfAttention;
use crate::core::gpt::linear::Linear;
use crate::core::gpt::parts::MlpAct;
use crate::core::gpt::rownorm::RowNorm;
use crate::core::layers::dense::Dense;
use crate::core::layers::dropout::Dropout;
use crate::core::layers::norm::Norm;
use crate::core::layers::parts::Act;

registry! {
    Dense(Dense),
    Norm(Norm<T>),
    Act(Act<T>),
    Dropout(Dropout<T>),
    Linear(Linear),
    RowNorm(RowNorm<T>),
    MlpAct(MlpAct<T>),
    Attention(SelfAttention<T>),
    Residual(Box<Residual<T>>),
}

#[cfg(test)]
mod tests;
