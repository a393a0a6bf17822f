//! The reference training core: tensors, layers, losses, optimizers, data and the train loop.
//!
//! Depends on nothing else in this crate. Probes watch it only through [`observer::Observer`].

pub mod blocked;
pub mod clip;
pub mod data;
pub mod float;
pub mod gpt;
pub mod gradcheck;
pub mod init;
pub mod layers;
pub mod loss;
pub mod model;
pub mod observer;
pub mod optim;
pub mod params;
pub mod part;
pub mod precision;
pub mod regularize;
pub mod rng;
pub mod schedule;
pub mod simd;
pub mod tensor;
pub mod train;
mod train_precise;
pub mod units;
pub mod update;
pub mod vexp;
pub mod weights;
