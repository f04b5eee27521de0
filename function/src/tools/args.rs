//! Tool arguments parsed with an error that names the offending field: serde alone says
//! "invalid type: string, expected f64" without saying which argument.

use rmcp::ErrorData;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Deserializes tool arguments; on failure a -32602 error naming the tool and the field.
pub fn parse_arguments<T: DeserializeOwned>(
    tool: &str,
    arguments: &serde_json::Value,
) -> Result<T, ErrorData> {
    // Tracking the path costs allocations on every call; it is only needed for the message,
    // so valid arguments (the common case) take the plain way.
    if let Ok(value) = T::deserialize(arguments) {
        return Ok(value);
    }
    serde_path_to_error::deserialize(arguments).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // A missing field is reported at the parent path by serde; its name is in the message.
        let field = if path == "." {
            missing_field(&inner)
        } else {
            Some(path)
        };
        let message = match &field {
            Some(field) => format!("Invalid arguments for tool {tool}: `{field}`: {inner}"),
            None => format!("Invalid arguments for tool {tool}: {inner}"),
        };
        ErrorData::invalid_params(message, Some(json!({ "tool": tool, "field": field })))
    })
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Args {
        a: f64,
        b: f64,
    }

    #[test]
    fn names_a_wrongly_typed_field() {
        let err = parse_arguments::<Args>("calculate", &json!({"a": 1, "b": "two"})).unwrap_err();
        assert_eq!(err.code.0, -32602);
        assert!(err.message.contains("`b`"), "{}", err.message);
        assert_eq!(err.data.unwrap()["field"], "b");
    }

    #[test]
    fn names_a_missing_field() {
        let err = parse_arguments::<Args>("calculate", &json!({"a": 1})).unwrap_err();
        assert!(err.message.contains("`b`"), "{}", err.message);
        assert_eq!(err.data.unwrap()["field"], "b");
    }
}
