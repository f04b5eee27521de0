//! The helpers behind the `app` feature (see lib.rs).

use std::sync::{Arc, OnceLock};

use aws_sdk_costexplorer::config::{BehaviorVersion, Region, retry::RetryConfig};
use function::{
    AppConfig,
    config::LambdaSettings,
    cost::{CostExplorer, CostSettings},
};

/// The one key the fuzzed app accepts.
pub const KEY: &str = "fuzz-key";

/// Responses larger than this are a finding (the largest real one, `tools/list`, is tens of KiB).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// One current-thread runtime for the whole run (building one per input would dominate the
/// time). Its clock starts paused and jumps ahead when every task waits on a timer, so tool
/// sleeps and deadlines cost no real time.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime")
    })
}

/// A Cost Explorer client with no HTTP client and no credentials: a Cost Explorer tool that
/// gets past its argument checks fails at once with an SDK error instead of calling AWS.
pub fn offline_cost() -> Arc<CostExplorer> {
    let config = aws_sdk_costexplorer::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .retry_config(RetryConfig::disabled())
        .build();
    Arc::new(CostExplorer::with_client(
        aws_sdk_costexplorer::Client::from_conf(config),
        CostSettings::default(),
    ))
}

/// The local server's configuration (loopback hosts and origins), key [`KEY`].
pub fn local_config() -> AppConfig {
    let mut config = AppConfig::local(Arc::new(authorizer::StaticKeys::single(KEY)));
    config.cost = offline_cost();
    config
}

/// A Lambda configuration as the environment of a deployed stage gives it (`mode` is
/// `api-gateway` or `function-url`), key [`KEY`].
pub fn lambda_config(mode: &str) -> AppConfig {
    let settings = LambdaSettings::from_env(|name| match name {
        "MCP_LAMBDA_MODE" => Some(mode.to_owned()),
        "AWS_REGION" => Some("us-east-1".to_owned()),
        _ => None,
    })
    .expect("valid Lambda settings");
    let mut config = settings.into_app_config(Arc::new(authorizer::StaticKeys::single(KEY)));
    config.cost = offline_cost();
    config
}

/// The status code of an HTTP/1.1 response's head, `None` when `bytes` does not start with one.
pub fn status_of(bytes: &[u8]) -> Option<u16> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => response.code,
        _ => None,
    }
}
