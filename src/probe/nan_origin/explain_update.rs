//! Reasons for a non-finite parameter after an optimizer update: an lr too large for the
//! precision, a 0/0 in an adaptive denominator with eps 0, or an overflowing second moment.

use super::checker::NonFinite;
use super::explain::{Hyper, Site, elementwise, sci};
use crate::core::float::Real;
use crate::core::observer::Op;

/// `<optimizer>.update` of one parameter segment; input 0 is its gradient `g`.
pub(super) fn update<T: Real>(site: &Site<'_, '_, T>, h: &Hyper) -> String {
    let op = site.event.op;
    let lr = h.lr_of_layer(site.event.layer);
    let g = site.input(0);
    let limit = h.limit();
    if T::of(lr).is_infinite() {
        return format!(
            "lr = {} is above {limit}, so it is inf in {}: lr·g is ±inf (NaN where g = 0)",
            sci(lr),
            h.precision
        );
    }
    let g_at = gradient_at(site);
    if matches!(op, Op::Update(kind) if kind.is_adaptive()) {
        return adaptive(site, h, g_at);
    }
    if lr * g.max_abs > h.max {
        return format!(
            "update lr·g exceeds {limit} (lr = {}, max |g| = {}, lr·max |g| = {})",
            sci(lr),
            sci(g.max_abs),
            sci(lr * g.max_abs)
        );
    }
    if site.value == NonFinite::Nan {
        return elementwise(site, h);
    }
    format!(
        "w − lr·step exceeds {limit} (lr = {}, max |g| = {}): the weight or the momentum \
         buffer was already near the limit",
        sci(lr),
        sci(g.max_abs)
    )
}

/// The gradient element at the first non-finite output element (NaN when out of range).
fn gradient_at<T: Real>(site: &Site<'_, '_, T>) -> f64 {
    let [row, col] = site.at;
    site.event
        .inputs
        .first()
        .and_then(|g| g.get((row, col)))
        .map_or(f64::NAN, |v| v.wide())
}

/// Adam/AdamW/RMSprop: `lr·m / (√v + eps)`.
fn adaptive<T>(site: &Site<'_, '_, T>, h: &Hyper, g_at: f64) -> String {
    let g = site.input(0);
    let eps = h.optimizer_eps;
    match site.value {
        NonFinite::Nan if eps == 0.0 && g_at == 0.0 => format!(
            "0/0: gradient and second moment 0 with eps 0 (g = 0 at [{}, {}], so m = v = 0 \
             and the step is 0/(√0 + 0))",
            site.at[0], site.at[1]
        ),
        NonFinite::Nan if eps == 0.0 => format!(
            "0/0 or inf/inf in m/(√v + eps) with eps 0 (g = {} at [{}, {}], max |g| = {})",
            sci(g_at),
            site.at[0],
            site.at[1],
            sci(g.max_abs)
        ),
        NonFinite::Nan if g.max_abs * g.max_abs > h.max => format!(
            "max |g| = {}: g² overflows the second moment to inf in {}, and m/√v becomes inf/inf = NaN",
            sci(g.max_abs),
            h.precision
        ),
        NonFinite::Nan => elementwise(site, h),
        _ => format!(
            "step lr·m̂/(√v̂ + eps) exceeds {} (lr = {}, eps = {}, max |g| = {})",
            h.limit(),
            sci(h.lr_of_layer(site.event.layer)),
            sci(eps),
            sci(g.max_abs)
        ),
    }
}
