//! stabcheck: numerical-stability diagnostics for neural-network training.

pub mod core;
pub mod scenario;
