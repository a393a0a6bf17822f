//! Resource limits: estimate a scenario's memory and compute before anything is built, and refuse
//! one over the budget with the estimate, its parts and the flag that raises the budget.
//!
//! The estimate is arithmetic on the validated sizes only (no allocation, no data read), so a
//! scenario asking for a 10⁹-wide layer is refused in microseconds instead of meeting the OOM
//! killer. Validation already caps single sizes (`MAX_PARAMETERS`, `MAX_ACTIVATIONS`, ...); the
//! budget bounds their products: parameters × optimizer state, layers × steps of trace, FLOPs × steps.

use crate::core::model::shape::Shape;
use crate::core::train::StepSummary;
use crate::error::Error;
use crate::record::trace::{HistogramRecord, LayerStats, StepRecord};
use crate::scenario::{ModelConfig, Precision, Scenario, TransformerConfig, gpt_spec};

/// Default memory budget of one run: 4 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;
/// Default compute budget of one run: 1e13 floating-point operations (about 4 minutes at the
/// ≈ 42 GFLOP/s an Adam step of deep-mlp measures on one core).
pub const DEFAULT_MAX_FLOPS: f64 = 1e13;
/// Activation-sized buffers a layer keeps per batch (pre-activation, output, their gradients,
/// norm and dropout buffers): the same figure `MAX_ACTIVATIONS` is documented with.
const BUFFERS_PER_ACTIVATION: u128 = 8;
/// Bins of a gradient histogram (72 log-spaced bins, 73 edges).
const HISTOGRAM_BINS: u128 = 72;

/// What a run may use; `--max-memory` and `--max-flops` raise it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub max_memory_bytes: u64,
    pub max_flops: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_memory_bytes: DEFAULT_MAX_MEMORY,
            max_flops: DEFAULT_MAX_FLOPS,
        }
    }
}

/// The estimated peak memory of a run, by part, in bytes, and its compute in FLOPs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub parameters: u128,
    pub gradients: u128,
    pub optimizer_state: u128,
    pub activations: u128,
    pub data: u128,
    pub trace: u128,
    /// Nominal training FLOPs: `6 · Σ fan_in·fan_out · batch` per step (forward 2, backward 4,
    /// the benchmark's definition) times the steps.
    pub flops: f64,
}

impl Estimate {
    /// The estimate of `s` from its sizes alone. A CSV scenario that leaves `inputs` or `samples`
    /// to the file counts 1 input and no data (the file itself is capped at 1 GiB).
    pub fn of(s: &Scenario) -> Estimate {
        // 16-bit policies are emulated in f32 buffers (values rounded in place).
        let value = match s.precision {
            Precision::F64 => 8u128,
            _ => 4,
        };
        let m = match &s.model {
            ModelConfig::Mlp(m) => m,
            ModelConfig::Transformer(t) => return Self::of_transformer(s, t, value),
        };
        let inputs = s.data.inputs.unwrap_or(1) as u128;
        let outputs = s.outputs() as u128;
        let shape = Shape {
            inputs: inputs as usize,
            hidden: &m.hidden,
            outputs: outputs as usize,
            norm: m.norm,
        };
        let fan_products = shape.fan_products();
        let n_params = shape.parameter_count();
        let state_copies = s.optimizer.kind.state_buffers() as u128;
        let batch = s.data.batch as u128;
        let samples = s.data.samples.unwrap_or(0) as u128;
        // Data is generated in f64, then cast to the run's precision.
        let data = samples * (inputs + outputs) * (8 + value);
        let steps = s.steps as u128;
        let layers = shape.layers() as u128;
        let per_step = size_of::<StepRecord>() as u128
            + size_of::<StepSummary>() as u128
            + layers * size_of::<LayerStats>() as u128;
        let histogram_steps = steps / s.probe.histogram_every.max(1) as u128 + 2;
        let per_histogram = size_of::<HistogramRecord>() as u128 + HISTOGRAM_BINS * 16 + 8;
        Estimate {
            parameters: n_params * value,
            gradients: n_params * value,
            optimizer_state: state_copies * n_params * value,
            activations: BUFFERS_PER_ACTIVATION * shape.activation_values(s.data.batch) * value,
            data,
            trace: steps * per_step + histogram_steps * layers * per_histogram,
            flops: 6.0 * fan_products as f64 * batch as f64 * steps as f64,
        }
    }

    /// A transformer's estimate: sizes from the core's own count (`parameter_count`,
    /// `activation_values`, `flops_per_step` of `core::gpt::GptSpec`); token data is stored as `u32`.
    fn of_transformer(s: &Scenario, t: &TransformerConfig, value: u128) -> Estimate {
        let spec = gpt_spec(t, &s.data, s.loss.z_loss);
        let n_params = spec.parameter_count();
        let layers = (2 + spec.blocks * 8 + 2) as u128;
        let steps = s.steps as u128;
        let per_step = size_of::<StepRecord>() as u128
            + size_of::<StepSummary>() as u128
            + layers * size_of::<LayerStats>() as u128;
        let histogram_steps = steps / s.probe.histogram_every.max(1) as u128 + 2;
        let per_histogram = size_of::<HistogramRecord>() as u128 + HISTOGRAM_BINS * 16 + 8;
        let samples = s.data.samples.unwrap_or(0) as u128;
        Estimate {
            parameters: n_params * value,
            gradients: n_params * value,
            optimizer_state: s.optimizer.kind.state_buffers() as u128 * n_params * value,
            activations: spec.activation_values() * value,
            data: samples * (spec.context as u128 + 1) * 4,
            trace: steps * per_step + histogram_steps * layers * per_histogram,
            flops: spec.flops_per_step() * s.steps as f64,
        }
    }

    /// The sum of every part, in bytes.
    pub fn memory(&self) -> u128 {
        self.parameters
            + self.gradients
            + self.optimizer_state
            + self.activations
            + self.data
            + self.trace
    }

    /// `Ok(self)` within `budget`, else an error giving the estimate, its parts and the budget.
    pub fn check(self, budget: &Budget) -> Result<Estimate, Error> {
        if self.memory() > u128::from(budget.max_memory_bytes) {
            return Err(Error::OverBudget {
                resource: "memory",
                estimate: human_bytes(self.memory() as f64),
                budget: human_bytes(budget.max_memory_bytes as f64),
                parts: self.memory_parts(),
                advice: "fewer or narrower layers, a smaller data.batch or data.samples, fewer steps or a larger probe.histogram_every; or raise the budget with --max-memory (e.g. --max-memory 16GiB)",
            });
        }
        if self.flops > budget.max_flops {
            return Err(Error::OverBudget {
                resource: "compute",
                estimate: format!("{:.2e} FLOPs", self.flops),
                budget: format!("{:.2e} FLOPs", budget.max_flops),
                parts: "6 · Σ fan_in·fan_out · batch per step × steps".to_string(),
                advice: "fewer steps, a smaller data.batch or fewer or narrower layers; or raise the budget with --max-flops (e.g. --max-flops 1e15)",
            });
        }
        Ok(self)
    }

    fn memory_parts(&self) -> String {
        let parts = [
            ("parameters", self.parameters),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer_state),
            ("activations", self.activations),
            ("data", self.data),
            ("trace", self.trace),
        ];
        let text: Vec<String> = parts
            .iter()
            .map(|(name, bytes)| format!("{name} {}", human_bytes(*bytes as f64)))
            .collect();
        text.join(", ")
    }
}

/// `bytes` with a binary unit: `512 B`, `1.5 KiB`, `4.0 GiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// Parses a size such as `4GiB`, `512MiB`, `1.5GB` or a plain byte count (for `--max-memory`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '+'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024f64.powi(2),
        "mb" => 1e6,
        "g" | "gib" => 1024f64.powi(3),
        "gb" => 1e9,
        "t" | "tib" => 1024f64.powi(4),
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "unknown unit `{unit}`: use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: expected e.g. 4GiB, 512MiB or 1000000"))?;
    let bytes = value * factor;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}` is not a size between 1 byte and 16 EiB"));
    }
    Ok(bytes as u64)
}

/// Parses a positive finite FLOP count such as `1e15` (for `--max-flops`).
pub fn parse_flops(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{text}` is not a FLOP count: expected a finite number > 0, e.g. 1e15"
        )),
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
