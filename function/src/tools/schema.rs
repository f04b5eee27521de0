//! JSON Schemas for tool arguments and outputs: rmcp's own (as its `#[tool]` macro makes them:
//! draft 2020-12, top-level title and description dropped), minus schemars' integer and float
//! width formats (`uint32`, `double`, ...): JSON Schema does not define them and clients'
//! validators (ajv) warn about each.

use std::{any::TypeId, sync::Arc};

use rmcp::{
    handler::server::common::{schema_for_empty_input, schema_for_input, schema_for_output},
    model::JsonObject,
};
use schemars::{
    JsonSchema, Schema,
    transform::{RecursiveTransform, Transform},
};

use super::NoArguments;

/// The schema of what a tool accepts (an object).
pub fn input<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    // What rmcp lists for a tool without parameters.
    if TypeId::of::<T>() == TypeId::of::<NoArguments>() {
        return schema_for_empty_input();
    }
    let schema = schema_for_input::<T>().unwrap_or_else(|e| {
        panic!(
            "invalid input schema for {}: {e}",
            std::any::type_name::<T>()
        )
    });
    without_width_formats(&schema)
}

/// The schema of what a tool returns as `structuredContent` (what `Serialize` writes).
pub fn output<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    without_width_formats(&schema_for_output::<T>())
}

fn without_width_formats(schema: &JsonObject) -> Arc<JsonObject> {
    let mut schema = Schema::from(schema.clone());
    RecursiveTransform(drop_width_formats).transform(&mut schema);
    match schema.to_value() {
        serde_json::Value::Object(object) => Arc::new(object),
        _ => unreachable!("built from an object"),
    }
}

fn drop_width_formats(schema: &mut Schema) {
    let is_width = schema
        .get("format")
        .and_then(|f| f.as_str())
        .is_some_and(|f| {
            matches!(
                f,
                "int8"
                    | "int16"
                    | "int32"
                    | "int64"
                    | "uint"
                    | "uint8"
                    | "uint16"
                    | "uint32"
                    | "uint64"
                    | "float"
                    | "double"
            )
        });
    if is_width {
        schema.remove("format");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    /// Doc that must not reach the schema root.
    struct Args {
        /// How many.
        count: u32,
        ratio: f64,
        nested: Vec<u8>,
    }

    #[test]
    fn no_width_formats_and_no_root_title() {
        let schema = serde_json::to_string(&input::<Args>()).unwrap();
        for format in ["uint32", "uint8", "double"] {
            assert!(!schema.contains(format), "{format} left in {schema}");
        }
        assert!(!schema.contains("\"title\""), "{schema}");
        assert!(schema.contains("How many."), "{schema}");
        assert_eq!(
            serde_json::to_value(input::<NoArguments>()).unwrap(),
            serde_json::json!({"type": "object", "properties": {}})
        );
    }
}
