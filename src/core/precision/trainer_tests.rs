//! The policies and the scaler inside a real train step, on models small enough that every
//! rounding is known in advance: a 1→1 linear regression `ŷ = w·x + b` with MSE, batch 1.

use ndarray::{Array2, array};

use super::Half;
use super::policy::Policy;
use super::scaler::{ScaleKind, ScalerSpec};
use crate::core::clip::Clip;
use crate::core::data::batcher::Batcher;
use crate::core::data::{Dataset, Targets, Task};
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::loss::LossKind;
use crate::core::model::emit::Emit;
use crate::core::model::{Model, ModelSpec};
use crate::core::observer::{CastEvent, CastSite, NoopObserver, Observer, StatsWanted};
use crate::core::optim::{Optimizer, OptimizerKind, OptimizerSpec};
use crate::core::regularize::Penalties;
use crate::core::schedule::Schedule;
use crate::core::train::Trainer;

const FP16_MIXED: Policy = Policy {
    half: Half::Fp16,
    pure: false,
};

fn linear(w: f32, b: f32) -> Model<f32> {
    let spec = ModelSpec {
        inputs: 1,
        hidden: vec![],
        outputs: 1,
        activation: Activation::Relu,
        norm: NormKind::None,
        norm_eps: 1e-5,
        residual: false,
        dropout: 0.0,
    };
    let mut m = Model::new(spec, 1, 0);
    m.init_weights(0.0, |_, _, _| array![[w]]);
    let bias = m.output.bias;
    m.params.value_mut(bias).fill(b);
    m
}

/// A trainer of `linear(w, 0)` on the single sample `(x, y)`, plain SGD at `lr`.
fn trainer(w: f32, (x, y): (f32, f32), lr: f64, kind: OptimizerKind) -> Trainer<f32> {
    let data = Dataset {
        x: array![[x]],
        targets: Targets::Values(array![[y]]),
        task: Task::Regression { outputs: 1 },
    };
    let model = linear(w, 0.0);
    let optimizer = Optimizer::new(OptimizerSpec::defaults(kind), model.params.len());
    let penalties = Penalties { l1: 0.0, l2: 0.0 };
    Trainer::new(
        model,
        optimizer,
        Schedule::constant(lr, 10),
        Clip::NONE,
        penalties,
        LossKind::Mse,
        vec![1.0],
        data,
        Batcher::new(1, 1, 0),
    )
}

fn scaler(kind: ScaleKind, init: f64) -> ScalerSpec {
    ScalerSpec {
        kind,
        init,
        ..ScalerSpec::default()
    }
}

#[test]
fn a_matmul_output_from_65520_up_is_inf_in_fp16_mixed_and_finite_in_bf16_mixed() {
    // 255.5 and 256.5 are fp16 values; their product 65535.75 is not, and lies past 65520.
    for (w, expect_inf) in [(256.5f32, true), (256.0, false)] {
        let mut m = linear(w, 0.0);
        m.set_policy(FP16_MIXED, &[]);
        m.forward(
            array![[255.5f32]].view(),
            &mut Emit::new(&mut NoopObserver, 0),
        );
        assert_eq!(m.logits[(0, 0)].is_infinite(), expect_inf, "w = {w}");
    }
    let mut m = linear(256.5, 0.0);
    let bf16 = Policy {
        half: Half::Bf16,
        pure: false,
    };
    m.set_policy(bf16, &[]);
    m.forward(
        array![[255.5f32]].view(),
        &mut Emit::new(&mut NoopObserver, 0),
    );
    // bf16 rounds 255.5 to 256 (a tie, to even) and 256.5 to 256: 65536 exactly.
    assert_eq!(m.logits[(0, 0)], 65536.0);
}

#[test]
fn a_gradient_below_half_the_smallest_subnormal_flushes_and_a_loss_scale_saves_it() {
    // ŷ = 2^-13 and y = ŷ − 2^-27: ∂L/∂ŷ = 2·2^-27 = 2^-26, under fp16's 2^-25 rounding threshold.
    let (x, y) = (2f32.powi(-13), 2f32.powi(-13) - 2f32.powi(-27));
    let mut t = trainer(1.0, (x, y), 0.0, OptimizerKind::Sgd);
    t.set_precision(Some(FP16_MIXED), ScalerSpec::default(), &[]);
    t.step(&mut NoopObserver);
    assert_eq!(t.model.params.grads, vec![0.0, 0.0], "flushed to zero");
    // With 2^20 the scaled gradients are 2^-6 (bias) and 2^-19 (weight): fp16 values.
    let mut t = trainer(1.0, (x, y), 0.0, OptimizerKind::Sgd);
    t.set_precision(
        Some(FP16_MIXED),
        scaler(ScaleKind::Static, 2f64.powi(20)),
        &[],
    );
    t.step(&mut NoopObserver);
    assert_eq!(t.model.params.grads, vec![2f32.powi(-39), 2f32.powi(-26)]);
}

#[test]
fn dynamic_scaling_skips_overflowing_steps_and_leaves_weights_and_adam_alone() {
    // ∂L/∂ŷ = 2 at ŷ = 1, y = 0: scaled by 2^16 it is 131072 (inf in fp16), by 2^15 65536
    // (inf: ≥ 65520), by 2^14 32768 (finite). So: skip, skip, take.
    let mut t = trainer(1.0, (1.0, 0.0), 1e-3, OptimizerKind::Adam);
    t.set_precision(Some(FP16_MIXED), scaler(ScaleKind::Dynamic, 65536.0), &[]);
    let steps: Vec<_> = (0..3)
        .map(|_| t.step(&mut NoopObserver).scale.unwrap())
        .collect();
    let seen: Vec<_> = steps.iter().map(|s| (s.scale, s.skipped)).collect();
    assert_eq!(seen, [(65536.0, true), (32768.0, true), (16384.0, false)]);
    // Adam's first real step moves w by lr (its bias-corrected update is ±1 per element).
    let w = t.model.params.values[0];
    assert!((w - (1.0 - 1e-3)).abs() < 1e-6, "{w}");
}

#[test]
fn pure_bf16_loses_an_update_below_half_an_ulp_that_mixed_keeps() {
    // w = 1, x = 1, y = 0: ∂L/∂w = 2 (bias grad 2); lr 2^-10 moves w by 2^-9, under half of
    // bf16's ulp at 1 (2^-7 / 2 = 2^-8). The bias (0) moves to −2^-9, a bf16 value.
    let lr = 2f64.powi(-10);
    let mut t = trainer(1.0, (1.0, 0.0), lr, OptimizerKind::Sgd);
    t.set_precision(
        Some(Policy {
            half: Half::Bf16,
            pure: true,
        }),
        ScalerSpec::default(),
        &[],
    );
    let mut census = Census::default();
    t.step(&mut census);
    assert_eq!(t.model.params.values, vec![1.0, -2f32.powi(-9)]);
    assert_eq!(
        census.lost,
        vec![(0, 1), (0, 0)],
        "the weight's update was lost, the bias's not"
    );
    let u = 2f64.powi(-9);
    assert_eq!(
        census.mass,
        vec![(u, u), (0.0, u)],
        "|Δw| lost and moved per segment"
    );
    let mut t = trainer(1.0, (1.0, 0.0), lr, OptimizerKind::Sgd);
    t.set_precision(
        Some(Policy {
            half: Half::Bf16,
            pure: false,
        }),
        ScalerSpec::default(),
        &[],
    );
    t.step(&mut NoopObserver);
    assert_eq!(
        t.model.params.values[0],
        1.0 - 2f32.powi(-9),
        "f32 masters keep it"
    );
}

/// Collects the `lost` count of every weight census, by layer.
#[derive(Default)]
struct Census {
    lost: Vec<(usize, u64)>,
    mass: Vec<(f64, f64)>,
}

impl Observer<f32> for Census {
    fn wants_stats(&self) -> StatsWanted {
        StatsWanted {
            census: true,
            ..StatsWanted::default()
        }
    }
    fn on_cast(&mut self, e: &CastEvent<'_>) {
        if e.site == CastSite::Weights {
            self.lost
                .push((e.layer.unwrap_or(usize::MAX), e.census.lost));
            self.mass.push((e.census.lost_mass, e.census.moved_mass));
        }
    }
}

#[test]
fn every_policy_is_bit_identical_across_runs_and_threads() {
    let policies = [
        (Half::Bf16, false),
        (Half::Fp16, false),
        (Half::Bf16, true),
        (Half::Fp16, true),
    ];
    for (half, pure) in policies {
        let run = move || {
            let mut t = trainer(0.7, (0.3, -1.1), 1e-2, OptimizerKind::Adam);
            t.set_precision(
                Some(Policy { half, pure }),
                scaler(ScaleKind::Dynamic, 1024.0),
                &[],
            );
            let losses: Vec<u64> = (0..20)
                .map(|_| t.step(&mut NoopObserver).loss.to_bits())
                .collect();
            (losses, t.model.params.values.clone())
        };
        let here = run();
        assert_eq!(
            here,
            std::thread::spawn(run).join().unwrap(),
            "{half:?} pure {pure}"
        );
    }
    let _ = Array2::<f32>::zeros((1, 1));
}
