//! Turns `toml`'s errors (syntax, and serde's "unknown field", "unknown variant", "missing field",
//! "invalid type" messages) into located, typed [`ScenarioError`]s with typo suggestions.

use super::error::{ScenarioError, ScenarioErrorKind};
use super::source_map::SourceMap;
use super::suggest::{key_in_other_table, nearest};

/// Longest value text quoted in an error before it is shortened.
const MAX_QUOTED: usize = 60;

pub(crate) fn from_toml_error(
    err: &toml::de::Error,
    origin: &str,
    map: &SourceMap,
) -> ScenarioError {
    let message = err.message().trim();
    let span = err.span();
    let at = span.as_ref().map(|s| s.start);
    let path = at
        .and_then(|offset| map.path_at(offset))
        .map(str::to_string);
    let location = at.map(|offset| map.location(offset));
    let quoted = span.map(|s| shorten(map.slice(s)));
    let (key, kind) = if let Some(rest) = message.strip_prefix("unknown field ") {
        let (found, allowed) = split_names(rest);
        let suggestion = nearest(&found, &allowed).or_else(|| key_in_other_table(&found));
        let kind = ScenarioErrorKind::UnknownKey {
            suggestion,
            allowed,
        };
        (path.or(Some(found)), kind)
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (found, allowed) = split_names(rest);
        let suggestion = nearest(&found, &allowed);
        let found = quoted.unwrap_or(format!("\"{found}\""));
        let kind = ScenarioErrorKind::UnknownChoice {
            found,
            allowed,
            suggestion,
        };
        (path, kind)
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        let (field, _) = split_names(rest);
        let parent = err.span().and_then(|s| map.path_with_value_span(&s));
        let key = match parent {
            Some(parent) => format!("{parent}.{field}"),
            None => field.clone(),
        };
        let kind = ScenarioErrorKind::MissingKey {
            expected: required_key_meaning(&field).to_string(),
        };
        (Some(key), kind)
    } else if let Some((found, expected)) = split_invalid(message) {
        let kind = ScenarioErrorKind::WrongType {
            found: quoted.unwrap_or(found),
            expected: friendly_type(&expected),
        };
        (path, kind)
    } else {
        let mut message = message.replace('\n', "; ");
        if let Some(text) = quoted.filter(|q| path.is_none() && !q.is_empty()) {
            message = format!("{message} `{text}`");
        }
        (path, ScenarioErrorKind::Syntax { message })
    };
    ScenarioError::new(origin, location, key, kind)
}

/// The first backticked name, and every backticked name after "expected".
fn split_names(rest: &str) -> (String, Vec<String>) {
    let names = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let (head, tail) = rest.split_once("expected").unwrap_or((rest, ""));
    let found = names(head).into_iter().next().unwrap_or_default();
    (found, names(tail))
}

/// serde's `invalid type: X, expected Y` / `invalid value: ...` / `invalid length N, expected Y`.
fn split_invalid(message: &str) -> Option<(String, String)> {
    let rest = ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    Some((found.to_string(), expected.to_string()))
}

/// serde's Rust-flavoured type names in the words of a TOML file.
fn friendly_type(expected: &str) -> String {
    match expected {
        "i64" | "u64" | "usize" | "i32" | "u32" => "an integer".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "a string in quotes".to_string(),
        "a sequence" => "an array".to_string(),
        s if s.starts_with("struct ") => "a table".to_string(),
        s if s.starts_with("enum ") => "a string naming one of the choices".to_string(),
        s => s.to_string(),
    }
}

/// What a required key holds (only `name` and a group's `layers` have no default).
fn required_key_meaning(field: &str) -> &'static str {
    match field {
        "name" => "the scenario name, [a-z0-9-]+ (the only required top-level key)",
        "layers" => "the layer indices of this group, e.g. `layers = [0, 1]`",
        _ => "a value",
    }
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_QUOTED {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_QUOTED).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_serde_name_lists() {
        let (found, allowed) = split_names("`widht`, expected one of `depth`, `width`, `hidden`");
        assert_eq!(found, "widht");
        assert_eq!(allowed, ["depth", "width", "hidden"]);
        let (found, allowed) = split_names("`relux`, expected `relu` or `gelu`");
        assert_eq!((found.as_str(), allowed.len()), ("relux", 2));
    }

    #[test]
    fn splits_invalid_type_messages() {
        let got = split_invalid("invalid type: string \"big\", expected i64");
        assert_eq!(got, Some(("string \"big\"".into(), "i64".into())));
        assert_eq!(split_invalid("duplicate key"), None);
    }
}
