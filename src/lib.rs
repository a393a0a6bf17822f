//! stabcheck: numerical-stability diagnostics for neural-network training.
//!
//! Data flows one way: `scenario` (TOML → validated [`scenario::Scenario`]) → `core` (build and
//! train, watched through [`core::observer::Observer`]) → results. `core` depends on nothing else
//! in this crate; `cli` is the only module that touches the terminal and exit codes.

#![deny(clippy::unwrap_used)]
#![deny(clippy::expect_used)]

pub mod budget;
pub mod cli;
pub mod core;
pub mod diagnose;
pub mod diff;
pub mod error;
pub mod probe;
pub mod record;
pub mod repair;
pub mod report;
pub mod robust;
pub mod run;
pub mod scenario;

pub use error::Error;
