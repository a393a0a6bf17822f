//! Traces of real runs: JSONL, one object per step, per-tensor statistics under state_dict names.
//!
//! A line (schema 1, ../shared/DESIGN.md, with run.json's statistic names):
//! `{"schema": 1, "step": 0, "loss": 2.3, "lr": 0.001, "grad_norm": 5.9,
//!   "tensors": {"layer0.weight": {"grad_norm": .., "norm": .., "update_ratio": ..}, ...},
//!   "modules": {"layer0": {"activation_mean": .., "activation_std": .., ...}, ...}}`.
//! `modules` (an addition to the shared format) carries what belongs to a module rather than a
//! tensor: its output's statistics. Objects keep their order: modules in forward order are the
//! trace's layers, and a module's tensors are `NAME.weight` and `NAME.bias`. Assumptions: every
//! module with parameters has a `.weight`; a line lists every module of the model.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::trace::{LayerStats, StepRecord, Trace};
use crate::error::Error;

/// The schema version of a trace line.
pub const TRACE_SCHEMA: u32 = 1;

/// One parameter tensor's statistics at one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TensorLine {
    /// `‖∂L/∂θ‖₂` (before clipping).
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(with = "crate::record::nonfinite")]
    pub grad_norm: f64,
    /// `‖θ‖₂` after the update; absent when not measured. A non-finite norm counts as a
    /// non-finite value of its module.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::record::nonfinite::option"
    )]
    pub norm: Option<f64>,
    /// `‖Δθ‖₂ / ‖θ_before‖₂` (weights).
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(default = "nan", with = "crate::record::nonfinite")]
    pub update_ratio: f64,
}

/// One module's output statistics at one step (run.json's names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleLine {
    /// Mean of the module's output over every element.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(default = "nan", with = "crate::record::nonfinite")]
    pub activation_mean: f64,
    /// Population standard deviation of the output over every element.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(default = "nan", with = "crate::record::nonfinite")]
    pub activation_std: f64,
    /// Largest `|x|` of the output.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(default = "nan", with = "crate::record::nonfinite")]
    pub activation_max_abs: f64,
    /// Fraction of output units exactly 0 (ReLU) for every sample of the batch.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(default, with = "crate::record::nonfinite")]
    pub dead_fraction: f64,
    /// Count of NaN and ±inf values in the output.
    #[serde(default)]
    pub nonfinite: u64,
}

/// A module a trace line does not describe: its moments read as NaN (never 0), and
/// `dead_fraction` as 0, as when a module line omits it.
const NOT_MEASURED: ModuleLine = ModuleLine {
    activation_mean: f64::NAN,
    activation_std: f64::NAN,
    activation_max_abs: f64::NAN,
    dead_fraction: 0.0,
    nonfinite: 0,
};

fn nan() -> f64 {
    f64::NAN
}

/// One step of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceLine {
    /// The trace schema version: 1.
    pub schema: u32,
    /// 0-based step: step k is the k-th update.
    pub step: usize,
    /// Mean loss of the step's forward pass, before the update.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(with = "crate::record::nonfinite")]
    pub loss: f64,
    /// Learning rate of the update.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(with = "crate::record::nonfinite")]
    pub lr: f64,
    /// `‖∂L/∂θ‖₂` over every parameter together, before clipping.
    #[schemars(schema_with = "super::trace_schema::number")]
    #[serde(with = "crate::record::nonfinite")]
    pub grad_norm: f64,
    /// Per-tensor statistics under state_dict names, in order (`M.weight` required per module).
    pub tensors: Ordered<TensorLine>,
    /// Per-module output statistics, modules in forward order (an addition to DESIGN's format).
    #[serde(default)]
    pub modules: Ordered<ModuleLine>,
}

/// A JSON object read and written in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of named statistics")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The trace lines of `trace`, whose layer `l` is module `names[l]`.
pub fn to_lines(trace: &Trace, names: &[String]) -> Vec<TraceLine> {
    (trace.steps.iter())
        .map(|s| {
            let mut tensors = Vec::new();
            let mut modules = Vec::new();
            for ls in &s.layers {
                let name = names.get(ls.layer).cloned().unwrap_or_default();
                let weight = TensorLine {
                    grad_norm: ls.weight_grad_norm,
                    norm: Some(ls.weight_norm),
                    update_ratio: ls.update_ratio,
                };
                tensors.push((format!("{name}.weight"), weight));
                let bias = TensorLine {
                    grad_norm: ls.bias_grad_norm,
                    norm: None,
                    update_ratio: f64::NAN,
                };
                tensors.push((format!("{name}.bias"), bias));
                let module = ModuleLine {
                    activation_mean: ls.activation_mean,
                    activation_std: ls.activation_std,
                    activation_max_abs: ls.activation_max_abs,
                    dead_fraction: ls.dead_fraction,
                    nonfinite: ls.nonfinite,
                };
                modules.push((name, module));
            }
            TraceLine {
                schema: TRACE_SCHEMA,
                step: s.step,
                loss: s.loss,
                lr: s.lr,
                grad_norm: s.grad_norm,
                tensors: Ordered(tensors),
                modules: Ordered(modules),
            }
        })
        .collect()
}

/// JSONL text of `lines`, one compact object per line.
pub fn to_jsonl(lines: &[TraceLine]) -> Result<String, Error> {
    let mut out = String::new();
    for line in lines {
        let json = serde_json::to_string(line).map_err(|e| Error::serialize("trace", e))?;
        out.push_str(&json);
        out.push('\n');
    }
    Ok(out)
}

/// Reads JSONL `text` (from `path`, named in errors with the line) into a [`Trace`] whose layers
/// are the modules in the first line's order, named in `layer_names`.
pub fn from_jsonl(text: &str, path: &std::path::Path) -> Result<Trace, Error> {
    let mut trace = Trace::default();
    for (i, raw) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |message: String| Error::Record {
            path: Some(path.to_path_buf()),
            message: format!("line {}: {message}", i + 1),
        };
        let line: TraceLine =
            serde_json::from_str(raw).map_err(|e| bad(super::read::located(&e, None)))?;
        if line.schema != TRACE_SCHEMA {
            return Err(bad(format!(
                "schema {} is not supported: this stabcheck reads trace schema {TRACE_SCHEMA}",
                line.schema
            )));
        }
        if trace.layer_names.is_empty() {
            trace.layer_names = layer_names(&line);
        }
        let layers = layers_of(&line, &trace.layer_names).map_err(bad)?;
        trace.steps.push(StepRecord {
            step: line.step,
            loss: line.loss,
            lr: line.lr,
            grad_norm: line.grad_norm,
            grad_norm_clipped: line.grad_norm,
            layers,
            transformer: None,
            precision: None,
        });
    }
    Ok(trace)
}

/// The trace's layers: the first line's modules in order, or without `modules`, every tensor
/// `M.weight` as module `M`, in order.
fn layer_names(line: &TraceLine) -> Vec<String> {
    if !line.modules.0.is_empty() {
        return line.modules.0.iter().map(|(n, _)| n.clone()).collect();
    }
    (line.tensors.0.iter())
        .filter_map(|(n, _)| n.strip_suffix(".weight").map(str::to_string))
        .collect()
}

/// One [`LayerStats`] per module of `names`, from its statistics and its tensors'.
fn layers_of(line: &TraceLine, names: &[String]) -> Result<Vec<LayerStats>, String> {
    let tensor = |name: &str| line.tensors.0.iter().find(|(n, _)| n == name).map(|p| p.1);
    (names.iter().enumerate())
        .map(|(l, name)| {
            let module = match line.modules.0.iter().find(|(n, _)| n == name) {
                Some(m) => m.1,
                None if line.modules.0.is_empty() => NOT_MEASURED,
                None => return Err(format!("module `{name}` of the first line is missing")),
            };
            let weight = tensor(&format!("{name}.weight"))
                .ok_or_else(|| format!("tensor `{name}.weight` is missing"))?;
            let bias = tensor(&format!("{name}.bias"));
            Ok(LayerStats {
                layer: l,
                weight_grad_norm: weight.grad_norm,
                bias_grad_norm: bias.map_or(0.0, |b| b.grad_norm),
                input_grad_norm: None,
                weight_norm: weight.norm.unwrap_or(f64::NAN),
                update_ratio: weight.update_ratio,
                activation_mean: module.activation_mean,
                activation_std: module.activation_std,
                activation_max_abs: module.activation_max_abs,
                dead_fraction: module.dead_fraction,
                saturated_fraction: 0.0,
                // A module's own count is of its output; a tensor recorded with a non-finite
                // norm holds at least one non-finite value (the count is a lower bound).
                nonfinite: module.nonfinite.max(u64::from(
                    [Some(weight), bias].into_iter().flatten().any(|t| {
                        !t.grad_norm.is_finite() || t.norm.is_some_and(|n| !n.is_finite())
                    }),
                )),
            })
        })
        .collect()
}
