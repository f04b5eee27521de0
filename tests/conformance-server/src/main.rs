//! The server the official MCP conformance suite runs against (`cargo xtask test`): the
//! product's app, with its transport, guards and envelope checks, around [`ConformanceServer`].
//! The suite sends no API key, so this binary, and only it, accepts any key and adds one to
//! requests that have none. The product has no such switch.
#![forbid(unsafe_code)]

mod fixtures;
mod server;

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use authorizer::{KeyDecision, KeyVerifier, VerifyFuture};
use axum::{Router, extract::Request, http::HeaderValue};
use clap::Parser;
use function::{AppConfig, mcp::McpServer, tools::Deps};
use tower::ServiceExt;

use server::ConformanceServer;

/// Serves the conformance build on 127.0.0.1.
#[derive(Parser)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

/// Accepts every key: the suite cannot send one.
struct AllowAll;

impl KeyVerifier for AllowAll {
    fn verify<'a>(&'a self, _presented: &'a str) -> VerifyFuture<'a> {
        Box::pin(async {
            KeyDecision::Allowed {
                key_id: "conformance".into(),
            }
        })
    }
}

fn with_a_key(mut request: Request) -> Request {
    if !request.headers().contains_key("x-api-key") {
        request
            .headers_mut()
            .insert("x-api-key", HeaderValue::from_static("conformance"));
    }
    request
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = AppConfig::local(Arc::new(AllowAll));
    let product = McpServer::new(Deps::new(config.mode, "local", config.cost.clone()));
    let app = function::app_with_handler(config, ConformanceServer::new(product));
    let app = Router::new().fallback_service(app.map_request(with_a_key));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .with_context(|| format!("could not listen on 127.0.0.1:{}", args.port))?;
    let addr = listener.local_addr()?;
    println!("MCP endpoint: http://{addr}/mcp");
    axum::serve(listener, app).await?;
    Ok(())
}
