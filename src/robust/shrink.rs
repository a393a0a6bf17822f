//! Shrinking a failing case toward the base scenario: as few changed keys as possible, each as
//! close to the base as possible, still failing with the same finding.
//!
//! Proptest's own shrinking moves values toward the low end of each range; we want the base
//! scenario instead (a minimal failure is "the base plus the smallest change that breaks it"), so
//! the same idea is applied by hand: first try reverting each key to its base value, keeping every
//! revert that still fails; then bisect each remaining multiplier in log space toward 1.

use super::strategy::Perturbation;
use crate::diagnose::FindingKind;

/// Bisection steps per remaining key (each halves the log-distance to the base value).
pub const BISECTION_STEPS: usize = 6;

/// A shrink step's verdict on a candidate: does it still fail with the target finding?
pub trait Oracle {
    fn fails(&mut self, candidate: &Perturbation) -> bool;
}

impl<F: FnMut(&Perturbation) -> bool> Oracle for F {
    fn fails(&mut self, candidate: &Perturbation) -> bool {
        self(candidate)
    }
}

/// Each key of a perturbation, with a way to read it as "distance from base" and to set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Lr,
    InitScale,
    InputScale,
    Batch,
    Seed,
}

const KEYS: [Key; 5] = [
    Key::Seed,
    Key::Batch,
    Key::InputScale,
    Key::InitScale,
    Key::Lr,
];

fn revert(p: &Perturbation, base: &Perturbation, key: Key) -> Perturbation {
    let mut q = p.clone();
    match key {
        Key::Lr => q.lr_scale = base.lr_scale,
        Key::InitScale => q.init_scale_scale = base.init_scale_scale,
        Key::InputScale => q.input_scale_scale = base.input_scale_scale,
        Key::Batch => q.batch = base.batch,
        Key::Seed => q.seed = base.seed,
    }
    q
}

fn differs(p: &Perturbation, base: &Perturbation, key: Key) -> bool {
    revert(p, base, key) != *p
}

/// A key's value as a position on the line from the base (0) to the failing case, and back:
/// log space for multipliers, linear for the batch. `None` for the seed, which does not bisect.
fn with_fraction(
    from: &Perturbation,
    base: &Perturbation,
    key: Key,
    t: f64,
) -> Option<Perturbation> {
    let mut q = from.clone();
    let geo = |b: f64, f: f64| b * (f / b).powf(t);
    match key {
        Key::Lr => q.lr_scale = geo(base.lr_scale, from.lr_scale),
        Key::InitScale => q.init_scale_scale = geo(base.init_scale_scale, from.init_scale_scale),
        Key::InputScale => {
            q.input_scale_scale = geo(base.input_scale_scale, from.input_scale_scale)
        }
        Key::Batch => {
            let (b, f) = (base.batch as f64, from.batch as f64);
            q.batch = (b + (f - b) * t).round() as usize;
        }
        Key::Seed => return None,
    }
    Some(q)
}

/// Shrinks `failing` toward `base` while `oracle` says it still fails. Returns the smallest
/// failing perturbation found and how many candidates were run.
pub fn shrink(
    base: &Perturbation,
    failing: &Perturbation,
    oracle: &mut impl Oracle,
) -> (Perturbation, usize) {
    let mut best = failing.clone();
    let mut tried = 0;
    for key in KEYS {
        if differs(&best, base, key) {
            let candidate = revert(&best, base, key);
            tried += 1;
            if oracle.fails(&candidate) {
                best = candidate;
            }
        }
    }
    for key in KEYS {
        if !differs(&best, base, key) {
            continue;
        }
        // Bisect between the base (passes for this key) and the current value (fails).
        let anchor = best.clone();
        let (mut pass, mut fail) = (0.0, 1.0);
        for _ in 0..BISECTION_STEPS {
            let t = 0.5 * (pass + fail);
            let Some(candidate) = with_fraction(&anchor, base, key, t) else {
                break;
            };
            if candidate == best {
                break;
            }
            tried += 1;
            if oracle.fails(&candidate) {
                fail = t;
                best = candidate;
            } else {
                pass = t;
            }
        }
    }
    (best, tried)
}

/// The finding a shrunk case must keep failing with: its first error-severity instability
/// finding (or its first error finding).
pub fn target_kind(errors: &[FindingKind]) -> Option<FindingKind> {
    errors
        .iter()
        .copied()
        .find(|k| k.is_instability())
        .or_else(|| errors.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Perturbation {
        Perturbation {
            lr_scale: 1.0,
            init_scale_scale: 1.0,
            batch: 64,
            input_scale_scale: 1.0,
            seed: 7,
        }
    }

    #[test]
    fn irrelevant_keys_revert_and_the_culprit_shrinks_toward_its_threshold() {
        // The "run" fails exactly when lr_scale > 2: everything else is noise.
        let failing = Perturbation {
            lr_scale: 2.9,
            init_scale_scale: 0.6,
            batch: 200,
            input_scale_scale: 7.0,
            seed: 12345,
        };
        let mut oracle = |p: &Perturbation| p.lr_scale > 2.0;
        let (shrunk, tried) = shrink(&base(), &failing, &mut oracle);
        let reverted = Perturbation {
            lr_scale: shrunk.lr_scale,
            ..base()
        };
        assert_eq!(shrunk, reverted, "only lr stays changed");
        assert!(
            shrunk.lr_scale > 2.0 && shrunk.lr_scale < 2.9,
            "{}",
            shrunk.lr_scale
        );
        assert!(tried <= 5 + 5 * BISECTION_STEPS);
    }

    #[test]
    fn a_case_that_needs_two_keys_keeps_both() {
        let failing = Perturbation {
            lr_scale: 3.0,
            init_scale_scale: 2.0,
            ..base()
        };
        let mut oracle = |p: &Perturbation| p.lr_scale * p.init_scale_scale > 4.0;
        let (shrunk, _) = shrink(&base(), &failing, &mut oracle);
        assert!(
            shrunk.lr_scale > 1.0 && shrunk.init_scale_scale > 1.0,
            "{shrunk:?}"
        );
        assert!(shrunk.lr_scale * shrunk.init_scale_scale > 4.0);
    }
}
