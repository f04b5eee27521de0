//! Who is calling: the API key's id, from API Gateway's authorizer or from the key itself.

use axum::{
    http::{HeaderMap, StatusCode, header},
    response::Response,
};

use super::{error_response, header_str};
use crate::config::{AppConfig, RunMode};

/// A request API Gateway's Lambda authorizer let through, for this key id. Only the Lambda
/// serving module adds it (from the request context a client cannot set); the app trusts it
/// behind API Gateway and nowhere else.
#[derive(Clone, Debug)]
pub struct GatewayAuthorized {
    pub key_id: String,
}

/// The id of the caller's key: from API Gateway's verdict, else the `x-api-key` or
/// `Authorization: Bearer` key checked (in constant time) against the configured keys.
/// `None` when there is no valid key.
pub async fn key_id(
    config: &AppConfig,
    extensions: &http::Extensions,
    headers: &HeaderMap,
) -> Option<String> {
    if config.mode == RunMode::ApiGateway
        && let Some(verdict) = extensions.get::<GatewayAuthorized>()
    {
        return Some(verdict.key_id.clone());
    }
    let key = authorizer::presented_key(
        header_str(headers, "x-api-key"),
        header_str(headers, header::AUTHORIZATION),
    )?;
    match config.keys.verify(key).await {
        authorizer::KeyDecision::Allowed { key_id } => Some(key_id),
        authorizer::KeyDecision::Denied => None,
    }
}

pub fn unauthorized() -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid API key is required: send it in the x-api-key header or as Authorization: Bearer <key>.",
    )
}
