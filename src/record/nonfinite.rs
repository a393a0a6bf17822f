//! Serde adapters that keep non-finite floats: written as the strings `"NaN"`, `"inf"`, `"-inf"`
//! (serde_json would write `null` and lose them), read back exactly. Finite numbers stay numbers.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

/// For `f64` fields: `#[serde(with = "crate::record::nonfinite")]`.
pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    match spelled(*x) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_f64(*x),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(FloatVisitor)
}

fn spelled(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("inf")
    } else if x == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or one of \"NaN\", \"inf\", \"-inf\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
}

/// For `Option<f64>` fields.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrapped(#[serde(with = "super")] f64);
        let v: Option<Wrapped> = serde::Deserialize::deserialize(d)?;
        Ok(v.map(|Wrapped(x)| x))
    }
}

/// For `Vec<f64>` fields.
pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(xs: &[f64], s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Wrapped(#[serde(with = "super")] f64);
        let mut seq = s.serialize_seq(Some(xs.len()))?;
        for &x in xs {
            seq.serialize_element(&Wrapped(x))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrapped(#[serde(with = "super")] f64);
        let v: Vec<Wrapped> = serde::Deserialize::deserialize(d)?;
        Ok(v.into_iter().map(|Wrapped(x)| x).collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super::option")]
        maybe: Option<f64>,
        #[serde(with = "super::vec")]
        xs: Vec<f64>,
    }

    #[test]
    fn non_finite_values_round_trip_as_strings() {
        let s = Sample {
            x: f64::NAN,
            maybe: Some(f64::NEG_INFINITY),
            xs: vec![1.5, f64::INFINITY, -0.0],
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"x":"NaN","maybe":"-inf","xs":[1.5,"inf",-0.0]}"#);
        let back: Sample = serde_json::from_str(&json).unwrap();
        assert!(back.x.is_nan());
        assert_eq!(back.maybe, Some(f64::NEG_INFINITY));
        assert_eq!(back.xs[1], f64::INFINITY);
        assert!(back.xs[2].is_sign_negative());
        let none: Sample = serde_json::from_str(r#"{"x":1,"maybe":null,"xs":[]}"#).unwrap();
        assert_eq!((none.x, none.maybe), (1.0, None));
    }

    #[test]
    fn an_unknown_string_is_an_error() {
        assert!(serde_json::from_str::<Sample>(r#"{"x":"nan","maybe":null,"xs":[]}"#).is_err());
    }
}
