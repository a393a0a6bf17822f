//! Verdicts built from theory, not from the tool's output: least squares diverges exactly above
//! lr = 2/λmax (heavy-ball momentum above 2(1+β)/λmax) whatever the targets' scale or the init's
//! size; a zero or tiny output head trains like any other; a blow-up is named as the cause of its
//! consequences. λmax is computed here, by power iteration in f64 on the data the run trains on.

use std::path::Path;

use stabcheck::core::train::Trainer;
use stabcheck::diagnose::{FindingKind, Outcome, Severity, Status, Verdict};
use stabcheck::record::atomic::save_npz;
use stabcheck::run::build::build_trainer;
use stabcheck::run::run_recorded;
use stabcheck::scenario::{self, Scenario};
use tempfile::TempDir;

const INPUTS: usize = 8;
const SAMPLES: usize = 128;

/// A standard normal draw per call, from a fixed xorshift stream (Box-Muller).
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Inputs, and targets `scale · (x·w* + 0.1·noise)`.
fn least_squares_data(scale: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = Normal(0x9e37_79b9_7f4a_7c15);
    let w: Vec<f64> = (0..INPUTS).map(|_| rng.next()).collect();
    let x: Vec<Vec<f64>> = (0..SAMPLES)
        .map(|_| (0..INPUTS).map(|_| rng.next()).collect())
        .collect();
    let y = x
        .iter()
        .map(|r| scale * (r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + 0.1 * rng.next()))
        .collect();
    (x, y)
}

/// λmax of the MSE Hessian (2/n)AᵀA, A = the inputs with a ones column (the bias).
fn lambda_max(x: &[Vec<f64>]) -> f64 {
    let p = INPUTS + 1;
    let row = |r: &Vec<f64>, j: usize| if j < INPUTS { r[j] } else { 1.0 };
    let mut h = vec![0.0; p * p];
    for r in x {
        for a in 0..p {
            for b in 0..p {
                h[a * p + b] += 2.0 / SAMPLES as f64 * row(r, a) * row(r, b);
            }
        }
    }
    let (mut v, mut lambda) = (vec![1.0; p], 0.0);
    for _ in 0..5000 {
        let w: Vec<f64> = (0..p)
            .map(|a| (0..p).map(|b| h[a * p + b] * v[b]).sum())
            .collect();
        lambda = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = w.iter().map(|x| x / lambda).collect();
    }
    lambda
}

fn write_csv(dir: &Path, scale: f64) -> (String, f64) {
    let (x, y) = least_squares_data(scale);
    let mut text: String = (0..INPUTS).map(|j| format!("x{j},")).collect();
    text.push_str("y\n");
    for (r, t) in x.iter().zip(&y) {
        for v in r {
            text.push_str(&format!("{v:e},"));
        }
        text.push_str(&format!("{t:e}\n"));
    }
    let path = dir.join(format!("lsq-{scale:e}.csv"));
    std::fs::write(&path, text).unwrap();
    (path.display().to_string(), lambda_max(&x))
}

/// Full-batch least squares from `init`, every gate at its default.
fn least_squares(csv: &str, optimizer: &str, lr: f64, init: &str) -> Verdict {
    let text = format!(
        "name = \"lsq\"\nsteps = 300\n[data]\nkind = \"csv\"\npath = {csv:?}\noutputs = 1\n\
         batch = {SAMPLES}\n[model]\ndepth = 0\n{init}\n[loss]\nkind = \"mse\"\n\
         [optimizer]\nkind = \"{optimizer}\"\nlr = {lr:e}\n"
    );
    let s = scenario::parse_str(&text, "lsq.toml").unwrap();
    run_recorded(&s, None, None).unwrap().verdict
}

fn errors(v: &Verdict) -> Vec<FindingKind> {
    v.errors().map(|f| f.kind).collect()
}

const INITS: [&str; 2] = [
    "init = \"normal\"\ninit_std = 0.01",
    "init = \"lecun-normal\"",
];

#[test]
fn least_squares_verdict_flips_at_two_over_lambda_max_at_every_target_scale() {
    let dir = TempDir::new().unwrap();
    for scale in [1e-3, 1.0, 1e2, 1e5] {
        let (csv, lambda) = write_csv(dir.path(), scale);
        for init in INITS {
            for k in [0.3, 0.9, 0.95, 1.05, 1.2, 2.0] {
                let v = least_squares(&csv, "sgd", k * 2.0 / lambda, init);
                let context = format!("scale {scale}, {init}, lr {k} x 2/λmax: {v:#?}");
                if k < 1.0 {
                    assert_eq!(
                        (v.status, v.outcome),
                        (Status::Pass, Outcome::Stable),
                        "{context}"
                    );
                } else {
                    assert_eq!(
                        (v.status, v.outcome),
                        (Status::Fail, Outcome::Unstable),
                        "{context}"
                    );
                }
            }
        }
    }
}

#[test]
fn heavy_ball_momentum_diverges_after_its_minimum_just_above_its_limit() {
    // v ← 0.9·v + g, w ← w − lr·v is stable on least squares exactly while lr·λmax < 2(1 + 0.9):
    // just above it the loss first falls (the other directions converge) and then climbs.
    let dir = TempDir::new().unwrap();
    for scale in [1e-3, 1.0, 1e4] {
        let (csv, lambda) = write_csv(dir.path(), scale);
        let limit = 2.0 * 1.9 / lambda;
        for init in INITS {
            let above = least_squares(&csv, "momentum", 1.0005 * limit, init);
            assert!(
                errors(&above).contains(&FindingKind::LossDivergence),
                "scale {scale}, {init}: {above:#?}"
            );
            assert!(
                !above
                    .findings
                    .iter()
                    .any(|f| f.kind == FindingKind::Plateau),
                "a rise is not a plateau"
            );
            let below = least_squares(&csv, "momentum", 0.95 * limit, init);
            assert_eq!(
                below.status,
                Status::Pass,
                "scale {scale}, {init}: {below:#?}"
            );
        }
    }
}

/// A 4-layer ReLU classifier under Adam whose output head starts at `head_scale` times its init.
fn with_head(dir: &Path, head_scale: f32) -> Verdict {
    let text = |weights: &str| {
        format!(
            "name = \"head\"\nsteps = 200\n[data]\ninputs = 16\nclasses = 4\nsamples = 512\n\
             batch = 32\n[model]\ndepth = 4\nwidth = 32\n{weights}"
        )
    };
    let plain: Scenario = scenario::parse_str(&text(""), "head.toml").unwrap();
    let mut source: Trainer<f32> = build_trainer(&plain, None).unwrap();
    let params = &mut source.model.params;
    for seg in params.segments.clone() {
        if seg.layer == 4 {
            params.values[seg.range()]
                .iter_mut()
                .for_each(|v| *v *= head_scale);
        }
    }
    let path = dir.join(format!("head-{head_scale}.npz"));
    save_npz(&path, params).unwrap();
    let weights = format!("weights = {:?}\n", path.display().to_string());
    let s = scenario::parse_str(&text(&weights), "head.toml").unwrap();
    run_recorded(&s, None, None).unwrap().verdict
}

#[test]
fn zero_and_tiny_output_heads_train_and_pass_like_the_default_head() {
    // Fixup, ReZero, PPO policy heads and LoRA's B = 0 start a layer at or near zero: its first
    // updates are as large as (or larger than) its weights, and it trains normally.
    let dir = TempDir::new().unwrap();
    for head_scale in [0.0, 0.01, 1.0] {
        let v = with_head(dir.path(), head_scale);
        assert_eq!(
            (v.status, v.outcome),
            (Status::Pass, Outcome::Stable),
            "head x{head_scale}: {:#?}",
            v.findings
        );
    }
}

#[test]
fn a_tanh_blow_up_is_named_as_the_cause_and_its_symptoms_as_consequences() {
    let text = "name = \"tanh\"\n[model]\ndepth = 6\nactivation = \"tanh\"\ninit = \"xavier-normal\"\n\
                [optimizer]\nkind = \"adam\"\nlr = 0.5\n";
    let s = scenario::parse_str(text, "tanh.toml").unwrap();
    let v = run_recorded(&s, None, None).unwrap().verdict;
    assert_eq!(v.outcome, Outcome::Unstable, "{v:#?}");
    let first = &v.findings[0];
    assert_eq!(first.severity, Severity::Error);
    assert!(
        !matches!(
            first.kind,
            FindingKind::VanishingGradients | FindingKind::NoProgress | FindingKind::SaturatedUnits
        ),
        "the cause of a blow-up is the blow-up: {:?}",
        first.kind
    );
    assert_eq!(first.consequence_of, None);
    for f in v.errors().skip(1) {
        if f.kind != FindingKind::RootCause {
            assert_eq!(f.consequence_of, Some(first.kind), "{f:#?}");
        }
    }
}

#[test]
#[ignore = "64 training runs: cargo test trust -- --ignored (CI runs it)"]
fn the_reference_passes_its_own_robust_gate_and_every_failure_is_an_instability() {
    use stabcheck::robust::{RobustOptions, run_robust};
    let s = scenario::resolve("deep-mlp").unwrap();
    let options = RobustOptions {
        cases: s.robust.cases,
        seed: s.seed,
        shrink: false,
    };
    let r = run_robust(&s, None, &options, &|| {}).unwrap();
    assert!(r.passed, "{:#?}", r.cases);
    for case in r.cases.iter().filter(|c| c.outcome != Outcome::Stable) {
        assert_eq!(case.outcome, Outcome::Unstable, "{case:#?}");
        assert!(case.errors.iter().any(|k| k.is_instability()), "{case:#?}");
    }
}
