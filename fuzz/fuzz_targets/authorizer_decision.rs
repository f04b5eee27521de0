//! Arbitrary bytes → the API Gateway authorizer's event (as JSON, or else as raw header lines
//! on a real event) → the decision. Never a panic; a request is authorized (`api-key` mode) or
//! carries a `keyId` (`both` mode) exactly when it presents the key; the key never leaks.
#![no_main]

use authorizer::{
    StaticKeys,
    lambda::{AuthorizerMode, authorize},
};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use serverless_mcp_fuzz::{KEY, runtime};

const FIXTURE: &str = include_str!(
    "../../authorizer/tests/fixtures/example-apigw-v2-custom-authorizer-v2-request.json"
);

/// The input as an event, or the fixture's event with the input's `name: value` lines as its
/// headers (any bytes a header may hold, which JSON strings cannot).
fn event(data: &[u8]) -> ApiGatewayV2CustomAuthorizerV2Request {
    if let Ok(event) = serde_json::from_slice(data) {
        return event;
    }
    let mut event: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(FIXTURE).expect("the fixture parses");
    event.headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            event.headers.append(name, value);
        }
    }
    event
}

/// Whether the request presents [`KEY`], written from the documented rule: `x-api-key` when
/// present and not blank, else `Authorization: Bearer <key>`.
fn presents_the_key(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match get("x-api-key").map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => key == KEY,
        None => get("authorization")
            .and_then(|a| a.trim().split_once(' '))
            .is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && token.trim() == KEY
            }),
    }
}

fuzz_target!(|data: &[u8]| {
    let event = event(data);
    let keys = StaticKeys::single(KEY);
    let expected = presents_the_key(&event.headers);
    for mode in [AuthorizerMode::KeysOnly, AuthorizerMode::KeysOrOAuth] {
        let response = runtime().block_on(authorize(&event, &keys, mode));
        let has_key_id = response.context.get("keyId").is_some();
        assert_eq!(
            has_key_id, expected,
            "{mode:?}: keyId present = {has_key_id}"
        );
        let authorized = expected || mode == AuthorizerMode::KeysOrOAuth;
        assert_eq!(response.is_authorized, authorized, "{mode:?}");
        let wire = serde_json::to_string(&response).expect("the response serializes");
        assert!(!wire.contains(KEY), "the key leaked: {wire}");
    }
});
