//! Runs a transformer scenario: builds the GPT, its token data and optimizer, and trains it with
//! the per-step recorder attached, as `run::recorded_in` does for an MLP.

use std::path::Path;

use super::build::{optimizer_spec, relative_to, schedule_and_clip};
use super::{RunSummary, checksum};
use crate::core::data::tokens::TokenData;
use crate::core::float::Real;
use crate::core::gpt::Gpt;
use crate::core::gpt::state_dict::{Buffer, npz_bytes};
use crate::core::gpt::train::GptTrainer;
use crate::core::optim::Optimizer;
use crate::core::train::Control;
use crate::core::weights::WeightsError;
use crate::error::Error;
use crate::probe::recorder::Recorder;
use crate::probe::sharpness::{ProbePoint, RECORD_OPTIONS, SharpnessProbe};
use crate::record::atomic::write_atomic;
use crate::record::trace::Trace;
use crate::scenario::{Scenario, TransformerConfig, gpt_spec};

/// The token data of `s` (`base_dir`: the scenario file's folder, for a relative text path).
fn token_data(s: &Scenario, base_dir: Option<&Path>) -> Result<TokenData, Error> {
    let d = &s.data;
    let (vocab, context) = (d.vocab.unwrap_or(0), d.context.unwrap_or(0));
    let data = match (&d.path, d.task) {
        (Some(path), _) => TokenData::text_file(&relative_to(base_dir, path), context)?,
        (None, task) => TokenData::synthetic(
            task.unwrap_or(crate::core::data::tokens::TokenTask::Markov),
            vocab,
            context,
            d.samples.unwrap_or(0),
            s.seed,
        ),
    };
    if d.batch > data.samples() {
        return Err(Error::BatchTooLarge {
            batch: d.batch,
            samples: data.samples(),
        });
    }
    Ok(data)
}

/// The GPT trainer of a transformer scenario, in precision `T`.
pub fn build_gpt_trainer<T: Real>(
    s: &Scenario,
    t: &TransformerConfig,
    base_dir: Option<&Path>,
) -> Result<GptTrainer<T>, Error> {
    let data = token_data(s, base_dir)?;
    let mut gpt = Gpt::<T>::new(gpt_spec(t, &s.data, s.loss.z_loss), s.seed);
    if let Some(path) = &t.weights {
        gpt.load_state_dict(&relative_to(base_dir, path))?;
    }
    let optimizer = Optimizer::new(optimizer_spec(s), gpt.params.len());
    let (schedule, clip) = schedule_and_clip(s);
    let mut trainer = GptTrainer::new(gpt, optimizer, schedule, clip, data, s.seed);
    if s.precision.policy().is_some() || !s.loss_scale.is_off() {
        trainer.set_precision(s.precision.policy(), s.loss_scale, &s.f32_layers);
    }
    Ok(trainer)
}

/// Trains with the recorder attached until `s.steps` or `stop`; the caller turns a short run
/// into [`Error::Interrupted`].
pub fn gpt_recorded_in<T: Real>(
    mut trainer: GptTrainer<T>,
    s: &Scenario,
    save_weights: Option<&Path>,
    control: Control<'_>,
) -> Result<(RunSummary, Trace), Error> {
    let mut recorder = Recorder::<T>::new(s.probe.histogram_every, s.steps);
    let mut steps = Vec::with_capacity(s.steps);
    // As `run_with_sharpness` does for an MLP: a sample before the update of every
    // `sharpness_every`-th step, from the weights that step updates.
    let every = s.probe.sharpness_every;
    let mut probe = (every > 0).then(|| SharpnessProbe::for_gpt(&trainer, s.seed, RECORD_OPTIONS));
    let mut sharpness = Vec::new();
    for _ in 0..s.steps {
        if control.stopped() {
            break;
        }
        if let Some(probe) = &mut probe
            && trainer.step.is_multiple_of(every)
        {
            sharpness.push(probe.sample_at(ProbePoint::of_gpt(&trainer)));
        }
        steps.push(trainer.step_observed(&mut recorder).summary());
        control.step_done();
    }
    if steps.len() < s.steps {
        return Err(Error::Interrupted {
            step: steps.len(),
            steps: s.steps,
        });
    }
    let gpt = &trainer.gpt;
    if let Some(path) = save_weights {
        let bytes =
            npz_bytes(&gpt.state_dict(Buffer::Values, "")).map_err(|e| WeightsError::Format {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        write_atomic(path, &bytes)?;
    }
    let summary = RunSummary {
        steps,
        n_params: gpt.params.len(),
        param_checksum: checksum(&gpt.params.values),
    };
    let mut trace = recorder.into_trace();
    trace.sharpness = sharpness;
    Ok((summary, trace))
}
