//! The import graph between top-level modules of `src/` has no cycles, and the README's
//! architecture drawing is that graph: each line of its layer table names a module and exactly the
//! modules it uses, every module listed below the ones that use it.
//!
//! A dependency is any path into another top-level module outside comments: `crate::x`,
//! `use crate::{x, y::z}`, `super::` chains that climb to the crate root, and paths in strings
//! (serde's `with = "crate::record::nonfinite"` is a real use).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source with `//` and `/* */` comments blanked out; string literals are kept.
fn strip_comments(text: &str) -> String {
    let (mut out, mut chars) = (String::new(), text.chars().peekable());
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else if c == '/' && chars.peek() == Some(&'*') {
            let mut prev = ' ';
            for c in chars.by_ref() {
                if prev == '*' && c == '/' {
                    break;
                }
                prev = c;
            }
        } else if c == '\'' && chars.peek().is_some_and(|n| *n == '"') {
            // The char literal '"' must not open a string.
            out.push(c);
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules `code` names through `crate::`, given that the file's module path has
/// `depth` components (for `super::` chains).
fn uses(code: &str, depth: usize) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut level = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => level += 1,
                    '}' if level == 0 => break,
                    '}' => level -= 1,
                    ',' if level == 0 => {
                        found.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if level == 0 {
                    item.push(c);
                }
            }
            found.insert(ident(item.trim()));
        } else {
            found.insert(ident(rest));
        }
    }
    let supers = "super::".repeat(depth);
    if depth > 0 {
        for (i, _) in code.match_indices(&supers) {
            let before = &code[..i];
            if !before.ends_with("::") {
                found.insert(ident(&code[i + supers.len()..]));
            }
        }
    }
    found.retain(|m| !m.is_empty() && m != "self" && m != "super");
    found
}

/// The import graph of the library: top-level module → the other top-level modules it uses.
fn graph() -> Graph {
    let root = src();
    let lib = std::fs::read_to_string(root.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut g: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let Some(top) = owner(&parts, &modules, &root) else {
            continue;
        };
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod"));
        let code = strip_comments(&std::fs::read_to_string(&file).unwrap());
        for used in uses(&code, depth) {
            if used != top && modules.contains(&used) {
                g.get_mut(&top).unwrap().insert(used);
            }
        }
    }
    g
}

/// The top-level module a file belongs to: its first path component, or for a root file loaded
/// with `#[path]` (a sibling test file), the module whose file names it.
fn owner(parts: &[String], modules: &BTreeSet<String>, root: &Path) -> Option<String> {
    let first = &parts[0];
    if modules.contains(first) {
        return Some(first.clone());
    }
    if parts.len() > 1 || first == "lib" || first == "main" {
        return None;
    }
    let needle = format!("\"{first}.rs\"");
    modules
        .iter()
        .find(|m| {
            let own = root.join(format!("{m}.rs"));
            std::fs::read_to_string(own).is_ok_and(|t| t.contains(&needle))
        })
        .cloned()
}

fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        m: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in &g[m] {
            if let Some(c) = visit(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|m| visit(g, m, &mut Vec::new(), &mut done))
}

/// The README's layer table: the fenced block after `## Architecture`, one `module → uses...`
/// line per module, top layer first.
fn readme_layers() -> Vec<(String, BTreeSet<String>)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Architecture")
        .nth(1)
        .expect("README has an Architecture section");
    let block = section.split("```").nth(1).expect("with a fenced drawing");
    block
        .lines()
        .filter_map(|l| l.split_once('→'))
        .map(|(m, deps)| {
            let deps = deps
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|d| !d.is_empty() && *d != "(nothing)")
                .map(str::to_string)
                .collect();
            (m.trim().to_string(), deps)
        })
        .collect()
}

#[test]
fn top_level_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() >= 10, "too few modules found: {g:?}");
    assert!(
        g["core"].is_empty(),
        "core must use nothing: {:?}",
        g["core"]
    );
    assert_eq!(find_cycle(&g), None, "import graph: {g:#?}");
}

#[test]
fn the_readme_draws_the_import_graph_as_it_is() {
    let g = graph();
    let layers = readme_layers();
    let listed: BTreeSet<_> = layers.iter().map(|(m, _)| m.clone()).collect();
    let actual: BTreeSet<_> = g.keys().cloned().collect();
    assert_eq!(listed, actual, "the drawing lists every module once");
    for (i, (m, deps)) in layers.iter().enumerate() {
        assert_eq!(
            deps, &g[m],
            "README line for `{m}` (actual uses on the right)"
        );
        let below: BTreeSet<_> = layers[i + 1..].iter().map(|(b, _)| b.clone()).collect();
        assert!(deps.is_subset(&below), "`{m}` uses a module drawn above it");
    }
}

#[test]
fn the_graph_reader_sees_every_form_of_use() {
    // Guard for the guard: each way of naming another module is found, comments are not.
    let code = strip_comments(
        "use crate::{a, b::{c, d}, e::f};\n// crate::g\n/* crate::h */\nlet x = crate::i::j;\n\
         #[serde(with = \"crate::k::l\")]\nuse super::super::m::n;\nlet q = '\"'; crate::o",
    );
    let found = uses(&code, 2);
    let want = ["a", "b", "e", "i", "k", "m", "o"];
    assert_eq!(found, want.iter().map(|s| s.to_string()).collect());
    let g: Graph = [("x", vec!["y"]), ("y", vec!["z"]), ("z", vec!["x"])]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(
        find_cycle(&g),
        Some(vec!["x".into(), "y".into(), "z".into(), "x".into()])
    );
}
