//! Unit tests of `core::optim`, in their own file to keep the module within the house size.

use super::testing::segment as seg;
use super::*;

#[test]
fn state_has_the_moments_each_kind_keeps_and_names_its_op() {
    let s = seg(ParamKind::Weight, 1, 2);
    let cases = [
        (OptimizerKind::Sgd, "sgd.update", 0, 0),
        (OptimizerKind::Momentum, "momentum.update", 2, 0),
        (OptimizerKind::Nesterov, "nesterov.update", 2, 0),
        (OptimizerKind::Adam, "adam.update", 2, 2),
        (OptimizerKind::Adamw, "adamw.update", 2, 2),
        (OptimizerKind::Rmsprop, "rmsprop.update", 0, 2),
    ];
    for (kind, name, first, second) in cases {
        let opt = Optimizer::<f32>::new(OptimizerSpec::defaults(kind), 3);
        assert_eq!(opt.op().name(), name);
        assert_eq!(opt.spec().kind, kind);
        let m = [StateBuffer::MomentumBuffer, StateBuffer::ExpAvg]
            .map(|b| opt.state(&s, b).len())
            .iter()
            .sum::<usize>();
        assert_eq!((m, opt.second_moment(&s).len()), (first, second), "{name}");
    }
}

#[test]
fn zero_weight_decay_leaves_an_infinite_weight_infinite_not_nan() {
    // g + 0·inf would be NaN; with decay off the term is skipped, as PyTorch does.
    let mut opt = Optimizer::<f32>::new(OptimizerSpec::defaults(OptimizerKind::Momentum), 1);
    let mut w = [f32::INFINITY];
    opt.begin_step();
    let sq = opt.update_segment(&seg(ParamKind::Weight, 0, 1), &mut w, &[1.0], 0.1);
    assert_eq!(w[0], f32::INFINITY);
    assert_eq!(sq, 0.0, "an unchanged infinite weight moved by 0, not NaN");
}
