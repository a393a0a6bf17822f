//! The per-step recorder's numbers, each checked against an independent computation in the test:
//! a hand-written forward/backward of a 3 → 4 → 2 network, the exact gain of orthogonal layers,
//! hand-placed histogram values, and NaN propagation.

use stabcheck::core::blocked::{fast_sq_norm, moment_sums};
use stabcheck::core::data::Targets;
use stabcheck::core::observer::NoopObserver;
use stabcheck::core::train::Trainer;
use stabcheck::probe::histogram::LogBins;
use stabcheck::probe::recorder::Recorder;
use stabcheck::probe::trace::{LayerStats, Trace};
use stabcheck::run::build::build_trainer;
use stabcheck::scenario;

const LR: f64 = 0.1;
const X: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 1.1]];
const LABELS: [usize; 3] = [1, 0, 1];
const W1: [[f64; 4]; 3] = [
    [0.4, -0.3, 0.2, 0.1],
    [-0.5, 0.6, 0.1, 0.2],
    [0.3, 0.2, -0.4, 0.05],
];
const W2: [[f64; 2]; 4] = [[0.7, -0.2], [-0.4, 0.5], [0.3, 0.3], [0.9, -0.6]];
const B2: [f64; 2] = [0.05, -0.1];

/// Hidden biases: unit 3 is pushed far from 0 (dead under relu, saturated under tanh).
fn b1(activation: &str) -> [f64; 4] {
    let far = if activation == "relu" { -100.0 } else { 10.0 };
    [0.1, 0.2, -0.05, far]
}

/// The 3 → 4 → 2 model with the weights above, full batch of `X` in order, SGD, one step.
fn fixed_trainer(activation: &str) -> Trainer<f64> {
    let text = format!(
        "name = \"fixed\"\nsteps = 1\nprecision = \"f64\"\n[data]\nkind = \"teacher-classification\"\n\
         inputs = 3\nclasses = 2\nsamples = 3\nbatch = 3\n[model]\ndepth = 1\nwidth = 4\n\
         activation = \"{activation}\"\n[optimizer]\nkind = \"sgd\"\nlr = {LR}\n"
    );
    let s = scenario::parse_str(&text, "fixed.toml").unwrap();
    let mut t: Trainer<f64> = build_trainer(&s, None).unwrap();
    t.data.x = ndarray::Array2::from_shape_fn((3, 3), |(i, j)| X[i][j]);
    t.data.targets = Targets::Classes(LABELS.to_vec());
    let (d0, d1) = (t.model.dense(0).clone(), t.model.dense(1).clone());
    let p = &mut t.model.params;
    p.value_mut(d0.weight)
        .assign(&ndarray::Array2::from_shape_fn((3, 4), |(i, j)| W1[i][j]));
    p.value_mut(d0.bias)
        .assign(&ndarray::Array2::from_shape_fn((1, 4), |(_, j)| {
            b1(activation)[j]
        }));
    p.value_mut(d1.weight)
        .assign(&ndarray::Array2::from_shape_fn((4, 2), |(i, j)| W2[i][j]));
    p.value_mut(d1.bias)
        .assign(&ndarray::Array2::from_shape_fn((1, 2), |(_, j)| B2[j]));
    t
}

fn record_one_step(mut t: Trainer<f64>) -> Trace {
    let mut rec = Recorder::<f64>::new(0, 1);
    t.step(&mut rec);
    rec.into_trace()
}

fn norm(xs: impl IntoIterator<Item = f64>) -> f64 {
    xs.into_iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Mean, population std and max |x|, two-pass.
fn moments(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), max)
}

/// Everything a plain-loop forward/backward of the fixed network says the recorder should see.
struct Expected {
    loss: f64,
    z1: Vec<[f64; 4]>,
    a1: Vec<[f64; 4]>,
    logits: Vec<[f64; 2]>,
    dw1: [[f64; 4]; 3],
    db1: [f64; 4],
    dw2: [[f64; 2]; 4],
    db2: [f64; 2],
    da1: Vec<[f64; 4]>,
}

#[allow(clippy::needless_range_loop)] // index loops read like the matrix formulas
fn by_hand(f: fn(f64) -> f64, df: fn(f64) -> f64, b1: [f64; 4]) -> Expected {
    let n = X.len() as f64;
    let mut e = Expected {
        loss: 0.0,
        z1: vec![],
        a1: vec![],
        logits: vec![],
        dw1: [[0.0; 4]; 3],
        db1: [0.0; 4],
        dw2: [[0.0; 2]; 4],
        db2: [0.0; 2],
        da1: vec![],
    };
    for (x, &y) in X.iter().zip(&LABELS) {
        let z: [f64; 4] =
            std::array::from_fn(|j| b1[j] + (0..3).map(|i| x[i] * W1[i][j]).sum::<f64>());
        let a = z.map(f);
        let o: [f64; 2] =
            std::array::from_fn(|k| B2[k] + (0..4).map(|j| a[j] * W2[j][k]).sum::<f64>());
        let m = o[0].max(o[1]);
        let lse = m + ((o[0] - m).exp() + (o[1] - m).exp()).ln();
        e.loss += (lse - o[y]) / n;
        let onehot = |k: usize| if k == y { 1.0 } else { 0.0 };
        let dlogit: [f64; 2] = std::array::from_fn(|k| ((o[k] - lse).exp() - onehot(k)) / n);
        let da: [f64; 4] = std::array::from_fn(|j| (0..2).map(|k| dlogit[k] * W2[j][k]).sum());
        for j in 0..4 {
            for k in 0..2 {
                e.dw2[j][k] += a[j] * dlogit[k];
            }
            let dz = da[j] * df(z[j]);
            e.db1[j] += dz;
            for i in 0..3 {
                e.dw1[i][j] += x[i] * dz;
            }
        }
        for k in 0..2 {
            e.db2[k] += dlogit[k];
        }
        e.z1.push(z);
        e.a1.push(a);
        e.logits.push(o);
        e.da1.push(da);
    }
    e
}

fn close(what: &str, got: f64, want: f64) {
    let tol = 1e-12 * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: recorded {got}, expected {want}"
    );
}

/// Checks one layer's record against weights `w` (before the update), gradients `dw`, `db`,
/// the layer's output values, and the gradient arriving at its input.
fn check_layer(
    s: &LayerStats,
    w: &[f64],
    dw: &[f64],
    db: &[f64],
    out: &[f64],
    din: Option<&[f64]>,
) {
    let l = s.layer;
    close(
        &format!("layer {l} weight_grad_norm"),
        s.weight_grad_norm,
        norm(dw.iter().copied()),
    );
    close(
        &format!("layer {l} bias_grad_norm"),
        s.bias_grad_norm,
        norm(db.iter().copied()),
    );
    let after = norm(w.iter().zip(dw).map(|(w, g)| w - LR * g));
    close(&format!("layer {l} weight_norm"), s.weight_norm, after);
    let ratio = LR * norm(dw.iter().copied()) / norm(w.iter().copied());
    close(&format!("layer {l} update_ratio"), s.update_ratio, ratio);
    let (mean, std, max) = moments(out);
    close(
        &format!("layer {l} activation_mean"),
        s.activation_mean,
        mean,
    );
    close(&format!("layer {l} activation_std"), s.activation_std, std);
    close(
        &format!("layer {l} activation_max_abs"),
        s.activation_max_abs,
        max,
    );
    match (s.input_grad_norm, din) {
        (Some(got), Some(d)) => close(
            &format!("layer {l} input_grad_norm"),
            got,
            norm(d.iter().copied()),
        ),
        (None, None) => {}
        (got, _) => panic!("layer {l}: input_grad_norm {got:?} recorded, {din:?} expected"),
    }
    assert_eq!(s.nonfinite, 0, "layer {l}");
}

/// Units of `z1` (per column) for which `inactive(z)` holds on every sample, as a fraction of 4.
fn fraction_inactive(z1: &[[f64; 4]], inactive: impl Fn(f64) -> bool) -> f64 {
    let units = (0..4)
        .filter(|&j| z1.iter().all(|z| inactive(z[j])))
        .count();
    units as f64 / 4.0
}

fn check_fixed_network(
    activation: &str,
    f: fn(f64) -> f64,
    df: fn(f64) -> f64,
) -> (Trace, Expected) {
    let trace = record_one_step(fixed_trainer(activation));
    let e = by_hand(f, df, b1(activation));
    let [step] = trace.steps.as_slice() else {
        panic!("one step recorded, got {}", trace.steps.len())
    };
    assert_eq!((step.step, step.layers.len()), (0, 2));
    close("loss", step.loss, e.loss);
    close("lr", step.lr, LR);
    let all = e
        .dw1
        .iter()
        .flatten()
        .chain(&e.db1)
        .chain(e.dw2.iter().flatten())
        .chain(&e.db2);
    close("grad_norm", step.grad_norm, norm(all.copied()));
    close("grad_norm_clipped", step.grad_norm_clipped, step.grad_norm);
    let flat = |rows: &[[f64; 4]]| rows.iter().flatten().copied().collect::<Vec<_>>();
    let w1: Vec<f64> = W1.iter().flatten().copied().collect();
    let w2: Vec<f64> = W2.iter().flatten().copied().collect();
    let dw1: Vec<f64> = e.dw1.iter().flatten().copied().collect();
    let dw2: Vec<f64> = e.dw2.iter().flatten().copied().collect();
    let logits: Vec<f64> = e.logits.iter().flatten().copied().collect();
    check_layer(&step.layers[0], &w1, &dw1, &e.db1, &flat(&e.a1), None);
    check_layer(
        &step.layers[1],
        &w2,
        &dw2,
        &e.db2,
        &logits,
        Some(&flat(&e.da1)),
    );
    assert_eq!(
        (
            step.layers[1].dead_fraction,
            step.layers[1].saturated_fraction
        ),
        (0.0, 0.0)
    );
    (trace, e)
}

#[test]
fn relu_network_records_hand_computed_values_and_one_dead_unit() {
    let relu = |z: f64| if z > 0.0 { z } else { 0.0 };
    let step = |z: f64| if z > 0.0 { 1.0 } else { 0.0 };
    let (trace, e) = check_fixed_network("relu", relu, step);
    let dead = fraction_inactive(&e.z1, |z| z <= 0.0);
    assert_eq!(
        dead, 0.25,
        "the test's own network must have exactly the one dead unit"
    );
    let layer0 = &trace.steps[0].layers[0];
    assert_eq!(
        (layer0.dead_fraction, layer0.saturated_fraction),
        (dead, 0.0)
    );
}

#[test]
fn tanh_network_records_hand_computed_values_and_one_saturated_unit() {
    let dtanh = |z: f64| 1.0 - z.tanh().powi(2);
    let (trace, e) = check_fixed_network("tanh", f64::tanh, dtanh);
    assert!(
        e.z1.iter().all(|z| z[3] > 5.0),
        "unit 3 must be driven past |z| = 5"
    );
    let saturated = fraction_inactive(&e.z1, |z| dtanh(z) < 1e-3);
    assert_eq!(saturated, 0.25);
    let layer0 = &trace.steps[0].layers[0];
    assert_eq!(
        (layer0.dead_fraction, layer0.saturated_fraction),
        (0.0, saturated)
    );
}

#[test]
fn a_nan_weight_makes_activation_stats_nan_and_is_counted() {
    let mut t = fixed_trainer("relu");
    let w = t.model.dense(0).weight;
    t.model.params.value_mut(w)[(0, 1)] = f64::NAN;
    let trace = record_one_step(t);
    let layer0 = &trace.steps[0].layers[0];
    assert!(layer0.activation_mean.is_nan(), "{layer0:?}");
    assert!(layer0.activation_std.is_nan() && layer0.activation_max_abs.is_nan());
    // Unit 1 is NaN for all 3 samples (relu keeps NaN), and W[0,1] itself is NaN.
    assert!(layer0.nonfinite > 3, "{layer0:?}");
    // NaN is neither dead nor alive-looking zero: only the biased-off unit counts as dead.
    assert_eq!(layer0.dead_fraction, 0.25);
    assert!(trace.steps[0].layers[1].activation_mean.is_nan());
}

/// Deep linear network with orthogonal weights of gain `gain`: every layer scales the norm of the
/// back-propagated gradient by exactly `gain`.
fn orthogonal_input_grad_norms(gain: f64) -> Vec<f64> {
    let text = format!(
        "name = \"ortho\"\nsteps = 3\nprecision = \"f64\"\n[data]\nkind = \"teacher-regression\"\n\
         inputs = 32\noutputs = 32\nsamples = 64\nbatch = 16\n[model]\ndepth = 8\nwidth = 32\n\
         activation = \"identity\"\ninit = \"orthogonal\"\ninit_scale = {gain}\n[loss]\nkind = \"mse\"\n\
         [optimizer]\nkind = \"sgd\"\nlr = 0.01\n"
    );
    let s = scenario::parse_str(&text, "ortho.toml").unwrap();
    let mut t: Trainer<f64> = build_trainer(&s, None).unwrap();
    let mut rec = Recorder::<f64>::new(0, 3);
    t.run(3, &mut rec);
    let trace = rec.into_trace();
    assert_eq!(trace.steps.len(), 3);
    let step0 = &trace.steps[0];
    assert_eq!(step0.layers.len(), 9);
    assert_eq!(step0.layers[0].input_grad_norm, None);
    step0.layers[1..]
        .iter()
        .map(|l| l.input_grad_norm.unwrap())
        .collect()
}

#[test]
fn orthogonal_layers_scale_the_input_gradient_norm_by_their_gain() {
    for gain in [0.5, 2.0] {
        let norms = orthogonal_input_grad_norms(gain);
        for (i, pair) in norms.windows(2).enumerate() {
            let ratio = pair[0] / pair[1];
            assert!(
                (ratio - gain).abs() <= 1e-6 * gain,
                "gain {gain}: input_grad_norm[{}] / input_grad_norm[{}] = {ratio}",
                i + 1,
                i + 2
            );
        }
    }
}

#[test]
fn hand_placed_gradients_land_in_their_bins_and_specials_are_counted() {
    let bins = LogBins::new();
    // |g| = 1e-3 opens bin (−3 + 12)·4 = 36; 0.5 = 10^−0.301 is in bin floor(11.699·4) = 46;
    // 2e-12 = 10^−11.699 is in bin 1; 999_999 just below the last edge is in bin 71.
    let g = [
        1e-3,
        -1e-3,
        0.5,
        2e-12,
        999_999.0,
        0.0,
        -0.0,
        5e-13,
        1e6,
        -3e7,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    let h = bins.record(&g, 7, 2);
    assert_eq!(
        (h.step, h.layer, h.edges.len(), h.counts.len()),
        (7, 2, 73, 72)
    );
    let mut expected = vec![0u64; 72];
    expected[36] = 2;
    expected[46] = 1;
    expected[1] = 1;
    expected[71] = 1;
    assert_eq!(h.counts, expected);
    assert_eq!((h.zero, h.underflow, h.overflow, h.nonfinite), (2, 1, 2, 3));
    let g32 = [1e-3f32, f32::NAN, 0.0];
    let h = LogBins::<f32>::new().record(&g32, 0, 0);
    assert_eq!(
        (h.counts.iter().sum::<u64>(), h.zero, h.nonfinite),
        (1, 1, 1)
    );
}

#[test]
fn histograms_follow_the_schedule_and_count_every_weight_gradient() {
    let text = "name = \"h\"\nsteps = 10\nprecision = \"f32\"\n[data]\nsamples = 64\nbatch = 16\n\
                [model]\ndepth = 2\nwidth = 8\n";
    let s = scenario::parse_str(text, "h.toml").unwrap();
    let mut t: Trainer<f32> = build_trainer(&s, None).unwrap();
    let mut rec = Recorder::<f32>::new(4, 10);
    t.run(10, &mut rec);
    let trace = rec.into_trace();
    let steps: Vec<usize> = trace.histograms.iter().map(|h| h.step).collect();
    assert_eq!(steps, [0, 0, 0, 4, 4, 4, 8, 8, 8, 9, 9, 9]);
    for h in &trace.histograms {
        let d = t.model.dense(h.layer);
        let total = h.counts.iter().sum::<u64>() + h.zero + h.underflow + h.overflow + h.nonfinite;
        assert_eq!(total as usize, d.fan_in * d.fan_out, "layer {}", h.layer);
    }
}

/// Exact `f64` mean, population std and max |x| of an `f32` buffer, by two passes.
fn exact_moments(xs: &[f32]) -> (f64, f64, f64) {
    let wide: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
    let n = wide.len() as f64;
    let mean = wide.iter().sum::<f64>() / n;
    let var = wide.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = wide.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), max)
}

#[test]
fn f32_fast_sums_agree_with_exact_f64_statistics_within_their_documented_bounds() {
    // 32 × 64 buffers: several blocks of 512 values, so the f32 block sums are what is recorded.
    let text = "name = \"fast\"\nsteps = 1\nprecision = \"f32\"\n[data]\nsamples = 32\nbatch = 32\n\
                [model]\ndepth = 3\nwidth = 64\nactivation = \"gelu\"\n";
    let s = scenario::parse_str(text, "fast.toml").unwrap();
    let mut t: Trainer<f32> = build_trainer(&s, None).unwrap();
    let mut rec = Recorder::<f32>::new(0, 1);
    t.step(&mut rec);
    let step = &rec.trace().steps[0];
    for (l, h) in t.model.hidden.iter().enumerate() {
        let got = &step.layers[l];
        let (mean, std, max) = exact_moments(h.output().as_slice().unwrap());
        assert!(
            (got.activation_std - std).abs() <= 3e-5 * std,
            "layer {l}: {got:?} vs {std}"
        );
        // Mean: within 1e-6 of the rms of x − x₀ (x₀, the first value, is the shift).
        assert!(
            (got.activation_mean - mean).abs() <= 1e-6 * (std + mean.abs() + max),
            "layer {l}"
        );
        assert_eq!(got.activation_max_abs, max, "layer {l}");
        let grad_out: f64 = h
            .grad_out
            .iter()
            .map(|&g| f64::from(g).powi(2))
            .sum::<f64>()
            .sqrt();
        let next = step.layers[l + 1].input_grad_norm.unwrap();
        assert!(
            (next - grad_out).abs() <= 1e-6 * grad_out,
            "layer {l}: {next} vs {grad_out}"
        );
        // The core took these sums mid-step, while hot: of the final buffers, not stale ones.
        let (output, grad) = (h.output(), h.grad_out.as_slice().unwrap());
        assert_eq!(h.sums.output, Some(moment_sums(output.as_slice().unwrap())));
        assert_eq!(h.sums.grad_out_sq, Some(fast_sq_norm(grad)));
        assert_eq!(h.sums.dead_fraction, None, "gelu has no dead units");
    }
    // An observer that does not ask gets no sums (and pays nothing for them).
    t.step(&mut NoopObserver);
    assert!(t.model.hidden.iter().all(|h| h.sums == Default::default()));
}
