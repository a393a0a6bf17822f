//! Compositions checked against finite differences and against their parts applied by hand.

use ndarray::{Array2, array};

use super::*;
use crate::core::gpt::TokenNorm;
use crate::core::gpt::parts::MlpAct;
use crate::core::gpt::{MlpActivation, linear::Linear, rownorm::RowNorm};
use crate::core::gradcheck::{Tolerance, check_op};
use crate::core::layers::NormKind;
use crate::core::layers::activation::Activation;
use crate::core::layers::parts::Act;
use crate::core::layers::{dense::Dense, norm::Norm};
use crate::core::observer::NoopObserver;

const ROWS: usize = 3;

/// Parameters away from 0 and 1, different per element, so no term of a gradient vanishes.
fn fill(p: &mut Params<f64>) {
    for (i, v) in p.values.iter_mut().enumerate() {
        *v = 0.9 * ((i as f64) * 1.7 + 0.3).sin() + 0.05;
    }
}

fn input() -> Array2<f64> {
    array![[1.0, -2.0, 0.5], [0.3, 0.9, -1.2], [-0.7, 0.4, 1.1]]
}

/// A skip around MLP parts and GPT parts mixed: `x + fc(gelu(W·norm(dense(x))))`.
fn mixed(p: &mut Params<f64>) -> Residual<f64> {
    let dense = Dense::new(p, 0, 3, 4);
    let norm = RowNorm::new(p, 0, TokenNorm::Layernorm, true, (ROWS, 4), 1e-5);
    let fc1 = Linear::new(p, 0, 4, 5, true);
    let act = MlpAct::new(MlpActivation::Gelu, 0, 5);
    let fc2 = Linear::new(p, 0, 5, 3, false);
    let parts = vec![
        dense.into(),
        norm.into(),
        fc1.into(),
        act.into(),
        fc2.into(),
    ];
    Residual::new(ROWS, 3, Sequential::new(ROWS, 3, parts), (0, 0))
}

fn run(part: &mut dyn Part<f64>, p: &Params<f64>, x: &Array2<f64>, y: &mut Array2<f64>) {
    let mut noop = NoopObserver;
    part.forward(p, x.view(), y.view_mut(), &mut Emit::new(&mut noop, 0));
}

/// The part's input and parameter gradients against f64 central differences.
fn assert_gradients(part: &mut dyn Part<f64>, p: &Params<f64>) {
    let report = check_op(p, &input(), (ROWS, 3), &mut |p, x, out, back| {
        run(part, p, x, out);
        if let Some((dy, dx)) = back {
            let io = Io {
                x: x.view(),
                y: out.view(),
            };
            let mut noop = NoopObserver;
            let e = &mut Emit::new(&mut noop, 0);
            part.backward(p, io, dy.view(), Some(dx.view_mut()), e);
        }
    });
    assert!(report.passed(Tolerance::GRADCHECK), "{report}");
}

#[test]
fn a_residual_chain_of_mixed_parts_matches_finite_differences() {
    let mut p = Params::new();
    let mut part = mixed(&mut p);
    fill(&mut p);
    assert_gradients(&mut part, &p);
}

#[test]
fn an_mlp_block_chain_matches_finite_differences() {
    for norm in [NormKind::Layernorm, NormKind::Batchnorm] {
        let mut p = Params::new();
        let dense = Dense::new(&mut p, 0, 3, 3);
        let norm = Norm::new(norm, &mut p, 0, 3, ROWS, 1e-5);
        let act = Act::new(Activation::Tanh, 0);
        let chain = Sequential::new(ROWS, 3, vec![dense.into(), norm.into(), act.into()]);
        let mut part = Residual::new(ROWS, 3, chain, (0, 0));
        fill(&mut p);
        assert_gradients(&mut part, &p);
    }
}

#[test]
fn a_chain_computes_exactly_its_parts_in_turn_plus_the_skip() {
    let mut p = Params::new();
    let mut part = mixed(&mut p);
    fill(&mut p);
    let x = input();
    let mut y = Array2::zeros((ROWS, 3));
    run(&mut part, &p, &x, &mut y);
    let mut h = x.clone();
    for layer in &mut part.branch.clone().parts {
        let width = layer.out_width(h.ncols());
        let mut next = Array2::zeros((ROWS, width));
        run(layer, &p, &h, &mut next);
        h = next;
    }
    assert_eq!(y, &x + &h, "bit for bit");
    assert_eq!(part.branch_out, h);
    assert_eq!(part.branch.find::<Linear>().map(|(i, _)| i), Some(2));
}
