//! `rust-version` in Cargo.toml is true: no locked dependency (for this host) declares a newer
//! one. CI builds with `--locked`, so the lock cannot drift past it unnoticed.

use std::process::Command;

/// `1.89` and `1.89.0` are the same version: missing parts are 0.
fn version(text: &str) -> [u64; 3] {
    let mut v = [0; 3];
    for (slot, part) in v.iter_mut().zip(text.split('.')) {
        *slot = part.parse().unwrap_or(0);
    }
    v
}

#[test]
fn rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string();
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "stabcheck")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml sets rust-version");
    let newer: Vec<String> = packages
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?, p["rust_version"].as_str()?)))
        .filter(|(_, v)| version(v) > version(ours))
        .map(|(n, v)| format!("{n} needs {v}"))
        .collect();
    assert!(newer.is_empty(), "rust-version = {ours}, but {newer:?}");
    assert!(packages.len() > 20, "metadata lists the dependencies");
}

#[test]
fn versions_compare_by_number_with_missing_parts_zero() {
    assert_eq!(version("1.89"), version("1.89.0"));
    assert!(version("1.90") > version("1.89.7"));
    assert!(version("1.100") > version("1.99"));
}
