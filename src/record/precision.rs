//! What a 16-bit run's roundings did, per step and layer: overflow, flush to zero, subnormals,
//! amax and dynamic range of activations, their gradients, weight gradients and (pure
//! policies) the weights, plus the loss scale and skipped steps.

use serde::{Deserialize, Serialize};

use crate::core::observer::CastOp;
use crate::core::precision::Census;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One step's precision statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecisionStats {
    /// The loss scale this step's backward pass used (runs with loss scaling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    /// Whether dynamic scaling skipped this step's update (an inf or NaN gradient).
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipped: bool,
    /// Per layer that rounded anything (16-bit policies), in layer order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerCast>,
}

/// One layer's roundings in one step, by what was rounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerCast {
    pub layer: usize,
    /// Outputs of its ops in the forward pass (and matmul inputs cast from f32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activations: Option<CastCounts>,
    /// Gradients entering its 16-bit tensors in the backward pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_grads: Option<CastCounts>,
    /// Its parameters' gradients (the gradient of their 16-bit copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grads: Option<CastCounts>,
    /// Its parameters stored in 16 bits after the update (pure policies), with lost updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<CastCounts>,
}

/// Counts over every value rounded at one site of one layer in one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CastCounts {
    pub values: u64,
    /// Finite values that became ±inf.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overflow: u64,
    /// Nonzero values that became 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flushed: u64,
    /// Values stored as subnormals.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subnormal: u64,
    /// Values that are 0 after rounding (flushed or zero already).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zeros: u64,
    /// Updates that rounding undid (weights only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lost: u64,
    /// The total |Δw| of the lost updates and of every update (weights only).
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub lost_mass: f64,
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub moved_mass: f64,
    /// Largest finite |x| after rounding, and the smallest nonzero one (inf when none).
    #[serde(with = "crate::record::nonfinite")]
    pub amax: f64,
    #[serde(with = "crate::record::nonfinite")]
    pub amin: f64,
    /// The largest |x| that overflowed, and the op that first overflowed in this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow_op: Option<CastOp>,
}

impl CastCounts {
    /// Adds one rounding's census, made by `op`.
    pub fn add(&mut self, c: &Census, op: CastOp) {
        let empty = self.values == 0;
        self.values += c.values;
        self.overflow += c.overflow;
        self.flushed += c.flushed;
        self.subnormal += c.subnormal;
        self.zeros += c.zeros;
        self.lost += c.lost;
        self.lost_mass += c.lost_mass;
        self.moved_mass += c.moved_mass;
        self.amax = self.amax.max(f64::from(c.amax));
        let amin = f64::from(c.amin);
        self.amin = if empty { amin } else { self.amin.min(amin) };
        if c.overflow > 0 {
            let crossed = f64::from(c.crossed);
            self.crossed = Some(self.crossed.map_or(crossed, |x| x.max(crossed)));
            self.overflow_op.get_or_insert(op);
        }
    }

    /// `log2(amax) − log2(amin)` in binades (NaN when nothing nonzero and finite was stored).
    pub fn dynamic_range(&self) -> f64 {
        match self.amax > 0.0 && self.amin.is_finite() {
            true => self.amax.log2() - self.amin.log2(),
            false => f64::NAN,
        }
    }

    /// The share of the values that were nonzero and became zero.
    pub fn flushed_fraction(&self) -> f64 {
        let nonzero = self.values - (self.zeros - self.flushed);
        match nonzero {
            0 => 0.0,
            n => self.flushed as f64 / n as f64,
        }
    }
}
