//! Where each dotted key of a TOML text sits: byte spans from `toml`'s spanned parser, and 1-based
//! line/column conversion.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Location;

/// The spans of one key: its name and its value (for a `[table]`, the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// Every key of a document by dotted path: `model.width`, `optimizer.groups[0].layers`,
/// `model.hidden[2]` (array elements have an empty key span at their value).
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    entries: HashMap<String, Entry>,
    syntax_error: Option<toml::de::Error>,
}

impl<'a> SourceMap<'a> {
    /// Index `text`; a document with syntax errors is indexed as far as the parser recovered.
    pub fn new(text: &'a str) -> Self {
        let (table, errors) = DeTable::parse_recoverable(text);
        let mut entries = HashMap::new();
        index_table(table.get_ref(), "", &mut entries);
        Self {
            text,
            entries,
            syntax_error: errors.into_iter().next(),
        }
    }

    /// The first TOML syntax error of the text, if any.
    pub fn syntax_error(&self) -> Option<&toml::de::Error> {
        self.syntax_error.as_ref()
    }

    /// The text of a byte span (empty when the span is not inside the text).
    pub fn slice(&self, span: Range<usize>) -> &'a str {
        self.text.get(span).unwrap_or("")
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The value of `path` exactly as written, e.g. `-3`, `nan`, `"big"`.
    pub fn value_text(&self, path: &str) -> Option<&'a str> {
        let span = &self.entries.get(path)?.value;
        self.text.get(span.clone()).map(str::trim)
    }

    /// The deepest key whose name or value contains byte `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        let contains = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
        self.entries
            .iter()
            .filter(|(_, e)| contains(&e.key) || contains(&e.value))
            .max_by_key(|(path, _)| (path.matches(['.', '[']).count(), path.len()))
            .map(|(path, _)| path.as_str())
    }

    /// The key whose value span is exactly `span` (a table header or inline table).
    pub fn path_with_value_span(&self, span: &Range<usize>) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, e)| e.value == *span)
            .max_by_key(|(path, _)| path.len())
            .map(|(path, _)| path.as_str())
    }

    pub fn location(&self, offset: usize) -> Location {
        location_in(self.text, offset)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn location_in(text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

fn index_table(table: &DeTable<'_>, prefix: &str, out: &mut HashMap<String, Entry>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        out.insert(
            path.clone(),
            Entry {
                key: key.span(),
                value: value.span(),
            },
        );
        index_value(value, &path, out);
    }
}

fn index_value(value: &Spanned<DeValue<'_>>, path: &str, out: &mut HashMap<String, Entry>) {
    match value.get_ref() {
        DeValue::Table(table) => index_table(table, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                let span = item.span();
                let entry = Entry {
                    key: span.start..span.start,
                    value: span,
                };
                out.insert(item_path.clone(), entry);
                index_value(item, &item_path, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"a\"\n[model]\nwidth = 3\nhidden = [4, 5]\n\
                        [[optimizer.groups]]\nlayers = [1]\n";

    #[test]
    fn finds_nested_keys_and_their_values() {
        let map = SourceMap::new(TEXT);
        assert_eq!(map.value_text("model.width"), Some("3"));
        assert_eq!(map.value_text("model.hidden[1]"), Some("5"));
        assert_eq!(map.value_text("optimizer.groups[0].layers"), Some("[1]"));
        let width = map
            .entry("model.width")
            .map(|e| map.location(e.value.start));
        assert_eq!(width, Some(Location { line: 3, column: 9 }));
    }

    #[test]
    fn path_at_prefers_the_deepest_key() {
        let map = SourceMap::new(TEXT);
        let offset = TEXT.find("5]").unwrap();
        assert_eq!(map.path_at(offset), Some("model.hidden[1]"));
        assert_eq!(
            map.path_at(TEXT.find("width").unwrap()),
            Some("model.width")
        );
    }

    #[test]
    fn location_counts_characters_not_bytes() {
        assert_eq!(location_in("é = 1\nab", 8), Location { line: 2, column: 2 });
        assert_eq!(location_in("", 0), Location { line: 1, column: 1 });
    }
}
