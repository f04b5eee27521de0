//! The MCP server handler: server info, instructions, protocol versions, and tool calls
//! dispatched through rmcp's tool router, which is built from the tool registry.

use std::{
    borrow::Cow,
    sync::{Arc, OnceLock},
    time::Instant,
};

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::{
        router::tool::{ToolRoute, ToolRouter},
        tool::ToolCallContext,
    },
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
        ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
        ServerResult, Tool,
    },
    service::RequestContext,
};
use serde_json::Value;
use tracing::Instrument;

use crate::{
    SERVER_NAME,
    metrics::{Metrics, Outcome, RequestId, UNKNOWN_TOOL},
    tools::{self, Call, CallContext, Deps, ToolEntry},
};

/// The protocol versions this server negotiates (Streamable HTTP exists since 2025-03-26).
pub const SUPPORTED_VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2026_07_28,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
];

/// How long clients may cache `tools/list` (it changes only with a deploy).
const TOOL_LIST_TTL_MS: u64 = 5 * 60 * 1000;

struct ServerState {
    deps: Arc<Deps>,
    entries: Vec<ToolEntry>,
    instructions: String,
    /// Built on first use: generating the schemas is most of a cold start's init (~2 ms),
    /// and `initialize` does not need them.
    tools: OnceLock<ToolSet>,
    /// Per-tool metrics (EMF lines), when on.
    metrics: Option<Metrics>,
}

struct ToolSet {
    router: ToolRouter<McpServer>,
    /// What `tools/list` returns.
    catalog: Vec<Tool>,
    /// The `tools/list` result as sent to pre-2026-07-28 peers, serialized once.
    legacy_list_json: String,
}

impl ToolSet {
    fn build(entries: &[ToolEntry]) -> Self {
        let mut router = ToolRouter::new();
        for entry in entries {
            router.add_route(route(entry));
        }
        let catalog = router.list_all();
        let mut legacy = ServerResult::ListToolsResult(tool_list(&catalog));
        legacy.strip_result_type_for_legacy_peer();
        let legacy_list_json = serde_json::to_string(&legacy).expect("tool lists serialize");
        Self {
            router,
            catalog,
            legacy_list_json,
        }
    }
}

/// rmcp's route for one registered tool.
fn route(entry: &ToolEntry) -> ToolRoute<McpServer> {
    let call = entry.call;
    ToolRoute::new_dyn(
        entry.describe(),
        move |context: ToolCallContext<'_, McpServer>| {
            let deps = context.service.state.deps.clone();
            let arguments = Value::Object(context.arguments.unwrap_or_default());
            let request = context.request_context;
            Box::pin(async move {
                let result: Result<CallToolResult, ErrorData> = match call {
                    Call::Sync(call) => call(&deps, &arguments),
                    Call::WithContext(call) => {
                        let progress = request.meta.get_progress_token();
                        let context = CallContext::new(request.peer, progress, request.ct);
                        call(deps, arguments, context).await
                    }
                };
                result.map(CallToolResponse::from)
            })
        },
    )
}

/// The `tools/list` result. The list is fixed for a deployment: clients and proxies may cache it.
fn tool_list(catalog: &[Tool]) -> ListToolsResult {
    ListToolsResult::with_all_items(catalog.to_vec())
        .with_ttl_ms(TOOL_LIST_TTL_MS)
        .with_cache_scope(CacheScope::Public)
}

/// The per-request handler. rmcp builds one per request, so it is a cheap `Arc` clone and the
/// tool router is built once (on first use).
#[derive(Clone)]
pub struct McpServer {
    state: Arc<ServerState>,
}

impl McpServer {
    /// A server with every tool of the registry.
    pub fn new(deps: Deps) -> Self {
        Self::with_tools(deps, tools::registry())
    }

    /// A server with these tools (a fork's tests, or a server with extra tools).
    pub fn with_tools(deps: Deps, entries: Vec<ToolEntry>) -> Self {
        Self {
            state: Arc::new(ServerState {
                deps: Arc::new(deps),
                instructions: tools::instructions(&entries),
                entries,
                tools: OnceLock::new(),
                metrics: None,
            }),
        }
    }

    /// The same server, recording every `tools/call` in `metrics`. Call it before the server
    /// is cloned (it panics otherwise): the setting is shared by every clone.
    pub fn with_metrics(mut self, metrics: Option<Metrics>) -> Self {
        Arc::get_mut(&mut self.state)
            .expect("metrics are set before the server is shared")
            .metrics = metrics;
        self
    }

    /// Records one `tools/call` when metrics are on. `tool` is a registered name or `None`.
    fn record(
        &self,
        tool: Option<&str>,
        outcome: Outcome,
        started: Instant,
        request_id: Option<&str>,
    ) {
        if let Some(metrics) = &self.state.metrics {
            let tool = tool.unwrap_or(UNKNOWN_TOOL);
            metrics.tool_call(tool, outcome, started.elapsed(), request_id);
        }
    }

    fn tool_set(&self) -> &ToolSet {
        self.state
            .tools
            .get_or_init(|| ToolSet::build(&self.state.entries))
    }

    /// Every tool this server lists.
    pub fn tools(&self) -> &[Tool] {
        &self.tool_set().catalog
    }

    /// The server instructions sent in `initialize`.
    pub fn instructions(&self) -> &str {
        &self.state.instructions
    }

    /// The `tools/list` result for pre-2026-07-28 peers, as JSON.
    pub fn legacy_tool_list_json(&self) -> &str {
        &self.tool_set().legacy_list_json
    }

    /// Calls a tool that needs nothing from the request (the fast path); `None` for unknown
    /// tools and for tools that need the request context, which rmcp serves.
    pub fn call_sync(
        &self,
        name: &str,
        arguments: &Value,
    ) -> Option<Result<CallToolResult, ErrorData>> {
        self.call_sync_for(name, arguments, None)
    }

    /// [`Self::call_sync`] for a request: `request_id` (the Lambda invocation's) goes into the
    /// metrics line.
    pub fn call_sync_for(
        &self,
        name: &str,
        arguments: &Value,
        request_id: Option<&str>,
    ) -> Option<Result<CallToolResult, ErrorData>> {
        let entry = self.state.entries.iter().find(|e| e.spec.name == name)?;
        let Call::Sync(call) = entry.call else {
            return None;
        };
        let started = Instant::now();
        let result = call(&self.state.deps, arguments);
        self.record(Some(entry.spec.name), outcome(&result), started, request_id);
        Some(result)
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
                    .with_title("serverless-mcp"),
            )
            .with_instructions(self.instructions())
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&SUPPORTED_VERSIONS)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().iter().find(|tool| tool.name == name).cloned()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(tool_list(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let started = Instant::now();
        let request_id = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestId>())
            .map(|id| id.0.clone());
        let router = &self.tool_set().router;
        if !router.has_route(&request.name) {
            self.record(None, Outcome::Error, started, request_id.as_deref());
            return Err(ErrorData::invalid_params(
                format!(
                    "Unknown tool: {}. Call tools/list to see the available tools.",
                    request.name
                ),
                Some(serde_json::json!({ "tool": request.name })),
            ));
        }
        // The registered name, not the client's string (same text, but bounded by the registry).
        let tool = self
            .state
            .entries
            .iter()
            .find(|e| e.spec.name == request.name)
            .map(|e| e.spec.name);
        // rmcp runs the handler in a task of its own, outside the Lambda invoke's span: this
        // span gives the tool's log lines the request id again.
        let span = match &request_id {
            Some(id) => tracing::info_span!("tool call", requestId = id.as_str()),
            None => tracing::Span::none(),
        };
        let response = router
            .call(ToolCallContext::new(self, request, context))
            .instrument(span)
            .await;
        let outcome = match &response {
            Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                Outcome::Error
            }
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Error,
        };
        self.record(tool, outcome, started, request_id.as_deref());
        response
    }
}

/// A tool error (`isError: true`) and a JSON-RPC error both count as errors.
fn outcome(result: &Result<CallToolResult, ErrorData>) -> Outcome {
    match result {
        Ok(result) if result.is_error != Some(true) => Outcome::Success,
        _ => Outcome::Error,
    }
}
