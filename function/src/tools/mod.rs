//! The tools, and [`registry`]: the only list of them.
//!
//! A tool is one file: a type implementing [`Tool`] (needs nothing from the request) or
//! [`ToolWithContext`] (reports progress or honours cancellation), with its [`ToolSpec`], its
//! argument and output types, and its logic. Everything else is derived from the registry:
//! rmcp's tool router and `tools/list`, the fast path's dispatch table, the server
//! instructions, the README's tool table, the fast-path test's cases (each tool's example)
//! and the IAM actions the Pulumi program grants (`infra/tool-actions.txt`).
//!
//! Tools never see HTTP or the server type: they get [`Deps`].

mod args;
pub mod calculate;
pub mod cost_explorer;
pub mod lookup_user;
pub mod schema;
pub mod server_status;
pub mod simulate_job;
pub mod weather;

use std::{future::Future, pin::Pin, sync::Arc, time::Instant};

use rmcp::{
    ErrorData, RoleServer,
    model::{CallToolResult, ContentBlock, JsonObject, ProgressNotificationParam, ProgressToken},
    service::Peer,
};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use args::parse_arguments;

use crate::{
    config::RunMode,
    cost::{CostError, CostExplorer, InputError, PageProgress},
};

/// Every tool this server offers. Adding a tool: one file in `tools/`, one line here.
pub fn registry() -> Vec<ToolEntry> {
    vec![
        ToolEntry::sync::<weather::GetWeather>(),
        ToolEntry::sync::<calculate::Calculate>(),
        ToolEntry::sync::<server_status::GetServerStatus>(),
        ToolEntry::sync::<lookup_user::LookupUser>(),
        ToolEntry::with_context::<simulate_job::SimulateJob>(),
        ToolEntry::sync::<cost_explorer::GetTodayDate>(),
        ToolEntry::with_context::<cost_explorer::GetDimensionValues>(),
        ToolEntry::with_context::<cost_explorer::GetTagValues>(),
        ToolEntry::with_context::<cost_explorer::GetCostAndUsage>(),
        ToolEntry::with_context::<cost_explorer::GetCostForecast>(),
        ToolEntry::with_context::<cost_explorer::GetCostAndUsageComparisons>(),
        ToolEntry::with_context::<cost_explorer::GetCostComparisonDrivers>(),
    ]
}

/// What a tool says about itself.
pub struct ToolSpec {
    /// The MCP tool name clients call.
    pub name: &'static str,
    /// Human-readable title.
    pub title: &'static str,
    /// What the model reads in `tools/list`.
    pub description: &'static str,
    /// A few words for the server instructions: "name (summary)".
    pub summary: &'static str,
    pub hints: Hints,
    /// The AWS API actions the tool calls; the Pulumi program grants exactly these.
    pub iam_actions: &'static [&'static str],
    /// Arguments of a typical call, as JSON: the README guide, the fast-path equivalence test,
    /// and a test that every example succeeds.
    pub example: &'static str,
}

/// MCP tool annotations.
#[derive(Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    /// Talks to the outside world (an AWS API), not only this process.
    pub open_world: bool,
}

impl Hints {
    /// Read-only, computed in this process, same answer each time.
    pub const LOCAL: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    /// Read-only calls to an AWS API.
    pub const AWS: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
}

/// The shared services tools use, built once per process.
pub struct Deps {
    pub cost: Arc<CostExplorer>,
    pub mode: RunMode,
    /// AWS region, or "local".
    pub region: String,
    pub started: Instant,
}

impl Deps {
    pub fn new(mode: RunMode, region: impl Into<String>, cost: Arc<CostExplorer>) -> Self {
        Self {
            cost,
            mode,
            region: region.into(),
            started: Instant::now(),
        }
    }
}

/// A successful answer: a short summary for the model to read, and the data as
/// `structuredContent` (matching the tool's `outputSchema`).
pub struct Reply<T> {
    pub summary: String,
    pub data: T,
}

impl<T> Reply<T> {
    pub fn new(summary: impl Into<String>, data: T) -> Self {
        Self {
            summary: summary.into(),
            data,
        }
    }
}

/// A failure the model can read and act on: the result carries `isError: true`.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An argument that parsed but makes no sense ("`steps` must be between 1 and 20").
    #[error("{0}")]
    Input(String),
    /// A Cost Explorer argument that failed validation.
    #[error("Invalid {0}")]
    CostInput(#[from] InputError),
    /// Cost Explorer refused or failed.
    #[error("{0}")]
    Cost(#[from] CostError),
    #[error("The job was cancelled.")]
    Cancelled,
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::Input(message)
    }
}

/// A tool that needs nothing from the request: it runs on the fast path, a plain function call.
pub trait Tool: 'static {
    const SPEC: ToolSpec;
    type Args: DeserializeOwned + JsonSchema + 'static;
    type Output: Serialize + JsonSchema + 'static;
    fn call(deps: &Deps, args: Self::Args) -> Result<Reply<Self::Output>, ToolError>;
}

/// A tool that reports progress or stops when the client cancels (rmcp serves it).
pub trait ToolWithContext: 'static {
    const SPEC: ToolSpec;
    type Args: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + 'static;
    fn call(
        deps: Arc<Deps>,
        args: Self::Args,
        context: CallContext,
    ) -> impl Future<Output = Result<Reply<Self::Output>, ToolError>> + Send;
}

/// Arguments of a tool that takes none (its input schema is the empty object).
#[derive(serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// What a [`ToolWithContext`] gets from its request: progress reporting and cancellation.
pub struct CallContext {
    progress: Option<(Peer<RoleServer>, ProgressToken)>,
    pub cancelled: CancellationToken,
}

impl CallContext {
    pub fn new(
        peer: Peer<RoleServer>,
        token: Option<ProgressToken>,
        cancelled: CancellationToken,
    ) -> Self {
        Self {
            progress: token.map(|token| (peer, token)),
            cancelled,
        }
    }

    /// Sends a progress notification when the client asked for them (sent a progress token).
    /// Returns whether one was sent.
    pub async fn progress(&self, done: u32, total: Option<u32>, message: String) -> bool {
        let Some((peer, token)) = &self.progress else {
            return false;
        };
        let mut param =
            ProgressNotificationParam::new(token.clone(), f64::from(done)).with_message(message);
        if let Some(total) = total {
            param = param.with_total(f64::from(total));
        }
        peer.notify_progress(param).await.is_ok()
    }
}

impl PageProgress for CallContext {
    async fn page_done(&self, pages: u32) {
        self.progress(
            pages,
            None,
            format!("fetched {pages} page(s) from Cost Explorer"),
        )
        .await;
    }
}

type ToolFuture = Pin<Box<dyn Future<Output = Result<CallToolResult, ErrorData>> + Send>>;

/// How a registered tool is called. `Sync` is a plain function pointer: the fast path calls it
/// with no allocation for the dispatch.
#[derive(Clone, Copy)]
pub enum Call {
    Sync(fn(&Deps, &Value) -> Result<CallToolResult, ErrorData>),
    WithContext(fn(Arc<Deps>, Value, CallContext) -> ToolFuture),
}

/// One registered tool: its spec, its schemas and how to call it.
pub struct ToolEntry {
    pub spec: &'static ToolSpec,
    input_schema: fn() -> Arc<JsonObject>,
    output_schema: fn() -> Arc<JsonObject>,
    pub call: Call,
}

impl ToolEntry {
    pub fn sync<T: Tool>() -> Self {
        Self {
            spec: &T::SPEC,
            input_schema: schema::input::<T::Args>,
            output_schema: schema::output::<T::Output>,
            call: Call::Sync(|deps, arguments| {
                let args = parse_arguments::<T::Args>(T::SPEC.name, arguments)?;
                Ok(into_result(T::call(deps, args)))
            }),
        }
    }

    pub fn with_context<T: ToolWithContext>() -> Self {
        Self {
            spec: &T::SPEC,
            input_schema: schema::input::<T::Args>,
            output_schema: schema::output::<T::Output>,
            call: Call::WithContext(|deps, arguments, context| {
                Box::pin(async move {
                    let args = parse_arguments::<T::Args>(T::SPEC.name, &arguments)?;
                    Ok(into_result(T::call(deps, args, context).await))
                })
            }),
        }
    }

    /// `name(required, optional?)`, from the input schema: for docs. Required arguments in
    /// declaration order, then optional ones by name (object key order depends on whether
    /// the build turns on serde_json's `preserve_order`; the `required` array's does not).
    pub fn signature(&self) -> String {
        let schema = (self.input_schema)();
        let mut arguments: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut optional: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.keys()
                    .filter(|k| !arguments.contains(k))
                    .map(|k| format!("{k}?"))
                    .collect()
            })
            .unwrap_or_default();
        optional.sort();
        arguments.append(&mut optional);
        format!("{}({})", self.spec.name, arguments.join(", "))
    }

    /// The tool as `tools/list` shows it.
    pub fn describe(&self) -> rmcp::model::Tool {
        let spec = self.spec;
        let hints = rmcp::model::ToolAnnotations::new()
            .read_only(spec.hints.read_only)
            .destructive(spec.hints.destructive)
            .idempotent(spec.hints.idempotent)
            .open_world(spec.hints.open_world);
        rmcp::model::Tool::new_with_raw(
            spec.name,
            Some(spec.description.into()),
            (self.input_schema)(),
        )
        .with_title(spec.title)
        .with_raw_output_schema((self.output_schema)())
        .with_annotations(hints)
    }
}

fn into_result<T: Serialize>(outcome: Result<Reply<T>, ToolError>) -> CallToolResult {
    match outcome {
        Ok(reply) => match serde_json::to_value(&reply.data) {
            // Not CallToolResult::structured: it renders the value as text, which the summary
            // replaces.
            Ok(data) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(reply.summary)]);
                result.structured_content = Some(data);
                result
            }
            Err(error) => error_result(format!("Could not serialize the result: {error}")),
        },
        Err(error) => error_result(error.to_string()),
    }
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// The server instructions: what each tool is for, in the registry's order.
pub fn instructions(entries: &[ToolEntry]) -> String {
    let list = |aws: bool| {
        entries
            .iter()
            .filter(|e| e.spec.iam_actions.is_empty() != aws)
            .map(|e| format!("{} ({})", e.spec.name, e.spec.summary))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "serverless-mcp: tools running in the user's own AWS account. Tools: {}. AWS tools: {}. \
         {} Tool failures come back as results with isError=true and a message that says how to \
         fix the call.",
        list(false),
        list(true),
        cost_explorer::NOTES,
    )
}

/// The README's tool table (Markdown), regenerated by a test.
pub fn readme_table(entries: &[ToolEntry]) -> String {
    let mut table = String::from("| tool | what it does | AWS permissions |\n|---|---|---|\n");
    for entry in entries {
        let actions = match entry.spec.iam_actions {
            [] => "none".to_owned(),
            actions => actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        table.push_str(&format!(
            "| `{}` | {} | {actions} |\n",
            entry.signature(),
            entry.spec.summary
        ));
    }
    table
}

/// Every IAM action the tools call, sorted, once each: what the Lambda role is granted.
pub fn iam_actions(entries: &[ToolEntry]) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = entries
        .iter()
        .flat_map(|e| e.spec.iam_actions.iter().copied())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}
