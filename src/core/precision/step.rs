//! The 16-bit side of a training step, shared by the MLP and GPT trainers: the weights'
//! 16-bit copy for the forward and backward passes, the loss scale, unscaling and the skip
//! decision, and a pure policy's rounding of weights and optimizer state after the update.

use super::Half;
use super::policy::Policy;
use super::scaler::{LossScaler, ScaleKind, ScaleStep, ScalerSpec};
use crate::core::float::Real;
use crate::core::model::emit::Emit;
use crate::core::observer::{CastOp, CastSite};
use crate::core::optim::Optimizer;
use crate::core::params::{ParamKind, Params};

/// A run's precision policy and loss scaler, with the buffers they need.
#[derive(Debug, Clone)]
pub struct Precision<T> {
    pub policy: Option<Policy>,
    pub scaler: LossScaler,
    /// Which segments a matmul reads (mixed: only these get a 16-bit copy).
    cast_segments: Vec<bool>,
    /// The probe-order layer of each segment, for census events.
    layers: Vec<usize>,
    /// Whether each segment belongs to a layer kept in f32 (`f32_layers`): never rounded.
    kept: Vec<bool>,
    /// The master weights while the 16-bit copy is in place (mixed), or the values before the
    /// update (pure, to count lost updates).
    shadow: Vec<T>,
    /// Whether the 16-bit copy is in place now.
    swapped: bool,
    /// The last step's scale decision.
    pub last: Option<ScaleStep>,
}

impl<T: Real> Precision<T> {
    /// `cast_segments[k]`: whether segment k feeds a matmul; `layers[k]`: its probe layer.
    pub fn new(
        policy: Option<Policy>,
        scaler: ScalerSpec,
        (cast_segments, layers): (Vec<bool>, Vec<usize>),
        keep: &[usize],
    ) -> Self {
        let n = if policy.is_some() { 1 } else { 0 };
        let kept: Vec<bool> = layers.iter().map(|l| keep.contains(l)).collect();
        let cast_segments = (cast_segments.iter().zip(&kept))
            .map(|(&c, &k)| c && !k)
            .collect();
        Precision {
            policy,
            scaler: LossScaler::new(scaler),
            cast_segments,
            layers,
            kept,
            shadow: Vec::with_capacity(n),
            swapped: false,
            last: None,
        }
    }

    /// No 16-bit policy and no loss scaling: the trainers' fast path.
    pub fn off() -> Self {
        Self::new(None, ScalerSpec::default(), (Vec::new(), Vec::new()), &[])
    }

    /// Whether the step needs this module at all (else the trainers keep their fast path).
    pub fn active(&self) -> bool {
        self.policy.is_some() || self.scaler.kind() != ScaleKind::None
    }

    /// Whether the run scales its loss (its steps then record the scale).
    pub fn scaler_on(&self) -> bool {
        self.scaler.kind() != ScaleKind::None
    }

    /// The loss scale for this step's backward pass.
    pub fn loss_scale(&self) -> T {
        T::of(self.scaler.scale())
    }

    /// Before the forward pass. Mixed: the weights matmuls read become their 16-bit copy (the
    /// f32 masters wait in the shadow). Pure: the values are already 16-bit; keep them to count
    /// lost updates.
    pub fn before_forward(&mut self, params: &mut Params<T>, e: &mut Emit<'_, T>) {
        let Some(policy) = self.policy else {
            return;
        };
        self.shadow.clear();
        self.shadow.extend_from_slice(&params.values);
        if policy.pure {
            return;
        }
        for (k, seg) in params.segments.iter().enumerate() {
            if self.cast_segments[k] {
                let info = (Some(self.layers[k]), CastOp::Parameter, CastSite::Forward);
                e.round(policy.half, &mut params.values[seg.range()], info);
            }
        }
        // The values now hold the 16-bit copy and the shadow the masters.
        self.swapped = true;
    }

    /// After the backward pass: the masters come back, each weight gradient is rounded as its
    /// 16-bit copy's gradient was, then divided by the loss scale (multiplied by its f32
    /// reciprocal, as GradScaler's `unscale_` does). Returns whether a gradient is inf or NaN.
    pub fn after_backward(&mut self, params: &mut Params<T>, e: &mut Emit<'_, T>) -> bool {
        if self.swapped {
            std::mem::swap(&mut params.values, &mut self.shadow);
            self.swapped = false;
        }
        if let Some(policy) = self.policy {
            for (k, seg) in params.segments.iter().enumerate() {
                if (policy.pure && !self.kept[k]) || self.cast_segments[k] {
                    let info = (
                        Some(self.layers[k]),
                        CastOp::Parameter,
                        CastSite::WeightGrad,
                    );
                    e.round(policy.half, &mut params.grads[seg.range()], info);
                }
            }
        }
        if self.scaler.kind() != ScaleKind::None {
            let inv = T::of(f64::from((1.0 / self.scaler.scale()) as f32));
            params.grads.iter_mut().for_each(|g| *g *= inv);
        }
        params.grads.iter().any(|g| !g.is_finite())
    }

    /// Decides the step from `found_inf` (see [`LossScaler::update`]): whether to skip it.
    pub fn decide(&mut self, found_inf: bool) -> ScaleStep {
        let decision = self.scaler.update(found_inf);
        self.last = Some(decision);
        decision
    }

    /// After the update, under a pure policy: weights and optimizer state stored in 16 bits,
    /// each weight segment's census counting updates the rounding undid.
    pub fn after_update(
        &mut self,
        params: &mut Params<T>,
        optimizer: &mut Optimizer<T>,
        e: &mut Emit<'_, T>,
    ) {
        let Some(policy) = self.policy.filter(|p| p.pure) else {
            return;
        };
        for (k, seg) in params.segments.iter().enumerate() {
            let r = seg.range();
            if self.kept[k] {
                continue;
            }
            for buf in optimizer.state_buffers_mut() {
                if let Some(state) = buf.get_mut(r.clone()) {
                    T::round_half(policy.half, state, false);
                }
            }
            let before = &self.shadow[r.clone()];
            let values = &mut params.values[r];
            let lost = e.census.then(|| lost_updates(policy.half, values, before));
            let census = T::round_half(policy.half, values, e.census);
            if let (Some(mut c), Some((n, lost_mass, moved_mass))) = (census, lost) {
                (c.lost, c.lost_mass, c.moved_mass) = (n, lost_mass, moved_mass);
                let info = (Some(self.layers[k]), CastOp::Parameter, CastSite::Weights);
                e.report_cast(info, &c);
            }
        }
    }

    /// Rounds freshly initialized (or loaded) weights to a pure policy's format.
    pub fn store_initial(&self, params: &mut Params<T>) {
        if let Some(policy) = self.policy.filter(|p| p.pure) {
            for (k, seg) in params.segments.iter().enumerate() {
                if !self.kept[k] {
                    T::round_half(policy.half, &mut params.values[seg.range()], false);
                }
            }
        }
    }
}

/// Before `values` (updated, unrounded) are rounded back to `half`: how many moved from
/// `before` but round back to it, the total |Δw| of those, and the total |Δw| of every update.
fn lost_updates<T: Real>(half: Half, values: &[T], before: &[T]) -> (u64, f64, f64) {
    let (mut n, mut lost, mut moved) = (0, 0.0, 0.0);
    for (&v, &b) in values.iter().zip(before) {
        if v == b {
            continue;
        }
        let step = (v - b).abs().wide();
        moved += step;
        let mut r = [v];
        T::round_half(half, &mut r, false);
        if r[0] == b {
            (n, lost) = (n + 1, lost + step);
        }
    }
    (n, lost, moved)
}

/// Which segments feed a matmul under autocast: weights and biases, not norm gains or shifts.
/// (Embedding tables are excluded by the GPT, which knows which weights are looked up.)
pub fn matmul_segments<T: Real>(params: &Params<T>) -> Vec<bool> {
    params
        .segments
        .iter()
        .map(|s| matches!(s.kind, ParamKind::Weight | ParamKind::Bias))
        .collect()
}
