//! Structured JSON logs (one object per line), level from `RUST_LOG` (default `info`, rmcp's
//! per-request chatter at `warn`).

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber. Logs go to stderr locally (stdout stays for the user's
/// messages) and to stdout on Lambda (CloudWatch reads both).
pub fn init(to_stdout: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let builder = fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_env_filter(filter);
    let _ = if to_stdout {
        builder.with_writer(std::io::stdout).try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
}
