//! serverless-mcp's MCP server: one axum app ([`app::app`]) built from one config, served by
//! the local embedded server ([`local`]) or on AWS Lambda ([`lambda`]).

mod access_log;
pub mod app;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod cost;
mod fast_path;
pub mod guard;
pub mod lambda;
pub mod local;
pub mod params;
pub mod server;
pub mod tools;
pub mod tools_cost;

pub use app::app;
pub use config::{AppConfig, RunMode};

/// The server's name in `initialize` / `server/discover` and in client configs.
pub const SERVER_NAME: &str = "serverless-mcp";
