//! The one axum app, built from an [`AppConfig`] and served locally or on Lambda.
//!
//! Request path for `/mcp`: access log → CORS → Host/Origin allow-list → API key → JSON-RPC
//! body checks (size, syntax, batches) → fast path or rmcp's stateless Streamable HTTP service.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use http_body_util::{BodyExt, Limited};
use rmcp::{
    model::ClientJsonRpcMessage,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService,
        streamable_http_server::session::never::NeverSessionManager,
    },
};
use serde_json::{Value, json};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    access_log::{self, AccessLog, KeyId, RpcCall},
    config::{AppConfig, RunMode},
    guard::{host_allowed, origin_allowed},
    server::McpServer,
};

type McpService = StreamableHttpService<McpServer, NeverSessionManager>;

pub struct AppState {
    config: AppConfig,
    mcp: McpService,
    /// The same handler rmcp runs, for the fast path.
    server: McpServer,
}

/// Builds the app: `GET /health` (no auth) and the MCP endpoint at `/mcp`.
pub fn app(config: AppConfig) -> Router {
    let server = McpServer::new(config.mode, config.region.clone(), config.cost.clone());
    // Stateless, JSON replies unless a handler streams first. Host and Origin are checked by
    // our own allow-list (it supports `*.suffix` patterns that Lambda hosts need).
    let transport = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(config.max_body_bytes);
    let for_rmcp = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(for_rmcp.clone()),
        Arc::new(NeverSessionManager::default()),
        transport,
    );
    let state = Arc::new(AppState {
        config,
        mcp,
        server,
    });
    // `/mcp/` too: a trailing slash pasted into a client config should not be a 404.
    let routes = Router::new()
        .route("/mcp", any(mcp_endpoint))
        .route("/mcp/", any(mcp_endpoint))
        .route_layer(cors(&state.config))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state);
    // Around the whole router once (`Router::layer` would wrap each route in turn).
    Router::new().fallback_service(AccessLog(routes))
}

/// CORS for browser-based MCP clients from the allowed origins (loopback locally,
/// `MCP_ALLOWED_ORIGINS` on Lambda). Preflights are answered here, before the key check, as
/// browsers send them without credentials. With no allowed origins, no CORS headers at all.
fn cors(config: &AppConfig) -> CorsLayer {
    let origins = config.allowed_origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin.to_str().is_ok_and(|o| origin_allowed(o, &origins))
        }))
        .allow_methods([Method::POST, Method::GET, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-method"),
            HeaderName::from_static("last-event-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

async fn health() -> Json<Value> {
    Json(json!({
        "status": "ok",
        "server": crate::SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such endpoint. The MCP endpoint is /mcp.",
    )
}

/// A plain HTTP error with a small JSON body (for failures before JSON-RPC is involved).
fn error_response(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

/// A JSON-RPC error object as the HTTP reply.
fn rpc_error(status: StatusCode, id: Value, code: i32, message: String) -> Response {
    let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------------
// Guards

/// DNS-rebinding protection: only listed Hosts, and only listed browser Origins.
fn host_or_origin_refusal(config: &AppConfig, request: &Request) -> Option<Response> {
    let host_ok = match header_str(request.headers(), header::HOST) {
        Some(host) => host_allowed(host, &config.allowed_hosts),
        None => request
            .uri()
            .authority()
            .is_some_and(|a| host_allowed(a.as_str(), &config.allowed_hosts)),
    };
    if !host_ok {
        return Some(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Host header is not allowed.",
        ));
    }
    if let Some(origin) = header_str(request.headers(), header::ORIGIN)
        && !config.allowed_origins.is_empty()
        && !origin_allowed(origin, &config.allowed_origins)
    {
        return Some(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Origin is not allowed.",
        ));
    }
    None
}

/// The key id API Gateway's Lambda authorizer put in the request context: trusted behind API
/// Gateway (a client cannot set it) and only there.
fn authorizer_key_id(config: &AppConfig, request: &Request) -> Option<String> {
    if config.mode != RunMode::ApiGateway {
        return None;
    }
    match request
        .extensions()
        .get::<lambda_http::request::RequestContext>()?
    {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()?
            .fields
            .get("keyId")?
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

/// The id of the client's API key (`x-api-key` or `Authorization: Bearer`, checked in constant
/// time); `None` when there is no valid key.
async fn verified_key_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let key = authorizer::presented_key(
        header_str(headers, "x-api-key"),
        header_str(headers, header::AUTHORIZATION),
    )?;
    match state.config.keys.verify(key).await {
        authorizer::KeyDecision::Allowed { key_id } => Some(key_id),
        authorizer::KeyDecision::Denied => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The MCP endpoint

/// The protocol version assumed when a request has no `MCP-Protocol-Version` header.
const DEFAULT_PROTOCOL_VERSION: &str = "2025-03-26";
/// Most messages one batch may carry (only 2025-03-26 allows batches).
const MAX_BATCH_LEN: usize = 32;

/// rmcp checks Accept (406) and Content-Type (415) itself; our JSON-RPC checks only apply to
/// requests that pass both, so rmcp's answer stays authoritative for those errors.
fn is_json_rpc_post(request: &Request) -> bool {
    let headers = request.headers();
    let content_type_is_json = header_str(headers, header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    });
    let accepts = |media: &str| {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',').any(|entry| {
                    entry
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .eq_ignore_ascii_case(media)
                })
            })
    };
    request.method() == Method::POST
        && content_type_is_json
        && accepts("application/json")
        && accepts("text/event-stream")
}

/// `/mcp`: the Host/Origin allow-list, then the API key, then the MCP exchange. Plain
/// functions rather than middleware layers: one handler call per request instead of a boxed,
/// cloned service stack per layer.
async fn mcp_endpoint(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if let Some(refusal) = host_or_origin_refusal(&state.config, &request) {
        return refusal;
    }
    // The conformance suite cannot send an API key; that test build serves without one.
    let key_id = if cfg!(feature = "conformance") {
        None
    } else {
        let key_id = match authorizer_key_id(&state.config, &request) {
            Some(key_id) => Some(key_id),
            None => verified_key_id(&state, request.headers()).await,
        };
        if key_id.is_none() {
            return error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid API key is required: send it in the x-api-key header or as Authorization: Bearer <key>.",
            );
        }
        key_id
    };
    let mut response = serve_mcp(&state, request).await;
    if let Some(key_id) = key_id.filter(|_| access_log::enabled()) {
        response.extensions_mut().insert(KeyId(key_id));
    }
    response
}

async fn serve_mcp(state: &AppState, request: Request) -> Response {
    if !is_json_rpc_post(&request) {
        return serve_with_rmcp(state, request).await;
    }
    let limit = state.config.max_body_bytes;
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Value::Null,
                -32600,
                format!("Request body is larger than the {limit}-byte limit."),
            );
        }
        Err(_) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                "Could not read the request body.".into(),
            );
        }
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(error) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                format!("Parse error: {error}"),
            );
        }
    };
    match message {
        Value::Object(_) => {
            if let Some(response) = invalid_params(&message) {
                return response;
            }
            forward_one(
                state,
                Request::from_parts(parts, Body::from(bytes)),
                &message,
            )
            .await
        }
        // Boxed: rare, and its future would otherwise enlarge every request's.
        Value::Array(items) => Box::pin(batch(state, &parts, items)).await,
        _ => rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            "Invalid Request: the body must be a JSON-RPC 2.0 message object.".into(),
        ),
    }
}

/// rmcp's service, its future boxed: it is several kilobytes, and inline every request's
/// future (fast path included) would carry that much, allocated and freed per request.
async fn serve_with_rmcp(state: &AppState, request: Request) -> Response {
    Box::pin(state.mcp.handle(request)).await.into_response()
}

fn parts_to_request(parts: &http::request::Parts, body: impl Into<Body>) -> Request {
    let mut request = Request::new(body.into());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    request
}

/// Passes one message to rmcp. rmcp answers a message it cannot decode with a plain-text 415;
/// since the Content-Type was right, that means a malformed JSON-RPC message, so it is
/// answered as JSON-RPC: -32600 for a bad envelope, -32602 for bad params of a known method.
async fn forward_one(state: &AppState, request: Request, message: &Value) -> Response {
    // Only for the access log: not built when it is off.
    let call = access_log::enabled().then(|| RpcCall {
        method: message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned),
        tool: message
            .pointer("/params/name")
            .and_then(Value::as_str)
            .map(str::to_owned),
    });
    let fast = if state.config.fast_path {
        crate::fast_path::answer(&state.server, request.headers(), message).await
    } else {
        None
    };
    let mut response = match fast {
        Some(response) => response,
        None => serve_with_rmcp(state, request).await,
    };
    if response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        response = malformed_message(message);
    }
    if let Some(call) = call {
        response.extensions_mut().insert(call);
    }
    response
}

fn malformed_message(message: &Value) -> Response {
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let detail = match serde_json::from_value::<ClientJsonRpcMessage>(message.clone()) {
        Err(error) => error.to_string(),
        Ok(_) => "the message could not be processed".into(),
    };
    let envelope_ok = message.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        && message.get("method").is_some_and(Value::is_string);
    if envelope_ok {
        rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32602,
            format!("Invalid params: {detail}"),
        )
    } else {
        rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "Invalid Request: expected a JSON-RPC 2.0 message with \"jsonrpc\": \"2.0\" and a string \"method\"."
                .into(),
        )
    }
}

/// rmcp reads a standard request whose params do not fit as an unknown custom method
/// (-32601). For the methods whose params are required, catch that here as -32602.
fn invalid_params(message: &Value) -> Option<Response> {
    let method = message.get("method")?.as_str()?;
    if !matches!(
        method,
        "tools/call"
            | "resources/read"
            | "prompts/get"
            | "completion/complete"
            | "logging/setLevel"
    ) {
        return None;
    }
    let params = message.get("params");
    let problem = match params {
        Some(Value::Object(params)) if method == "tools/call" => {
            if !params.get("name").is_some_and(Value::is_string) {
                "`params.name` must be the tool name as a string"
            } else if params
                .get("arguments")
                .is_some_and(|a| !a.is_object() && !a.is_null())
            {
                "`params.arguments` must be an object"
            } else {
                return None;
            }
        }
        Some(Value::Object(_)) => return None,
        _ => "`params` must be an object",
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    Some(rpc_error(
        StatusCode::OK,
        id,
        -32602,
        format!("Invalid params for {method}: {problem}."),
    ))
}

/// JSON-RPC batches exist only in protocol version 2025-03-26. There each message is served
/// in turn and the replies (not notifications' 202s) come back as one JSON array.
async fn batch(state: &AppState, parts: &http::request::Parts, items: Vec<Value>) -> Response {
    let version =
        header_str(&parts.headers, "mcp-protocol-version").unwrap_or(DEFAULT_PROTOCOL_VERSION);
    if version != DEFAULT_PROTOCOL_VERSION {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            format!(
                "Invalid Request: JSON-RPC batches are not allowed in MCP protocol version {version}; send one message per request."
            ),
        );
    }
    if items.is_empty() || items.len() > MAX_BATCH_LEN {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            format!(
                "Invalid Request: a batch must hold 1 to {MAX_BATCH_LEN} messages, got {}.",
                items.len()
            ),
        );
    }
    let mut replies = Vec::new();
    for item in items {
        if !item.is_object() {
            replies.push(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid Request: batch entries must be JSON-RPC message objects."}}));
            continue;
        }
        let request = parts_to_request(parts, serde_json::to_vec(&item).unwrap_or_default());
        let response = forward_one(state, request, &item).await;
        replies.extend(reply_messages(response).await);
    }
    if replies.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    let mut response = Json(Value::Array(replies)).into_response();
    response.extensions_mut().insert(RpcCall {
        method: Some("batch".into()),
        tool: None,
    });
    response
}

/// The JSON-RPC responses in one reply: a JSON body, or the `data:` events of an SSE body
/// (progress notifications are dropped: a batch reply is a single JSON array).
async fn reply_messages(response: Response) -> Vec<Value> {
    let is_sse = header_str(response.headers(), header::CONTENT_TYPE)
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let status = response.status();
    let Ok(body) = response.into_body().collect().await.map(|c| c.to_bytes()) else {
        return Vec::new();
    };
    if status == StatusCode::ACCEPTED {
        return Vec::new();
    }
    let messages: Vec<Value> = if is_sse {
        String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str(data.trim()).ok())
            .collect()
    } else {
        serde_json::from_slice(&body).into_iter().collect()
    };
    messages
        .into_iter()
        .filter(|m| m.get("id").is_some() && m.get("method").is_none())
        .collect()
}
