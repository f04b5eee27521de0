//! `get_server_status`: health, version, region, run mode and uptime.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::{Deps, Hints, NoArguments, Reply, Tool, ToolError, ToolSpec};

pub struct GetServerStatus;

impl Tool for GetServerStatus {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_server_status",
        title: "Server status",
        description: "Health of this MCP server: status, version, current UTC time, AWS region \
                      (or \"local\"), how it runs (local, api-gateway, function-url) and uptime.",
        summary: "health, version, region, uptime",
        hints: Hints::LOCAL,
        iam_actions: &[],
        example: "{}",
    };
    type Args = NoArguments;
    type Output = ServerStatus;

    fn call(deps: &Deps, _: NoArguments) -> Result<Reply<ServerStatus>, ToolError> {
        let s = server_status(
            deps.mode.as_str(),
            &deps.region,
            deps.started.elapsed(),
            Utc::now(),
        );
        let summary = format!(
            "{} {} is {} ({}, region {}), up {:.1} s, at {}.",
            s.server, s.version, s.status, s.mode, s.region, s.uptime_seconds, s.timestamp
        );
        Ok(Reply::new(summary, s))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ServerStatus {
    pub status: String,
    pub server: String,
    pub version: String,
    /// RFC 3339 UTC timestamp of this answer.
    pub timestamp: String,
    /// AWS region, or "local".
    pub region: String,
    /// How the server runs: local, api-gateway or function-url.
    pub mode: String,
    pub uptime_seconds: f64,
}

pub fn server_status(
    mode: &str,
    region: &str,
    uptime: Duration,
    now: DateTime<Utc>,
) -> ServerStatus {
    ServerStatus {
        status: "ok".into(),
        server: crate::SERVER_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        region: region.into(),
        mode: mode.into(),
        uptime_seconds: (uptime.as_secs_f64() * 1000.0).round() / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reports_mode_region_and_uptime() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let s = server_status(
            "function-url",
            "eu-west-1",
            Duration::from_millis(1500),
            now,
        );
        assert_eq!(s.timestamp, "2026-01-02T03:04:05.000Z");
        assert_eq!(s.mode, "function-url");
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.uptime_seconds, 1.5);
        assert_eq!(s.version, env!("CARGO_PKG_VERSION"));
    }
}
