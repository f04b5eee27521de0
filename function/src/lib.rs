//! serverless-mcp's MCP server: one axum app ([`http::app`]) built from one config, served by
//! the local embedded server ([`local`]) or on AWS Lambda ([`lambda`]).
//!
//! Layers, each depending only on the ones after it: [`http`] (routes, CORS, Host/Origin
//! guard, auth, access log) → [`mcp`] (handler, JSON-RPC checks, fast path) → [`tools`] (the
//! registry and each tool) → [`cost`] (the Cost Explorer client). See ARCHITECTURE.md.
#![forbid(unsafe_code)]

pub mod config;
pub mod cost;
pub mod http;
pub mod lambda;
pub mod local;
pub mod mcp;
pub mod metrics;
pub mod oauth;
pub mod tools;

pub use config::{AppConfig, RunMode};
pub use http::{app, app_with_handler, app_with_server};

/// The server's name in `initialize` / `server/discover` and in client configs.
pub const SERVER_NAME: &str = "serverless-mcp";
