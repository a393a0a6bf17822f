//! The `tiny_training` fuzz target: a small scenario drawn from arbitrary bytes (any activation,
//! init, norm, loss, optimizer, schedule and clipping; learning rates and scales up to 1e300) is
//! validated, trained for at most 4 steps and diagnosed. It must end in a verdict, never a panic.

use stabcheck::diagnose::Status;
use stabcheck::record::Record as _;
use stabcheck::scenario::{self, NonfinitePolicy};

/// Reads choices from the input bytes; past the end every read is 0, so short inputs still make a
/// scenario.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        first
    }

    /// One of `choices`.
    fn pick<'c>(&mut self, choices: &[&'c str]) -> &'c str {
        choices[usize::from(self.byte()) % choices.len()]
    }

    /// An integer in `lo..=hi`.
    fn int(&mut self, lo: u8, hi: u8) -> u8 {
        lo + self.byte() % (hi - lo + 1)
    }

    /// A float from a table of hazards (0, tiny, ordinary, huge, non-finite), as TOML text.
    fn float(&mut self) -> String {
        const VALUES: [f64; 16] = [
            0.0, 1e-300, 1e-30, 1e-8, 1e-3, 0.01, 0.1, 0.5, 0.9, 1.0, 3.0, 10.0, 1e10, 1e30, 1e38,
            1e300,
        ];
        let b = self.byte();
        match b {
            0xfd => "nan".to_string(),
            0xfe => "inf".to_string(),
            0xff => "-1.0".to_string(),
            _ => format!("{:?}", VALUES[usize::from(b) % VALUES.len()]),
        }
    }
}

/// Builds a tiny scenario from `data`, runs it with the probes and diagnoses it.
pub fn tiny_training(data: &[u8]) {
    let text = scenario_text(&mut Bytes { data });
    let Ok(s) = scenario::parse_str(&text, "fuzz.toml") else {
        return;
    };
    let run = match stabcheck::run::run_recorded(&s, None, None) {
        Ok(run) => run,
        Err(e) => panic!("a validated scenario with generated data failed to run: {e}\n{text}"),
    };
    assert_eq!(run.summary.steps.len(), s.steps);
    let nonfinite = run.summary.steps.iter().any(|st| !st.loss.is_finite());
    if nonfinite && s.gates.nonfinite == NonfinitePolicy::Forbid {
        assert_eq!(
            run.verdict.status,
            Status::Fail,
            "a non-finite loss passed the gate:\n{text}"
        );
    }
    let record = run.into_record(&s);
    let json = record.to_json().unwrap_or_default();
    if let Err(e) = stabcheck::record::RunRecord::from_json(json.as_bytes(), None) {
        panic!("a record stabcheck wrote does not read back: {e}\n{text}");
    }
}

fn scenario_text(b: &mut Bytes<'_>) -> String {
    let precision = b.pick(&["f32", "f64"]);
    let steps = b.int(1, 4);
    let seed = b.byte();
    let kind = b.pick(&["teacher-classification", "teacher-regression", "spirals"]);
    let inputs = b.int(1, 4);
    let targets = match kind {
        "teacher-regression" => format!("outputs = {}", b.int(1, 3)),
        "spirals" => format!("inputs = 2\nclasses = {}", b.int(2, 4)),
        _ => format!("inputs = {inputs}\nclasses = {}", b.int(2, 4)),
    };
    let samples = b.int(1, 16);
    let batch = b.int(1, samples);
    let input_scale = b.float();
    let model = model_text(b);
    let loss = b.pick(&["cross-entropy", "mse", "bce"]);
    let optimizer = b.pick(&["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"]);
    let (lr, eps, weight_decay) = (b.float(), b.float(), b.float());
    let schedule = b.pick(&["constant", "step", "cosine", "warmup-cosine", "exponential"]);
    let warmup = if schedule == "warmup-cosine" {
        format!("warmup = {}", b.int(0, steps - 1))
    } else {
        String::new()
    };
    let clip = match b.pick(&["none", "norm", "value"]) {
        "none" => "kind = \"none\"".to_string(),
        kind => format!("kind = \"{kind}\"\nmax = {}", b.float()),
    };
    let nonfinite = b.pick(&["forbid", "allow"]);
    format!(
        "name = \"fuzz\"\nseed = {seed}\nsteps = {steps}\nprecision = \"{precision}\"\n\
         [data]\nkind = \"{kind}\"\n{targets}\nsamples = {samples}\nbatch = {batch}\ninput_scale = {input_scale}\n\
         {model}\
         [loss]\nkind = \"{loss}\"\n\
         [optimizer]\nkind = \"{optimizer}\"\nlr = {lr}\neps = {eps}\nweight_decay = {weight_decay}\n\
         [schedule]\nkind = \"{schedule}\"\n{warmup}\n\
         [clip]\n{clip}\n\
         [probe]\nhistogram_every = 1\ncheckpoint_every = 1\n\
         [gates]\nnonfinite = \"{nonfinite}\"\n"
    )
}

fn model_text(b: &mut Bytes<'_>) -> String {
    let depth = b.int(0, 3);
    let width = b.int(1, 8);
    let activation = b.pick(&[
        "relu",
        "leaky-relu",
        "gelu",
        "tanh",
        "sigmoid",
        "softplus",
        "identity",
    ]);
    let init = b.pick(&[
        "he-normal",
        "he-uniform",
        "xavier-normal",
        "xavier-uniform",
        "lecun-normal",
        "orthogonal",
        "normal",
    ]);
    let init_std = if init == "normal" {
        format!("init_std = {}\n", b.float())
    } else {
        String::new()
    };
    let norm = b.pick(&["none", "layernorm", "batchnorm"]);
    let (init_scale, norm_eps, bias_init) = (b.float(), b.float(), b.float());
    let residual = b.byte() % 2 == 1;
    let dropout = b.pick(&["0.0", "0.5", "0.9"]);
    format!(
        "[model]\ndepth = {depth}\nwidth = {width}\nactivation = \"{activation}\"\ninit = \"{init}\"\n\
         {init_std}init_scale = {init_scale}\nnorm = \"{norm}\"\nnorm_eps = {norm_eps}\n\
         bias_init = {bias_init}\nresidual = {residual}\ndropout = {dropout}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_makes_a_scenario_that_validation_refuses() {
        // Every read past the end is 0, so input_scale is VALUES[0] = 0: not allowed.
        let text = scenario_text(&mut Bytes { data: &[] });
        let err = scenario::parse_str(&text, "fuzz.toml").unwrap_err();
        assert_eq!(err.key(), Some("data.input_scale"), "{err}");
    }

    #[test]
    fn ordinary_bytes_make_a_runnable_scenario() {
        let mut data = vec![0u8; 32];
        data[8] = 9; // data.input_scale = 1.0
        data[14] = 9; // model.init_scale = 1.0
        data[21] = 4; // optimizer.lr = 1e-3
        let s = scenario::parse_str(&scenario_text(&mut Bytes { data: &data }), "f").unwrap();
        assert_eq!((s.steps, s.data.samples, s.depth()), (1, Some(1), 0));
        assert_eq!(s.optimizer.lr, 1e-3);
        tiny_training(&data);
    }
}
