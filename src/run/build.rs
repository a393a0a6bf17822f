//! Builds the runtime training objects (data, model, optimizer, schedule) from a validated scenario.

use std::path::{Path, PathBuf};

use crate::core::clip::Clip;
use crate::core::data::{self, Batcher, DataSpec, Task};
use crate::core::float::Real;
use crate::core::init::init_weights;
use crate::core::model::shape::Shape;
use crate::core::model::{Model, ModelSpec};
use crate::core::optim::{Optimizer, OptimizerSpec};
use crate::core::regularize::Penalties;
use crate::core::rng::{Stream, stream_rng};
use crate::core::schedule::Schedule;
use crate::core::train::Trainer;
use crate::core::weights::load_npz;
use crate::error::Error;
use crate::scenario::{MAX_ACTIVATIONS, MAX_PARAMETERS, MlpConfig, Precision, Scenario};

/// The data description of a scenario; a relative CSV path is taken relative to `base_dir`
/// (the scenario file's folder), like paths in a Cargo manifest.
pub fn data_spec(s: &Scenario, base_dir: Option<&Path>) -> DataSpec {
    let task = match s.data.classes {
        Some(classes) => Task::Classification { classes },
        None => Task::Regression {
            outputs: s.outputs(),
        },
    };
    let path = s.data.path.as_ref().map(|p| relative_to(base_dir, p));
    DataSpec {
        kind: s.data.kind,
        inputs: s.data.inputs,
        task,
        samples: s.data.samples,
        input_scale: s.data.input_scale,
        path,
    }
}

/// `path` taken relative to `base_dir` (the scenario file's folder) unless it is absolute.
pub fn relative_to(base_dir: Option<&Path>, path: &str) -> PathBuf {
    match base_dir {
        Some(dir) if Path::new(path).is_relative() => dir.join(path),
        _ => PathBuf::from(path),
    }
}

/// The lr schedule and gradient clipping of `s`, shared by the MLP and transformer trainers.
pub(super) fn schedule_and_clip(s: &Scenario) -> (Schedule, Clip) {
    let schedule = Schedule {
        kind: s.schedule.kind,
        lr: s.optimizer.lr,
        steps: s.steps,
        warmup: s.schedule.warmup,
        step_size: s.schedule.step_size,
        gamma: s.schedule.gamma,
        min_lr: s.schedule.min_lr,
    };
    let clip = Clip {
        kind: s.clip.kind,
        max: s.clip.max,
    };
    (schedule, clip)
}

/// Everything `Trainer` needs, in precision `T` (the caller dispatches on [`Scenario::precision`]).
pub fn build_trainer<T: Real>(s: &Scenario, base_dir: Option<&Path>) -> Result<Trainer<T>, Error> {
    let m = s.mlp().ok_or(Error::NotForTransformer {
        what: "the MLP trainer",
    })?;
    let dataset = data::load::<T>(&data_spec(s, base_dir), s.seed)?;
    if s.data.batch > dataset.len() {
        return Err(Error::BatchTooLarge {
            batch: s.data.batch,
            samples: dataset.len(),
        });
    }
    check_loaded_size(s, m, dataset.inputs(), dataset.outputs())?;
    let spec = ModelSpec {
        inputs: dataset.inputs(),
        hidden: m.hidden.clone(),
        outputs: dataset.outputs(),
        activation: m.activation,
        norm: m.norm,
        norm_eps: m.norm_eps,
        residual: m.residual,
        dropout: m.dropout,
    };
    let mut model = Model::<T>::new(spec, s.data.batch, s.seed);
    let std = m.init_std.unwrap_or(0.0);
    model.init_weights(m.bias_init, |layer, fan_in, fan_out| {
        let mut rng = stream_rng(s.seed, Stream::Init(layer));
        let scale = m.init_scale * m.layer_init_scale(layer);
        init_weights(m.init, fan_in, fan_out, scale, std, &mut rng)
    });
    if let Some(path) = &m.weights {
        load_npz(&relative_to(base_dir, path), &mut model.params)?;
    }
    let optimizer = Optimizer::new(optimizer_spec(s), model.params.len());
    let lr_scales = lr_scales(s, model.depth());
    let (schedule, clip) = schedule_and_clip(s);
    let penalties = Penalties {
        l1: s.optimizer.l1,
        l2: s.optimizer.l2,
    };
    let batcher = Batcher::new(dataset.len(), s.data.batch, s.seed);
    let mut trainer = Trainer::new(
        model,
        optimizer,
        schedule,
        clip,
        penalties,
        s.loss.kind,
        lr_scales,
        dataset,
        batcher,
    );
    if s.precision.policy().is_some() || !s.loss_scale.is_off() {
        trainer.set_precision(s.precision.policy(), s.loss_scale, &s.f32_layers);
    }
    Ok(trainer)
}

/// The optimizer hyperparameters of a scenario.
pub fn optimizer_spec(s: &Scenario) -> OptimizerSpec {
    let o = &s.optimizer;
    OptimizerSpec {
        kind: o.kind,
        momentum: o.momentum,
        betas: (o.betas[0], o.betas[1]),
        eps: o.eps,
        alpha: o.alpha,
        weight_decay: o.weight_decay,
        independent_weight_decay: o.independent_weight_decay,
    }
}

/// Each layer's learning-rate multiplier (`depth + 1` entries) from `[[optimizer.groups]]`.
fn lr_scales(s: &Scenario, depth: usize) -> Vec<f64> {
    let mut scales = vec![1.0; depth + 1];
    for group in &s.optimizer.groups {
        for &layer in &group.layers {
            if let Some(scale) = scales.get_mut(layer) {
                *scale = group.lr_scale;
            }
        }
    }
    scales
}

/// Validation bounds the model with the scenario's sizes; a CSV file decides its own input count,
/// so the bounds are checked again once the data is loaded.
fn check_loaded_size(
    s: &Scenario,
    m: &MlpConfig,
    inputs: usize,
    outputs: usize,
) -> Result<(), Error> {
    let shape = Shape {
        inputs,
        hidden: &m.hidden,
        outputs,
        norm: m.norm,
    };
    let parameters = shape.parameter_count();
    let activations = shape.activation_values(s.data.batch);
    if parameters > MAX_PARAMETERS || activations > MAX_ACTIVATIONS {
        return Err(Error::ModelTooLarge {
            inputs,
            parameters,
            activations,
        });
    }
    Ok(())
}

/// Whether the scenario runs in `f64` (otherwise `f32`).
pub fn is_f64(s: &Scenario) -> bool {
    s.precision == Precision::F64
}
