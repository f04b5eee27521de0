//! Fixtures of the official MCP conformance suite (`@modelcontextprotocol/conformance`). The
//! suite calls tools, resources and prompts by fixed names (`test_simple_text`,
//! `test://static-text`, ...) and checks fixed contents.

#![allow(deprecated)] // sampling, roots and logging fixtures exercise deprecated (SEP-2577) features

use std::sync::LazyLock;

use rmcp::{ErrorData, RoleServer, model::*, service::RequestContext};
use serde_json::{Value, json};

// A 1x1 PNG and an empty WAV, base64.
const IMAGE_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
const AUDIO_WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";
pub const CACHE_TTL_MS: u64 = 60_000;

/// Seals SEP-2322 `requestState` so a client cannot forge it. A fixed key is fine for fixtures.
static STATE_CODEC: LazyLock<RequestStateCodec> = LazyLock::new(|| {
    RequestStateCodec::new(b"serverless-mcp-conformance-fixture-key-0001".to_vec())
});

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn no_args() -> JsonObject {
    object(json!({ "type": "object", "properties": {} }))
}

const NO_ARG_TOOLS: &[(&str, &str)] = &[
    ("test_simple_text", "Returns simple text content"),
    ("test_image_content", "Returns image content"),
    ("test_audio_content", "Returns audio content"),
    (
        "test_embedded_resource",
        "Returns embedded resource content",
    ),
    (
        "test_multiple_content_types",
        "Returns multiple content types",
    ),
    (
        "test_tool_with_logging",
        "Sends logging notifications during execution",
    ),
    ("test_error_handling", "Always returns an error"),
    ("test_tool_with_progress", "Reports progress notifications"),
    (
        "test_elicitation_sep1034_defaults",
        "Elicitation with default values (SEP-1034)",
    ),
    (
        "test_elicitation_sep1330_enums",
        "Elicitation with enum schemas (SEP-1330)",
    ),
    ("test_reconnection", "Tests SSE reconnection behaviour"),
    (
        "test_missing_capability",
        "Requires the sampling client capability",
    ),
    (
        "test_logging_tool",
        "Logs only when a log level was requested",
    ),
    (
        "test_streaming_elicitation",
        "Returns an input_required result with an elicitation request",
    ),
    (
        "test_input_required_result_elicitation",
        "Needs an elicitation input (SEP-2322)",
    ),
    (
        "test_input_required_result_sampling",
        "Needs a sampling input (SEP-2322)",
    ),
    (
        "test_input_required_result_list_roots",
        "Needs a roots/list input (SEP-2322)",
    ),
    (
        "test_input_required_result_request_state",
        "Round-trips sealed requestState (SEP-2322)",
    ),
    (
        "test_input_required_result_multiple_inputs",
        "Needs three inputs in one round (SEP-2322)",
    ),
    (
        "test_input_required_result_multi_round",
        "Two input rounds with evolving state (SEP-2322)",
    ),
    (
        "test_input_required_result_tampered_state",
        "Rejects tampered requestState (SEP-2322)",
    ),
    (
        "test_input_required_result_capabilities",
        "Asks only for declared capabilities (SEP-2322)",
    ),
];

static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    let mut tools: Vec<Tool> = NO_ARG_TOOLS
        .iter()
        .map(|(name, description)| Tool::new(*name, *description, no_args()))
        .collect();
    tools.push(Tool::new(
        "test_sampling",
        "Requests LLM sampling from the client",
        object(json!({
            "type": "object",
            "properties": { "prompt": { "type": "string", "description": "The prompt to send" } },
            "required": ["prompt"]
        })),
    ));
    tools.push(Tool::new(
        "test_elicitation",
        "Requests user input from the client",
        object(json!({
            "type": "object",
            "properties": { "message": { "type": "string", "description": "The message to show" } },
            "required": ["message"]
        })),
    ));
    tools.push(Tool::new(
        "json_schema_2020_12_tool",
        "Tool with JSON Schema 2020-12 features",
        object(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "address",
                    "type": "object",
                    "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                }
            },
            "properties": { "name": { "type": "string" }, "address": { "$ref": "#/$defs/address" } },
            "allOf": [{ "anyOf": [{ "required": ["name"] }, { "required": ["address"] }] }],
            "if": { "required": ["address"] },
            "then": { "properties": { "address": { "required": ["street"] } } },
            "else": { "required": ["name"] },
            "additionalProperties": false
        })),
    ));
    tools
});

pub fn tools() -> Vec<Tool> {
    TOOLS.clone()
}

pub fn is_fixture_tool(name: &str) -> bool {
    TOOLS.iter().any(|tool| tool.name == name)
}

fn text(message: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(message.into())])
}

fn elicitation(message: &str, properties: Value, required: Value) -> InputRequest {
    InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.into(),
            requested_schema: serde_json::from_value(
                json!({ "type": "object", "properties": properties, "required": required }),
            )
            .expect("fixture schema is valid"),
        },
    ))
}

fn ask_name() -> InputRequest {
    elicitation(
        "What is your name?",
        json!({ "name": { "type": "string" } }),
        json!(["name"]),
    )
}

fn sampling(prompt: &str) -> InputRequest {
    InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        100,
    )))
}

fn list_roots() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

fn needs(
    inputs: Vec<(&str, InputRequest)>,
    state: Option<Value>,
) -> Result<CallToolResponse, ErrorData> {
    let requests: InputRequests = inputs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let sealed = match state {
        Some(state) => Some(
            STATE_CODEC
                .seal_json(&state)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?,
        ),
        None => None,
    };
    Ok(InputRequiredResult::new(Some(requests), sealed).into())
}

/// A usable input response is a JSON object; anything else counts as missing.
fn response<'a>(responses: Option<&'a InputResponses>, key: &str) -> Option<&'a JsonObject> {
    responses
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
}

fn open_state(sealed: &str) -> Result<Value, ErrorData> {
    STATE_CODEC
        .open_json(sealed)
        .map_err(|_| ErrorData::invalid_params("requestState failed integrity verification", None))
}

fn action_name(action: &ElicitationAction) -> &'static str {
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        _ => "unknown",
    }
}

async fn elicit(
    context: &RequestContext<RoleServer>,
    message: &str,
    schema: Value,
) -> CallToolResult {
    let schema = match serde_json::from_value(schema) {
        Ok(schema) => schema,
        Err(e) => {
            return CallToolResult::error(vec![ContentBlock::text(format!("bad schema: {e}"))]);
        }
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.into(),
        requested_schema: schema,
    };
    match context.peer.create_elicitation(params).await {
        Ok(result) => text(format!(
            "Elicitation completed: action={}, content={}",
            action_name(&result.action),
            serde_json::to_string(&result.content).unwrap_or_default()
        )),
        Err(e) => {
            CallToolResult::error(vec![ContentBlock::text(format!("Elicitation error: {e}"))])
        }
    }
}

pub async fn call_tool(
    request: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    let args = request.arguments.clone().unwrap_or_default();
    let responses = request.input_responses.as_ref();
    let state = request.request_state.as_deref();
    let result = match request.name.as_ref() {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => CallToolResult::success(vec![ContentBlock::image(IMAGE_PNG, "image/png")]),
        "test_audio_content" => CallToolResult::success(vec![ContentBlock::Audio(AudioContent::new(AUDIO_WAV, "audio/wav"))]),
        "test_embedded_resource" => CallToolResult::success(vec![ContentBlock::resource(ResourceContents::TextResourceContents {
            uri: "test://embedded-resource".into(),
            mime_type: Some("text/plain".into()),
            text: "This is an embedded resource content.".into(),
            meta: None,
        })]),
        "test_multiple_content_types" => CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(IMAGE_PNG, "image/png"),
            ContentBlock::resource(ResourceContents::TextResourceContents {
                uri: "test://mixed-content-resource".into(),
                mime_type: Some("application/json".into()),
                text: r#"{"test":"data","value":123}"#.into(),
                meta: None,
            }),
        ]),
        "test_tool_with_logging" => {
            for message in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
                let log = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message)).with_logger("serverless-mcp");
                let _ = context.peer.notify_logging_message(log).await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            text("Logging test completed")
        }
        "test_error_handling" => CallToolResult::error(vec![ContentBlock::text("This tool intentionally returns an error for testing")]),
        "test_tool_with_progress" => {
            let token = context.meta.get_progress_token();
            for (progress, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
                if let Some(token) = &token {
                    let param = ProgressNotificationParam::new(token.clone(), progress).with_total(100.0).with_message(message);
                    let _ = context.peer.notify_progress(param).await;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            text("Progress test completed")
        }
        "test_sampling" => {
            let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or("Hello");
            let params = CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
            match context.peer.create_message(params).await {
                Ok(result) => {
                    let reply = result.message.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone());
                    text(format!("LLM response: {}", reply.unwrap_or_else(|| "No text response".into())))
                }
                Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("Sampling error: {e}"))]),
            }
        }
        "test_elicitation" => {
            let message = args.get("message").and_then(Value::as_str).unwrap_or("Please provide your information");
            elicit(&context, message, json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                },
                "required": ["username", "email"]
            }))
            .await
        }
        "test_elicitation_sep1034_defaults" => {
            elicit(&context, "Please provide values (all have defaults)", json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "User's name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "User's age", "default": 30 },
                    "score": { "type": "number", "description": "User's score", "default": 95.5 },
                    "status": { "type": "string", "description": "User's status", "enum": ["active", "inactive", "pending"], "default": "active" },
                    "verified": { "type": "boolean", "description": "Whether user is verified", "default": true }
                }
            }))
            .await
        }
        "test_elicitation_sep1330_enums" => {
            elicit(&context, "Test enum schema improvements", json!({
                "type": "object",
                "properties": {
                    "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": { "type": "string", "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" }
                    ] },
                    "legacyEnum": { "type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                    "untitledMulti": { "type": "array", "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                    "titledMulti": { "type": "array", "items": { "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" }
                    ] } }
                }
            }))
            .await
        }
        "json_schema_2020_12_tool" => text(format!("Hello, {}!", args.get("name").and_then(Value::as_str).unwrap_or("world"))),
        "test_reconnection" => {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            text("Reconnection test completed")
        }
        "test_missing_capability" => {
            if context.meta.client_capabilities().unwrap_or_default().sampling.is_none() {
                return Err(ErrorData::missing_required_client_capability(ClientCapabilities::builder().enable_sampling().build()));
            }
            text("Required capability declared")
        }
        "test_logging_tool" => {
            if let Some(level) = context.meta.log_level() {
                let log = LoggingMessageNotificationParam::new(level, json!("logLevel was requested")).with_logger("serverless-mcp");
                let _ = context.peer.notify_logging_message(log).await;
            }
            text("Logging tool completed")
        }
        "test_streaming_elicitation" => {
            let ask = elicitation("Provide a value", json!({ "value": { "type": "string" } }), json!(["value"]));
            return needs(vec![("streaming_elicitation", ask)], None);
        }
        "test_input_required_result_elicitation" => match response(responses, "user_name") {
            Some(r) => text(format!("Hello, {}!", r.get("content").and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("friend"))),
            None => return needs(vec![("user_name", ask_name())], None),
        },
        "test_input_required_result_sampling" => match response(responses, "capital_question") {
            Some(r) => text(format!(
                "Sampling response: {}",
                r.get("content").and_then(|c| c.get("text")).and_then(Value::as_str).unwrap_or("(no sampling text)")
            )),
            None => return needs(vec![("capital_question", sampling("What is the capital of France?"))], None),
        },
        "test_input_required_result_list_roots" => match response(responses, "client_roots") {
            Some(r) => {
                let roots: Vec<&str> = r
                    .get("roots")
                    .and_then(Value::as_array)
                    .map(|roots| roots.iter().filter_map(|r| r.get("uri").and_then(Value::as_str)).collect())
                    .unwrap_or_default();
                text(format!("Client roots: [{}]", roots.join(", ")))
            }
            None => return needs(vec![("client_roots", list_roots())], None),
        },
        "test_input_required_result_request_state" | "test_input_required_result_tampered_state" => match state {
            None => {
                let confirm = elicitation("Please confirm", json!({ "ok": { "type": "boolean" } }), json!(["ok"]));
                return needs(vec![("confirm", confirm)], Some(json!({ "stage": "confirm" })));
            }
            Some(sealed) => {
                open_state(sealed)?;
                text("Confirmed: state-ok")
            }
        },
        "test_input_required_result_multiple_inputs" => {
            if let Some(sealed) = state {
                open_state(sealed)?;
            }
            let complete = ["user_name", "greeting", "client_roots"].iter().all(|k| response(responses, k).is_some());
            if complete && state.is_some() {
                text("All inputs received")
            } else {
                return needs(
                    vec![("user_name", ask_name()), ("greeting", sampling("Generate a greeting")), ("client_roots", list_roots())],
                    Some(json!({ "stage": "gather" })),
                );
            }
        }
        "test_input_required_result_multi_round" => {
            let round = match state {
                None => 0,
                Some(sealed) => open_state(sealed)?.get("round").and_then(Value::as_i64).unwrap_or(0),
            };
            match round {
                0 => {
                    let step = elicitation("Step 1: What is your name?", json!({ "name": { "type": "string" } }), json!(["name"]));
                    return needs(vec![("step1", step)], Some(json!({ "round": 1 })));
                }
                1 => {
                    let step = elicitation("Step 2: What is your favorite color?", json!({ "color": { "type": "string" } }), json!(["color"]));
                    return needs(vec![("step2", step)], Some(json!({ "round": 2 })));
                }
                _ => text("Multi-round flow complete"),
            }
        }
        "test_input_required_result_capabilities" => {
            if responses.is_some() {
                text("Capability-aware flow complete")
            } else {
                let capabilities = context.meta.client_capabilities().unwrap_or_default();
                let mut inputs = Vec::new();
                if capabilities.elicitation.is_some() {
                    inputs.push(("user_name", ask_name()));
                }
                if capabilities.sampling.is_some() {
                    inputs.push(("greeting", sampling("Generate a greeting")));
                }
                if capabilities.roots.is_some() {
                    inputs.push(("client_roots", list_roots()));
                }
                if inputs.is_empty() {
                    text("Client declared no MRTR-capable capabilities")
                } else {
                    return needs(inputs, None);
                }
            }
        }
        other => return Err(ErrorData::invalid_params(format!("Unknown tool: {other}"), None)),
    };
    Ok(result.into())
}

pub fn list_resources() -> ListResourcesResult {
    ListResourcesResult::with_all_items(vec![
        Resource::new("test://static-text", "Static Text Resource")
            .with_description("A static text resource for testing")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "Static Binary Resource")
            .with_description("A static binary resource for testing")
            .with_mime_type("image/png"),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn list_resource_templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new("test://template/{id}/data", "Dynamic Resource")
            .with_description("A dynamic resource with parameter substitution")
            .with_mime_type("application/json"),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn read_resource(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        "test://static-text" => ResourceContents::TextResourceContents {
            uri: uri.into(),
            mime_type: Some("text/plain".into()),
            text: "This is the content of the static text resource.".into(),
            meta: None,
        },
        "test://static-binary" => ResourceContents::BlobResourceContents {
            uri: uri.into(),
            mime_type: Some("image/png".into()),
            blob: IMAGE_PNG.into(),
            meta: None,
        },
        _ => {
            let id = uri
                .strip_prefix("test://template/")
                .and_then(|rest| rest.strip_suffix("/data"));
            let Some(id) = id else {
                return Err(ErrorData::resource_not_found(
                    format!("Resource not found: {uri}"),
                    Some(json!({ "uri": uri })),
                ));
            };
            ResourceContents::TextResourceContents {
                uri: uri.into(),
                mime_type: Some("application/json".into()),
                text:
                    json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                        .to_string(),
                meta: None,
            }
        }
    };
    Ok(ReadResourceResult::new(vec![contents])
        .with_ttl_ms(CACHE_TTL_MS)
        .with_cache_scope(CacheScope::Public))
}

pub fn list_prompts() -> ListPromptsResult {
    ListPromptsResult::with_all_items(vec![
        Prompt::new(
            "test_simple_prompt",
            Some("A simple test prompt with no arguments"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A test prompt that accepts arguments"),
            Some(vec![
                PromptArgument::new("arg1")
                    .with_description("First test argument")
                    .with_required(true),
                PromptArgument::new("arg2")
                    .with_description("Second test argument")
                    .with_required(false),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A test prompt that includes an embedded resource"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_image",
            Some("A test prompt that includes an image"),
            None,
        ),
        Prompt::new(
            "test_input_required_result_prompt",
            Some("A prompt that needs an elicitation input (SEP-2322)"),
            None,
        ),
    ])
    .with_ttl_ms(CACHE_TTL_MS)
    .with_cache_scope(CacheScope::Public)
}

pub fn get_prompt(request: GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
    let result = match request.name.as_str() {
        "test_input_required_result_prompt" => {
            match response(request.input_responses.as_ref(), "user_context") {
                Some(r) => {
                    let context = r
                        .get("content")
                        .and_then(|c| c.get("context"))
                        .and_then(Value::as_str)
                        .unwrap_or("(no context)");
                    GetPromptResult::new(vec![PromptMessage::new_text(
                        Role::User,
                        format!("Prompt with elicited context: {context}"),
                    )])
                    .with_description("A prompt built from elicited context")
                }
                None => {
                    let ask = elicitation(
                        "What context should the prompt use?",
                        json!({ "context": { "type": "string" } }),
                        json!(["context"]),
                    );
                    let requests: InputRequests =
                        [("user_context".to_owned(), ask)].into_iter().collect();
                    return Ok(InputRequiredResult::from_input_requests(requests).into());
                }
            }
        }
        "test_simple_prompt" => GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            "This is a simple test prompt.",
        )])
        .with_description("A simple test prompt"),
        "test_prompt_with_arguments" => {
            let args = request.arguments.unwrap_or_default();
            let arg = |name: &str| {
                args.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    arg("arg1"),
                    arg("arg2")
                ),
            )])
            .with_description("A prompt with arguments")
        }
        "test_prompt_with_embedded_resource" => GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is a resource:"),
            PromptMessage::new_resource(
                Role::User,
                "test://static-text".into(),
                Some("text/plain".into()),
                Some("Resource content for prompt".into()),
                None,
                None,
                None,
            ),
        ])
        .with_description("A prompt with an embedded resource"),
        "test_prompt_with_image" => GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is an image:"),
            PromptMessage::new(
                Role::User,
                ContentBlock::Image(ImageContent::new(IMAGE_PNG, "image/png")),
            ),
        ])
        .with_description("A prompt with an image"),
        other => {
            return Err(ErrorData::invalid_params(
                format!("Unknown prompt: {other}"),
                None,
            ));
        }
    };
    Ok(result.into())
}

pub fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let values: Vec<String> = match &request.r#ref {
        Reference::Resource(_) if request.argument.name == "id" => {
            vec!["1".into(), "2".into(), "3".into()]
        }
        Reference::Prompt(prompt) => match request.argument.name.as_str() {
            "name" => vec!["Alice".into(), "Bob".into(), "Charlie".into()],
            "style" => vec!["friendly".into(), "formal".into(), "casual".into()],
            _ => vec![prompt.name.clone()],
        },
        _ => vec![],
    };
    Ok(CompleteResult::new(
        CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?,
    ))
}
