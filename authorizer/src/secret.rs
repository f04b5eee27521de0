//! The secret's value: one plain key, or named keys so clients can hold different keys and
//! one can be revoked without touching the others.
//!
//! ```text
//! my-plain-api-key
//! {"keys": [{"id": "laptop", "key": "..."}, {"id": "ci", "key": "..."}]}
//! ```

use serde::Deserialize;

use crate::AcceptedKey;

/// Why a secret value could not be used. Never includes key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretFormatError {
    #[error("the secret is empty")]
    Empty,
    #[error(
        "the secret looks like JSON but is not {{\"keys\": [{{\"id\": ..., \"key\": ...}}]}}: {0}"
    )]
    BadJson(String),
    #[error("the secret's \"keys\" list is empty")]
    NoKeys,
    #[error("key entry {0} has an empty id or key")]
    EmptyEntry(usize),
    #[error("key id {0:?} appears more than once")]
    DuplicateId(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedKeys {
    keys: Vec<NamedKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedKey {
    id: String,
    key: String,
}

/// Parses a secret value into accepted keys. A plain string is one key with id `default`.
pub fn parse_secret(value: &str) -> Result<Vec<AcceptedKey>, SecretFormatError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SecretFormatError::Empty);
    }
    if !value.starts_with('{') {
        return Ok(vec![AcceptedKey::new("default", value)]);
    }
    // serde's message can quote input; report only its position, never the content.
    let named: NamedKeys = serde_json::from_str(value).map_err(|e| {
        SecretFormatError::BadJson(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if named.keys.is_empty() {
        return Err(SecretFormatError::NoKeys);
    }
    let mut keys = Vec::with_capacity(named.keys.len());
    for (index, entry) in named.keys.iter().enumerate() {
        let (id, key) = (entry.id.trim(), entry.key.trim());
        if id.is_empty() || key.is_empty() {
            return Err(SecretFormatError::EmptyEntry(index));
        }
        if keys.iter().any(|k: &AcceptedKey| k.id() == id) {
            return Err(SecretFormatError::DuplicateId(id.to_owned()));
        }
        keys.push(AcceptedKey::new(id, key));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::match_key;

    #[test]
    fn a_plain_string_is_one_default_key() {
        let keys = parse_secret("  abc123 \n").unwrap();
        assert_eq!(match_key("abc123", &keys), Some("default"));
    }

    #[test]
    fn named_keys_keep_their_ids() {
        let keys =
            parse_secret(r#"{"keys": [{"id": "laptop", "key": "k1"}, {"id": "ci", "key": "k2"}]}"#)
                .unwrap();
        assert_eq!(match_key("k1", &keys), Some("laptop"));
        assert_eq!(match_key("k2", &keys), Some("ci"));
        assert_eq!(match_key("k3", &keys), None);
    }

    #[test]
    fn malformed_secrets_are_errors_without_key_material() {
        let err = |value: &str| parse_secret(value).unwrap_err();
        assert_eq!(err("   "), SecretFormatError::Empty);
        assert_eq!(err(r#"{"keys": []}"#), SecretFormatError::NoKeys);
        assert_eq!(
            err(r#"{"keys": [{"id": "", "key": "x"}]}"#),
            SecretFormatError::EmptyEntry(0)
        );
        assert_eq!(
            err(r#"{"keys": [{"id": "a", "key": "x"}, {"id": "a", "key": "y"}]}"#),
            SecretFormatError::DuplicateId("a".into())
        );
        let err =
            parse_secret(r#"{"keys": [{"id": "a", "key": "topsecret", "extra": 1}]}"#).unwrap_err();
        assert!(matches!(err, SecretFormatError::BadJson(_)));
        assert!(!err.to_string().contains("topsecret"), "{err}");
        let err = parse_secret(r#"{"keys": "topsecret"}"#).unwrap_err();
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }
}
