//! A fault-injecting stand-in for an AWS JSON 1.1 service (Secrets Manager, Cost Explorer) on
//! loopback. Each connection carries one request and is closed after the answer. What the
//! answer is, the test switches at run time with [`FaultServer::set`]: the normal answer
//! (forwarded to an upstream such as moto, or canned per operation), a closed connection, no
//! answer at all, a throttling or 5xx error in the shape the AWS SDK parses, or any 200 body.
//! Every request is counted. Every wait is bounded: a hanging answer ends after
//! [`HANG_LIMIT`], reads time out, and the serving threads stop when the server is dropped.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

/// The longest a [`Fault::Hang`] keeps a request waiting (longer than any client timeout under
/// test, short enough that a forgotten hang cannot stall a test run).
pub const HANG_LIMIT: Duration = Duration::from_secs(30);

/// What the server does with the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The normal answer: forwarded upstream, or the canned body for the operation.
    Pass,
    /// Accept the connection and close it without reading or answering.
    Close,
    /// Read the request and answer nothing until the fault changes (at most [`HANG_LIMIT`]).
    Hang,
    /// Answer like the service after this long (a slow but working service).
    Slow(Duration),
    /// An AWS JSON 1.1 error: status, error type (`ThrottlingException`), message.
    Error(u16, String, String),
    /// HTTP 200 with this body (malformed JSON, an unexpected shape, an empty secret).
    Body(String),
}

impl Fault {
    /// HTTP 400 `ThrottlingException`, as Secrets Manager throttles.
    pub fn throttling() -> Self {
        Self::Error(400, "ThrottlingException".into(), "Rate exceeded".into())
    }

    /// An HTTP 5xx with the service's `InternalServiceError`-style body.
    pub fn server_error(status: u16) -> Self {
        let kind = if status == 503 {
            "ServiceUnavailableException"
        } else {
            "InternalServiceError"
        };
        Self::Error(
            status,
            kind.into(),
            "We encountered an internal error.".into(),
        )
    }
}

/// Where [`Fault::Pass`] gets its answer.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// Forward the request to this loopback `host:port` (moto) and relay its answer.
    Forward(String),
    /// Answer operation (the `X-Amz-Target` suffix, e.g. `GetSecretValue`) with this JSON body;
    /// an operation not listed gets a `ValidationException`.
    Canned(Vec<(String, String)>),
}

struct Shared {
    fault: Mutex<Fault>,
    upstream: Mutex<Upstream>,
    /// The operation of every request received, in order.
    requests: Mutex<Vec<String>>,
    stop: AtomicBool,
}

pub struct FaultServer {
    /// `http://127.0.0.1:PORT`, for an SDK's endpoint URL.
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl FaultServer {
    pub fn start(upstream: Upstream) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::Pass),
            upstream: Mutex::new(upstream),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let serving = shared.clone();
        thread::spawn(move || {
            while !serving.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let shared = serving.clone();
                        thread::spawn(move || serve(stream, &shared));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self { endpoint, shared }
    }

    /// Switches what the next requests get (a hanging request ends when the fault changes).
    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    /// Replaces the canned answers or the upstream.
    pub fn set_upstream(&self, upstream: Upstream) {
        *self.shared.upstream.lock().unwrap() = upstream;
    }

    /// Requests received so far (connections closed by [`Fault::Close`] included).
    pub fn requests(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Requests received so far for one operation.
    pub fn calls(&self, operation: &str) -> usize {
        let requests = self.shared.requests.lock().unwrap();
        requests.iter().filter(|r| *r == operation).count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// One request: the head (as text), the whole raw request, and the operation.
struct Request {
    raw: Vec<u8>,
    operation: String,
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads one request: the head, then the body by Content-Length. `None` on EOF or timeout.
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if raw.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length.min(1 << 20) {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    }
    let operation = header(&head, "x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned();
    Some(Request { raw, operation })
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    stream.set_nonblocking(false).ok();
    let fault = shared.fault.lock().unwrap().clone();
    if fault == Fault::Close {
        shared.requests.lock().unwrap().push(String::new());
        return; // dropped unread: the client sees the connection closed
    }
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    shared
        .requests
        .lock()
        .unwrap()
        .push(request.operation.clone());
    let response = match fault {
        Fault::Pass => pass(&request, shared),
        Fault::Close => unreachable!("handled above"),
        Fault::Hang => {
            let started = Instant::now();
            while started.elapsed() < HANG_LIMIT
                && *shared.fault.lock().unwrap() == Fault::Hang
                && !shared.stop.load(Ordering::Relaxed)
            {
                thread::sleep(Duration::from_millis(10));
            }
            return; // closed without an answer
        }
        Fault::Slow(delay) => {
            thread::sleep(delay.min(HANG_LIMIT));
            pass(&request, shared)
        }
        Fault::Error(status, kind, message) => json_response(
            status,
            &[("x-amzn-ErrorType", kind.as_str())],
            &format!(r#"{{"__type":"{kind}","message":"{message}"}}"#),
        ),
        Fault::Body(body) => json_response(200, &[], &body),
    };
    let _ = stream.write_all(&response);
}

/// The normal answer: relayed from upstream, or canned.
fn pass(request: &Request, shared: &Shared) -> Vec<u8> {
    let upstream = shared.upstream.lock().unwrap().clone();
    match upstream {
        Upstream::Forward(address) => forward(&address, &request.raw).unwrap_or_else(|e| {
            json_response(
                502,
                &[],
                &format!(r#"{{"message":"fault server: upstream failed: {e}"}}"#),
            )
        }),
        Upstream::Canned(answers) => {
            match answers.iter().find(|(op, _)| *op == request.operation) {
                Some((_, body)) => json_response(200, &[], body),
                None => json_response(
                    400,
                    &[("x-amzn-ErrorType", "ValidationException")],
                    &format!(
                        r#"{{"__type":"ValidationException","message":"no canned answer for {}"}}"#,
                        request.operation
                    ),
                ),
            }
        }
    }
}

/// Sends the request upstream with `connection: close` and returns the whole answer.
fn forward(address: &str, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a parsed request has a head");
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut out: Vec<u8> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|l| [l.as_bytes(), b"\r\n"].concat())
        .collect();
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&raw[head_end + 4..]);
    let mut upstream = TcpStream::connect(address)?;
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    upstream.write_all(&out)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    Ok(answer)
}

fn json_response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    response.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(endpoint: &str, target: &str) -> anyhow::Result<crate::Response> {
        crate::post(
            &format!("{endpoint}/"),
            &[
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            "{}",
        )
    }

    #[test]
    fn each_fault_answers_as_set_and_every_request_is_counted() {
        let server = FaultServer::start(Upstream::Canned(vec![(
            "GetSecretValue".into(),
            r#"{"SecretString":"k"}"#.into(),
        )]));
        let ok = post(&server.endpoint, "secretsmanager.GetSecretValue").unwrap();
        assert_eq!(
            (ok.status, ok.body.as_str()),
            (200, r#"{"SecretString":"k"}"#)
        );
        assert_eq!(post(&server.endpoint, "x.Other").unwrap().status, 400);

        server.set(Fault::throttling());
        let throttled = post(&server.endpoint, "secretsmanager.GetSecretValue").unwrap();
        assert_eq!(throttled.status, 400);
        assert!(throttled.body.contains(r#""__type":"ThrottlingException""#));
        server.set(Fault::server_error(503));
        assert_eq!(post(&server.endpoint, "x.Y").unwrap().status, 503);
        server.set(Fault::Body("{not json".into()));
        assert_eq!(post(&server.endpoint, "x.Y").unwrap().body, "{not json");
        server.set(Fault::Close);
        assert!(post(&server.endpoint, "x.Y").is_err());

        server.set(Fault::Hang);
        let endpoint = server.endpoint.clone();
        let started = Instant::now();
        let waiting = thread::spawn(move || post(&endpoint, "x.Y"));
        thread::sleep(Duration::from_millis(300));
        server.set(Fault::Pass); // the hung request ends, unanswered
        assert!(waiting.join().unwrap().is_err());
        assert!(started.elapsed() < Duration::from_secs(5));

        assert_eq!(server.requests(), 7);
        assert_eq!(server.calls("GetSecretValue"), 2);
    }
}
