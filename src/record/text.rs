//! How numbers read in findings, tables and summaries: one formatter, so a record's text and the
//! page that renders it agree digit for digit.

/// Formats a number the way findings print it: at most 4 significant digits (as snapshot tests
/// round), NaN/inf spelled as in JSON.
pub fn fmt(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == 0.0 {
        "0".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        // |x| is in [1e-3, 1e4) here, so the exponent is in -3..=3.
        let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_short_and_spell_non_finite_values() {
        assert_eq!(fmt(3.2), "3.2");
        assert_eq!(fmt(1.0e9), "1.000e9");
        assert_eq!(fmt(2.5e-5), "2.500e-5");
        assert_eq!(fmt(18.6034), "18.6");
        assert_eq!(fmt(1234.56), "1235");
        assert_eq!(
            fmt(1000.0),
            "1000",
            "zeros before the point are digits, not padding"
        );
        assert_eq!(fmt(10.0), "10");
        assert_eq!(fmt(0.0012345), "0.001234");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
    }
}
