//! The Lambda side of the benchmark: each subject under the Runtime Interface Emulator, cold
//! starts and warm invokes taken in turn, and the function's peak RSS.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use devkit::Emulator;
use serde_json::{Value, json};

use super::report::{LambdaFigures, Samples, Stats};

/// A Lambda subject: what the emulator runs, its environment, and the events it is sent
/// (they carry its credential).
pub struct LambdaSubject {
    pub name: &'static str,
    pub bootstrap: PathBuf,
    pub env: Vec<(&'static str, String)>,
    pub events: Events,
}

/// The three MCP messages every subject is invoked with, as API Gateway v2 events.
#[derive(Clone)]
pub struct Events {
    pub initialize: String,
    pub list: String,
    pub call: String,
}

impl Events {
    /// The three messages, each sent with the credential header `(name, value)`.
    pub fn new(root: &Path, messages: [&Value; 3], credential: (&str, &str)) -> Result<Self> {
        Ok(Self {
            initialize: apigw_event(root, messages[0], credential)?,
            list: apigw_event(root, messages[1], credential)?,
            call: apigw_event(root, messages[2], credential)?,
        })
    }
}

/// The host the events name (API Gateway's default domain, `$default` stage).
pub const EVENT_HOST: &str = "abc.execute-api.us-east-1.amazonaws.com";

/// An API Gateway v2 event (the lambda_http fixture) carrying one MCP message.
pub fn apigw_event(root: &Path, message: &Value, credential: (&str, &str)) -> Result<String> {
    let fixture = std::fs::read_to_string(
        root.join("function/tests/it/fixtures/apigw_v2_proxy_request.json"),
    )?;
    let mut event: Value = serde_json::from_str(&fixture)?;
    event["rawPath"] = json!("/mcp");
    event["rawQueryString"] = json!("");
    event["requestContext"]["http"]["path"] = json!("/mcp");
    event["headers"] = json!({
        "host": EVENT_HOST,
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25"
    });
    event["headers"][credential.0] = json!(credential.1);
    event["body"] = json!(message.to_string());
    Ok(event.to_string())
}

fn start(rie: &Path, subject: &LambdaSubject, logs: &Path) -> Result<Emulator> {
    // A fresh port for the reference's Node server each time (the adapter's target).
    let app_port = devkit::free_port().to_string();
    let mut env = subject.env.clone();
    env.extend([
        ("PORT", app_port.clone()),
        ("AWS_LWA_PORT", app_port),
        ("RUST_LOG", "warn".into()),
    ]);
    Emulator::start(rie, &subject.bootstrap, &env, logs, subject.name)
        .with_context(|| format!("could not start {} under the emulator", subject.name))
}

/// Invokes and checks the reply; returns the time to the reply in ms.
fn timed_invoke(
    emulator: &Emulator,
    subject: &LambdaSubject,
    event: &str,
    expect: &str,
) -> Result<f64> {
    let (elapsed, body) = emulator.invoke(event)?;
    // The floor answers every call with the same fixed reply.
    let expect = if subject.name == "floor" {
        "result"
    } else {
        expect
    };
    if !body.contains(expect) {
        bail!(
            "{} did not answer as expected ({expect}): {body}",
            subject.name
        );
    }
    Ok(elapsed.as_secs_f64() * 1000.0)
}

/// Cold starts, then warm invokes, each taken in turn (ours, reference, floor, ours, ...) so a
/// slow spell of the machine falls on every subject alike. Figures in the order of `subjects`.
pub fn measure(
    rie: &Path,
    subjects: &[LambdaSubject],
    samples: &Samples,
    logs: &Path,
) -> Result<Vec<LambdaFigures>> {
    eprintln!("bench: Lambda cold starts");
    let mut cold: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); subjects.len()];
    for _ in 0..samples.cold {
        for (subject, (first, init)) in subjects.iter().zip(&mut cold) {
            let emulator = start(rie, subject, logs)?;
            first.push(timed_invoke(
                &emulator,
                subject,
                &subject.events.initialize,
                "protocolVersion",
            )?);
            init.push(emulator.init_ms().with_context(|| {
                format!(
                    "no INIT REPORT in {}'s emulator log: {}",
                    subject.name,
                    emulator.log_text()
                )
            })?);
        }
    }
    // One warm emulator per subject; each sample goes round them.
    eprintln!("bench: Lambda warm invokes");
    let mut warm = Vec::new();
    for subject in subjects {
        let emulator = start(rie, subject, logs)?;
        emulator.invoke(&subject.events.initialize)?;
        warm.push((emulator, Vec::new(), Vec::new()));
    }
    for _ in 0..samples.warm {
        for (subject, (emulator, list, call)) in subjects.iter().zip(&mut warm) {
            list.push(timed_invoke(
                emulator,
                subject,
                &subject.events.list,
                "calculate",
            )?);
            call.push(timed_invoke(emulator, subject, &subject.events.call, "42")?);
        }
    }
    let mut figures = Vec::new();
    for ((subject, (first, init)), (emulator, list, call)) in subjects.iter().zip(&cold).zip(&warm)
    {
        let figure = |name: &str| format!("{}'s {name}", subject.name);
        figures.push(LambdaFigures {
            cold_first_response_ms: Stats::of(&figure("cold_first_response_ms"), first)?,
            init_ms: Stats::of(&figure("init_ms"), init)?,
            warm_tools_list_ms: Stats::of(&figure("warm_tools_list_ms"), list)?,
            warm_tools_call_ms: Stats::of(&figure("warm_tools_call_ms"), call)?,
            peak_rss_mib: tree_peak_rss_mib(emulator.id())
                .with_context(|| format!("no peak RSS for {}", subject.name))?,
        });
    }
    Ok(figures)
}

/// Peak RSS (VmHWM) summed over a process's descendants (the function, not the emulator), in
/// MiB; `None` when none could be read.
fn tree_peak_rss_mib(root: u32) -> Option<f64> {
    let kib: Vec<u64> = devkit::descendants(root)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .collect();
    (!kib.is_empty()).then(|| kib.iter().sum::<u64>() as f64 / 1024.0)
}
