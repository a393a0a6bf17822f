//! Plain-language reasons for a NaN origin, derived from the op, its input statistics and the
//! hyperparameters in effect (precision, eps, learning rate).

use ndarray::{ArrayView1, ArrayView2, Axis};

use super::checker::NonFinite;
use crate::core::float::Real;
use crate::core::gpt::TokenNorm;
use crate::core::layers::NormKind;
use crate::core::loss::LossKind;
use crate::core::observer::{Op, OpEvent, Phase};
use crate::core::precision::Half;
use crate::record::trace::TensorSummary;

/// The hyperparameters an explanation may cite, as in effect at the replayed step.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    /// `"f32"` or `"f64"`, and that type's largest finite value.
    pub precision: &'static str,
    pub max: f64,
    /// Layernorm/batchnorm epsilon and the Adam/AdamW/RMSprop denominator epsilon.
    pub norm_eps: f64,
    pub optimizer_eps: f64,
    /// Learning rate of the step before per-layer multipliers, and each layer's multiplier.
    pub lr: f64,
    pub lr_scales: Vec<f64>,
}

impl Hyper {
    pub(super) fn lr_of_layer(&self, layer: Option<usize>) -> f64 {
        let scale = layer.and_then(|l| self.lr_scales.get(l)).copied();
        self.lr * scale.unwrap_or(1.0)
    }

    pub(super) fn limit(&self) -> String {
        format!("{}::MAX = {}", self.precision, sci(self.max))
    }
}

/// One op whose output was found non-finite, with its input summaries.
pub struct Site<'s, 'e, T> {
    pub event: &'s OpEvent<'e, T>,
    pub value: NonFinite,
    /// `[row, col]` of the first output element holding `value`.
    pub at: [usize; 2],
    pub inputs: &'s [TensorSummary],
}

impl<T> Site<'_, '_, T> {
    pub(super) fn input(&self, k: usize) -> TensorSummary {
        self.inputs.get(k).cloned().unwrap_or_default()
    }

    fn name(&self, k: usize) -> &'static str {
        if (self.event.op, self.event.phase) == (Op::ResidualAdd, Phase::Backward) {
            return "dy"; // the skip's share of the gradient, added to the branch's
        }
        input_names(self.event.op).get(k).copied().unwrap_or("x")
    }

    /// `inputs finite (max |h| = …, max |W| = …)`.
    fn finite_inputs(&self) -> String {
        let parts: Vec<String> = (0..self.inputs.len())
            .map(|k| format!("max |{}| = {}", self.name(k), sci(self.input(k).max_abs)))
            .collect();
        format!("inputs finite ({})", parts.join(", "))
    }
}

/// `3.1e20`: one decimal is enough to compare against a limit.
pub fn sci(x: f64) -> String {
    format!("{x:.1e}")
}

fn input_names(op: Op) -> &'static [&'static str] {
    match op {
        Op::DenseMatmul => &["h", "W"],
        Op::DenseGradWeight => &["h", "dz"],
        Op::DenseBias => &["b"],
        Op::DenseGradBias => &["dz"],
        Op::DenseGradInput => &["grad_out"],
        Op::ResidualAdd => &["h", "branch"],
        Op::Dropout => &["a"],
        Op::NormNormalize(_) => &["z"],
        Op::NormAffine(_) => &["x̂"],
        Op::Update(_) => &["g"],
        Op::NormBackward(_) | Op::ActivationBackward(_) | Op::DropoutBackward => &["grad"],
        Op::Loss(_) | Op::TokenLoss => &["logits"],
        Op::Activation(_) => &["x"],
        Op::Embedding => &["tok_emb", "pos_emb"],
        Op::Linear => &["x", "W", "b"],
        Op::LinearGradWeight => &["x", "dy"],
        Op::LinearGradInput => &["dy", "W"],
        Op::LinearGradBias | Op::RowNormBackward(_) => &["dy"],
        Op::RowNormalize(_) => &["x"],
        Op::RowAffine(_) => &["x̂"],
        Op::AttnScores => &["q", "k"],
        Op::AttnSoftmax => &["scores"],
        Op::AttnValues => &["P", "v"],
        Op::AttnBackward => &["dO"],
        Op::MlpActivation(_) => &["z"],
        Op::Cast(_) => &["x"],
        Op::EmbeddingBackward | Op::MlpActivationBackward(_) => &["grad"],
    }
}

/// A matrix product whose overflow [`product_overflow`] explains, with the length of its sums:
/// the inner dimension of `a·b`, or the rows of `aᵀ·b` for a weight gradient.
fn product_terms(op: Op, a: &TensorSummary) -> Option<usize> {
    match op {
        Op::DenseMatmul | Op::Linear | Op::LinearGradInput | Op::AttnValues => Some(a.cols),
        Op::DenseGradWeight | Op::LinearGradWeight => Some(a.rows),
        _ => None,
    }
}

/// Why `site`'s output became non-finite, ending with where the first bad element sits.
pub fn explain<T: Real>(site: &Site<'_, '_, T>, h: &Hyper) -> String {
    let op = site.event.op;
    let reason = if let Some(k) = site.inputs.iter().position(|s| s.nonfinite > 0) {
        already_nonfinite(site, k)
    } else if let Some(terms) = product_terms(op, &site.input(0)) {
        product_overflow(site, h, terms)
    } else if let Op::Cast(half) = op {
        cast_overflow(site, half)
    } else if op == Op::AttnScores {
        super::explain_attention::scores(site, h)
    } else if matches!(op, Op::NormNormalize(_) | Op::RowNormalize(_)) {
        normalize(site, h)
    } else if site.event.phase == Phase::Update {
        super::explain_update::update(site, h)
    } else {
        elementwise(site, h)
    };
    let (rows, cols) = site.event.output.dim();
    format!(
        "{reason} (first {} at [{}, {}] of the {rows}×{cols} output)",
        site.value.label(),
        site.at[0],
        site.at[1]
    )
}

/// A finite value too large for the 16-bit format rounded to infinity.
fn cast_overflow<T>(site: &Site<'_, '_, T>, half: Half) -> String {
    let limit = match half {
        Half::Fp16 => "65520 (fp16's largest value 65504 plus half an ulp)",
        Half::Bf16 => "bf16's largest value (about 3.39e38)",
    };
    format!(
        "{}; storing it in {} rounded |x| = {} to infinity: it reaches {limit}",
        site.finite_inputs(),
        half.name(),
        sci(site.input(0).max_abs)
    )
}

fn already_nonfinite<T>(site: &Site<'_, '_, T>, k: usize) -> String {
    let n = site.input(k).nonfinite;
    let name = site.name(k);
    if matches!(
        site.event.op,
        Op::Loss(LossKind::CrossEntropy) | Op::TokenLoss
    ) {
        return format!(
            "{name} already hold {n} non-finite values: the softmax of ±inf logits is inf/inf = NaN"
        );
    }
    format!(
        "{name} already held {n} non-finite values when this step first produced one: the \
         damage predates the step (data, initial weights or optimizer state)"
    )
}

/// `h·W` (forward) or `hᵀ·dz` (weight gradient): products of large factors, or long sums, overflow.
fn product_overflow<T>(site: &Site<'_, '_, T>, h: &Hyper, terms: usize) -> String {
    let (a, b) = (site.input(0), site.input(1));
    let bound = a.max_abs * b.max_abs;
    let head = site.finite_inputs();
    let limit = h.limit();
    match (site.value, bound > h.max) {
        (NonFinite::Nan, true) => format!(
            "{head}; their products exceed {limit}, overflow to ±inf and cancel in the sum: inf − inf = NaN"
        ),
        (NonFinite::Nan, false) => format!(
            "{head}; partial sums of {terms} products overflow to ±inf and cancel: inf − inf = NaN"
        ),
        (_, true) => format!("{head}; their products exceed {limit}"),
        (_, false) => format!(
            "{head}; each product is at most {}, but the sum of {terms} of them exceeds {limit}",
            sci(bound)
        ),
    }
}

/// `(z − μ) / sqrt(σ² + eps)` per lane (RMSNorm: `z / sqrt(mean z² + eps)`): a constant
/// (RMSNorm: all-zero) lane with eps 0 is 0/0; a huge lane overflows σ².
fn normalize<T: Real>(site: &Site<'_, '_, T>, h: &Hyper) -> String {
    let Some(z) = site.event.inputs.first() else {
        return elementwise(site, h);
    };
    let (norm, batchnorm, rms) = match site.event.op {
        Op::NormNormalize(NormKind::Batchnorm) => ("batchnorm", true, false),
        Op::RowNormalize(TokenNorm::Rmsnorm) => ("rmsnorm", false, true),
        _ => ("layernorm", false, false),
    };
    let rows = if matches!(site.event.op, Op::RowNormalize(_)) {
        "row"
    } else {
        "sample"
    };
    let Some((lane_name, lane)) = lane_of(batchnorm, rows, z.view(), site.at) else {
        return elementwise(site, h);
    };
    let (lo, hi, max_abs) = lane.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0_f64),
        |(lo, hi, m), &v| (lo.min(v.wide()), hi.max(v.wide()), m.max(v.wide().abs())),
    );
    if h.norm_eps == 0.0 && rms && max_abs == 0.0 {
        format!("{norm} mean(z²) = 0 with eps 0: 0/0 ({lane_name} is all zeros)")
    } else if h.norm_eps == 0.0 && !rms && lo == hi {
        format!(
            "{norm} variance 0 with eps 0: 0/0 ({lane_name} is constant, every z = {})",
            sci(lo)
        )
    } else if max_abs * max_abs > h.max {
        format!(
            "{norm}: {lane_name} has max |z| = {}, so its variance (z − μ)² exceeds {} and \
             the normalization divides inf by inf",
            sci(max_abs),
            h.limit()
        )
    } else if h.norm_eps == 0.0 && !rms {
        format!(
            "{norm} with eps 0: {lane_name} spans only {}, so its variance rounds to 0: 0/0",
            sci(hi - lo)
        )
    } else {
        elementwise(site, h)
    }
}

/// The lane holding `at`: a row for layernorm, a column for batchnorm.
fn lane_of<'v, T>(
    batchnorm: bool,
    rows: &str,
    z: ArrayView2<'v, T>,
    at: [usize; 2],
) -> Option<(String, ArrayView1<'v, T>)> {
    let [row, col] = at;
    if batchnorm {
        (col < z.ncols()).then(|| {
            (
                format!("feature {col} over the batch"),
                z.index_axis_move(Axis(1), col),
            )
        })
    } else {
        (row < z.nrows()).then(|| (format!("{rows} {row}"), z.index_axis_move(Axis(0), row)))
    }
}

/// Every other op: elementwise or a fixed linear map of finite inputs overflowed.
pub(super) fn elementwise<T>(site: &Site<'_, '_, T>, h: &Hyper) -> String {
    let head = site.finite_inputs();
    let what = match (site.event.op, site.event.layer) {
        (Op::DenseGradInput, _) => "the product with Wᵀ",
        (Op::DenseBias, _) => "z + b",
        (Op::Loss(LossKind::CrossEntropy), None) if site.event.phase == Phase::Forward => {
            "the loss lse(z) − z_y"
        }
        (Op::Loss(LossKind::Mse), None) => "the squared error (ŷ − y)² or its gradient",
        (Op::TokenLoss, None) if site.event.phase == Phase::Forward => {
            "the loss lse(z) − z_y + z_loss·lse(z)²"
        }
        (Op::Embedding, _) => "tok_emb[x] + pos_emb",
        (_, None) => "the loss",
        _ => "the result",
    };
    match site.value {
        NonFinite::Nan => format!(
            "{head}, yet {} produced NaN: inside the op an intermediate overflowed (inf − inf or 0·inf)",
            site.event.op.name()
        ),
        _ => format!("{head}; {what} exceeds {}", h.limit()),
    }
}
