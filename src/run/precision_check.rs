//! Runs a scenario in f32 and under each 16-bit policy (in parallel, gathered in order, so the
//! record is identical whatever the thread count) and compares them
//! (`record::precision_check`).

use std::path::Path;

use rayon::prelude::*;

use super::run_recorded;
use crate::core::precision::scaler::ScalerSpec;
use crate::error::Error;
use crate::record::precision_check::{PolicyRun, PrecisionCheckRecord};
use crate::scenario::{Precision, Scenario};

/// The 16-bit policies checked, in this order.
pub const POLICIES: [Precision; 4] = [
    Precision::Bf16Mixed,
    Precision::Fp16Mixed,
    Precision::Bf16,
    Precision::Fp16,
];

/// The reference is `s` in f32 without loss scaling; each policy keeps `s`'s `[loss_scale]`.
pub fn run(
    s: &Scenario,
    base_dir: Option<&Path>,
    progress: &(dyn Fn() + Sync),
) -> Result<PrecisionCheckRecord, Error> {
    let with = |p: Precision| {
        let mut v = s.clone();
        v.precision = p;
        if p == Precision::F32 {
            v.loss_scale = ScalerSpec::default();
        }
        v
    };
    let planned: Vec<Scenario> = std::iter::once(Precision::F32)
        .chain(POLICIES)
        .map(with)
        .collect();
    let runs = planned
        .par_iter()
        .map(|v| {
            let r = run_recorded(v, base_dir, None)?;
            progress();
            Ok((v.precision, r.trace, r.verdict))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let (_, ref_trace, ref_verdict) = &runs[0];
    let reference = PolicyRun::new(Precision::F32, ref_trace, ref_verdict, None);
    let against = Some((ref_trace, reference.final_loss));
    let policies = (runs.iter().skip(1))
        .map(|(p, trace, verdict)| PolicyRun::new(*p, trace, verdict, against))
        .collect();
    Ok(PrecisionCheckRecord {
        schema: crate::record::SCHEMA,
        stabcheck_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: s.clone(),
        reference,
        policies,
    })
}
