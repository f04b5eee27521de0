//! The local side of the benchmark: each server started and timed to its first response, then
//! a fixed-concurrency wrk load of tools/call, in rounds taken in turn.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use devkit::Process;

use super::report::{CONCURRENCY, LocalFigures, Samples};

/// A local server: name, command line, environment.
pub struct LocalSubject {
    pub name: &'static str,
    pub argv: Vec<String>,
    pub env: Vec<(&'static str, String)>,
}

/// One wrk run's figures.
#[derive(Debug, Clone, PartialEq)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: Option<String>,
}

/// A started server and how long it took to answer.
struct Running {
    port: u16,
    start_to_first_response_ms: f64,
    _process: Process,
}

/// Starts every server in turn (each stays up for the load rounds), checks one tools/call on
/// each, then runs the rounds. Figures in the order of `subjects`.
pub fn measure(
    wrk: &Path,
    lua: &Path,
    subjects: &[LocalSubject],
    call: &str,
    key: &str,
    samples: &Samples,
) -> Result<Vec<LocalFigures>> {
    let mut servers = Vec::new();
    for subject in subjects {
        eprintln!("bench: local server {}", subject.name);
        servers.push(start(subject, call, key)?);
    }
    let mut rounds: Vec<Vec<WrkResult>> = vec![Vec::new(); servers.len()];
    for round in 0..samples.load_rounds {
        for ((subject, server), results) in subjects.iter().zip(&servers).zip(&mut rounds) {
            eprintln!("bench: load round {} on {}", round + 1, subject.name);
            results.push(wrk_round(wrk, lua, server.port, samples.load_seconds)?);
        }
    }
    subjects
        .iter()
        .zip(&servers)
        .zip(&rounds)
        .map(|((subject, server), results)| {
            let median = |figure: &str, get: fn(&WrkResult) -> f64| {
                devkit::median(&results.iter().map(get).collect::<Vec<_>>())
                    .with_context(|| format!("no load rounds for {}'s {figure}", subject.name))
            };
            Ok(LocalFigures {
                start_to_first_response_ms: server.start_to_first_response_ms,
                concurrency: CONCURRENCY,
                requests_per_second: median("requests_per_second", |r| r.rps)?,
                p50_ms: median("p50_ms", |r| r.p50_ms)?,
                p99_ms: median("p99_ms", |r| r.p99_ms)?,
                rounds_requests_per_second: results.iter().map(|r| r.rps).collect(),
                non_2xx: results.iter().find_map(|r| r.non_2xx.clone()),
            })
        })
        .collect()
}

fn start(subject: &LocalSubject, call: &str, key: &str) -> Result<Running> {
    let name = subject.name;
    let port = devkit::free_port();
    let mut command = Command::new(&subject.argv[0]);
    command.args(&subject.argv[1..]);
    // The product's own CLI (ours, and ours at the baseline revision) takes `--port <port>`.
    if matches!(name, "ours" | "baseline") {
        command.arg(port.to_string());
    }
    command
        .env("PORT", port.to_string())
        .envs(subject.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let process = Process::spawn(&mut command)?;
    let base = format!("http://127.0.0.1:{port}");
    devkit::wait_until_up(&format!("{base}/health"), Duration::from_secs(20))
        .with_context(|| format!("{name} did not answer /health"))?;
    let start_to_first_response_ms = started.elapsed().as_secs_f64() * 1000.0;
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("x-api-key", key),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let reply = devkit::post(&format!("{base}/mcp"), &headers, call)?;
    if reply.status != 200 || !(reply.body.contains("42") || name == "floor") {
        bail!(
            "{name} answered tools/call with {}: {}",
            reply.status,
            reply.body
        );
    }
    Ok(Running {
        port,
        start_to_first_response_ms,
        _process: process,
    })
}

/// One bounded wrk run of tools/call against a local server: 2 threads, 32 connections.
fn wrk_round(wrk: &Path, lua: &Path, port: u16, seconds: u32) -> Result<WrkResult> {
    let output = Command::new(wrk)
        .args([
            "-t2",
            &format!("-c{CONCURRENCY}"),
            "--latency",
            &format!("-d{seconds}s"),
            "-s",
        ])
        .arg(lua)
        .arg(format!("http://127.0.0.1:{port}/mcp"))
        .output()
        .with_context(|| format!("could not run {}", wrk.display()))?;
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

/// The figures of wrk's `--latency` output; any missing one is an error.
fn parse_wrk(text: &str) -> Result<WrkResult> {
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let figure = |prefix: &str, parse: fn(&str) -> Option<f64>| {
        line(prefix)
            .as_deref()
            .and_then(parse)
            .with_context(|| format!("no `{prefix}` figure in wrk's output:\n{text}"))
    };
    Ok(WrkResult {
        rps: figure("Requests/sec:", |v| v.parse().ok())?,
        p50_ms: figure("50%", parse_wrk_duration)?,
        p99_ms: figure("99%", parse_wrk_duration)?,
        non_2xx: line("Non-2xx or 3xx responses:"),
    })
}

/// wrk prints durations as `1.23ms`, `456.00us`, `1.02s`; in ms.
fn parse_wrk_duration(text: &str) -> Option<f64> {
    let text = text.split_whitespace().next()?;
    let (number, factor) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 3s test @ http://127.0.0.1:40000/mcp
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.13us    1.02ms  30.11ms   95.12%
  Latency Distribution
     50%  526.00us
     75%  700.00us
     90%    1.00ms
     99%    2.12ms
  155567 requests in 3.00s, 60.00MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  51855.65
Transfer/sec:     20.00MB
";

    #[test]
    fn wrk_output_is_parsed() {
        let result = parse_wrk(WRK).unwrap();
        assert_eq!(result.rps, 51855.65);
        assert_eq!(result.p50_ms, 0.526);
        assert_eq!(result.p99_ms, 2.12);
        assert_eq!(result.non_2xx.as_deref(), Some("12"));
        assert_eq!(parse_wrk_duration("1.02s"), Some(1020.0));
    }

    #[test]
    fn a_missing_wrk_figure_is_an_error() {
        let error = parse_wrk(&WRK.replace("Requests/sec:", "Requests:")).unwrap_err();
        assert!(error.to_string().contains("Requests/sec:"), "{error}");
        assert!(parse_wrk(&WRK.replace("99%    2.12ms", "99%    ?")).is_err());
        assert!(parse_wrk("").is_err());
    }
}
