//! Optimizers: the choice enum, hyperparameters, and the per-segment update driver.
//!
//! Weight decay touches [`ParamKind::Weight`] segments only: biases and normalization gains and
//! shifts are never decayed (the usual PyTorch param-group practice, made the only behaviour here).

pub mod adam;
mod each;
pub mod props;
pub mod rmsprop;
pub mod sgd;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::each::Measured;
use self::each::update_each;
pub use self::props::StateBuffer;
use super::float::Real;
use super::params::{ParamKind, Segment};

/// Which update rule to use. Formulas follow PyTorch's `torch.optim` (see each file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    Adamw,
    Rmsprop,
}

/// Validated hyperparameters of an optimizer (the scenario layer fills defaults and checks ranges).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    pub kind: OptimizerKind,
    /// Heavy-ball coefficient μ for momentum/nesterov. Defaults to `0.9`.
    pub momentum: f64,
    /// Adam's (β1, β2). Defaults to `(0.9, 0.999)`.
    pub betas: (f64, f64),
    /// Adam/RMSprop denominator epsilon. Defaults to `1e-8`. Zero is allowed (it shows the 0/0 hazard).
    pub eps: f64,
    /// RMSprop's smoothing constant α. Defaults to `0.99`.
    pub alpha: f64,
    /// Weight decay on weight matrices: coupled (added to the gradient) for every kind but `adamw`,
    /// decoupled (`w -= lr·wd·w`) for `adamw`. Defaults to `0.0`.
    pub weight_decay: f64,
    /// AdamW only: independent decay `w -= wd·w`, not multiplied by the learning rate (so it
    /// neither grows with a larger lr nor follows the schedule; with a constant schedule it is
    /// Wortsman et al. 2023's `w -= (lr_t/lr_max)·wd·w`). Defaults to `false`.
    #[serde(default)]
    pub independent_weight_decay: bool,
}

impl OptimizerSpec {
    /// The documented defaults for `kind`: μ 0.9, betas (0.9, 0.999), eps 1e-8, α 0.99, no decay.
    pub fn defaults(kind: OptimizerKind) -> Self {
        OptimizerSpec {
            kind,
            momentum: 0.9,
            betas: (0.9, 0.999),
            eps: 1e-8,
            alpha: 0.99,
            weight_decay: 0.0,
            independent_weight_decay: false,
        }
    }
}

/// An optimizer with its state, sized once for the whole flat parameter buffer: one buffer per
/// entry of [`OptimizerKind::state_names`], as many as the kind needs.
#[derive(Debug, Clone)]
pub struct Optimizer<T> {
    spec: OptimizerSpec,
    state: Vec<Vec<T>>,
    /// Adam's `t`: the number of [`Optimizer::begin_step`] calls so far (1 during the first step).
    step: u64,
}

impl<T: Real> Optimizer<T> {
    /// Allocates all state (zeros) for `n_params` parameters; updates never allocate.
    /// The denominator ε when the optimizer is adaptive (its updates vanish as `RMS(g)` nears ε).
    pub fn adaptive_eps(&self) -> Option<f64> {
        self.spec.kind.is_adaptive().then_some(self.spec.eps)
    }

    pub fn new(spec: OptimizerSpec, n_params: usize) -> Self {
        let buffers = spec.kind.state_names().len();
        Optimizer {
            spec,
            state: vec![vec![T::zero(); n_params]; buffers],
            step: 0,
        }
    }

    pub fn spec(&self) -> &OptimizerSpec {
        &self.spec
    }

    /// How many steps have begun ([`Optimizer::begin_step`] calls): Adam's `t` during the last
    /// update, so the next update runs with `t + 1`. Read-only, for probes.
    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// Call once per training step, before the segment updates: advances Adam's `t`.
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Updates one parameter segment in place with effective learning rate `lr` (base lr × per-layer
    /// multiplier, already scheduled). `values`/`grads` are `params.values[seg.range()]` /
    /// `params.grads[seg.range()]`; the state is indexed by `seg.range()` too.
    ///
    /// Returns `‖Δθ‖²` of the change actually applied (`Σ (w_new − w_old)²` in `f64`), so an update
    /// lost to rounding counts as zero. NaN propagates.
    pub fn update_segment(&mut self, seg: &Segment, values: &mut [T], grads: &[T], lr: f64) -> f64 {
        self.update_segment_measured(seg, values, grads, lr, false)
            .change_sq
    }

    /// [`Optimizer::update_segment`], also measuring `‖θ‖²` after the update in the same pass
    /// when `value_norm` (else [`Measured::value_sq`] is NaN).
    pub fn update_segment_measured(
        &mut self,
        seg: &Segment,
        values: &mut [T],
        grads: &[T],
        lr: f64,
        value_norm: bool,
    ) -> Measured {
        debug_assert_eq!(
            values.len(),
            seg.len(),
            "values must be the segment's slice"
        );
        debug_assert_eq!(grads.len(), seg.len(), "grads must be the segment's slice");
        let s = &self.spec;
        let wd = if seg.kind == ParamKind::Weight {
            s.weight_decay
        } else {
            0.0
        };
        let r = seg.range();
        // The buffers in `state_names` order: [momentum_buffer], [exp_avg, exp_avg_sq], [square_avg].
        let mut state = self.state.iter_mut().map(|b| &mut b[r.clone()]);
        #[allow(clippy::expect_used)] // invariant: `new` allocates one buffer per state name
        let mut next = || {
            state
                .next()
                .expect("Optimizer::new allocates every state buffer its kind names")
        };
        match s.kind {
            OptimizerKind::Sgd => sgd::sgd(values, grads, lr, wd, value_norm),
            OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                let nesterov = s.kind == OptimizerKind::Nesterov;
                let buf = next();
                sgd::momentum(values, grads, buf, lr, s.momentum, wd, nesterov, value_norm)
            }
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                debug_assert!(
                    self.step > 0,
                    "begin_step must run before Adam's first update"
                );
                let decoupled = s.kind == OptimizerKind::Adamw;
                let hyper = adam::AdamStep {
                    lr,
                    betas: s.betas,
                    eps: s.eps,
                    t: self.step,
                    coupled_decay: if decoupled { 0.0 } else { wd },
                    decoupled_decay: if decoupled { wd } else { 0.0 },
                    independent: s.independent_weight_decay,
                    value_norm,
                };
                let (m, v) = (next(), next());
                adam::adam(values, grads, m, v, &hyper)
            }
            OptimizerKind::Rmsprop => {
                let sq_avg = next();
                rmsprop::rmsprop(values, grads, sq_avg, lr, s.alpha, s.eps, wd, value_norm)
            }
        }
    }

    /// The op of this optimizer's update in events (its name in records: `adam.update`, ...).
    pub fn op(&self) -> crate::core::observer::Op {
        crate::core::observer::Op::Update(self.spec.kind)
    }

    /// State values held, over every buffer (a test holds it to [`OptimizerKind::state_buffers`]).
    /// Every state buffer, for a pure 16-bit policy that stores them rounded.
    pub fn state_buffers_mut(&mut self) -> &mut [Vec<T>] {
        &mut self.state
    }

    pub fn state_len(&self) -> usize {
        self.state.iter().map(Vec::len).sum()
    }

    /// `seg`'s part of state buffer `which`, for probes; `&[]` when the kind keeps no such buffer.
    pub fn state(&self, seg: &Segment, which: StateBuffer) -> &[T] {
        let names = self.spec.kind.state_names();
        match names.iter().position(|&n| n == which) {
            Some(k) => &self.state[k][seg.range()],
            None => &[],
        }
    }

    /// `seg`'s part of the running mean of `g²` (Adam's `v`, RMSprop's `E[g²]`), or `&[]`.
    pub fn second_moment(&self, seg: &Segment) -> &[T] {
        let names = self.spec.kind.state_names();
        match names.iter().find(|n| n.is_second_moment()) {
            Some(&which) => self.state(seg, which),
            None => &[],
        }
    }
}

/// `g + wd·w` when decay is on, else `g` untouched (so `0·inf` never turns an infinite weight's
/// gradient into NaN, as PyTorch skips the term when `weight_decay == 0`).
#[inline]
fn decayed<T: Real>(g: T, w: T, wd: Option<T>) -> T {
    match wd {
        Some(wd) => g + wd * w,
        None => g,
    }
}

/// `Some(wd)` in `T` when `wd ≠ 0`.
fn decay_factor<T: Real>(wd: f64) -> Option<T> {
    (wd != 0.0).then(|| T::of(wd))
}

/// The shared two-step example the optimizer tests check against hand-computed numbers.
#[cfg(test)]
mod testing {
    use super::*;
    use crate::core::params::Params;

    /// The defaults of `kind` with the given weight decay.
    pub fn with_decay(kind: OptimizerKind, weight_decay: f64) -> OptimizerSpec {
        OptimizerSpec {
            weight_decay,
            ..OptimizerSpec::defaults(kind)
        }
    }

    /// A `1 × len` segment of `kind` at `offset`.
    pub fn segment(kind: ParamKind, offset: usize, len: usize) -> Segment {
        Segment {
            layer: 0,
            kind,
            offset,
            rows: 1,
            cols: len,
        }
    }

    /// Weights `[1, −2]` (a `Weight` segment) and bias `[3]` (a `Bias` segment), learning rate `lr`.
    /// Step 1 gradients: weights `[0.5, −1]`, bias `[0.5]`; step 2: weights `[0.25, 2]`, bias `[0.5]`.
    /// Returns `[w0, w1, b]` and the summed `‖Δθ‖²` after each step.
    pub fn two_steps(spec: OptimizerSpec, lr: f64) -> [([f64; 3], f64); 2] {
        let mut p = Params::<f64>::new();
        p.push(0, ParamKind::Weight, 1, 2);
        p.push(0, ParamKind::Bias, 1, 1);
        p.values.copy_from_slice(&[1.0, -2.0, 3.0]);
        let mut opt = Optimizer::new(spec, p.len());
        let mut out = [([0.0; 3], 0.0); 2];
        for (grads, slot) in [[0.5, -1.0, 0.5], [0.25, 2.0, 0.5]].iter().zip(&mut out) {
            p.grads.copy_from_slice(grads);
            opt.begin_step();
            let mut sq = 0.0;
            for seg in &p.segments {
                let r = seg.range();
                sq += opt.update_segment(seg, &mut p.values[r.clone()], &p.grads[r], lr);
            }
            slot.0.copy_from_slice(&p.values);
            slot.1 = sq;
        }
        out
    }

    /// `|actual − expected| ≤ 1e-12` (every example value is of order 1).
    pub fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= 1e-12, "element {i}: got {a}, expected {e}");
        }
    }
}

#[cfg(test)]
mod tests;
