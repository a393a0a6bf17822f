//! Loss scaling: none, static, or dynamic with PyTorch `torch.amp.GradScaler`'s semantics.
//!
//! Dynamic, per step (PyTorch's `_amp_update_scale_` and `GradScaler.step`): the loss is
//! multiplied by `scale` before backward; the gradients are unscaled (`g / scale`, in f32) before
//! clipping; if any unscaled gradient is inf or NaN the optimizer step is skipped, `scale *=
//! backoff_factor` and the clean-step count resets; otherwise the step is taken, the count goes
//! up, and when it reaches `growth_interval` the scale is multiplied by `growth_factor` (only if
//! the product is finite) and the count resets. Defaults are PyTorch's: 2^16, ×2, ×0.5, 2000.
//!
//! The scale is an f32, as PyTorch keeps it (a float tensor): each update is computed in f64 and
//! rounded to f32, and growth that would round to infinity is not applied.
//!
//! Static (a fixed scale, as Micikevicius et al. 2018 use): the scale never changes and no step
//! is skipped, so an overflow reaches the weights as it would in a loop without a scaler.
//! Assumption stated: PyTorch has no static mode in GradScaler (it requires `backoff < 1`);
//! this is the hand-written `loss * S`, `grad / S` loop.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which loss scaling a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleKind {
    None,
    Static,
    Dynamic,
}

/// Validated `[loss_scale]` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScalerSpec {
    pub kind: ScaleKind,
    /// Static: the scale; dynamic: the initial scale.
    pub init: f64,
    pub growth_factor: f64,
    pub backoff_factor: f64,
    pub growth_interval: u64,
}

impl ScalerSpec {
    /// Whether this is no scaling at all.
    pub fn is_off(&self) -> bool {
        self.kind == ScaleKind::None
    }
}

impl Default for ScalerSpec {
    /// PyTorch's GradScaler defaults, with scaling off.
    fn default() -> Self {
        ScalerSpec {
            kind: ScaleKind::None,
            init: 65536.0,
            growth_factor: 2.0,
            backoff_factor: 0.5,
            growth_interval: 2000,
        }
    }
}

/// What the scaler decided at one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleStep {
    /// The scale the step's loss was multiplied by.
    pub scale: f64,
    /// Whether the optimizer step was skipped (dynamic scaling saw an inf or NaN gradient).
    pub skipped: bool,
    /// The scale the next step uses.
    pub next_scale: f64,
}

/// The scaler's state between steps.
#[derive(Debug, Clone, PartialEq)]
pub struct LossScaler {
    spec: ScalerSpec,
    scale: f32,
    growth_tracker: u64,
}

impl LossScaler {
    pub fn new(spec: ScalerSpec) -> Self {
        let scale = match spec.kind {
            ScaleKind::None => 1.0,
            ScaleKind::Static | ScaleKind::Dynamic => spec.init as f32,
        };
        LossScaler {
            spec,
            scale,
            growth_tracker: 0,
        }
    }

    /// Which scaling this is.
    pub fn kind(&self) -> ScaleKind {
        self.spec.kind
    }

    /// The scale for the current step's loss.
    pub fn scale(&self) -> f64 {
        f64::from(self.scale)
    }

    /// Records the step's outcome, given whether any unscaled gradient was inf or NaN.
    pub fn update(&mut self, found_inf: bool) -> ScaleStep {
        let scale = self.scale();
        let skipped = self.spec.kind == ScaleKind::Dynamic && found_inf;
        if self.spec.kind == ScaleKind::Dynamic {
            if found_inf {
                self.scale = (f64::from(self.scale) * self.spec.backoff_factor) as f32;
                self.growth_tracker = 0;
            } else {
                self.growth_tracker += 1;
                if self.growth_tracker == self.spec.growth_interval {
                    let grown = (f64::from(self.scale) * self.spec.growth_factor) as f32;
                    if grown.is_finite() {
                        self.scale = grown;
                    }
                    self.growth_tracker = 0;
                }
            }
        }
        ScaleStep {
            scale,
            skipped,
            next_scale: self.scale(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic(init: f64, interval: u64) -> LossScaler {
        LossScaler::new(ScalerSpec {
            kind: ScaleKind::Dynamic,
            init,
            growth_interval: interval,
            ..ScalerSpec::default()
        })
    }

    /// A planted sequence against PyTorch's documented algorithm, step by step (growth interval
    /// 3): clean steps count up and grow the scale on the third; an overflow halves it, skips
    /// the step and restarts the count.
    #[test]
    fn dynamic_scaling_follows_grad_scaler_step_by_step() {
        let mut s = dynamic(65536.0, 3);
        let planted = [
            false, false, true, false, false, false, true, true, false, false, false,
        ];
        let expected: [(f64, bool, f64); 11] = [
            (65536.0, false, 65536.0),
            (65536.0, false, 65536.0),
            (65536.0, true, 32768.0), // overflow before the count reached 3: no growth
            (32768.0, false, 32768.0),
            (32768.0, false, 32768.0),
            (32768.0, false, 65536.0), // third clean step in a row: ×2
            (65536.0, true, 32768.0),
            (32768.0, true, 16384.0),
            (16384.0, false, 16384.0),
            (16384.0, false, 16384.0),
            (16384.0, false, 32768.0),
        ];
        for (i, (&inf, &(scale, skipped, next))) in planted.iter().zip(&expected).enumerate() {
            let step = s.update(inf);
            assert_eq!(
                step,
                ScaleStep {
                    scale,
                    skipped,
                    next_scale: next
                },
                "step {i}"
            );
        }
    }

    #[test]
    fn the_scale_collapses_under_endless_overflow_and_never_grows_to_infinity() {
        // Every step overflows: 2^16 halves 100 times to 2^-84, far below 1 (pytorch #157436's
        // collapse), and every step is skipped.
        let mut s = dynamic(65536.0, 2000);
        let steps: Vec<ScaleStep> = (0..100).map(|_| s.update(true)).collect();
        assert!(steps.iter().all(|x| x.skipped));
        assert_eq!(s.scale(), 2f64.powi(16 - 100));
        // At f32's largest power of two, growth would round to infinity: the scale stays.
        let mut big = dynamic(2f64.powi(127), 1);
        assert_eq!(big.update(false).next_scale, 2f64.powi(127));
    }

    #[test]
    fn static_scaling_keeps_its_scale_and_skips_nothing_and_none_is_one() {
        let spec = ScalerSpec {
            kind: ScaleKind::Static,
            init: 128.0,
            ..ScalerSpec::default()
        };
        let mut s = LossScaler::new(spec);
        for inf in [false, true, false] {
            assert_eq!(
                s.update(inf),
                ScaleStep {
                    scale: 128.0,
                    skipped: false,
                    next_scale: 128.0
                }
            );
        }
        let mut none = LossScaler::new(ScalerSpec::default());
        assert_eq!(
            none.update(true),
            ScaleStep {
                scale: 1.0,
                skipped: false,
                next_scale: 1.0
            }
        );
    }
}
