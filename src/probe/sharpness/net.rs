//! The probed network: an `f64` copy of the training model with a fixed probe batch, MLP or GPT,
//! as a function from parameters to the mean loss and its gradient.
//!
//! The GPT's probe batch is the first `batch` sequences in data order (its buffers are sized for
//! one training batch), fixed for the whole run. A ReLU MLP is frozen at the centre's pattern,
//! as the MLP's are (the kinks crossed inside `±εx` would add curvature that autodiff's Hessian
//! does not show); GELU, GELU-tanh and SwiGLU are smooth, relu2 is C¹ (its second derivative
//! jumps at 0, a set of measure zero), and none is frozen.

use ndarray::{Array2, s};

use crate::core::data::tokens::TokenData;
use crate::core::data::{Dataset, Targets};
use crate::core::float::Real;
use crate::core::gpt::{Gpt, GptSpec};
use crate::core::loss::{LossKind, LossTarget};
use crate::core::model::{Model, ModelSpec};

/// The probe batch's targets, in `f64`.
#[derive(Debug, Clone)]
pub enum ProbeTargets {
    Classes(Vec<usize>),
    Values(Array2<f64>),
}

/// A model copy and its probe batch.
#[derive(Debug, Clone)]
pub enum ProbeNet {
    Mlp {
        model: Box<Model<f64>>,
        x: Array2<f64>,
        targets: ProbeTargets,
        loss: LossKind,
    },
    Gpt {
        gpt: Box<Gpt<f64>>,
        tokens: Vec<u32>,
        targets: Vec<u32>,
    },
}

impl ProbeNet {
    /// The MLP of `spec` without dropout (the probe evaluates as eval mode does) on the first `n`
    /// samples of `data`.
    pub fn mlp<T: Real>(
        spec: &ModelSpec,
        data: &Dataset<T>,
        n: usize,
        loss: LossKind,
        seed: u64,
    ) -> Self {
        let spec = ModelSpec {
            dropout: 0.0,
            ..spec.clone()
        };
        let targets = match &data.targets {
            Targets::Classes(c) => ProbeTargets::Classes(c[..n].to_vec()),
            Targets::Values(v) => ProbeTargets::Values(v.slice(s![..n, ..]).mapv(|v| v.wide())),
        };
        ProbeNet::Mlp {
            model: Box::new(Model::<f64>::new(spec, n, seed)),
            x: data.x.slice(s![..n, ..]).mapv(|v| v.wide()),
            targets,
            loss,
        }
    }

    /// The GPT of `spec` on the first `spec.batch` sequences of `data`.
    pub fn gpt(spec: GptSpec, data: &TokenData) -> Self {
        // Validation keeps data.batch <= data.samples; a shorter data set would leave zero rows.
        debug_assert!(
            spec.batch <= data.samples(),
            "the probe batch is one training batch"
        );
        let first: Vec<usize> = (0..spec.batch.min(data.samples())).collect();
        let (mut tokens, mut targets) = (vec![0; spec.tokens()], vec![0; spec.tokens()]);
        data.fill(&first, &mut tokens, &mut targets);
        ProbeNet::Gpt {
            gpt: Box::new(Gpt::<f64>::new(spec, 0)),
            tokens,
            targets,
        }
    }

    pub fn params_len(&self) -> usize {
        match self {
            ProbeNet::Mlp { model, .. } => model.params.len(),
            ProbeNet::Gpt { gpt, .. } => gpt.params.len(),
        }
    }

    /// Samples (MLP) or sequences (GPT) in the probe batch.
    pub fn batch(&self) -> usize {
        match self {
            ProbeNet::Mlp { x, .. } => x.nrows(),
            ProbeNet::Gpt { gpt, .. } => gpt.spec.batch,
        }
    }

    /// Freezes (or thaws) the ReLU patterns at the last evaluated point.
    pub fn freeze(&mut self, on: bool) {
        match self {
            ProbeNet::Mlp { model, .. } => model.freeze_activation_pattern(on),
            ProbeNet::Gpt { gpt, .. } => gpt.freeze_activation_pattern(on),
        }
    }

    /// The mean loss at `w` with its gradient written into `out`.
    pub fn gradient(&mut self, w: &[f64], out: &mut [f64]) -> f64 {
        match self {
            ProbeNet::Mlp {
                model,
                x,
                targets,
                loss,
            } => {
                model.params.values.copy_from_slice(w);
                let target = match targets {
                    ProbeTargets::Classes(c) => LossTarget::Classes(c),
                    ProbeTargets::Values(v) => LossTarget::Values(v.view()),
                };
                let value = model.loss_and_grad(x.view(), &target, *loss);
                out.copy_from_slice(&model.params.grads);
                value
            }
            ProbeNet::Gpt {
                gpt,
                tokens,
                targets,
            } => {
                gpt.params.values.copy_from_slice(w);
                let value = gpt.forward_backward(tokens, targets).total;
                out.copy_from_slice(&gpt.params.grads);
                value
            }
        }
    }
}
