//! The rounding kernels against the `half` crate's conversions: every 16-bit pattern, every tie
//! between neighbours, the fp16 overflow threshold, and random f32 values of every magnitude.

use super::*;
use half::{bf16, f16};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn reference(format: Half, x: f32) -> f32 {
    match format {
        Half::Bf16 => bf16::from_f32(x).to_f32(),
        Half::Fp16 => f16::from_f32(x).to_f32(),
    }
}

fn from_bits(format: Half, bits: u16) -> f32 {
    match format {
        Half::Bf16 => bf16::from_bits(bits).to_f32(),
        Half::Fp16 => f16::from_bits(bits).to_f32(),
    }
}

/// Equal as values, NaN equal to NaN (payloads are not kept).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn every_16_bit_pattern_is_a_fixed_point_and_every_tie_rounds_like_half() {
    for format in [Half::Bf16, Half::Fp16] {
        for bits in 0..=u16::MAX {
            let x = from_bits(format, bits);
            assert!(same(format.round(x), x), "{format:?} {bits:#06x}: {x}");
            // The midpoint to the next pattern up (same sign), and points just either side of
            // it: ties go to the even neighbour, the rest to the nearer one.
            let next = from_bits(format, bits.wrapping_add(1));
            if !x.is_finite()
                || !next.is_finite()
                || x.is_sign_negative() != next.is_sign_negative()
            {
                continue;
            }
            let mid =
                f32::from_bits(((u64::from(x.to_bits()) + u64::from(next.to_bits())) / 2) as u32);
            let probes = [
                mid,
                f32::from_bits(mid.to_bits() - 1),
                f32::from_bits(mid.to_bits() + 1),
            ];
            for p in probes {
                assert!(
                    same(format.round(p), reference(format, p)),
                    "{format:?} {bits:#06x}: {p:e}"
                );
            }
        }
    }
}

#[test]
fn fp16_overflows_from_65520_which_is_65504_plus_half_an_ulp() {
    assert_eq!(Half::Fp16.round(65504.0), 65504.0);
    assert_eq!(Half::Fp16.round(65519.996), 65504.0);
    for x in [65520.0f32, 65520.01, 70000.0, 1e10, f32::MAX] {
        assert_eq!(Half::Fp16.round(x), f32::INFINITY, "{x}");
        assert_eq!(Half::Fp16.round(-x), f32::NEG_INFINITY, "{x}");
    }
    // bf16 keeps f32's range: 65520 is an ordinary value.
    assert_eq!(Half::Bf16.round(65520.0), 65536.0);
    assert_eq!(Half::Fp16.round(FP16_MIN_SUBNORMAL), FP16_MIN_SUBNORMAL);
    assert_eq!(
        Half::Fp16.round(0.5 * FP16_MIN_SUBNORMAL),
        0.0,
        "a tie to even: 0"
    );
    assert_eq!(
        Half::Fp16.round(0.51 * FP16_MIN_SUBNORMAL),
        FP16_MIN_SUBNORMAL
    );
}

#[test]
fn random_f32_values_of_every_magnitude_round_like_half() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    for _ in 0..2_000_000 {
        // Uniform over bit patterns: every exponent, subnormals, infinities and NaNs included.
        let x = f32::from_bits(rng.random::<u32>());
        for format in [Half::Bf16, Half::Fp16] {
            assert!(
                same(format.round(x), reference(format, x)),
                "{format:?} {x:e}"
            );
        }
    }
    for special in [
        0.0f32,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
    ] {
        for format in [Half::Bf16, Half::Fp16] {
            assert!(same(format.round(special), reference(format, special)));
        }
    }
}

#[test]
fn the_census_counts_overflow_flush_and_subnormals_by_hand() {
    // fp16: 1e5 overflows; 1e-8 flushes (under half of 2^-24); 1e-6 becomes a subnormal;
    // 0 stays 0 and is not "flushed"; NaN is neither.
    let mut xs = [1.0f32, 1e5, -1e-8, 1e-6, 0.0, f32::NAN, -3.0];
    let c = round_counted(Half::Fp16, &mut xs);
    assert_eq!((c.values, c.overflow, c.flushed, c.subnormal), (7, 1, 1, 1));
    assert_eq!(c.amax, 3.0);
    assert_eq!(c.amin, Half::Fp16.round(1e-6));
    assert!((c.dynamic_range() - (3.0f64.log2() - f64::from(c.amin).log2())).abs() < 1e-12);
    assert_eq!(xs[1], f32::INFINITY);
    // Zeros after rounding: the flushed -1e-8 and the 0; the value that crossed: 1e5.
    assert_eq!((c.zeros, c.crossed), (2, 1e5));
    // bf16 overflows nothing of these and flushes nothing.
    let mut ys = [1.0f32, 1e5, -1e-8, 1e-6];
    let c = round_counted(Half::Bf16, &mut ys);
    assert_eq!((c.overflow, c.flushed, c.subnormal), (0, 0, 0));
    assert!(round_counted(Half::Bf16, &mut []).dynamic_range().is_nan());
}

#[test]
fn lost_updates_start_at_half_an_ulp() {
    // w = 1: an update of 2^-(bits+1) is exactly half an ulp, a tie to the even weight (1.0).
    for format in [Half::Bf16, Half::Fp16] {
        let half_ulp = 2f32.powi(-(format.mantissa_bits() as i32) - 1);
        assert_eq!(format.round(1.0 + half_ulp), 1.0, "{format:?}");
        assert!(format.round(1.0 + 1.5 * half_ulp) > 1.0, "{format:?}");
    }
}

#[test]
fn the_vectorized_census_equals_a_value_by_value_tally() {
    // Magnitudes from 1e-12 to 1e6, both signs, zeros, NaN and infinities, in both formats.
    let mut xs: Vec<f32> = (0..70_001u32)
        .map(|i| {
            let m = (i as f32 * 0.618_034).fract();
            let sign = if i % 3 == 0 { -1.0 } else { 1.0 };
            sign * 10f32.powf(-12.0 + 18.0 * m)
        })
        .collect();
    xs.extend([
        0.0,
        -0.0,
        f32::NAN,
        f32::INFINITY,
        -f32::INFINITY,
        65519.0,
        65520.0,
        3e-8,
    ]);
    for format in [Half::Bf16, Half::Fp16] {
        let mut fast = xs.clone();
        let c = round_counted(format, &mut fast);
        let mut plain = xs.clone();
        format.round_slice(&mut plain);
        let same = |a: &f32, b: &f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        assert!(
            plain.iter().zip(&fast).all(|(a, b)| same(a, b)),
            "{format:?}"
        );
        let mut t = Census {
            values: xs.len() as u64,
            amin: f32::INFINITY,
            ..Census::default()
        };
        for (&b, &r) in xs.iter().zip(&fast) {
            assert!(r.to_bits() == format.round(b).to_bits() || r.is_nan());
            let a = r.abs();
            if b.is_finite() && a.is_infinite() {
                t.overflow += 1;
                t.crossed = t.crossed.max(b.abs());
            }
            t.zeros += u64::from(r == 0.0);
            t.flushed += u64::from(b != 0.0 && b.is_finite() && r == 0.0);
            t.subnormal += u64::from(a > 0.0 && a < format.min_normal());
            if a.is_finite() {
                t.amax = t.amax.max(a);
                if a > 0.0 {
                    t.amin = t.amin.min(a);
                }
            }
        }
        assert_eq!(c, t, "{format:?}");
    }
}

#[test]
fn the_census_rounds_every_16_bit_pattern_and_random_f32s_like_half() {
    // The census rounds on the bits (`bits_bf16`, `bits_fp16`), separately from `Half::round`:
    // it is checked against `half` the same way.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut xs: Vec<f32> = (0..1_000_000)
        .map(|_| f32::from_bits(rng.random::<u32>()))
        .collect();
    xs.extend((0..=u16::MAX).map(|b| f16::from_bits(b).to_f32()));
    xs.extend((0..=u16::MAX).map(|b| bf16::from_bits(b).to_f32()));
    for format in [Half::Bf16, Half::Fp16] {
        let mut rounded = xs.clone();
        round_counted(format, &mut rounded);
        for (x, r) in xs.iter().zip(&rounded) {
            assert!(same(*r, reference(format, *x)), "{format:?} {x:e}");
        }
    }
}
