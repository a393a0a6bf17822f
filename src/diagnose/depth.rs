//! Depth-wise gradient scaling at step 0, measured and compared with mean-field theory.
//!
//! At initialization the back-propagated gradient norm changes by a factor `√χ₁` per layer, with
//! `χ₁ = σ_w² · E[φ'(z)²]` (Poole et al. 2016; Schoenholz et al. 2017): `σ_w²` is the weight
//! variance times fan-in (He 2, Xavier and LeCun 1 at equal widths, times `init_scale²`), and
//! `E[φ'²]` is 1/2 for ReLU, (1 + 0.01²)/2 for leaky-ReLU, 1 for identity. So a 16-layer ReLU net
//! with `init_scale` 3 multiplies its gradient by 3¹⁵ ≈ 1.4e7 from the last hidden layer to the
//! first, before a single step is taken. Inverted dropout with rate p multiplies `χ₁` by
//! `1/(1 − p)`. The prediction holds for plain stacks (no normalization,
//! no residuals) of equal widths; elsewhere only the measured factor is reported.

use super::context::{Context, Draft};
use super::finding::{Finding, FindingKind, Severity};
use super::series::{fmt, slope};
use super::suggest;
use crate::core::init::InitKind;
use crate::core::layers::NormKind;
use crate::core::layers::activation::{Activation, LEAKY_SLOPE};

/// Above this end-to-end factor (either way) the depth scaling is a warning, not an info.
pub const DEPTH_WARNING_FACTOR: f64 = 1e3;

/// The measured per-layer factor: `exp(-slope)` of `ln ‖∂L/∂h‖` against the hidden-layer index,
/// over hidden layers `1..depth` at the first recorded step (> 1 means the gradient grows toward
/// the input). `None` with fewer than two hidden layers that have an input gradient.
pub fn measured_factor(cx: &Context) -> Option<f64> {
    let first = cx.trace.steps.first()?;
    let depth = cx.scenario.depth();
    let (xs, ys): (Vec<f64>, Vec<f64>) = first
        .layers
        .iter()
        .take(depth)
        .filter_map(|l| l.input_grad_norm.map(|g| (l.layer as f64, g.ln())))
        .unzip();
    slope(&xs, &ys).map(|b| (-b).exp())
}

/// Mean-field `√χ₁` for a plain equal-width stack, when theory gives it exactly.
pub fn predicted_factor(cx: &Context) -> Option<f64> {
    let m = cx.scenario.mlp()?;
    let widths = &m.hidden;
    let equal = widths.windows(2).all(|w| w[0] == w[1]);
    if m.norm != NormKind::None || m.residual || !equal || m.weights.is_some() {
        return None;
    }
    let width = *widths.first()? as f64;
    let sigma_w2 = match m.init {
        InitKind::HeNormal | InitKind::HeUniform => 2.0,
        InitKind::XavierNormal | InitKind::XavierUniform | InitKind::LecunNormal => 1.0,
        InitKind::Orthogonal => 1.0,
        InitKind::Normal => m.init_std? * m.init_std? * width,
    } * m.init_scale
        * m.init_scale;
    let phi2 = match m.activation {
        Activation::Relu => 0.5,
        Activation::LeakyRelu => 0.5 * (1.0 + LEAKY_SLOPE * LEAKY_SLOPE),
        Activation::Identity => 1.0,
        _ => return None,
    };
    // Inverted dropout keeps a unit with probability 1 − p and scales it by 1/(1 − p), so it
    // multiplies the back-propagated gradient's second moment by 1/(1 − p) at every layer: He
    // init times √(1 − p) is critical.
    let dropout = 1.0 / (1.0 - m.dropout);
    Some((sigma_w2 * phi2 * dropout).sqrt())
}

pub fn check(cx: &Context) -> Vec<Finding> {
    let Some(factor) = measured_factor(cx) else {
        return Vec::new();
    };
    let hops = cx.scenario.depth().saturating_sub(1) as f64;
    let end_to_end = factor.powf(hops);
    let predicted = predicted_factor(cx);
    let far = !(1.0 / DEPTH_WARNING_FACTOR..=DEPTH_WARNING_FACTOR).contains(&end_to_end);
    let severity = if far {
        Severity::Warning
    } else {
        Severity::Info
    };
    let theory = predicted.map_or_else(
        || "no exact mean-field prediction for this architecture".to_string(),
        |p| format!("mean-field theory predicts {} (√χ₁)", fmt(p)),
    );
    let direction = if factor >= 1.0 { "grows" } else { "shrinks" };
    let mut draft = Draft::new(FindingKind::DepthScaling, severity, cx.range(0, 0))
        .measured(factor, None)
        .summary(format!(
            "at step 0 the back-propagated gradient {direction} by {} per layer toward the \
             input ({} over {hops} layers); {theory}",
            fmt(factor),
            fmt(end_to_end)
        ))
        .explain(
            "Fitted slope of ln ‖∂L/∂h‖ against hidden-layer index at step 0. Mean-field theory: \
             each layer multiplies the gradient by √χ₁ = √(σ_w² E[φ'(z)²]), so inits with \
             √χ₁ ≠ 1 make deep stacks explode or vanish before training starts."
                .to_string(),
        )
        .evidence("end-to-end factor", end_to_end);
    if let Some(p) = predicted {
        draft = draft.evidence("predicted factor per layer", p);
    }
    if far {
        draft = draft.suggest(suggest::matched_init(
            cx.scenario,
            "an init with √χ₁ = 1 keeps gradient norms level through depth",
        ));
    }
    vec![draft.done()]
}
