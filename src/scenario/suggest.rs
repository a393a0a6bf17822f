//! Typo suggestions: the nearest valid key or choice (Damerau-Levenshtein, ignoring case and
//! `-`/`_`), and keys written in the wrong table.

use super::schema::table_keys;

/// Normalized spelling for comparison: lowercase, `-` as `_`.
fn normalize(s: &str) -> String {
    s.to_lowercase().replace('-', "_")
}

/// The candidate nearest to `found`, if it is close enough to be a likely typo: at most one edit
/// for short words, up to three for long ones.
pub(crate) fn nearest(found: &str, candidates: &[String]) -> Option<String> {
    let found_norm = normalize(found);
    let limit = (found_norm.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&found_norm, &normalize(c)), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.clone())
}

/// `optimizer.lr` when `lr` was written in a table that has no such key.
pub(crate) fn key_in_other_table(found: &str) -> Option<String> {
    let found = normalize(found);
    table_keys().into_iter().find_map(|(table, keys)| {
        let key = keys.into_iter().find(|k| normalize(k) == found)?;
        Some(if table.is_empty() {
            key
        } else {
            format!("{table}.{key}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suggests_close_spellings_only() {
        let keys = names(&["depth", "width", "hidden", "init_scale"]);
        assert_eq!(nearest("widht", &keys).as_deref(), Some("width"));
        assert_eq!(nearest("init-scale", &keys).as_deref(), Some("init_scale"));
        assert_eq!(nearest("Depth", &keys).as_deref(), Some("depth"));
        assert_eq!(nearest("colour", &keys), None);
    }

    #[test]
    fn finds_keys_that_belong_to_another_table() {
        assert_eq!(
            key_in_other_table("weight_decay").as_deref(),
            Some("optimizer.weight_decay")
        );
        assert_eq!(
            key_in_other_table("histogram_every").as_deref(),
            Some("probe.histogram_every")
        );
        assert_eq!(key_in_other_table("no_such_key"), None);
    }
}
