//! The API Gateway HTTP API v2 Lambda authorizer (REQUEST type, payload 2.0, simple responses).

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;

use crate::{KeyDecision, KeyVerifier, presented_key};

/// Decides one request: `isAuthorized`, and the key's id (never the key) in the context,
/// which API Gateway hands to the function as `requestContext.authorizer.lambda.keyId`.
pub async fn authorize(
    request: &ApiGatewayV2CustomAuthorizerV2Request,
    verifier: &dyn KeyVerifier,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let decision = match presented_key(header("x-api-key"), header("authorization")) {
        Some(key) => verifier.verify(key).await,
        None => KeyDecision::Denied,
    };
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    if let KeyDecision::Allowed { key_id } = decision {
        response.is_authorized = true;
        response.context = json!({ "keyId": key_id });
    } else {
        response.context = json!({});
    }
    response
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
            let response = authorize(&request(&headers), &keys).await;
            assert!(response.is_authorized);
            assert_eq!(response.context, json!({"keyId": "default"}));
            assert!(
                !serde_json::to_string(&response)
                    .unwrap()
                    .contains("secret-key")
            );
        }
    }

    #[tokio::test]
    async fn denies_missing_and_wrong_keys() {
        let keys = StaticKeys::single("secret-key");
        for headers in [
            vec![],
            vec![("x-api-key", "nope")],
            vec![("authorization", "Basic secret-key")],
        ] {
            let response = authorize(&request(&headers), &keys).await;
            assert!(!response.is_authorized, "{headers:?}");
            let wire = serde_json::to_value(&response).unwrap();
            assert_eq!(wire, json!({"isAuthorized": false, "context": {}}));
        }
    }
}
