//! The MCP layer: one Streamable HTTP exchange at `/mcp`, after the HTTP edge has checked
//! Host, Origin and the API key. JSON-RPC envelope checks (size, syntax, batches), then the
//! fast path or rmcp's stateless Streamable HTTP service running [`McpServer`].

mod fast_path;
pub mod handler;

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::Request,
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Limited};
use rmcp::{
    ServerHandler,
    model::ClientJsonRpcMessage,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService,
        streamable_http_server::session::never::NeverSessionManager,
    },
};
use serde_json::{Value, json};

use crate::metrics::RequestId;
pub use handler::McpServer;

/// What one request did, for the access log: the endpoint adds it to the response.
#[derive(Clone, Debug)]
pub struct RpcCall {
    pub method: Option<String>,
    pub tool: Option<String>,
}

/// Whether the access log is on: the endpoint only records what it would print when it is.
pub fn access_log_enabled() -> bool {
    tracing::enabled!(tracing::Level::INFO)
}

/// rmcp's Streamable HTTP service for some handler, behind one object-safe call.
trait RmcpService: Send + Sync {
    /// Boxed: rmcp's future is several kilobytes, and inline every request's future (fast path
    /// included) would carry that much, allocated and freed per request.
    fn handle(&self, request: Request) -> BoxFuture<'_, Response>;
}

impl<S: ServerHandler + Clone + Send + Sync + 'static> RmcpService
    for StreamableHttpService<S, NeverSessionManager>
{
    fn handle(&self, request: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            StreamableHttpService::handle(self, request)
                .await
                .into_response()
        })
    }
}

/// The `/mcp` endpoint's MCP side.
pub struct Endpoint {
    rmcp: Box<dyn RmcpService>,
    /// The product's handler, for the fast path; `None` serves everything through rmcp.
    fast_path: Option<McpServer>,
    max_body_bytes: usize,
}

impl Endpoint {
    /// The product: [`McpServer`], with the fast path when `fast_path` is set.
    pub fn new(server: McpServer, fast_path: bool, max_body_bytes: usize) -> Self {
        let fast = fast_path.then(|| server.clone());
        Self {
            fast_path: fast,
            ..Self::with_handler(server, max_body_bytes)
        }
    }

    /// Any rmcp handler (e.g. one that wraps [`McpServer`] with more capabilities), all through
    /// rmcp.
    pub fn with_handler<S>(handler: S, max_body_bytes: usize) -> Self
    where
        S: ServerHandler + Clone + Send + Sync + 'static,
    {
        // Stateless, JSON replies unless a handler streams first. Host and Origin are checked
        // by the HTTP edge's allow-list (it supports `*.suffix` patterns Lambda hosts need).
        let transport = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_max_request_body_bytes(max_body_bytes);
        let rmcp = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            transport,
        );
        Self {
            rmcp: Box::new(rmcp),
            fast_path: None,
            max_body_bytes,
        }
    }

    /// Serves one `/mcp` request.
    pub async fn serve(&self, request: Request) -> Response {
        if !is_json_rpc_post(&request) {
            return self.rmcp.handle(request).await;
        }
        let limit = self.max_body_bytes;
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
                self.forward_one(Request::from_parts(parts, Body::from(bytes)), &message)
                    .await
            }
            // Boxed: rare, and its future would otherwise enlarge every request's.
            Value::Array(items) => Box::pin(self.batch(&parts, items)).await,
            _ => rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                "Invalid Request: the body must be a JSON-RPC 2.0 message object.".into(),
            ),
        }
    }

    /// Passes one message to rmcp. rmcp answers a message it cannot decode with a plain-text 415;
    /// since the Content-Type was right, that means a malformed JSON-RPC message, so it is
    /// answered as JSON-RPC: -32600 for a bad envelope, -32602 for bad params of a known method.
    async fn forward_one(&self, request: Request, message: &Value) -> Response {
        if let Some(refusal) = invalid_envelope(message) {
            return refusal;
        }
        // Only for the access log: not built when it is off.
        let call = access_log_enabled().then(|| RpcCall {
            method: message
                .get("method")
                .and_then(Value::as_str)
                .map(str::to_owned),
            tool: message
                .pointer("/params/name")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
        let fast = self.fast_path.as_ref().and_then(|server| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.0.as_str());
            fast_path::answer(server, request.headers(), message, request_id)
        });
        let mut response = match fast {
            Some(response) => response,
            None => self.rmcp.handle(request).await,
        };
        if response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            response = malformed_message(message);
        }
        if let Some(call) = call {
            response.extensions_mut().insert(call);
        }
        response
    }

    /// JSON-RPC batches exist only in protocol version 2025-03-26. There each message is served
    /// in turn and the replies (not notifications' 202s) come back as one JSON array.
    async fn batch(&self, parts: &http::request::Parts, items: Vec<Value>) -> Response {
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
            let body = serde_json::to_vec(&item).unwrap_or_default();
            let request = Request::from_parts(parts.clone(), Body::from(body));
            let response = self.forward_one(request, &item).await;
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
}

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
/// A request whose id cannot be echoed faithfully (not a string or a 64-bit integer: objects,
/// arrays, booleans, null, fractions, integers past 64 bits that would come back rounded), or
/// that also carries `result`/`error`, is not a valid JSON-RPC request: -32600 with id null.
fn invalid_envelope(message: &Value) -> Option<Response> {
    message.get("method")?;
    let id_ok = match message.get("id") {
        None | Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_i64() || n.is_u64(),
        Some(_) => false,
    };
    let problem = if !id_ok {
        "`id` must be a string or an integer"
    } else if message.get("result").is_some() || message.get("error").is_some() {
        "a request carries no `result` or `error`"
    } else {
        return None;
    };
    Some(rpc_error(
        StatusCode::BAD_REQUEST,
        Value::Null,
        -32600,
        format!("Invalid Request: {problem}."),
    ))
}

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

/// A JSON-RPC error object as the HTTP reply.
fn rpc_error(status: StatusCode, id: Value, code: i32, message: String) -> Response {
    let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

/// A header's value as text; `None` when absent or not visible ASCII.
pub(crate) fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
