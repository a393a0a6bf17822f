//! The JSON Schema of a trace line (`stabcheck schema --trace`), derived from the types that read
//! it, so the schema and the reader cannot disagree.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::Value;

use super::trace_lines::{Ordered, TraceLine};

/// The JSON Schema (draft 7) of one line of a schema-1 trace.
pub fn trace_json_schema() -> Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<TraceLine>();
    let mut value = schema.to_value();
    if let Some(root) = value.as_object_mut() {
        root.insert(
            "title".into(),
            Value::from("stabcheck trace line (schema 1; one JSON object per line, JSONL)"),
        );
        if let Some(Value::Object(props)) = root.get_mut("properties") {
            props.insert("schema".into(), serde_json::json!({"const": 1}));
        }
    }
    value
}

/// A statistic: a JSON number, or one of the strings run.json writes for non-finite values.
pub(super) fn number(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "oneOf": [
            {"type": "number"},
            {"enum": ["NaN", "inf", "-inf"]}
        ]
    })
}

/// An object of named entries; the reader keeps document order.
impl<T: JsonSchema> JsonSchema for Ordered<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Named_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<T>(),
        })
    }
}
