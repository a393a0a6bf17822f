//! The op-checking observer of a NaN-origin replay, and the NaN-propagating tensor summaries it records.
//!
//! Only ever attached to the one replayed step being examined: it scans every op's output, so it
//! must never ride along on a healthy run.

use ndarray::ArrayView2;

use super::explain::{Hyper, Site, explain};
use crate::core::float::Real;
use crate::core::model::view::Probed;
use crate::core::observer::{Observer, Op, OpEvent, StepEvent};
use crate::record::trace::{NanOrigin, TensorSummary};

/// Which non-finite value an output held, in the priority [`NanOrigin::value`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    Nan,
    PosInf,
    NegInf,
}

impl NonFinite {
    pub fn label(self) -> &'static str {
        match self {
            NonFinite::Nan => "NaN",
            NonFinite::PosInf => "inf",
            NonFinite::NegInf => "-inf",
        }
    }
}

/// The highest-priority non-finite class in `t` (NaN, then +inf, then -inf) and the `[row, col]`
/// of its first element in row-major order; `None` when every element is finite.
pub fn first_nonfinite<T: Real>(t: ArrayView2<'_, T>) -> Option<(NonFinite, [usize; 2])> {
    let mut found: [Option<[usize; 2]>; 3] = [None; 3];
    for ((row, col), &v) in t.indexed_iter() {
        let class = if v.is_nan() {
            0
        } else if v == T::infinity() {
            1
        } else if v == T::neg_infinity() {
            2
        } else {
            continue;
        };
        found[class].get_or_insert([row, col]);
        if class == 0 {
            break;
        }
    }
    let classes = [NonFinite::Nan, NonFinite::PosInf, NonFinite::NegInf];
    classes
        .into_iter()
        .zip(found)
        .find_map(|(c, at)| at.map(|at| (c, at)))
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Shape, min, max, max |x|, mean and non-finite count of `t`, in `f64`. Any NaN element makes
/// min, max, max |x| and mean NaN (reductions propagate NaN, never skip it). An empty tensor
/// summarizes as all zeros.
pub fn summarize<T: Real>(t: ArrayView2<'_, T>) -> TensorSummary {
    let (rows, cols) = t.dim();
    if t.is_empty() {
        return TensorSummary {
            rows,
            cols,
            ..TensorSummary::default()
        };
    }
    let mut s = TensorSummary {
        rows,
        cols,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        max_abs: 0.0,
        mean: 0.0,
        nonfinite: 0,
    };
    let mut sum = 0.0;
    for &v in t.iter() {
        let v = v.wide();
        s.nonfinite += u64::from(!v.is_finite());
        s.min = nan_min(s.min, v);
        s.max = nan_max(s.max, v);
        s.max_abs = nan_max(s.max_abs, v.abs());
        sum += v;
    }
    s.mean = sum / t.len() as f64;
    s
}

/// Finds the first op of a step whose output holds a non-finite value.
///
/// That op is the origin when its inputs are finite. It is also the only op worth reporting when
/// they are not: some ops update a buffer in place and list only their other inputs (`dense.bias`
/// reads `z` from `dense.matmul`, an update reads the old parameter), so once anything in the step
/// is non-finite a later op can look "finite in, non-finite out" while it only carries the damage
/// on. A first op with non-finite inputs means the non-finite value predates the step (data,
/// initial weights, optimizer state), and its explanation says so.
#[derive(Debug)]
pub struct OriginChecker {
    hyper: Hyper,
    /// Each layer's module name (empty: the model names none).
    names: Vec<String>,
    pub origin: Option<NanOrigin>,
}

impl OriginChecker {
    pub fn new(hyper: Hyper) -> Self {
        OriginChecker {
            hyper,
            names: Vec::new(),
            origin: None,
        }
    }

    /// Names the module of each origin from `names[layer]` (a GPT's state_dict modules).
    pub fn with_layer_names(mut self, names: Vec<String>) -> Self {
        self.names = names;
        self
    }

    /// `layer`'s module; attention's own ops are filed under `attn.qkv` but belong to `attn`.
    fn module(&self, layer: Option<usize>, op: Op) -> Option<String> {
        let name = self.names.get(layer?)?;
        match (op.is_attention_core(), name.strip_suffix(".qkv")) {
            (true, Some(attn)) => Some(attn.to_string()),
            _ => Some(name.clone()),
        }
    }
}

impl<T: Real> Observer<T> for OriginChecker {
    fn wants_ops(&self) -> bool {
        true
    }

    fn on_op(&mut self, event: &OpEvent<'_, T>) {
        if self.origin.is_some() {
            return;
        }
        let Some((value, at)) = first_nonfinite(event.output.view()) else {
            return;
        };
        let inputs: Vec<TensorSummary> = event.inputs.iter().map(|v| summarize(v.view())).collect();
        let site = Site {
            event,
            value,
            at,
            inputs: &inputs,
        };
        let explanation = explain(&site, &self.hyper);
        self.origin = Some(NanOrigin {
            step: event.step,
            layer: event.layer,
            module: self.module(event.layer, event.op),
            op: event.op.name().to_string(),
            phase: event.phase,
            value: value.label().to_string(),
            explanation,
            inputs,
        });
    }
}

/// Watches a replay cheaply (no op events): the first step after whose update some parameter is
/// non-finite. An update can turn a weight into ±inf while that step's loss and gradient norm are
/// still finite, so the cheap trigger alone would point one step late.
#[derive(Debug, Default)]
pub struct ParamWatch {
    pub first_nonfinite_params: Option<usize>,
}

impl<T: Real> Observer<T> for ParamWatch {
    fn on_step(&mut self, event: &StepEvent<'_, T>) {
        if self.first_nonfinite_params.is_none() && has_nonfinite(event.model) {
            self.first_nonfinite_params = Some(event.step);
        }
    }
}

fn has_nonfinite<T: Real>(model: &dyn Probed<T>) -> bool {
    model.params().values.iter().any(|v| !v.is_finite())
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn summary_propagates_nan_instead_of_skipping_it() {
        let s = summarize(array![[1.0f32, f32::NAN], [-3.0, 2.0]].view());
        assert_eq!((s.rows, s.cols, s.nonfinite), (2, 2, 1));
        assert!(s.min.is_nan() && s.max.is_nan() && s.max_abs.is_nan() && s.mean.is_nan());
    }

    #[test]
    fn summary_of_finite_values_matches_hand_computation() {
        // min −3, max 2, max |x| 3, mean (1 + 0.5 − 3 + 2)/4 = 0.125.
        let s = summarize(array![[1.0f64, 0.5], [-3.0, 2.0]].view());
        assert_eq!(
            (s.min, s.max, s.max_abs, s.mean, s.nonfinite),
            (-3.0, 2.0, 3.0, 0.125, 0)
        );
        let inf = summarize(array![[f64::NEG_INFINITY, 1.0]].view());
        assert_eq!(
            (inf.min, inf.max_abs, inf.nonfinite),
            (f64::NEG_INFINITY, f64::INFINITY, 1)
        );
    }

    #[test]
    fn nan_outranks_inf_which_outranks_minus_inf() {
        let t = array![[f32::NEG_INFINITY, f32::INFINITY], [1.0, f32::NAN]];
        assert_eq!(first_nonfinite(t.view()), Some((NonFinite::Nan, [1, 1])));
        let t = array![[f32::NEG_INFINITY, 0.0], [f32::INFINITY, f32::INFINITY]];
        assert_eq!(first_nonfinite(t.view()), Some((NonFinite::PosInf, [1, 0])));
        let t = array![[0.0, f32::NEG_INFINITY]];
        assert_eq!(first_nonfinite(t.view()), Some((NonFinite::NegInf, [0, 1])));
        assert_eq!(first_nonfinite(array![[f32::MAX, 0.0]].view()), None);
    }
}
