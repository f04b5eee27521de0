//! `cargo xtask bench`: serverless-mcp against the Node/TypeScript-SDK reference behind the AWS
//! Lambda Web Adapter, the floor (bare lambda_http / axum) and a stock rmcp server, measured side
//! by side in one run on this machine. Everything runs on 127.0.0.1 and is stopped afterwards.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{cargo, run, tools};

/// Lambda prices used for the cost estimate (us-east-1, x86_64, as published by AWS in 2026).
const PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
const LWA_VERSION: &str = "1.0.0-rc1";

struct Samples {
    cold: usize,
    warm: usize,
    load_seconds: u32,
    /// Load rounds per local server, taken in turn (ours, reference, floor, stock, ours, ...)
    /// so a slow spell of the machine falls on every subject alike; the median round counts.
    load_rounds: usize,
}

/// A process killed on drop together with every descendant (the emulator puts the function in
/// a process group of its own, and the reference's Node server is a grandchild), so no benchmark
/// leaves anything behind.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // Collect the tree first: once a parent dies its children are re-parented to init.
        let tree = descendants(self.0.id());
        let _ = self.0.kill();
        for pid in tree {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.0.wait();
    }
}

/// Parent of every process, from /proc.
fn process_parents() -> BTreeMap<u32, u32> {
    let mut parents = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some((_, after)) = stat.rsplit_once(')')
            && let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok())
        {
            parents.insert(pid, ppid);
        }
    }
    parents
}

/// All descendants of `root` (not `root` itself).
fn descendants(root: u32) -> Vec<u32> {
    let parents = process_parents();
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for (child, _) in parents.iter().filter(|(_, p)| **p == pid) {
            found.push(*child);
            stack.push(*child);
        }
    }
    found
}

fn spawn_group(command: &mut Command) -> Result<Proc> {
    use std::os::unix::process::CommandExt;
    command.process_group(0).stdin(Stdio::null());
    Ok(Proc(
        command
            .spawn()
            .with_context(|| format!("could not start {command:?}"))?,
    ))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on a fresh connection; returns (status, body). Loopback only.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP head")?;
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    Ok((status, response[head_end + 4..].to_vec()))
}

fn wait_port(port: u16, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("nothing listened on port {port} within {limit:?}")
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
    v[rank.min(v.len() - 1)]
}

fn stats(values: &[f64]) -> Value {
    json!({"median": percentile(values, 50.0), "p99": percentile(values, 99.0), "samples": values.len()})
}

/// Peak RSS (VmHWM) summed over a process's descendants (the function, not the emulator), in MiB.
fn tree_peak_rss_mib(root: u32) -> f64 {
    let kib: u64 = descendants(root)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .sum();
    kib as f64 / 1024.0
}

#[derive(Clone)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: Option<String>,
}

/// One bounded wrk run of tools/call against a local server: 2 threads, 32 connections.
fn wrk_round(wrk: &Path, lua: &Path, port: u16, seconds: u32) -> Result<WrkResult> {
    let output = Command::new(wrk)
        .args(["-t2", "-c32", "--latency", &format!("-d{seconds}s"), "-s"])
        .arg(lua)
        .arg(format!("http://127.0.0.1:{port}/mcp"))
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    Ok(WrkResult {
        rps: line("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
        p50_ms: line("50%").map_or(f64::NAN, |v| parse_wrk_duration(&v)),
        p99_ms: line("99%").map_or(f64::NAN, |v| parse_wrk_duration(&v)),
        non_2xx: line("Non-2xx or 3xx responses:"),
    })
}

/// A local server: name, command line, environment.
type LocalSubject = (&'static str, Vec<String>, Vec<(&'static str, String)>);

/// A Lambda subject: what the emulator runs, and its environment.
struct LambdaSubject {
    name: &'static str,
    bootstrap: PathBuf,
    env: Vec<(&'static str, String)>,
}

struct Emulator {
    port: u16,
    log: PathBuf,
    proc: Proc,
}

impl Emulator {
    fn start(rie: &Path, subject: &LambdaSubject, logs: &Path) -> Result<Self> {
        let (port, api, app_port) = (free_port(), free_port(), free_port());
        let log = logs.join(format!("{}-{port}.log", subject.name));
        let file = std::fs::File::create(&log)?;
        let mut command = Command::new(rie);
        command
            .args([
                "--runtime-interface-emulator-address",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--runtime-api-address", &format!("127.0.0.1:{api}")])
            .arg(&subject.bootstrap)
            .envs(subject.env.iter().map(|(k, v)| (*k, v.as_str())))
            // A fresh port for the reference's Node server each time (the adapter's target).
            .env("PORT", app_port.to_string())
            .env("AWS_LWA_PORT", app_port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file));
        let proc = spawn_group(&mut command)?;
        wait_port(port, Duration::from_secs(10))?;
        Ok(Self { port, log, proc })
    }

    fn invoke(&self, event: &str) -> Result<(Duration, Vec<u8>)> {
        let started = Instant::now();
        let (status, body) = http(
            self.port,
            "POST",
            "/2015-03-31/functions/function/invocations",
            &[("content-type", "application/json")],
            event,
        )?;
        if status != 200 {
            bail!(
                "invoke answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok((started.elapsed(), body))
    }

    fn init_ms(&self) -> Option<f64> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let rest = &log[log.find("INIT REPORT(durationMs: ")? + 24..];
        rest[..rest.find(')')?].trim().parse().ok()
    }
}

/// An API Gateway v2 event (the lambda_http fixture) carrying one MCP message.
fn apigw_event(root: &Path, message: &Value, key: &str) -> Result<String> {
    let fixture =
        std::fs::read_to_string(root.join("function/tests/fixtures/apigw_v2_proxy_request.json"))?;
    let mut event: Value = serde_json::from_str(&fixture)?;
    event["rawPath"] = json!("/mcp");
    event["rawQueryString"] = json!("");
    event["requestContext"]["http"]["path"] = json!("/mcp");
    event["headers"] = json!({
        "host": "abc.execute-api.us-east-1.amazonaws.com",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "x-api-key": key,
        "mcp-protocol-version": "2025-11-25"
    });
    event["body"] = json!(message.to_string());
    Ok(event.to_string())
}

fn ensure_bench_tools(root: &Path) -> Result<(PathBuf, PathBuf)> {
    // The reference's npm dependencies, pinned by bench/node/package-lock.json.
    let node_dir = root.join("bench/node");
    let lock = std::fs::read_to_string(node_dir.join("package-lock.json"))?;
    let stamp = node_dir.join("node_modules/.installed-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node_dir))?;
        std::fs::write(&stamp, &lock)?;
    }
    // The AWS Lambda Web Adapter, built from crates.io.
    let lwa_root = root.join(".tools/lwa");
    let lwa = lwa_root.join("bin/lambda-adapter");
    if !lwa.exists() {
        run(cargo(root)
            .args([
                "install",
                "lambda_web_adapter",
                "--version",
                LWA_VERSION,
                "--locked",
                "--root",
            ])
            .arg(&lwa_root))?;
    }
    // wrk, the load generator (Debian package).
    let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let wrk = match wrk {
        Some(wrk) => wrk,
        None => {
            run(Command::new("apt-get").args(["update", "-qq"]))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-qq", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
            PathBuf::from("/usr/bin/wrk")
        }
    };
    Ok((lwa, wrk))
}

fn write_reference_bootstrap(root: &Path, node: &Path, lwa: &Path) -> Result<PathBuf> {
    // How users run it: the adapter in front of a plain Node HTTP server.
    let path = root.join("target/bench/reference-bootstrap");
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ncd {dir}\n{node} server.mjs &\nexec {lwa}\n",
            dir = root.join("bench/node").display(),
            node = node.display(),
            lwa = lwa.display()
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

pub fn bench(root: &Path, quick: bool) -> Result<()> {
    let samples = if quick {
        Samples {
            cold: 3,
            warm: 30,
            load_seconds: 3,
            load_rounds: 1,
        }
    } else {
        Samples {
            cold: 15,
            warm: 300,
            load_seconds: 10,
            load_rounds: 3,
        }
    };
    let installed = tools::ensure(root)?;
    let (lwa, wrk) = ensure_bench_tools(root)?;
    // The shipping profile for every Rust subject, so ours and the floors are built alike.
    run(cargo(root).args([
        "build",
        "--profile",
        "dist",
        "-p",
        "function",
        "-p",
        "bench",
    ]))?;
    let release = root.join("target/dist");
    let logs = root.join("target/bench/logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let key = "bench-key-0001".to_string();
    let reference_bootstrap = write_reference_bootstrap(root, &installed.node, &lwa)?;

    let lambda_subjects = [
        LambdaSubject {
            name: "ours",
            bootstrap: release.join("function"),
            env: vec![
                ("MCP_API_KEY", key.clone()),
                ("MCP_LAMBDA_MODE", "api-gateway".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
        },
        LambdaSubject {
            name: "reference",
            bootstrap: reference_bootstrap,
            env: vec![
                ("MCP_API_KEY", key.clone()),
                ("AWS_LWA_READINESS_CHECK_PATH", "/health".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
        },
        LambdaSubject {
            name: "floor",
            bootstrap: release.join("floor-lambda"),
            env: vec![],
        },
    ];

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "multiply", "a": 6, "b": 7}}});
    let (init_event, list_event, call_event) = (
        apigw_event(root, &initialize, &key)?,
        apigw_event(root, &list, &key)?,
        apigw_event(root, &call, &key)?,
    );

    let mut report = json!({
        "machine": machine(),
        "samples": {"cold": samples.cold, "warm": samples.warm, "load_seconds": samples.load_seconds, "load_rounds": samples.load_rounds},
        "lambda": {}, "local": {}, "artifact": {}, "cost": {},
    });

    // Cold starts in turn (ours, reference, floor, ours, ...): a slow spell of the machine
    // falls on every subject alike.
    eprintln!("bench: Lambda cold starts");
    let mut cold: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); lambda_subjects.len()];
    for _ in 0..samples.cold {
        for (subject, (first, init)) in lambda_subjects.iter().zip(&mut cold) {
            let emulator = Emulator::start(&installed.rie, subject, &logs)?;
            let (elapsed, body) = emulator.invoke(&init_event)?;
            check_reply(subject.name, &body, expected(subject, "protocolVersion"))?;
            first.push(elapsed.as_secs_f64() * 1000.0);
            if let Some(ms) = emulator.init_ms() {
                init.push(ms);
            }
        }
    }
    // Warm invokes in turn as well: one warm emulator per subject, each sample goes round them.
    eprintln!("bench: Lambda warm invokes");
    let mut warm = Vec::new();
    for subject in &lambda_subjects {
        let emulator = Emulator::start(&installed.rie, subject, &logs)?;
        emulator.invoke(&init_event)?;
        warm.push((emulator, Vec::new(), Vec::new()));
    }
    for _ in 0..samples.warm {
        for (subject, (emulator, warm_list, warm_call)) in lambda_subjects.iter().zip(&mut warm) {
            let (elapsed, body) = emulator.invoke(&list_event)?;
            check_reply(subject.name, &body, expected(subject, "calculate"))?;
            warm_list.push(elapsed.as_secs_f64() * 1000.0);
            let (elapsed, body) = emulator.invoke(&call_event)?;
            check_reply(subject.name, &body, expected(subject, "42"))?;
            warm_call.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    for ((subject, (first, init)), (emulator, warm_list, warm_call)) in
        lambda_subjects.iter().zip(&cold).zip(&warm)
    {
        let rss = tree_peak_rss_mib(emulator.proc.0.id());
        report["lambda"][subject.name] = json!({
            "cold_first_response_ms": stats(first),
            "init_ms": stats(init),
            "warm_tools_list_ms": stats(warm_list),
            "warm_tools_call_ms": stats(warm_call),
            "peak_rss_mib": rss,
        });
    }
    drop(warm);

    // Local servers: start-to-first-response, then a fixed-concurrency load of tools/call.
    let local_subjects: [LocalSubject; 4] = [
        (
            "ours",
            vec![
                release.join("function").display().to_string(),
                "--port".into(),
            ],
            vec![("MCP_API_KEY", key.clone())],
        ),
        (
            "reference",
            vec![
                installed.node.display().to_string(),
                root.join("bench/node/server.mjs").display().to_string(),
            ],
            vec![("MCP_API_KEY", key.clone())],
        ),
        (
            "floor",
            vec![release.join("floor-http").display().to_string()],
            vec![],
        ),
        (
            "stock-rmcp",
            vec![release.join("stock-rmcp").display().to_string()],
            vec![],
        ),
    ];
    let lua = root.join("target/bench/tools-call.lua");
    std::fs::write(
        &lua,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{}'\nwrk.headers[\"content-type\"] = \"application/json\"\n\
             wrk.headers[\"accept\"] = \"application/json, text/event-stream\"\nwrk.headers[\"x-api-key\"] = \"{key}\"\n\
             wrk.headers[\"mcp-protocol-version\"] = \"2025-11-25\"\n",
            call
        ),
    )?;
    // Every server is started (and timed) in turn and stays up for the load rounds.
    let mut servers = Vec::new();
    for (name, argv, env) in &local_subjects {
        eprintln!("bench: local server {name}");
        let port = free_port();
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        if *name == "ours" {
            command.arg(port.to_string());
        }
        command
            .env("PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "warn");
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let started = Instant::now();
        let proc = spawn_group(&mut command)?;
        let mut first = None;
        while started.elapsed() < Duration::from_secs(20) {
            if matches!(http(port, "GET", "/health", &[], ""), Ok((200, _))) {
                first = Some(started.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let first = first.with_context(|| format!("{name} did not answer /health"))?;
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("x-api-key", key.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let (status, body) = http(port, "POST", "/mcp", &headers, &call.to_string())?;
        if status != 200 || !(String::from_utf8_lossy(&body).contains("42") || *name == "floor") {
            bail!(
                "{name} answered tools/call with {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        report["local"][*name] = json!({"start_to_first_response_ms": first, "concurrency": 32});
        servers.push((*name, port, proc));
    }
    let mut rounds: Vec<Vec<WrkResult>> = vec![Vec::new(); servers.len()];
    for round in 0..samples.load_rounds {
        for ((name, port, _), results) in servers.iter().zip(&mut rounds) {
            eprintln!("bench: load round {} on {name}", round + 1);
            results.push(wrk_round(&wrk, &lua, *port, samples.load_seconds)?);
        }
    }
    for ((name, _, _), results) in servers.iter().zip(&rounds) {
        let median = |get: fn(&WrkResult) -> f64| {
            percentile(&results.iter().map(get).collect::<Vec<_>>(), 50.0)
        };
        let entry = &mut report["local"][*name];
        entry["requests_per_second"] = json!(median(|r| r.rps));
        entry["p50_ms"] = json!(median(|r| r.p50_ms));
        entry["p99_ms"] = json!(median(|r| r.p99_ms));
        entry["rounds_requests_per_second"] =
            json!(results.iter().map(|r| r.rps).collect::<Vec<_>>());
        entry["non_2xx"] = json!(results.iter().find_map(|r| r.non_2xx.clone()));
    }
    drop(servers);

    // Artifacts: the zip we ship (`cargo xtask build`: arm64, cargo-lambda, dist profile) vs
    // the reference's deployable tree (server + node_modules + adapter). The x86_64 binary
    // measured above, zipped the same way, is kept in the JSON for comparison.
    let shipped = crate::deploy::build(root, crate::deploy::Arch::Arm64)?;
    let ours_zip = std::fs::metadata(&shipped[0])?.len();
    let ours_x86_zip = zip_size(
        &installed.python,
        &[(release.join("function"), "bootstrap".into())],
    )?;
    let mut reference_files = vec![
        (lwa.clone(), "extensions/lambda-adapter".to_string()),
        (root.join("bench/node/server.mjs"), "server.mjs".into()),
    ];
    reference_files.push((root.join("bench/node/node_modules"), "node_modules".into()));
    reference_files.push((root.join("bench/node/package.json"), "package.json".into()));
    let reference_zip = zip_size(&installed.python, &reference_files)?;
    let node_runtime = std::fs::metadata(&installed.node)
        .map(|m| m.len())
        .unwrap_or(0);
    report["artifact"] = json!({
        "ours_zip_bytes": ours_zip,
        "ours_zip": "target/lambda/function/bootstrap.zip (arm64, cargo-lambda, dist profile)",
        "ours_x86_64_zip_bytes": ours_x86_zip,
        "reference_zip_bytes": reference_zip,
        "reference_with_node_runtime_bytes": reference_zip + node_runtime,
    });

    // Cost per million tools/call: warm duration (billed per started ms) at the smallest memory
    // size that holds the measured peak RSS with 50% headroom (128 MB minimum).
    for name in ["ours", "reference", "floor"] {
        let warm = report["lambda"][name]["warm_tools_call_ms"]["median"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let rss = report["lambda"][name]["peak_rss_mib"]
            .as_f64()
            .unwrap_or(0.0);
        let memory_mb = [128.0, 256.0, 512.0, 1024.0, 2048.0]
            .into_iter()
            .find(|m| *m >= rss * 1.5)
            .unwrap_or(3008.0);
        let billed_ms = warm.ceil().max(1.0);
        let per_million = PRICE_PER_MILLION_REQUESTS
            + 1e6 * billed_ms / 1000.0 * memory_mb / 1024.0 * PRICE_PER_GB_SECOND;
        report["cost"][name] = json!({"memory_mb": memory_mb, "billed_ms": billed_ms, "usd_per_million_calls": per_million});
    }
    report["cost"]["price_table"] = json!({"usd_per_gb_second": PRICE_PER_GB_SECOND, "usd_per_million_requests": PRICE_PER_MILLION_REQUESTS, "architecture": "x86_64 (the emulator here); arm64 is 20% cheaper per GB-s"});

    let table = markdown(&report);
    println!("{table}");
    let results = root.join("bench/results");
    std::fs::create_dir_all(&results)?;
    let name = if quick { "quick" } else { "latest" };
    std::fs::write(
        results.join(format!("{name}.json")),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(results.join(format!("{name}.md")), &table)?;
    crate::chart::draw(&report, &results.join(format!("{name}.png")))?;
    eprintln!("bench: wrote bench/results/{name}.json, .md and .png");
    Ok(())
}

/// What a reply must contain: the floor answers every call with the same fixed reply.
fn expected(subject: &LambdaSubject, text: &'static str) -> &'static str {
    if subject.name == "floor" {
        "result"
    } else {
        text
    }
}

fn check_reply(name: &str, body: &[u8], expect: &str) -> Result<()> {
    let text = String::from_utf8_lossy(body);
    if !text.contains(expect) {
        bail!("{name} did not answer as expected ({expect}): {text}");
    }
    Ok(())
}

/// wrk prints durations as `1.23ms`, `456.00us`, `1.02s`.
fn parse_wrk_duration(text: &str) -> f64 {
    let text = text.split_whitespace().next().unwrap_or("");
    let (number, factor) = if let Some(v) = text.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = text.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = text.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (text, 1.0)
    };
    number
        .parse::<f64>()
        .map(|n| n * factor)
        .unwrap_or(f64::NAN)
}

/// Deflate-zips files and folders (with their archive names) and returns the zip's size.
fn zip_size(python: &Path, entries: &[(PathBuf, String)]) -> Result<u64> {
    let out = std::env::temp_dir().join(format!("smcp-bench-{}.zip", std::process::id()));
    let spec: Vec<(String, String)> = entries
        .iter()
        .map(|(p, n)| (p.display().to_string(), n.clone()))
        .collect();
    let script = format!(
        "import json, os, zipfile\n\
         z = zipfile.ZipFile({out:?}, 'w', zipfile.ZIP_DEFLATED)\n\
         for path, name in json.loads({spec:?}):\n\
         \x20   if os.path.isdir(path):\n\
         \x20       for d, _, files in os.walk(path):\n\
         \x20           for f in files:\n\
         \x20               full = os.path.join(d, f)\n\
         \x20               z.write(full, os.path.join(name, os.path.relpath(full, path)))\n\
         \x20   else:\n\
         \x20       z.write(path, name)\n\
         z.close()\n",
        out = out.display().to_string(),
        spec = serde_json::to_string(&spec)?,
    );
    run(Command::new(python).args(["-c", &script]))?;
    let size = std::fs::metadata(&out)?.len();
    let _ = std::fs::remove_file(&out);
    Ok(size)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default();
    json!({"cpu": cpu, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "memory": memory, "os": std::env::consts::OS})
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The report as a Markdown table with every ratio. "× better than reference" is
/// reference ÷ ours for times and sizes, ours ÷ reference for throughput; "× the floor" says how
/// far ours is from the bare endpoint (1.0x = no overhead).
pub fn markdown(r: &Value) -> String {
    let l = &r["lambda"];
    let lo = &r["local"];
    let ratio = |a: f64, b: f64| {
        if a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() {
            format!("{:.1}x", a / b)
        } else {
            "n/a".into()
        }
    };
    let mut rows = vec![
        "| figure | ours | reference (Node + LWA) | floor | stock rmcp | ours: × better than reference | ours: × the floor |".to_string(),
        "|---|---|---|---|---|---|---|".to_string(),
    ];
    let mut row = |label: &str,
                   ours: f64,
                   reference: f64,
                   floor: f64,
                   stock: Option<f64>,
                   unit: &str,
                   higher_is_better: bool| {
        let (better, floor_factor) = if higher_is_better {
            (ratio(ours, reference), ratio(floor, ours))
        } else {
            (ratio(reference, ours), ratio(ours, floor))
        };
        rows.push(format!(
            "| {label} | {ours:.2} {unit} | {reference:.2} {unit} | {floor:.2} {unit} | {} | {better} | {floor_factor} |",
            stock.map(|s| format!("{s:.2} {unit}")).unwrap_or_else(|| "–".into()),
        ));
    };
    for (label, key, stat) in [
        (
            "Lambda cold start, invoke→first response (median)",
            "cold_first_response_ms",
            "median",
        ),
        ("Lambda cold start (p99)", "cold_first_response_ms", "p99"),
        ("Lambda init duration (median)", "init_ms", "median"),
        ("warm tools/list (median)", "warm_tools_list_ms", "median"),
        ("warm tools/list (p99)", "warm_tools_list_ms", "p99"),
        ("warm tools/call (median)", "warm_tools_call_ms", "median"),
        ("warm tools/call (p99)", "warm_tools_call_ms", "p99"),
    ] {
        row(
            label,
            f(&l["ours"][key][stat]),
            f(&l["reference"][key][stat]),
            f(&l["floor"][key][stat]),
            None,
            "ms",
            false,
        );
    }
    row(
        "peak RSS under the emulator",
        f(&l["ours"]["peak_rss_mib"]),
        f(&l["reference"]["peak_rss_mib"]),
        f(&l["floor"]["peak_rss_mib"]),
        None,
        "MiB",
        false,
    );
    for (label, key) in [
        ("local start→first response", "start_to_first_response_ms"),
        ("local tools/call p50", "p50_ms"),
        ("local tools/call p99", "p99_ms"),
    ] {
        row(
            label,
            f(&lo["ours"][key]),
            f(&lo["reference"][key]),
            f(&lo["floor"][key]),
            Some(f(&lo["stock-rmcp"][key])),
            "ms",
            false,
        );
    }
    row(
        "local tools/call throughput (32 conns)",
        f(&lo["ours"]["requests_per_second"]),
        f(&lo["reference"]["requests_per_second"]),
        f(&lo["floor"]["requests_per_second"]),
        Some(f(&lo["stock-rmcp"]["requests_per_second"])),
        "req/s",
        true,
    );
    rows.push(format!(
        "| ours vs stock rmcp throughput | {} | | | | | |",
        ratio(
            f(&lo["ours"]["requests_per_second"]),
            f(&lo["stock-rmcp"]["requests_per_second"])
        )
    ));
    let a = &r["artifact"];
    rows.push(format!(
        "| deploy artifact (zip) | {:.2} MB (arm64 as shipped; x86_64 {:.2} MB) | {:.2} MB; with the Node runtime (image) {:.2} MB | – | – | {} (vs image {}) | – |",
        f(&a["ours_zip_bytes"]) / 1e6,
        f(&a["ours_x86_64_zip_bytes"]) / 1e6,
        f(&a["reference_zip_bytes"]) / 1e6,
        f(&a["reference_with_node_runtime_bytes"]) / 1e6,
        ratio(f(&a["reference_zip_bytes"]), f(&a["ours_zip_bytes"])),
        ratio(f(&a["reference_with_node_runtime_bytes"]), f(&a["ours_zip_bytes"]))
    ));
    let c = &r["cost"];
    rows.push(format!(
        "| est. Lambda cost per 1M tools/call | ${:.3} ({} MB) | ${:.3} ({} MB) | ${:.3} | – | {} | – |",
        f(&c["ours"]["usd_per_million_calls"]),
        c["ours"]["memory_mb"],
        f(&c["reference"]["usd_per_million_calls"]),
        c["reference"]["memory_mb"],
        f(&c["floor"]["usd_per_million_calls"]),
        ratio(f(&c["reference"]["usd_per_million_calls"]), f(&c["ours"]["usd_per_million_calls"]))
    ));
    let m = &r["machine"];
    format!(
        "{}\n\nMachine: {} ({} cores), {}. Samples: {} cold starts, {} warm invokes each, {} s of tools/call load per local server in each of {} rounds taken in turn (median round shown). \
         Prices: ${}/GB-s, ${}/1M requests.\n",
        rows.join("\n"),
        m["cpu"].as_str().unwrap_or(""),
        m["cores"],
        m["memory"].as_str().unwrap_or(""),
        r["samples"]["cold"],
        r["samples"]["warm"],
        r["samples"]["load_seconds"],
        r["samples"]["load_rounds"],
        PRICE_PER_GB_SECOND,
        PRICE_PER_MILLION_REQUESTS
    )
}
