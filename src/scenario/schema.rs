//! The JSON Schema of the scenario file format (for Taplo / Even Better TOML), generated from the
//! serde shape [`ScenarioFile`]; descriptions are the fields' doc comments.

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::file_scenario::ScenarioFile;

/// JSON Schema (draft 7, which Taplo and most editors read) of a scenario file.
///
/// Point an editor at it with a `#:schema ./scenario.schema.json` first line in the TOML file,
/// or Taplo's `[[rule]]` schema association.
pub fn json_schema() -> Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ScenarioFile>();
    let mut value = schema.to_value();
    strip_null(&mut value);
    if let Some(root) = value.as_object_mut() {
        root.insert("title".into(), Value::from("stabcheck scenario"));
    }
    value
}

/// TOML has no null (an optional key is simply left out), so drop the `null` that schemars adds
/// for `Option` fields: `"type": ["integer", "null"]` and `{"type": "null"}` alternatives.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let single = types.remove(0);
                    map.insert("type".into(), single);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// Every table of the format with its keys, in schema order: `("", [name, ...])`,
/// `("model", [depth, ...])`, `("optimizer.groups", [layers, lr_scale])`, ...
pub(crate) fn table_keys() -> Vec<(String, Vec<String>)> {
    let schema = json_schema();
    let mut out = Vec::new();
    collect_tables(&schema, &schema, "", &mut out);
    out
}

fn collect_tables(root: &Value, node: &Value, prefix: &str, out: &mut Vec<(String, Vec<String>)>) {
    let node = resolve_ref(root, node);
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    out.push((prefix.to_string(), properties.keys().cloned().collect()));
    for (key, child) in properties {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let child = resolve_ref(root, child);
        let items = child.get("items").unwrap_or(child);
        collect_tables(root, items, &path, out);
    }
}

/// The JSON type of a dotted key of the format (`"integer"`, `"number"`, `"string"`,
/// `"boolean"`, `"array"`, `"object"`), or `None` for a key the format does not have. A choice
/// (an enum of strings) is `"string"`.
pub fn key_type(key: &str) -> Option<String> {
    let schema = json_schema();
    let mut node = &schema;
    for part in key.split('.') {
        node = resolve_ref(&schema, node).get("properties")?.get(part)?;
    }
    let mut node = resolve_ref(&schema, node);
    // An optional choice is `anyOf: [{$ref}]` once its null alternative is stripped.
    if let Some(only) = node
        .get("anyOf")
        .and_then(Value::as_array)
        .filter(|o| o.len() == 1)
    {
        node = resolve_ref(&schema, &only[0]);
    }
    match node.get("type").and_then(Value::as_str) {
        Some(t) => Some(t.to_string()),
        None if node.get("enum").is_some() || node.get("oneOf").is_some() => Some("string".into()),
        None => None,
    }
}

/// Follows `{"$ref": "#/definitions/X"}` (also when wrapped in `allOf`).
fn resolve_ref<'v>(root: &'v Value, node: &'v Value) -> &'v Value {
    let reference = node
        .get("$ref")
        .or_else(|| node.get("allOf")?.get(0)?.get("$ref"))
        .and_then(Value::as_str);
    match reference.and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).unwrap_or(node),
        None => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_reads_the_schema_also_for_keys_left_out_of_a_file() {
        let types = [
            ("model.activation", Some("string")),
            ("model.residual", Some("boolean")),
            ("model.init_scale", Some("number")),
            ("data.batch", Some("integer")),
            ("optimizer.betas", Some("array")),
            ("model.nothing", None),
        ];
        for (key, want) in types {
            assert_eq!(key_type(key).as_deref(), want, "{key}");
        }
    }

    #[test]
    fn schema_lists_model_and_optimizer_keys_and_choices() {
        let text = json_schema().to_string();
        for needle in [
            "\"init_scale\"",
            "\"norm_eps\"",
            "\"weight_decay\"",
            "\"lr_scale\"",
            "\"max_grad_norm\"",
            "\"he-normal\"",
            "\"leaky-relu\"",
            "\"warmup-cosine\"",
            "\"teacher-classification\"",
            "Defaults to `1e-3`",
        ] {
            assert!(text.contains(needle), "schema lacks {needle}");
        }
    }

    #[test]
    fn schema_refuses_unknown_keys_in_every_table() {
        let schema = json_schema();
        let mut tables: Vec<String> = table_keys().into_iter().map(|(t, _)| t).collect();
        tables.sort();
        let expected = [
            "",
            "clip",
            "data",
            "gates",
            "loss",
            "model",
            "model.init_groups",
            "optimizer",
            "optimizer.groups",
            "probe",
            "robust",
            "schedule",
        ];
        assert_eq!(tables, expected);
        let definitions = schema["definitions"].as_object().unwrap();
        for (name, definition) in definitions {
            if definition.get("properties").is_some() {
                assert_eq!(definition["additionalProperties"], false, "{name}");
            }
        }
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["name"]));
        let width = &definitions["ModelTable"]["properties"]["width"];
        assert_eq!(width["type"], "integer", "TOML has no null");
        assert_eq!(width["minimum"], 1);
        assert!(!schema.to_string().contains("\"null\""), "TOML has no null");
    }
}
