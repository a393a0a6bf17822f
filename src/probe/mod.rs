//! Probes: observe the core through its `Observer` hook and record a [`trace::Trace`].
//!
//! Knows the core only through `core::observer`; never touches the terminal or files.

pub mod nan_origin;
pub mod trace;
