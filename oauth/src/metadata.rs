//! The two discovery documents, for one base URL (`B` in docs/oauth.md).

use serde_json::{Value, json};

/// The scope a token needs on `/mcp`.
pub const MCP_SCOPE: &str = "mcp:tools";
/// Scopes the facade grants.
pub const SCOPES: &[&str] = &[MCP_SCOPE, "offline_access"];

/// The canonical MCP URL of a base: the token audience and the `resource`.
pub fn resource(base: &str) -> String {
    format!("{base}/mcp")
}

/// Where the protected resource metadata is (the `resource_metadata` of every challenge).
pub fn resource_metadata_url(base: &str) -> String {
    format!("{base}/.well-known/oauth-protected-resource/mcp")
}

/// RFC 9728 Protected Resource Metadata.
pub fn protected_resource(base: &str) -> Value {
    json!({
        "resource": resource(base),
        "authorization_servers": [base],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "serverless-mcp",
    })
}

/// RFC 8414 Authorization Server Metadata; `issuer` is the base exactly.
pub fn authorization_server(base: &str) -> Value {
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": format!("{base}/register"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_point_at_each_other_from_one_base() {
        let base = "https://abc.execute-api.eu-west-1.amazonaws.com/dev";
        let prm = protected_resource(base);
        assert_eq!(prm["resource"], format!("{base}/mcp"));
        assert_eq!(prm["authorization_servers"][0], base);
        let asm = authorization_server(base);
        assert_eq!(asm["issuer"], base);
        assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(asm["client_id_metadata_document_supported"], true);
        assert!(resource_metadata_url(base).starts_with(base));
    }
}
