//! Probes: observe the core through its `Observer` hook and record a [`trace::Trace`].
//!
//! Knows the core only through `core::observer`; never touches the terminal or files.

pub mod cast_tally;
pub mod histogram;
pub mod nan_origin;
pub mod recorder;
pub mod sharpness;
pub mod stats;
pub mod transformer;
pub use crate::record::trace;
