//! Edits a user's scenario file as text, keeping its comments, order and formatting: the
//! `--set KEY=VALUE` changes of a verified fix or a minimal failure written back into the file
//! the user wrote, so `fixed.diff` applies to it and `fixed.toml` reads like it.
//!
//! A relative `data.path` is made absolute (it was relative to the original file's folder, and
//! the edited file is written elsewhere), so the replay command the header prints works.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, value};

use super::error::{ScenarioError, ScenarioErrorKind};

fn bad(arg: &str, expected: &str) -> ScenarioError {
    let kind = ScenarioErrorKind::BadOverride {
        found: arg.to_string(),
        expected: expected.to_string(),
    };
    ScenarioError::new(format!("--set {arg}"), None, None, kind)
}

/// `source` with every `KEY=VALUE` of `sets` applied (tables created as needed), the scenario
/// renamed to `name`, and a relative `data.path` anchored at `base_dir`.
pub fn edited_source(
    source: &str,
    sets: &[String],
    name: &str,
    base_dir: Option<&Path>,
) -> Result<String, ScenarioError> {
    let mut doc: DocumentMut = source
        .parse()
        .map_err(|_| bad("(the original file)", "a TOML document"))?;
    for arg in sets {
        let (key, text) = arg.split_once('=').ok_or_else(|| bad(arg, "KEY=VALUE"))?;
        let parsed: toml_edit::Value = match text.trim().parse() {
            Ok(v) => v,
            // A bare word is a string, as `--set` reads it.
            Err(_) => text.trim().into(),
        };
        set(doc.as_table_mut(), key.trim(), parsed)
            .ok_or_else(|| bad(arg, "a key under tables"))?;
    }
    doc["name"] = value(name);
    anchor_data_path(&mut doc, base_dir);
    Ok(doc.to_string())
}

/// Sets the dotted `key` under `table`, creating missing tables; `None` when a prefix of the key
/// is a value rather than a table.
fn set(table: &mut Table, key: &str, v: toml_edit::Value) -> Option<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop()?;
    let mut t = table;
    for part in parts {
        let entry = t.entry(part).or_insert_with(|| Item::Table(Table::new()));
        t = entry.as_table_mut()?;
    }
    // Keep the comment that followed the old value on its line.
    let decor = t
        .get(leaf)
        .and_then(Item::as_value)
        .map(|old| old.decor().clone());
    let mut v = v;
    if let Some(d) = decor {
        *v.decor_mut() = d;
    }
    t.insert(leaf, Item::Value(v));
    Some(())
}

/// `path` made absolute against `base` when it is relative (canonical when it exists).
fn anchored(path: &str, base: &Path) -> Option<String> {
    Path::new(path).is_relative().then(|| {
        let joined = base.join(path);
        std::fs::canonicalize(&joined)
            .unwrap_or(joined)
            .display()
            .to_string()
    })
}

/// A resolved scenario written outside its file's folder (minimal-failure.toml): its relative
/// `data.path` made absolute, so the file replays from anywhere.
pub fn anchor_paths(s: &mut super::Scenario, base_dir: Option<&Path>) {
    if let (Some(base), Some(path)) = (base_dir, s.data.path.as_deref())
        && let Some(a) = anchored(path, base)
    {
        s.data.path = Some(a);
    }
}

fn anchor_data_path(doc: &mut DocumentMut, base_dir: Option<&Path>) {
    let Some(base) = base_dir else { return };
    let Some(data) = doc.get_mut("data").and_then(Item::as_table_mut) else {
        return;
    };
    let Some(path) = data.get("path").and_then(Item::as_str).map(str::to_string) else {
        return;
    };
    if let Some(a) = anchored(&path, base) {
        data["path"] = value(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my model\nname = \"mine\"\nsteps = 50\n\n[optimizer]\nlr = 0.1 # too high?\n\n[data]\nkind = \"csv\"\npath = \"train.csv\"\n";

    #[test]
    fn sets_keep_comments_create_tables_and_anchor_the_data_path() {
        let sets = vec![
            "optimizer.lr=0.01".to_string(),
            "clip.kind=norm".to_string(),
        ];
        let out =
            edited_source(FILE, &sets, "mine-fixed", Some(Path::new("/work/models"))).unwrap();
        assert!(
            out.starts_with("# my model\nname = \"mine-fixed\"\n"),
            "{out}"
        );
        assert!(out.contains("lr = 0.01 # too high?"), "{out}");
        assert!(out.contains("[clip]\nkind = \"norm\""), "{out}");
        assert!(out.contains("path = \"/work/models/train.csv\""), "{out}");
        // Without a base folder (a built-in) the path is left alone.
        let out = edited_source(FILE, &[], "x", None).unwrap();
        assert!(out.contains("path = \"train.csv\""));
    }

    #[test]
    fn a_resolved_scenario_gets_an_absolute_data_path_and_a_builtin_keeps_none() {
        let file = FILE.replace(
            "path = \"train.csv\"\n",
            "path = \"train.csv\"\nclasses = 2\n",
        );
        let mut s = super::super::parse_str(&file, "mine.toml").unwrap();
        anchor_paths(&mut s, Some(Path::new("/work/models")));
        assert_eq!(s.data.path.as_deref(), Some("/work/models/train.csv"));
        let mut b = super::super::resolve("deep-mlp").unwrap();
        anchor_paths(&mut b, None);
        assert_eq!(b.data.path, None);
    }

    #[test]
    fn a_key_under_a_value_is_an_error_not_a_panic() {
        let err = edited_source(FILE, &["steps.x=1".to_string()], "x", None).unwrap_err();
        assert!(err.to_string().contains("steps.x=1"), "{err}");
    }
}
