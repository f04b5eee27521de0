//! The `bootstrap` binary: on AWS Lambda it serves the app through the Lambda runtime;
//! anywhere else it runs the local embedded server.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use anyhow::Context;
use authorizer::StaticKeys;
use clap::Parser;
use function::{
    AppConfig,
    config::{ConfigError, LambdaSettings, running_on_lambda},
    lambda, local,
};

/// serverless-mcp: an MCP server (Streamable HTTP at /mcp) guarded by an API key.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Loopback address to bind (127.0.0.1 or ::1): the local server accepts only loopback hosts.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if running_on_lambda(env_var) {
        authorizer::init_logging(true);
        let settings = LambdaSettings::from_env(env_var)?;
        let key = env_var("MCP_API_KEY")
            .filter(|k| !k.is_empty())
            .ok_or(ConfigError::MissingKey)?;
        let config = settings.into_app_config(Arc::new(StaticKeys::single(&key)));
        tracing::info!(mode = %config.mode, region = %config.region, "starting on AWS Lambda");
        return lambda::run(config).await.map_err(|e| anyhow::anyhow!(e));
    }

    let args = Args::parse();
    authorizer::init_logging(false);
    anyhow::ensure!(
        args.host.is_loopback(),
        "--host must be a loopback address (127.0.0.1 or ::1); the local server only accepts loopback hosts"
    );
    let (key, generated) = match env_var("MCP_API_KEY").filter(|k| !k.trim().is_empty()) {
        Some(key) => (key.trim().to_owned(), false),
        None => (
            authorizer::generate_key().context("could not generate an API key")?,
            true,
        ),
    };
    let config = AppConfig::local(Arc::new(StaticKeys::single(&key)));
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
        .await
        .with_context(|| {
            format!(
                "could not listen on {}:{} (try --port)",
                args.host, args.port
            )
        })?;
    let addr = listener.local_addr()?;
    println!("{}", local::banner(addr, &key, generated));
    tracing::info!(%addr, "listening");
    local::serve(listener, config, local::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
