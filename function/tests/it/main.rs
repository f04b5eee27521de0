//! The function crate's integration tests, in one binary (one link instead of one per file).

mod binary;
mod common;
mod cost_explorer;
mod fast_path;
mod faults;
mod hostile;
mod http_app;
mod lambda_adapters;
mod metrics;
mod oauth;
mod registry;

/// The README guide's example tool, compiled exactly as a file in `function/src/tools/` would
/// be: its `super::` is this module, which stands in for `function::tools`.
#[path = "add_a_tool/mod.rs"]
mod tools_dir;
