//! Adds up a step's 16-bit rounding censuses by layer and site into a [`PrecisionStats`].

use crate::core::observer::{CastEvent, CastSite};
use crate::core::precision::scaler::ScaleStep;
use crate::record::precision::{CastCounts, LayerCast, PrecisionStats};

/// The current step's censuses; emptied into the step's record by [`CastTally::take`].
#[derive(Debug, Clone, Default)]
pub struct CastTally {
    layers: Vec<LayerCast>,
}

impl CastTally {
    /// Adds one rounding (events without a layer are filed under layer 0).
    pub fn add(&mut self, e: &CastEvent<'_>) {
        let layer = e.layer.unwrap_or(0);
        if self.layers.len() <= layer {
            let more = (self.layers.len()..=layer).map(|l| LayerCast {
                layer: l,
                ..LayerCast::default()
            });
            self.layers.extend(more);
        }
        let l = &mut self.layers[layer];
        let slot = match e.site {
            CastSite::Forward => &mut l.activations,
            CastSite::Backward => &mut l.activation_grads,
            CastSite::WeightGrad => &mut l.weight_grads,
            CastSite::Weights => &mut l.weights,
        };
        slot.get_or_insert_with(CastCounts::default)
            .add(e.census, e.op);
    }

    /// The step's statistics (none when nothing was rounded or scaled), leaving the tally empty.
    pub fn take(&mut self, scale: Option<ScaleStep>) -> Option<PrecisionStats> {
        let layers: Vec<LayerCast> = std::mem::take(&mut self.layers)
            .into_iter()
            .filter(|l| {
                l.activations.is_some()
                    || l.activation_grads.is_some()
                    || l.weight_grads.is_some()
                    || l.weights.is_some()
            })
            .collect();
        if layers.is_empty() && scale.is_none() {
            return None;
        }
        Some(PrecisionStats {
            loss_scale: scale.map(|s| s.scale),
            skipped: scale.is_some_and(|s| s.skipped),
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::observer::CastOp;
    use crate::core::precision::{Half, round_counted};

    #[test]
    fn censuses_add_up_by_layer_and_site_and_name_the_first_overflowing_op() {
        let mut t = CastTally::default();
        let mut a = [1e5f32, 2.0];
        let mut b = [7e4f32, -1e-9];
        let (ca, cb) = (
            round_counted(Half::Fp16, &mut a),
            round_counted(Half::Fp16, &mut b),
        );
        let ev = |census, op, site| CastEvent {
            step: 0,
            layer: Some(2),
            op,
            site,
            census,
        };
        t.add(&ev(&ca, CastOp::AttnScores, CastSite::Forward));
        t.add(&ev(&cb, CastOp::Matmul, CastSite::Forward));
        t.add(&ev(&cb, CastOp::Matmul, CastSite::Backward));
        let s = t.take(None).unwrap();
        assert_eq!(s.layers.len(), 1, "layers 0 and 1 rounded nothing");
        let f = s.layers[0].activations.clone().unwrap();
        assert_eq!((f.values, f.overflow, f.flushed, f.zeros), (4, 2, 1, 1));
        assert_eq!(
            (f.crossed, f.overflow_op),
            (Some(1e5), Some(CastOp::AttnScores))
        );
        assert_eq!(f.amax, 2.0);
        assert_eq!(f.flushed_fraction(), 1.0 / 4.0);
        assert!(t.take(None).is_none(), "taken: empty again");
    }
}
