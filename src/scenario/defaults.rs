//! Every default of the scenario format in one place (the `deep-mlp` reference where the format
//! gives one; docs/scenario-format.md lists them). Field docs in `file_*.rs` repeat these numbers; `parse_tests.rs` checks each one
//! against a hand-written expectation.

use super::file_checks::NonfinitePolicy;
use super::file_scenario::Precision;
use crate::core::clip::ClipKind;
use crate::core::data::DataKind;
use crate::core::init::InitKind;
use crate::core::layers::activation::Activation;
use crate::core::optim::OptimizerKind;
use crate::core::schedule::ScheduleKind;

pub(crate) fn seed() -> i64 {
    7
}
pub(crate) fn steps() -> i64 {
    300
}
pub(crate) fn precision() -> Precision {
    Precision::F32
}
pub(crate) fn data_kind() -> DataKind {
    DataKind::TeacherClassification
}
/// Inputs of the synthetic teacher datasets (spirals are always 2-D; csv reads its header).
pub(crate) const TEACHER_INPUTS: usize = 64;
pub(crate) const SPIRAL_INPUTS: usize = 2;
pub(crate) const TEACHER_CLASSES: usize = 10;
pub(crate) const SPIRAL_CLASSES: usize = 2;
pub(crate) const REGRESSION_OUTPUTS: usize = 1;
pub(crate) const SAMPLES: usize = 2048;
pub(crate) fn batch() -> i64 {
    64
}
pub(crate) fn one() -> f64 {
    1.0
}
pub(crate) const DEPTH: usize = 16;
pub(crate) const WIDTH: usize = 128;
pub(crate) fn activation() -> Activation {
    Activation::Relu
}
pub(crate) fn init() -> InitKind {
    InitKind::HeNormal
}
pub(crate) fn norm_eps() -> f64 {
    1e-5
}
pub(crate) fn optimizer_kind() -> OptimizerKind {
    OptimizerKind::Adam
}
pub(crate) fn lr() -> f64 {
    1e-3
}
pub(crate) fn momentum() -> f64 {
    0.9
}
pub(crate) fn betas() -> [f64; 2] {
    [0.9, 0.999]
}
pub(crate) fn adam_eps() -> f64 {
    1e-8
}
pub(crate) fn rmsprop_alpha() -> f64 {
    0.99
}
pub(crate) fn schedule_kind() -> ScheduleKind {
    ScheduleKind::Constant
}
pub(crate) fn step_size() -> i64 {
    100
}
/// `gamma` of the `step` schedule (per `step_size` steps); also used when no schedule needs one.
pub(crate) const STEP_GAMMA: f64 = 0.1;
/// `gamma` of the `exponential` schedule, which decays every step.
pub(crate) const EXPONENTIAL_GAMMA: f64 = 0.99;
pub(crate) fn clip_kind() -> ClipKind {
    ClipKind::None
}
pub(crate) fn histogram_every() -> i64 {
    50
}
pub(crate) fn checkpoint_every() -> i64 {
    100
}
pub(crate) fn nonfinite() -> NonfinitePolicy {
    NonfinitePolicy::Forbid
}
pub(crate) fn max_grad_norm() -> f64 {
    1e3
}
pub(crate) fn min_grad_norm() -> f64 {
    1e-7
}
pub(crate) fn max_layer_grad_ratio() -> f64 {
    1e4
}
pub(crate) fn max_loss_spike() -> f64 {
    5.0
}
pub(crate) fn max_final_loss_ratio() -> f64 {
    0.9
}
pub(crate) fn max_dead_fraction() -> f64 {
    0.5
}
pub(crate) fn max_saturated_fraction() -> f64 {
    0.5
}
pub(crate) fn max_update_ratio() -> f64 {
    1.0
}
pub(crate) fn max_weight_growth() -> f64 {
    100.0
}
pub(crate) fn max_loss_growth() -> f64 {
    2.0
}
pub(crate) fn max_loss_oscillation() -> f64 {
    0.1
}
pub(crate) fn max_sharpness_ratio() -> f64 {
    1.0
}
pub(crate) fn max_attention_logit() -> f64 {
    50.0
}
pub(crate) fn min_grad_rms_over_eps() -> f64 {
    1.0
}
pub(crate) fn max_log_z() -> f64 {
    20.0
}
pub(crate) fn max_output_grad_imbalance() -> f64 {
    50.0
}
pub(crate) fn max_grad_flushed_fraction() -> f64 {
    0.05
}
pub(crate) fn max_skipped_fraction() -> f64 {
    0.1
}
pub(crate) fn max_lost_update_fraction() -> f64 {
    0.25
}
pub(crate) fn robust_cases() -> i64 {
    64
}
pub(crate) fn min_stable_fraction() -> f64 {
    0.9
}
pub(crate) fn robust_lr() -> [f64; 2] {
    [0.3, 3.0]
}
pub(crate) fn robust_init_scale() -> [f64; 2] {
    [0.5, 2.0]
}
pub(crate) fn robust_batch() -> [i64; 2] {
    [16, 256]
}
pub(crate) fn robust_input_scale() -> [f64; 2] {
    [0.1, 10.0]
}
pub(crate) fn yes() -> bool {
    true
}
