//! The closed set of finding kinds, as records and output name them.

use serde::{Deserialize, Serialize};

/// The family a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A NaN or infinity in the loss, a gradient, an activation or a weight.
    Nonfinite,
    /// The earliest anomaly that explains a later non-finite value.
    RootCause,
    ExplodingGradients,
    VanishingGradients,
    /// Depth-wise gradient scaling at step 0 compared with mean-field theory.
    DepthScaling,
    LossDivergence,
    LossSpike,
    LossOscillation,
    /// The final loss is not far enough below the initial loss.
    NoProgress,
    /// The loss stopped improving over the last window while still high.
    Plateau,
    DeadUnits,
    SaturatedUnits,
    /// Update-to-weight ratios orders of magnitude away from ~1e-3.
    UpdateRatio,
    WeightGrowth,
    /// Sharpness near or past the optimizer's stability limit (needs the sharpness probe).
    EdgeOfStability,
    /// A transformer's attention logits grew past the gate (Dehghani et al. 2023; Wortsman et al. 2023).
    AttentionLogitGrowth,
    /// A head's attention entropy fell to a small fraction of uniform attention's (Zhai et al. 2023).
    AttentionEntropyCollapse,
    /// An adaptive optimizer's ε is comparable with a weight tensor's gradient RMS, damping its
    /// updates (Wortsman et al. 2023).
    AdamEpsilon,
    /// The output logits' `log Z` drifted far from 0 (Wortsman et al. 2023; PaLM's z-loss).
    OutputLogitDivergence,
    /// The output layer's step-0 gradient dwarfs the blocks' and the run starts at full lr
    /// (Xiong et al. 2020: post-LN needs warm-up).
    PostLnImbalance,
    /// A value past a 16-bit format's range rounded to infinity (fp16: from 65520).
    Fp16Overflow,
    /// Gradient values flushed to zero by 16-bit rounding (Micikevicius et al. 2018).
    GradientUnderflow,
    /// Dynamic loss scaling fell below 1 or skipped too many steps.
    LossScaleCollapse,
    /// Updates below half an ulp of their weight, undone by storing the weights in 16 bits.
    LostUpdates,
    /// Too few of the `[robust]` perturbations of the scenario were stable (`--robust`).
    NotRobust,
    /// A statistic left the baseline's noise band by more than `max_regression` (`--baseline`).
    BaselineRegression,
}

impl FindingKind {
    /// Whether this kind makes a run "unstable" (docs/conventions.md): slow progress does not.
    pub fn is_instability(self) -> bool {
        !matches!(
            self,
            FindingKind::NoProgress
                | FindingKind::Plateau
                | FindingKind::DepthScaling
                | FindingKind::AdamEpsilon
                | FindingKind::GradientUnderflow
                | FindingKind::LostUpdates
                | FindingKind::BaselineRegression
        )
    }

    /// The kebab-case name used in JSON and printed output.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Nonfinite => "nonfinite",
            FindingKind::RootCause => "root-cause",
            FindingKind::ExplodingGradients => "exploding-gradients",
            FindingKind::VanishingGradients => "vanishing-gradients",
            FindingKind::DepthScaling => "depth-scaling",
            FindingKind::LossDivergence => "loss-divergence",
            FindingKind::LossSpike => "loss-spike",
            FindingKind::LossOscillation => "loss-oscillation",
            FindingKind::NoProgress => "no-progress",
            FindingKind::Plateau => "plateau",
            FindingKind::DeadUnits => "dead-units",
            FindingKind::SaturatedUnits => "saturated-units",
            FindingKind::UpdateRatio => "update-ratio",
            FindingKind::WeightGrowth => "weight-growth",
            FindingKind::EdgeOfStability => "edge-of-stability",
            FindingKind::AttentionLogitGrowth => "attention-logit-growth",
            FindingKind::AttentionEntropyCollapse => "attention-entropy-collapse",
            FindingKind::AdamEpsilon => "adam-epsilon",
            FindingKind::OutputLogitDivergence => "output-logit-divergence",
            FindingKind::PostLnImbalance => "post-ln-imbalance",
            FindingKind::Fp16Overflow => "fp16-overflow",
            FindingKind::GradientUnderflow => "gradient-underflow",
            FindingKind::LossScaleCollapse => "loss-scale-collapse",
            FindingKind::LostUpdates => "lost-updates",
            FindingKind::NotRobust => "not-robust",
            FindingKind::BaselineRegression => "baseline-regression",
        }
    }
}
