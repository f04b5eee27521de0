//! Everything derived from the tool registry stays in step with it: the README's tool table,
//! the IAM actions the Pulumi program grants (`infra/tool-actions.txt`), the README's "Add your
//! own tool" example, and what a tool added as that guide says gets without any other edit.
//!
//! Generated files are rewritten when stale and the test fails, so `cargo test` fixes them
//! and the diff shows what changed (as rust-analyzer does for its generated docs).

use std::{path::PathBuf, sync::Arc};

use crate::common::{mcp_post, send};
use axum::body::Body;
use function::{
    AppConfig, RunMode,
    cost::CostExplorer,
    mcp::McpServer,
    tools::{self, Call, Deps, ToolEntry, registry},
};
use serde_json::{Value, json};

use crate::tools_dir;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// Rewrites `path` to `contents` if it differs, and fails, so a stale file is fixed by running
/// the test once and committing the result.
fn ensure_contents(path: &str, contents: &str) {
    let file = repo_file(path);
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    if old != contents {
        std::fs::write(&file, contents).unwrap();
        panic!("{path} was stale and has been regenerated from the tool registry; commit it");
    }
}

/// `text` with the part between the line `start` and the line `end` replaced by `body`.
fn replace_between(text: &str, start: &str, end: &str, body: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("missing marker {start}"))
        + start.len();
    let to = from
        + text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("missing marker {end}"));
    format!("{}\n{body}{}", &text[..from], &text[to..])
}

fn ensure_readme_block(start: &str, end: &str, body: &str) {
    // Two tests edit README.md: one read-modify-write at a time.
    static README: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = README.lock().unwrap_or_else(|e| e.into_inner());
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    ensure_contents("README.md", &replace_between(&readme, start, end, body));
}

#[test]
fn readme_tool_table_is_generated_from_the_registry() {
    ensure_readme_block(
        "<!-- tools table: generated from the tool registry by function/tests/it/registry.rs -->",
        "<!-- end of tools table -->",
        &tools::readme_table(&registry()),
    );
}

#[test]
fn infra_grants_exactly_the_actions_the_tools_call() {
    let mut text = String::from(
        "# The AWS actions the MCP function's tools call: generated from the tool registry by\n\
         # function/tests/it/registry.rs; infra/src/policy.rs grants exactly these.\n",
    );
    for action in tools::iam_actions(&registry()) {
        text.push_str(action);
        text.push('\n');
    }
    ensure_contents("infra/tool-actions.txt", &text);
}

#[test]
fn readme_guide_shows_the_example_tool_as_compiled_here() {
    let source =
        std::fs::read_to_string(repo_file("function/tests/it/add_a_tool/word_count.rs")).unwrap();
    ensure_readme_block(
        "<!-- add-a-tool example: function/tests/it/add_a_tool/word_count.rs -->",
        "<!-- end of add-a-tool example -->",
        &format!("```rust\n{source}```\n"),
    );
}

#[test]
fn every_tool_is_described_completely() {
    let entries = registry();
    let mut names: Vec<&str> = entries.iter().map(|e| e.spec.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), entries.len(), "tool names must be unique");
    for entry in &entries {
        let spec = entry.spec;
        assert!(
            !spec.title.is_empty() && !spec.description.is_empty() && !spec.summary.is_empty(),
            "{} needs a title, description and summary",
            spec.name
        );
        let example: Value = serde_json::from_str(spec.example)
            .unwrap_or_else(|e| panic!("{}: example is not JSON: {e}", spec.name));
        assert!(
            example.is_object(),
            "{}: example must be an object",
            spec.name
        );
        assert_eq!(
            spec.hints.open_world,
            !spec.iam_actions.is_empty(),
            "{}: a tool that calls AWS is open-world, and one that does not is not",
            spec.name
        );
    }
}

fn deps() -> Deps {
    Deps::new(
        RunMode::Local,
        "local",
        Arc::new(CostExplorer::new(Default::default())),
    )
}

/// A tool added as the README says (one file, one registry line) is listed with its schemas,
/// named in the instructions and the README table, takes the fast path, and answers.
#[tokio::test]
async fn a_tool_added_as_the_guide_says_gets_everything() {
    let mut entries = registry();
    entries.push(ToolEntry::sync::<tools_dir::word_count::WordCount>());
    let table = tools::readme_table(&entries);
    assert!(
        table.contains("| `word_count(text)` | words and characters of a text | none |"),
        "{table}"
    );
    let server = McpServer::with_tools(deps(), entries);
    assert!(
        server
            .instructions()
            .contains("word_count (words and characters of a text)"),
        "{}",
        server.instructions()
    );
    let listed = server
        .tools()
        .iter()
        .find(|t| t.name == "word_count")
        .expect("listed");
    assert_eq!(listed.title.as_deref(), Some("Count words"));
    assert_eq!(listed.input_schema["required"], json!(["text"]));
    assert!(listed.output_schema.is_some());
    let fast = server
        .call_sync("word_count", &json!({"text": "to be or not to be"}))
        .expect("takes the fast path")
        .unwrap();
    assert_eq!(
        fast.structured_content,
        Some(json!({"words": 6, "characters": 18}))
    );

    // Over HTTP, through the whole app.
    let app = function::app_with_server(
        AppConfig::local(Arc::new(authorizer::StaticKeys::single(crate::common::KEY))),
        server,
    );
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "word_count", "arguments": {"text": "a b c"}}});
    let (status, _, body) = send(
        &app,
        mcp_post()
            .header("mcp-protocol-version", "2025-11-25")
            .body(Body::from(call.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        reply["result"]["content"][0]["text"],
        "3 words, 5 characters."
    );
}

/// Every tool that needs nothing from the request is on the fast path, and its example call
/// succeeds there.
#[test]
fn plain_tools_take_the_fast_path_and_their_examples_succeed() {
    let server = McpServer::new(deps());
    for entry in registry() {
        let example: Value = serde_json::from_str(entry.spec.example).unwrap();
        let answer = server.call_sync(entry.spec.name, &example);
        match entry.call {
            Call::Sync(_) => {
                let result = answer
                    .expect("a plain tool takes the fast path")
                    .unwrap_or_else(|e| panic!("{}: {e:?}", entry.spec.name));
                assert_eq!(result.is_error, Some(false), "{}", entry.spec.name);
            }
            Call::WithContext(_) => assert!(answer.is_none(), "{}", entry.spec.name),
        }
    }
}
