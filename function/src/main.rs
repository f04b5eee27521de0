//! The `function` binary (shipped to Lambda as `bootstrap`): on AWS Lambda it serves the app through the Lambda runtime;
//! anywhere else it runs the local embedded server.
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use function::{
    AppConfig,
    config::{ConfigError, KeySource, LambdaSettings, running_on_lambda},
    lambda,
    local::{self, KeyShown},
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
    /// Largest accepted request body in bytes (1024 to 6291456); larger bodies get 413.
    #[arg(long, env = "MCP_MAX_BODY_BYTES", default_value_t = function::config::DEFAULT_MAX_BODY_BYTES,
          value_parser = body_limit)]
    max_body_bytes: usize,
}

fn body_limit(raw: &str) -> Result<usize, String> {
    function::config::parse_body_limit(raw)
        .ok_or_else(|| "must be a whole number of bytes from 1024 to 6291456".into())
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> anyhow::Result<()> {
    // Lambda sends one request at a time per instance: one thread starts faster and stays
    // smaller. The local server serves many clients at once.
    if running_on_lambda(env_var) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(run_on_lambda());
    }
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_locally(args))
}

async fn run_on_lambda() -> anyhow::Result<()> {
    authorizer::init_logging(true);
    let settings = LambdaSettings::from_env(env_var)?;
    let (auth, oauth) = function::oauth::auth_from_env(env_var).map_err(anyhow::Error::msg)?;
    let keys = match KeySource::from_env(env_var)? {
        Some(source) => source.verifier(),
        None if !auth.accepts_keys() => no_keys(),
        None => return Err(ConfigError::MissingKey.into()),
    };
    let mut config = settings.into_app_config(keys);
    config.auth = auth;
    config.oauth = oauth;
    tracing::info!(mode = %config.mode, region = %config.region, auth = ?config.auth, "starting on AWS Lambda");
    lambda::run(config).await.map_err(|e| anyhow::anyhow!(e))
}

/// OAuth-only: no API key is accepted.
fn no_keys() -> std::sync::Arc<dyn authorizer::KeyVerifier> {
    std::sync::Arc::new(authorizer::StaticKeys::new(Vec::new()))
}

async fn run_locally(args: Args) -> anyhow::Result<()> {
    authorizer::init_logging(false);
    anyhow::ensure!(
        args.host.is_loopback(),
        "--host must be a loopback address (127.0.0.1 or ::1); the local server only accepts loopback hosts"
    );
    let (auth, oauth) = function::oauth::auth_from_env(env_var).map_err(anyhow::Error::msg)?;
    let (keys, shown) = match KeySource::from_env(env_var)? {
        Some(source) => {
            let shown = KeyShown::from(&source);
            (source.verifier(), shown)
        }
        None if !auth.accepts_keys() => (no_keys(), KeyShown::OAuthOnly),
        None => {
            let key = authorizer::generate_key().context("could not generate an API key")?;
            (
                KeySource::Fixed(key.clone()).verifier(),
                KeyShown::Generated(key),
            )
        }
    };
    let mut config = AppConfig::local(keys);
    config.auth = auth;
    config.oauth = oauth;
    config.max_body_bytes = args.max_body_bytes;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port))
        .await
        .with_context(|| {
            format!(
                "could not listen on {}:{} (try --port)",
                args.host, args.port
            )
        })?;
    let addr = listener.local_addr()?;
    println!("{}", local::banner(addr, &shown));
    tracing::info!(%addr, "listening");
    local::serve(listener, config, local::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
