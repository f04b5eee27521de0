//! A stock rmcp server with the same tools: rmcp's stateless Streamable HTTP service in JSON
//! mode (the TOOLCHAIN configuration), nested in axum, without our auth, checks or access log.
//! It isolates the per-request work serverless-mcp adds. PORT env; on Lambda it serves buffered.

use std::sync::Arc;

use axum::Router;
use function::{
    RunMode,
    cost::{CostExplorer, CostSettings},
    mcp::McpServer,
    tools::Deps,
};
use rmcp::transport::{
    StreamableHttpServerConfig, StreamableHttpService,
    streamable_http_server::session::never::NeverSessionManager,
};

#[tokio::main]
async fn main() {
    let server = McpServer::new(Deps::new(
        RunMode::Local,
        "local",
        Arc::new(CostExplorer::new(CostSettings::default())),
    ));
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .disable_allowed_hosts(),
    );
    let app = Router::new()
        .nest_service("/mcp", service)
        .route("/health", axum::routing::get(|| async { "ok" }));
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        lambda_http::run(app).await.expect("lambda runtime");
        return;
    }
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
