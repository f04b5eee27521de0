//! The local embedded server: loopback only, an API key from `MCP_API_KEY` or generated,
//! a ready-to-paste client config, graceful shutdown on Ctrl-C / SIGTERM.

use std::{future::Future, net::SocketAddr};

use serde_json::json;
use tokio::net::TcpListener;

use crate::{AppConfig, SERVER_NAME, app, config::KeySource};

/// Where the key the banner talks about came from.
pub enum KeyShown {
    Generated(String),
    FromEnv(String),
    /// Keys live in this Secrets Manager secret; the banner shows no key.
    Secret(String),
    /// `MCP_AUTH_MODE=oauth`: no keys, clients sign in.
    OAuthOnly,
}

impl From<&KeySource> for KeyShown {
    fn from(source: &KeySource) -> Self {
        match source {
            KeySource::SecretsManager { secret_id, .. } => KeyShown::Secret(secret_id.clone()),
            KeySource::Fixed(key) => KeyShown::FromEnv(key.clone()),
        }
    }
}

/// What the user sees at start: the endpoint, the key and how to connect a client.
/// The key is printed here on purpose (it is the user's own terminal), never logged.
pub fn banner(addr: SocketAddr, key: &KeyShown) -> String {
    let url = format!("http://{addr}/mcp");
    let (key, key_line) = match key {
        KeyShown::Generated(k) => (
            k.as_str(),
            format!("API key: {k} (generated for this run; set MCP_API_KEY to choose your own)"),
        ),
        KeyShown::FromEnv(k) => (k.as_str(), format!("API key: {k} (from MCP_API_KEY)")),
        KeyShown::Secret(id) => (
            "<your key>",
            format!("API keys: from the Secrets Manager secret {id}"),
        ),
        KeyShown::OAuthOnly => (
            "",
            "Auth: OAuth (MCP_AUTH_MODE=oauth): clients sign in in the browser".to_owned(),
        ),
    };
    let (config, header) = if key.is_empty() {
        (
            json!({ "mcpServers": { SERVER_NAME: { "type": "http", "url": url } } }),
            String::new(),
        )
    } else {
        (
            json!({ "mcpServers": { SERVER_NAME: { "type": "http", "url": url, "headers": { "x-api-key": key } } } }),
            format!(" --header \"x-api-key: {key}\""),
        )
    };
    format!(
        "serverless-mcp {version} is running.\n\
         MCP endpoint: {url}\n\
         Health check: http://{addr}/health\n\
         {key_line}\n\n\
         Claude Code:\n  claude mcp add --transport http {SERVER_NAME} {url}{header}\n\n\
         Cursor (.cursor/mcp.json), Windsurf, VS Code and others:\n{config}\n\n\
         Press Ctrl-C to stop.",
        version = env!("CARGO_PKG_VERSION"),
        config = serde_json::to_string_pretty(&config).unwrap_or_default(),
    )
}

/// Serves the app on `listener` until `shutdown` completes, letting requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    config: AppConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(config))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
