//! Shared pieces of the end-to-end tests: where the tools and binaries are (set by
//! `cargo xtask test`), the local server, moto, a Cost Explorer stub, and a figures file for
//! measured numbers. Processes, ports, loopback HTTP, the Lambda emulator and percentiles come
//! from `devkit` (shared with xtask) and are re-exported here. The OAuth tests add a Cognito
//! stand-in (`cognito`) and an OAuth-mode stage with a raw loopback OAuth client (`oauth`).
#![forbid(unsafe_code)]

pub mod cognito;
pub mod oauth;

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// Paths provided by `cargo xtask test` through `SMCP_*` environment variables.
pub struct Tools {
    /// The release binaries (the same code the Lambda zips carry).
    pub function: PathBuf,
    /// The product's app with the conformance suite's fixtures (tests/conformance-server).
    pub conformance_server: PathBuf,
    pub authorizer: PathBuf,
    pub python: PathBuf,
    pub node: PathBuf,
    pub npm_bin: PathBuf,
    pub rie: PathBuf,
    /// Debian's Chromium, driven by Playwright in the OAuth tests.
    pub chromium: PathBuf,
    pub figures: PathBuf,
    pub repo: PathBuf,
}

fn path_var(name: &str) -> PathBuf {
    let value = std::env::var_os(name).unwrap_or_else(|| {
        panic!("{name} is not set: the end-to-end tests run through `cargo xtask test`, which installs their tools")
    });
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{name} points to {} which does not exist",
        path.display()
    );
    path
}

impl Tools {
    pub fn from_env() -> Self {
        Self {
            function: path_var("SMCP_FUNCTION"),
            conformance_server: path_var("SMCP_CONFORMANCE_SERVER"),
            authorizer: path_var("SMCP_AUTHORIZER"),
            python: path_var("SMCP_PYTHON"),
            node: path_var("SMCP_NODE"),
            npm_bin: path_var("SMCP_NPM_BIN"),
            rie: path_var("SMCP_RIE"),
            chromium: path_var("SMCP_CHROMIUM"),
            figures: path_var("SMCP_FIGURES"),
            repo: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        }
    }

    /// Appends one measured figure to the report `cargo xtask test` prints at the end.
    pub fn record_figure(&self, line: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.figures.join("figures.txt"))
            .expect("figures file");
        writeln!(file, "{line}").expect("write figure");
    }

    /// A command running a Node package's binary with the Node 22 from the npm install.
    pub fn npm_command(&self, bin: &str) -> Command {
        let mut command = Command::new(&self.node);
        command.arg(self.npm_bin.join(bin));
        let node_dir = self.node.parent().expect("node dir");
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{path}", node_dir.display()));
        command
    }
}

pub use devkit::{Emulator, Process, Response, free_port, get, median, post, wait_until_up};

/// The local server, started from the release binary on a free loopback port.
pub struct LocalServer {
    pub url: String,
    pub base: String,
    /// From spawning the process to its first successful response.
    pub start_to_first_response: Duration,
    process: Process,
}

impl LocalServer {
    /// With the API key `key` from `MCP_API_KEY`.
    pub fn start(binary: &std::path::Path, key: &str) -> Self {
        Self::start_with_env(binary, &[("MCP_API_KEY", key.to_owned())])
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// With extra environment; an empty value removes the variable instead.
    pub fn start_with_env(binary: &std::path::Path, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let started = Instant::now();
        let mut command = Command::new(binary);
        for (name, _) in env.iter().filter(|(_, v)| v.is_empty()) {
            command.env_remove(name);
        }
        command
            .args(["--port", &port.to_string()])
            .envs(
                env.iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (*k, v.as_str())),
            )
            // Info: the access log is on, as it is for users, and checked for secrets.
            .env("RUST_LOG", "info")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .stdout(Stdio::piped())
            .stderr(devkit::logs::log_file("local-server"));
        devkit::logs::register_secrets_in_env(env.iter().map(|(k, v)| (*k, v.as_str())));
        let mut process = Process::spawn(&mut command).expect("start the local server");
        let stdout = process.child().stdout.take().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let up = wait_until_up(&format!("{base}/health"), Duration::from_secs(20));
        let start_to_first_response = started.elapsed();
        assert!(
            up.is_some(),
            "the local server did not answer /health within 20 s"
        );
        // The banner names the endpoint; read it to check what users see.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let endpoint = format!("MCP endpoint: {base}/mcp");
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        let mut found = false;
        while !found && Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                found = line == endpoint;
                seen.push(line);
            }
        }
        assert!(found, "the banner does not name {endpoint}: {seen:?}");
        Self {
            url: format!("{base}/mcp"),
            base,
            start_to_first_response,
            process,
        }
    }
}

/// The `data:` payloads of an SSE body, parsed as JSON.
pub fn sse_messages(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

/// Creates a Secrets Manager secret with `client`.
pub async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret");
}

/// The moto AWS emulator (`moto_server` from the test venv) on a free loopback port.
pub struct Moto {
    pub endpoint: String,
    _process: Process,
}

impl Moto {
    pub fn start(tools: &Tools) -> Self {
        let port = free_port();
        let server = tools.python.parent().expect("venv bin").join("moto_server");
        let process = Process::spawn(
            Command::new(server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        assert!(
            wait_until_up(&format!("{endpoint}/moto-api/"), Duration::from_secs(30)).is_some(),
            "moto did not start"
        );
        Self {
            endpoint,
            _process: process,
        }
    }

    /// Environment that points the AWS SDK (in a child process) at this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Creates a Secrets Manager secret (blocking; for tests without a runtime of their own).
    pub fn create_secret(&self, name: &str, value: &str) {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async {
            let client = aws_sdk_secretsmanager::Client::new(&self.sdk_config().await);
            create_secret(&client, name, value).await;
        });
    }

    /// An SDK config for in-process clients, pointed at this emulator.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        authorizer::aws_config_loader()
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }
}
/// Cost Explorer answers for [`CostExplorerStub`]: one per operation the cost tools call except
/// GetCostAndUsage (moto's, or the test's own) and a forecast for the past.
pub fn cost_stub_answers() -> Vec<(&'static str, Value)> {
    let change = |b: &str, c: &str, d: &str| json!({"BaselineTimePeriodAmount": b, "ComparisonTimePeriodAmount": c, "Difference": d, "Unit": "USD"});
    let ec2 = json!({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}});
    vec![
        (
            "GetDimensionValues",
            json!({"DimensionValues": [{"Value": "Amazon EC2", "Attributes": {}}, {"Value": "Amazon S3", "Attributes": {}}], "ReturnSize": 2, "TotalSize": 2}),
        ),
        (
            "GetTags",
            json!({"Tags": ["payments", "search"], "ReturnSize": 2, "TotalSize": 2}),
        ),
        (
            "GetCostForecast",
            json!({"Total": {"Amount": "321.5", "Unit": "USD"}, "ForecastResultsByTime": [
            {"TimePeriod": {"Start": "2030-01-01", "End": "2030-02-01"}, "MeanValue": "321.5", "PredictionIntervalLowerBound": "300", "PredictionIntervalUpperBound": "350"}]}),
        ),
        (
            "GetCostAndUsageComparisons",
            json!({"CostAndUsageComparisons": [
            {"CostAndUsageSelector": ec2, "Metrics": {"UnblendedCost": change("100", "180", "80")}}],
            "TotalCostAndUsage": {"UnblendedCost": change("120", "205", "85")}}),
        ),
        (
            "GetCostComparisonDrivers",
            json!({"CostComparisonDrivers": [
            {"CostSelector": ec2, "Metrics": {"UnblendedCost": change("100", "180", "80")},
             "CostDrivers": [{"Type": "USAGE_CHANGE", "Name": "BoxUsage:m7g.large", "Metrics": {"UnblendedCost": change("50", "120", "70")}}]}]}),
        ),
    ]
}

/// A small local Cost Explorer stub for the operations moto does not implement: answers each
/// `X-Amz-Target` with a canned JSON body and counts the calls. Loopback only; the serving
/// thread ends when the stub is dropped.
pub struct CostExplorerStub {
    pub endpoint: String,
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CostExplorerStub {
    /// `answers`: operation name (e.g. `GetCostForecast`) → response body.
    pub fn start(answers: Vec<(&'static str, Value)>) -> Self {
        use std::{
            io::Read,
            sync::{Arc, Mutex, atomic::AtomicBool},
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (calls_in, stop_in) = (calls.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop_in.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                stream.set_nonblocking(false).ok();
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head, then the body by Content-Length.
                let (head_end, length) = loop {
                    let Ok(n) = stream.read(&mut buf) else {
                        break (None, 0);
                    };
                    if n == 0 {
                        break (None, 0);
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..at]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (Some(at + 4), length);
                    }
                };
                let Some(head_end) = head_end else { continue };
                while request.len() < head_end + length {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
                let target = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("x-amz-target")
                            .then(|| value.trim().to_owned())
                    })
                    .unwrap_or_default();
                let operation = target.rsplit('.').next().unwrap_or("").to_owned();
                calls_in.lock().unwrap().push(operation.clone());
                let (status, body) = match answers.iter().find(|(op, _)| *op == operation) {
                    Some((_, body)) => ("200 OK", body.to_string()),
                    None => ("400 Bad Request", serde_json::json!({"__type": "ValidationException", "Message": format!("stub has no {operation}")}).to_string()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self {
            endpoint,
            calls,
            stop,
        }
    }

    /// How many times each operation was called.
    pub fn calls(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == operation)
            .count()
    }
}

impl Drop for CostExplorerStub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
