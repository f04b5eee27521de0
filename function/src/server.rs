//! The MCP server handler: server info, instructions, protocol versions and tool dispatch.

use std::{
    borrow::Cow,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext},
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, Implementation, JsonObject,
        ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
        ServerResult, Tool,
    },
    service::RequestContext,
};

use crate::{SERVER_NAME, config::RunMode, cost::CostExplorer};

const INSTRUCTIONS: &str = "serverless-mcp: tools running in the user's own AWS account. \
Sample tools: get_weather (mock weather for a city), calculate (exact arithmetic), \
get_server_status (health, version, region, uptime), lookup_user (mock directory by id such as \
u-1001) and simulate_job (a long job that reports progress). AWS Cost Explorer tools: \
get_today_date (start here to build date ranges), get_cost_and_usage, get_cost_forecast, \
get_dimension_values, get_tag_values, get_cost_and_usage_comparisons and \
get_cost_comparison_drivers (why did spend change between two months). Dates are YYYY-MM-DD with \
exclusive end dates; group_by and filter use Cost Explorer's own JSON shapes. Cost answers are \
cached for an hour (each Cost Explorer request costs $0.01). Every tool is read-only. Tool \
failures come back as results with isError=true and a message that says how to fix the call.";

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
    cost: Arc<CostExplorer>,
    mode: RunMode,
    region: String,
    started: Instant,
    /// Built on first use: generating the schemas is most of a cold start's init (~2 ms),
    /// and `initialize` does not need them.
    tools: OnceLock<ToolSet>,
}

struct ToolSet {
    router: ToolRouter<McpServer>,
    /// What `tools/list` returns.
    catalog: Vec<Tool>,
    /// The `tools/list` result as sent to pre-2026-07-28 peers, serialized once.
    legacy_list_json: String,
}

impl ToolSet {
    fn build() -> Self {
        let mut router = crate::tools::router();
        // Cleaned in the router itself, so the catalog shares its schemas instead of holding a
        // second copy of every one.
        router
            .map
            .values_mut()
            .for_each(|route| clean_schemas(&mut route.attr));
        let catalog = router.list_all();
        #[cfg(feature = "conformance")]
        let catalog = {
            let mut catalog = catalog;
            catalog.extend(crate::conformance::tools().into_iter().map(|mut tool| {
                clean_schemas(&mut tool);
                tool
            }));
            catalog
        };
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
    pub fn new(mode: RunMode, region: impl Into<String>, cost: Arc<CostExplorer>) -> Self {
        Self {
            state: Arc::new(ServerState {
                cost,
                mode,
                region: region.into(),
                started: Instant::now(),
                tools: OnceLock::new(),
            }),
        }
    }

    fn tool_set(&self) -> &ToolSet {
        self.state.tools.get_or_init(ToolSet::build)
    }

    pub fn cost(&self) -> &CostExplorer {
        &self.state.cost
    }

    pub fn mode(&self) -> RunMode {
        self.state.mode
    }

    pub fn region(&self) -> &str {
        &self.state.region
    }

    pub fn uptime(&self) -> Duration {
        self.state.started.elapsed()
    }

    /// Every tool this server lists.
    pub fn tools(&self) -> &[Tool] {
        &self.tool_set().catalog
    }

    /// The `tools/list` result.
    pub fn tool_list(&self) -> ListToolsResult {
        tool_list(self.tools())
    }

    /// The `tools/list` result for pre-2026-07-28 peers, as JSON.
    pub fn legacy_tool_list_json(&self) -> &str {
        &self.tool_set().legacy_list_json
    }
}

impl ServerHandler for McpServer {
    #[cfg_attr(feature = "conformance", allow(deprecated))] // logging capability
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools();
        #[cfg(feature = "conformance")]
        let capabilities = capabilities
            .enable_resources()
            .enable_resources_subscribe()
            .enable_prompts()
            .enable_logging()
            .enable_completions();
        ServerConfig::new(capabilities.build())
            .with_server_info(
                Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
                    .with_title("serverless-mcp"),
            )
            .with_instructions(INSTRUCTIONS)
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
        Ok(self.tool_list())
    }

    #[cfg(feature = "conformance")]
    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    #[cfg(feature = "conformance")]
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, ErrorData> {
        Ok(crate::conformance::list_resources())
    }

    #[cfg(feature = "conformance")]
    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, ErrorData> {
        Ok(crate::conformance::list_resource_templates())
    }

    #[cfg(feature = "conformance")]
    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        crate::conformance::read_resource(&request.uri).map(Into::into)
    }

    #[cfg(feature = "conformance")]
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        _request: rmcp::model::SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    #[cfg(feature = "conformance")]
    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        _request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    #[cfg(feature = "conformance")]
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        Ok(crate::conformance::list_prompts())
    }

    #[cfg(feature = "conformance")]
    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        crate::conformance::get_prompt(request)
    }

    #[cfg(feature = "conformance")]
    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        crate::conformance::complete(&request)
    }

    #[cfg(feature = "conformance")]
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        #[cfg(feature = "conformance")]
        if crate::conformance::is_fixture_tool(&request.name) {
            return crate::conformance::call_tool(request, context).await;
        }
        let router = &self.tool_set().router;
        if !router.has_route(&request.name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "Unknown tool: {}. Call tools/list to see the available tools.",
                    request.name
                ),
                Some(serde_json::json!({ "tool": request.name })),
            ));
        }
        let call = ToolCallContext::new(self, request, context);
        router.call(call).await
    }
}

fn clean_schemas(tool: &mut Tool) {
    tool.input_schema = Arc::new(standard_formats(&tool.input_schema));
    if let Some(schema) = &tool.output_schema {
        tool.output_schema = Some(Arc::new(standard_formats(schema)));
    }
}

/// schemars marks Rust integer and float widths with formats (`uint32`, `double`, ...) that
/// JSON Schema does not define; clients' validators (ajv) warn about each. Drop them.
fn standard_formats(schema: &JsonObject) -> JsonObject {
    fn clean(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("format").and_then(|f| f.as_str()).is_some_and(|f| {
                    matches!(
                        f,
                        "int8"
                            | "int16"
                            | "int32"
                            | "int64"
                            | "uint"
                            | "uint8"
                            | "uint16"
                            | "uint32"
                            | "uint64"
                            | "float"
                            | "double"
                    )
                }) {
                    map.remove("format");
                }
                map.values_mut().for_each(clean);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(clean),
            _ => {}
        }
    }
    let mut value = serde_json::Value::Object(schema.clone());
    clean(&mut value);
    match value {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_schemas_use_only_standard_formats() {
        let server = McpServer::new(
            RunMode::Local,
            "local",
            Arc::new(CostExplorer::new(Default::default())),
        );
        let text = serde_json::to_string(server.tools()).unwrap();
        for format in ["uint32", "uint64", "uint8", "double"] {
            assert!(
                !text.contains(&format!("\"{format}\"")),
                "{format} left in {text}"
            );
        }
        assert!(server.get_tool("calculate").is_some());
        assert!(server.get_tool("nope").is_none());
    }
}
