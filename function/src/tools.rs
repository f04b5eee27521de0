//! The sample tools. Each tool's logic is a plain function (tested directly); the `#[tool]`
//! methods on [`McpServer`] only adapt arguments and results to MCP.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, SecondsFormat, Utc};
use rmcp::{
    ErrorData, RoleServer,
    handler::server::{router::tool::ToolRouter, tool::schema_for_output},
    model::{CallToolResult, ContentBlock, ProgressNotificationParam},
    service::RequestContext,
    tool, tool_router,
};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{params::Parameters, server::McpServer};

/// A successful result: a short summary for the model to read, and the data as
/// `structuredContent` (matching the tool's `outputSchema`).
pub(crate) fn structured<T: Serialize>(
    summary: String,
    value: &T,
) -> Result<CallToolResult, ErrorData> {
    let value = serde_json::to_value(value)
        .map_err(|e| ErrorData::internal_error(format!("could not serialize result: {e}"), None))?;
    // Not CallToolResult::structured: it renders the value as text, which the summary replaces.
    let mut result = CallToolResult::success(vec![ContentBlock::text(summary)]);
    result.structured_content = Some(value);
    Ok(result)
}

/// A tool-level failure the model can read and act on (`isError: true`).
pub(crate) fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

// ---------------------------------------------------------------------------------------------
// get_weather

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Celsius and km/h.
    #[default]
    Metric,
    /// Fahrenheit and mph.
    Imperial,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherRequest {
    /// City name, for example "Lisbon" or "New York".
    pub city: String,
    /// Unit system for the answer (default metric).
    #[serde(default)]
    pub units: Units,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WeatherReport {
    pub city: String,
    pub condition: String,
    pub temperature: f64,
    pub temperature_unit: String,
    pub humidity_percent: u8,
    pub wind_speed: f64,
    pub wind_speed_unit: String,
    pub units: Units,
}

const CONDITIONS: [&str; 6] = [
    "sunny",
    "partly cloudy",
    "cloudy",
    "light rain",
    "heavy rain",
    "snow",
];

/// FNV-1a: a stable hash, so the same city gives the same weather in every process.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Deterministic mock weather: the same city (ignoring case and surrounding spaces) always
/// gets the same report.
pub fn weather_for(city: &str, units: Units) -> Result<WeatherReport, String> {
    let city = city.trim();
    if city.is_empty() {
        return Err("`city` must not be empty: give a city name such as \"Lisbon\".".into());
    }
    if city.chars().count() > 100 {
        return Err("`city` is too long (at most 100 characters).".into());
    }
    let h = stable_hash(&city.to_lowercase());
    let celsius = f64::from((h % 450) as u32) / 10.0 - 10.0; // -10.0 ..= 34.9
    let wind_kmh = f64::from(((h >> 16) % 600) as u32) / 10.0; // 0.0 ..= 59.9
    let humidity = 20 + ((h >> 32) % 80) as u8;
    let condition = CONDITIONS[((h >> 48) % CONDITIONS.len() as u64) as usize];
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let (temperature, temperature_unit, wind_speed, wind_speed_unit) = match units {
        Units::Metric => (celsius, "°C", wind_kmh, "km/h"),
        Units::Imperial => (
            round1(celsius * 9.0 / 5.0 + 32.0),
            "°F",
            round1(wind_kmh / 1.609_344),
            "mph",
        ),
    };
    Ok(WeatherReport {
        city: city.to_owned(),
        condition: condition.to_owned(),
        temperature,
        temperature_unit: temperature_unit.to_owned(),
        humidity_percent: humidity,
        wind_speed,
        wind_speed_unit: wind_speed_unit.to_owned(),
        units,
    })
}

// ---------------------------------------------------------------------------------------------
// calculate

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Operation {
    fn symbol(self) -> &'static str {
        match self {
            Operation::Add => "+",
            Operation::Subtract => "-",
            Operation::Multiply => "×",
            Operation::Divide => "÷",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateRequest {
    pub operation: Operation,
    /// Left operand.
    pub a: f64,
    /// Right operand.
    pub b: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Calculation {
    pub operation: Operation,
    pub a: f64,
    pub b: f64,
    pub result: f64,
    /// The result as an exact decimal string (no binary floating-point noise).
    pub result_text: String,
    pub expression: String,
}

/// Exact decimal arithmetic: operands are taken at their shortest decimal spelling, so
/// `0.1 + 0.2` is `0.3`. Falls back to binary floating point only when a value is outside
/// the decimal range (about ±7.9e28); a non-finite result is an error, never a panic.
pub fn calculate(operation: Operation, a: f64, b: f64) -> Result<Calculation, String> {
    if !a.is_finite() || !b.is_finite() {
        return Err("Operands must be finite numbers.".into());
    }
    if operation == Operation::Divide && b == 0.0 {
        return Err(format!(
            "Division by zero: {a} ÷ 0 is undefined. Choose a non-zero divisor `b`."
        ));
    }
    let exact = Decimal::from_str(&a.to_string())
        .ok()
        .zip(Decimal::from_str(&b.to_string()).ok())
        .and_then(|(x, y)| match operation {
            Operation::Add => x.checked_add(y),
            Operation::Subtract => x.checked_sub(y),
            Operation::Multiply => x.checked_mul(y),
            Operation::Divide => x.checked_div(y),
        })
        .map(|d| d.normalize());
    let (result, result_text) = match exact {
        Some(d) => {
            let text = d.to_string();
            (text.parse::<f64>().unwrap_or(f64::NAN), text)
        }
        None => {
            let r = match operation {
                Operation::Add => a + b,
                Operation::Subtract => a - b,
                Operation::Multiply => a * b,
                Operation::Divide => a / b,
            };
            (r, r.to_string())
        }
    };
    if !result.is_finite() {
        return Err(format!(
            "The result of {a} {} {b} is not a finite number (overflow).",
            operation.symbol()
        ));
    }
    Ok(Calculation {
        operation,
        a,
        b,
        result,
        expression: format!("{a} {} {b} = {result_text}", operation.symbol()),
        result_text,
    })
}

// ---------------------------------------------------------------------------------------------
// get_server_status

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

// ---------------------------------------------------------------------------------------------
// lookup_user

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupUserRequest {
    /// Directory id, for example "u-1001".
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct User {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub department: String,
    pub title: String,
    pub active: bool,
}

const DIRECTORY: [(&str, &str, &str, &str, &str, bool); 5] = [
    (
        "u-1001",
        "Ada Lovelace",
        "ada@example.com",
        "Engineering",
        "Principal Engineer",
        true,
    ),
    (
        "u-1002",
        "Grace Hopper",
        "grace@example.com",
        "Engineering",
        "Staff Engineer",
        true,
    ),
    (
        "u-1003",
        "Alan Turing",
        "alan@example.com",
        "Research",
        "Research Scientist",
        true,
    ),
    (
        "u-1004",
        "Katherine Johnson",
        "katherine@example.com",
        "Finance",
        "FinOps Analyst",
        true,
    ),
    (
        "u-1005",
        "Edsger Dijkstra",
        "edsger@example.com",
        "Engineering",
        "Architect",
        false,
    ),
];

/// Mock directory lookup. Ids are matched exactly after trimming.
pub fn lookup_user(user_id: &str) -> Result<User, String> {
    let id = user_id.trim();
    DIRECTORY
        .iter()
        .find(|entry| entry.0 == id)
        .map(|&(user_id, name, email, department, title, active)| User {
            user_id: user_id.into(),
            name: name.into(),
            email: email.into(),
            department: department.into(),
            title: title.into(),
            active,
        })
        .ok_or_else(|| {
            let known: Vec<&str> = DIRECTORY.iter().map(|e| e.0).collect();
            format!("No user with id {id:?}. Known ids: {}.", known.join(", "))
        })
}

// ---------------------------------------------------------------------------------------------
// simulate_job

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateJobRequest {
    /// Number of steps, 1 to 20.
    pub steps: u32,
    /// Milliseconds per step, 0 to 2000 (default 200).
    #[serde(default = "default_step_ms")]
    pub step_ms: u32,
}

fn default_step_ms() -> u32 {
    200
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JobReport {
    pub steps_completed: u32,
    pub progress_notifications_sent: u32,
    pub elapsed_ms: u64,
}

pub fn check_job(request: &SimulateJobRequest) -> Result<(), String> {
    if !(1..=20).contains(&request.steps) {
        return Err(format!(
            "`steps` must be between 1 and 20, got {}.",
            request.steps
        ));
    }
    if request.step_ms > 2000 {
        return Err(format!(
            "`step_ms` must be at most 2000, got {}.",
            request.step_ms
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The MCP surface

impl McpServer {
    /// Runs a tool that needs nothing from the request context (no progress, no peer), for
    /// the app's fast path; `None` for every other tool, which rmcp's router runs.
    pub(crate) async fn call_plain_tool(
        &self,
        name: &str,
        arguments: &serde_json::Value,
    ) -> Option<Result<CallToolResult, ErrorData>> {
        use crate::params::parse_arguments as args;
        // Each tool named once; an unknown name is `None` (rmcp answers it).
        let outcome = match name {
            "get_weather" => {
                async { self.get_weather(Parameters(args(name, arguments)?)).await }.await
            }
            "calculate" => async { self.calculate(Parameters(args(name, arguments)?)).await }.await,
            "lookup_user" => {
                async { self.lookup_user(Parameters(args(name, arguments)?)).await }.await
            }
            "get_server_status" => self.get_server_status().await,
            "get_today_date" => self.get_today_date().await,
            _ => return None,
        };
        Some(outcome)
    }
}

#[tool_router(vis = "pub(crate)")]
impl McpServer {
    #[tool(
        title = "Get weather",
        description = "Current weather for a city (deterministic mock data: the same city always \
                       gives the same answer). Returns condition, temperature, humidity and wind \
                       with their units.",
        output_schema = schema_for_output::<WeatherReport>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_weather(
        &self,
        Parameters(req): Parameters<WeatherRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        match weather_for(&req.city, req.units) {
            Ok(r) => structured(
                format!(
                    "{}: {}, {}{}, humidity {}%, wind {} {}.",
                    r.city,
                    r.condition,
                    r.temperature,
                    r.temperature_unit,
                    r.humidity_percent,
                    r.wind_speed,
                    r.wind_speed_unit
                ),
                &r,
            ),
            Err(message) => Ok(tool_error(message)),
        }
    }

    #[tool(
        title = "Calculate",
        description = "Exact decimal arithmetic on two numbers: add, subtract, multiply or divide. \
                       Division by zero and results that overflow are reported as errors.",
        output_schema = schema_for_output::<Calculation>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn calculate(
        &self,
        Parameters(req): Parameters<CalculateRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        match calculate(req.operation, req.a, req.b) {
            Ok(c) => structured(c.expression.clone(), &c),
            Err(message) => Ok(tool_error(message)),
        }
    }

    #[tool(
        title = "Server status",
        description = "Health of this MCP server: status, version, current UTC time, AWS region \
                       (or \"local\"), how it runs (local, api-gateway, function-url) and uptime.",
        output_schema = schema_for_output::<ServerStatus>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_server_status(&self) -> Result<CallToolResult, ErrorData> {
        let s = server_status(
            self.mode().as_str(),
            self.region(),
            self.uptime(),
            Utc::now(),
        );
        structured(
            format!(
                "{} {} is {} ({}, region {}), up {:.1} s, at {}.",
                s.server, s.version, s.status, s.mode, s.region, s.uptime_seconds, s.timestamp
            ),
            &s,
        )
    }

    #[tool(
        title = "Look up user",
        description = "Find a person in the (mock) company directory by user id, such as \
                       \"u-1001\". Returns name, email, department, title and whether the account \
                       is active.",
        output_schema = schema_for_output::<User>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn lookup_user(
        &self,
        Parameters(req): Parameters<LookupUserRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        match lookup_user(&req.user_id) {
            Ok(u) => structured(
                format!(
                    "{} ({}): {}, {}, {}{}.",
                    u.name,
                    u.user_id,
                    u.title,
                    u.department,
                    u.email,
                    if u.active { "" } else { ", inactive" }
                ),
                &u,
            ),
            Err(message) => Ok(tool_error(message)),
        }
    }

    #[tool(
        title = "Simulate a long job",
        description = "Runs a job of `steps` steps, `step_ms` milliseconds each, and reports \
                       progress after every step (MCP progress notifications, streamed over SSE \
                       when the client sends a progressToken).",
        output_schema = schema_for_output::<JobReport>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn simulate_job(
        &self,
        Parameters(req): Parameters<SimulateJobRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if let Err(message) = check_job(&req) {
            return Ok(tool_error(message));
        }
        let started = std::time::Instant::now();
        let token = context.meta.get_progress_token();
        let mut sent = 0;
        for step in 1..=req.steps {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(u64::from(req.step_ms))) => {}
                _ = context.ct.cancelled() => return Ok(tool_error("The job was cancelled.")),
            }
            if let Some(token) = &token {
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_total(f64::from(req.steps))
                    .with_message(format!("step {step} of {}", req.steps));
                if context.peer.notify_progress(progress).await.is_ok() {
                    sent += 1;
                }
            }
        }
        let report = JobReport {
            steps_completed: req.steps,
            progress_notifications_sent: sent,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        structured(
            format!(
                "Job finished: {} steps in {} ms.",
                report.steps_completed, report.elapsed_ms
            ),
            &report,
        )
    }
}

pub(crate) fn router() -> ToolRouter<McpServer> {
    McpServer::tool_router() + McpServer::cost_tool_router()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weather_is_deterministic_and_case_insensitive() {
        let a = weather_for("Lisbon", Units::Metric).unwrap();
        let b = weather_for("  lisbon ", Units::Metric).unwrap();
        assert_eq!(a.temperature, b.temperature);
        assert_eq!(a.condition, b.condition);
        assert_eq!(a.temperature_unit, "°C");
        assert!((-10.0..35.0).contains(&a.temperature));
        assert!((20..100).contains(&a.humidity_percent));
        assert_ne!(
            (a.temperature, a.condition.clone(), a.humidity_percent),
            {
                let o = weather_for("Oslo", Units::Metric).unwrap();
                (o.temperature, o.condition, o.humidity_percent)
            },
            "different cities should differ"
        );
    }

    #[test]
    fn imperial_weather_converts_units() {
        let m = weather_for("Paris", Units::Metric).unwrap();
        let i = weather_for("Paris", Units::Imperial).unwrap();
        assert_eq!(i.temperature_unit, "°F");
        assert_eq!(i.wind_speed_unit, "mph");
        assert!((i.temperature - (m.temperature * 1.8 + 32.0)).abs() < 0.06);
    }

    #[test]
    fn weather_rejects_empty_and_huge_city_names() {
        assert!(
            weather_for("  ", Units::Metric)
                .unwrap_err()
                .contains("must not be empty")
        );
        assert!(weather_for(&"x".repeat(101), Units::Metric).is_err());
    }

    #[test]
    fn calculate_is_exact_in_decimal() {
        let c = calculate(Operation::Add, 0.1, 0.2).unwrap();
        assert_eq!(c.result_text, "0.3");
        assert_eq!(c.result, 0.3);
        assert_eq!(
            calculate(Operation::Subtract, 5.0, 7.5).unwrap().result,
            -2.5
        );
        assert_eq!(
            calculate(Operation::Multiply, 1.1, 1.1)
                .unwrap()
                .result_text,
            "1.21"
        );
        assert_eq!(calculate(Operation::Divide, 1.0, 4.0).unwrap().result, 0.25);
        assert_eq!(
            calculate(Operation::Divide, 10.0, 4.0).unwrap().expression,
            "10 ÷ 4 = 2.5"
        );
    }

    #[test]
    fn calculate_reports_division_by_zero_and_overflow() {
        assert!(
            calculate(Operation::Divide, 1.0, 0.0)
                .unwrap_err()
                .contains("Division by zero")
        );
        assert!(
            calculate(Operation::Divide, 0.0, -0.0)
                .unwrap_err()
                .contains("Division by zero")
        );
        assert!(
            calculate(Operation::Multiply, 1e300, 1e300)
                .unwrap_err()
                .contains("not a finite")
        );
        // Outside the decimal range the binary result is still exact enough and finite.
        assert_eq!(calculate(Operation::Add, 1e30, 1e30).unwrap().result, 2e30);
    }

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

    #[test]
    fn users_are_found_and_unknown_ids_explained() {
        assert_eq!(lookup_user(" u-1001 ").unwrap().name, "Ada Lovelace");
        assert!(!lookup_user("u-1005").unwrap().active);
        let err = lookup_user("u-9999").unwrap_err();
        assert!(
            err.contains("No user with id \"u-9999\"") && err.contains("u-1001"),
            "{err}"
        );
    }

    #[test]
    fn job_bounds_are_checked() {
        assert!(
            check_job(&SimulateJobRequest {
                steps: 0,
                step_ms: 1
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 21,
                step_ms: 1
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 3,
                step_ms: 2001
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 20,
                step_ms: 2000
            })
            .is_ok()
        );
    }
}
