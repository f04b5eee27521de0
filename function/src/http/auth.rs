//! Who is calling `/mcp`: an API key's id (API Gateway's verdict, or the key checked here), or
//! an OAuth user (a bearer access token minted by the facade), as `MCP_AUTH_MODE` allows.

use axum::{
    http::{HeaderMap, StatusCode, header},
    response::Response,
};

use super::{
    AppState, error_response, header_str,
    oauth::{TokenRefusal, base_url, refusal_response, verify_bearer},
};
use crate::config::RunMode;

/// A request API Gateway's Lambda authorizer let through, for this key id. Only the Lambda
/// serving module adds it (from the request context a client cannot set); the app trusts it
/// behind API Gateway and nowhere else.
#[derive(Clone, Debug)]
pub struct GatewayAuthorized {
    pub key_id: String,
}

/// Whether a bearer credential is a JWT (our access tokens) rather than an API key sent as
/// `Authorization: Bearer <key>`: three base64url parts, the first a JSON object.
fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|&b| b == b'.').count() == 2
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    authorizer::presented_key(None, header_str(headers, header::AUTHORIZATION))
}

/// The caller's id for the access log (`key id`, or `user:<sub>`), or the refusal to send.
/// Headers and extensions rather than the request: the body is not `Sync`.
pub(super) async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<String, Response> {
    let config = &state.config;
    if config.mode == RunMode::ApiGateway
        && let Some(verdict) = extensions.get::<GatewayAuthorized>()
    {
        return Ok(verdict.key_id.clone());
    }
    let tokens = config.auth.accepts_tokens() && config.oauth.is_some();
    // Two keys or two Authorization headers are ambiguous (which one was checked?): refused,
    // as API Gateway would join them into one value that matches no key.
    if headers.get_all("x-api-key").iter().count() > 1
        || headers.get_all(header::AUTHORIZATION).iter().count() > 1
    {
        return Err(unauthorized());
    }
    let x_api_key = header_str(headers, "x-api-key").filter(|k| !k.trim().is_empty());
    let token = bearer(headers);
    let mut key_refused = false;
    if config.auth.accepts_keys() {
        // With tokens accepted too, a JWT in Authorization is a token, not a key.
        let key = match (x_api_key, token) {
            (Some(key), _) => Some(key.trim()),
            (None, Some(t)) if !(tokens && looks_like_jwt(t)) => Some(t),
            _ => None,
        };
        if let Some(key) = key {
            match config.keys.verify(key).await {
                authorizer::KeyDecision::Allowed { key_id } => return Ok(key_id),
                authorizer::KeyDecision::Denied => key_refused = true,
            }
        }
    }
    if !tokens {
        return Err(unauthorized());
    }
    let Some(base) = base_url(state, headers, extensions) else {
        return Err(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Host header is not allowed.",
        ));
    };
    match token.filter(|t| !key_refused || looks_like_jwt(t)) {
        Some(token) => match verify_bearer(state, token, &base).await {
            Ok(claims) => Ok(format!("user:{}", claims.sub)),
            Err(refusal) => Err(refusal_response(refusal, &base)),
        },
        None if key_refused => Err(refusal_response(TokenRefusal::Invalid("api_key"), &base)),
        None => Err(refusal_response(TokenRefusal::Missing, &base)),
    }
}

pub fn unauthorized() -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid API key is required: send it in the x-api-key header or as Authorization: Bearer <key>.",
    )
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn jwts_are_told_from_api_keys() {
        assert!(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"));
        assert!(!looks_like_jwt("smcp_0123abcd"));
        assert!(!looks_like_jwt("eyJ-not-a-jwt"));
        assert!(!looks_like_jwt("a.b.c"));
    }
}
