//! The API Gateway HTTP API v2 Lambda authorizer (REQUEST type, payload 2.0, simple responses).

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;

use crate::{KeyDecision, KeyVerifier, presented_key};

/// What the stage accepts besides API keys (`MCP_AUTH_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthorizerMode {
    /// `api-key` (or unset): a request without a valid key is denied here.
    #[default]
    KeysOnly,
    /// `both`: OAuth tokens too. The authorizer cannot check them, nor add the
    /// `WWW-Authenticate` challenge to a denial, so it lets every request through and marks
    /// only key holders (`keyId`); the function checks the rest.
    KeysOrOAuth,
}

impl AuthorizerMode {
    /// From `MCP_AUTH_MODE`. `oauth` is refused: such a stage has no keys and no authorizer.
    pub fn from_env(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("api-key") => Ok(Self::KeysOnly),
            Some("both") => Ok(Self::KeysOrOAuth),
            Some(other) => Err(format!(
                "MCP_AUTH_MODE must be `api-key` or `both` for the authorizer, got {other:?}"
            )),
        }
    }
}

/// The answer for one key decision: pure, so every case is unit-tested. A valid key is
/// authorized with its id (never the key) in the context, which API Gateway hands to the
/// function as `requestContext.authorizer.lambda.keyId`; anything else is denied, or in
/// `both` authorized with an empty context (no `keyId`: the function then wants a token).
pub fn response(
    decision: KeyDecision,
    mode: AuthorizerMode,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match decision {
        KeyDecision::Allowed { key_id } => {
            response.is_authorized = true;
            response.context = json!({ "keyId": key_id });
        }
        KeyDecision::Denied => {
            response.is_authorized = mode == AuthorizerMode::KeysOrOAuth;
            response.context = json!({});
        }
    }
    response
}

/// The CloudWatch namespace of the project's metrics (the function's per-tool metrics too).
pub const METRICS_NAMESPACE: &str = "serverless-mcp";

/// The metric counting denied requests (the Pulumi program's denial alarm reads it).
pub const DENIALS_METRIC: &str = "Denials";

/// A denial as one CloudWatch Embedded Metric Format line (with its newline): `Denials` = 1
/// per `FunctionName` (the authorizer's), and the request id to find the invocation's other
/// lines. A metric rather than a filter on a log line: it counts whatever the log level.
pub fn denial_emf_line(function_name: &str, request_id: &str, timestamp_ms: u64) -> String {
    let line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": DENIALS_METRIC, "Unit": "Count"}]
            }]
        },
        "FunctionName": function_name,
        DENIALS_METRIC: 1,
        "requestId": request_id
    });
    format!("{line}\n")
}

/// Decides one request: checks the presented key (if any), then [`response`].
pub async fn authorize(
    request: &ApiGatewayV2CustomAuthorizerV2Request,
    verifier: &dyn KeyVerifier,
    mode: AuthorizerMode,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let decision = match presented_key(header("x-api-key"), header("authorization")) {
        Some(key) => verifier.verify(key).await,
        None => KeyDecision::Denied,
    };
    response(decision, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticKeys;

    fn request(headers: &[(&str, &str)]) -> ApiGatewayV2CustomAuthorizerV2Request {
        let mut event: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/fixtures/example-apigw-v2-custom-authorizer-v2-request.json"
        ))
        .unwrap();
        event["headers"] = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        serde_json::from_value(event).unwrap()
    }

    #[tokio::test]
    async fn allows_the_right_key_in_either_header() {
        let keys = StaticKeys::single("secret-key");
        for headers in [
            [("x-api-key", "secret-key")],
            [("authorization", "Bearer secret-key")],
        ] {
            let response = authorize(&request(&headers), &keys, AuthorizerMode::KeysOnly).await;
            assert!(response.is_authorized);
            assert_eq!(response.context, json!({"keyId": "default"}));
            assert!(
                !serde_json::to_string(&response)
                    .unwrap()
                    .contains("secret-key")
            );
        }
    }

    #[test]
    fn a_denial_is_one_emf_line() {
        let line = denial_emf_line("mcp-dev-authorizer-1a2b", "req-1", 1_764_672_000_123);
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_764_672_000_123_u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "serverless-mcp",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{"Name": "Denials", "Unit": "Count"}]
                    }]
                },
                "FunctionName": "mcp-dev-authorizer-1a2b",
                "Denials": 1,
                "requestId": "req-1"
            })
        );
    }

    #[tokio::test]
    async fn denies_missing_and_wrong_keys() {
        let keys = StaticKeys::single("secret-key");
        for headers in [
            vec![],
            vec![("x-api-key", "nope")],
            vec![("authorization", "Basic secret-key")],
        ] {
            let response = authorize(&request(&headers), &keys, AuthorizerMode::KeysOnly).await;
            assert!(!response.is_authorized, "{headers:?}");
            let wire = serde_json::to_value(&response).unwrap();
            assert_eq!(wire, json!({"isAuthorized": false, "context": {}}));
        }
    }

    #[test]
    fn the_mode_comes_from_mcp_auth_mode() {
        for (value, mode) in [
            (None, AuthorizerMode::KeysOnly),
            (Some(""), AuthorizerMode::KeysOnly),
            (Some("api-key"), AuthorizerMode::KeysOnly),
            (Some(" both "), AuthorizerMode::KeysOrOAuth),
        ] {
            assert_eq!(AuthorizerMode::from_env(value), Ok(mode), "{value:?}");
        }
        for bad in ["oauth", "Both", "apiKey"] {
            let err = AuthorizerMode::from_env(Some(bad)).unwrap_err();
            assert!(err.contains("MCP_AUTH_MODE"), "{err}");
        }
    }

    #[test]
    fn decisions_in_each_mode() {
        let allowed = || KeyDecision::Allowed {
            key_id: "laptop".into(),
        };
        for mode in [AuthorizerMode::KeysOnly, AuthorizerMode::KeysOrOAuth] {
            let wire = serde_json::to_value(response(allowed(), mode)).unwrap();
            assert_eq!(
                wire,
                json!({"isAuthorized": true, "context": {"keyId": "laptop"}})
            );
        }
        let denied = serde_json::to_value(response(KeyDecision::Denied, AuthorizerMode::KeysOnly));
        assert_eq!(
            denied.unwrap(),
            json!({"isAuthorized": false, "context": {}})
        );
        // `both`: never denied; without a valid key, no keyId for the function to trust.
        let through =
            serde_json::to_value(response(KeyDecision::Denied, AuthorizerMode::KeysOrOAuth));
        assert_eq!(
            through.unwrap(),
            json!({"isAuthorized": true, "context": {}})
        );
    }

    #[tokio::test]
    async fn both_mode_lets_missing_wrong_and_bearer_tokens_through_without_a_key_id() {
        let keys = StaticKeys::single("secret-key");
        for headers in [
            vec![],
            vec![("x-api-key", "nope")],
            vec![("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")],
        ] {
            let response = authorize(&request(&headers), &keys, AuthorizerMode::KeysOrOAuth).await;
            assert!(response.is_authorized, "{headers:?}");
            assert_eq!(response.context, json!({}), "{headers:?}");
        }
        let response = authorize(
            &request(&[("x-api-key", "secret-key")]),
            &keys,
            AuthorizerMode::KeysOrOAuth,
        )
        .await;
        assert!(response.is_authorized);
        assert_eq!(response.context, json!({"keyId": "default"}));
    }
}
