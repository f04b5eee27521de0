//! The hostile-request corpus (`tests/hostile/requests.txt`): parsing it, sending a case over a
//! raw loopback socket, turning a case into an API Gateway v2 event for the Lambda adapters, and
//! checking a reply against what the case expects plus what every reply must be (no 5xx, no
//! leaked detail, no secret echoed).
//!
//! The file format is described at the top of the corpus itself.

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpStream},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

/// Where the corpus lives, relative to the repository root.
pub const CORPUS: &str = "tests/hostile/requests.txt";

/// One hostile request and what it must get.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// What the local server must answer.
    pub local: Option<Expect>,
    /// What the Lambda adapters must answer (None: the case is about the HTTP/1.1 wire, which
    /// API Gateway and Function URLs parse before the function sees anything).
    pub lambda: Option<Expect>,
    /// Needs the OAuth endpoints (a server in `both` mode).
    pub oauth: bool,
    head: String,
    body: String,
}

/// The replies a case accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Allowed statuses: exact codes, or `4xx`-style classes stored as 400..=499.
    statuses: Vec<(u16, u16)>,
    /// Also fine: the connection closed without any response (a wire-level refusal).
    close_ok: bool,
    rpc: Option<Rpc>,
}

#[derive(Debug, Clone, PartialEq)]
enum Rpc {
    /// A JSON-RPC error with this code, in the body or in every SSE message.
    Code(i64),
    /// A JSON-RPC error, any code.
    AnyError,
    /// A tool result with `isError: true`.
    ToolError,
}

/// Values substituted into a case.
pub struct Context<'a> {
    pub host: &'a str,
    pub key: &'a str,
}

/// A reply read off a socket (or built from a Lambda response).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the corpus; an error names the line.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let Some(name) = line.strip_prefix("=== ") else {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            return Err(format!("line {}: expected `=== <case name>`", number + 1));
        };
        let mut case = Case {
            name: name.trim().to_owned(),
            local: None,
            lambda: None,
            oauth: false,
            head: String::new(),
            body: String::new(),
        };
        let (mut expect, mut lambda, mut local_skip) = (None, None, false);
        // Attributes up to `---`.
        loop {
            let Some((number, line)) = lines.next() else {
                return Err(format!("case `{}`: no `---` line", case.name));
            };
            let at = |e: String| format!("line {}: {e}", number + 1);
            match line.split_once(':') {
                _ if line == "---" => break,
                Some(("expect", v)) => expect = Some(parse_expect(v).map_err(at)?),
                Some(("lambda", v)) if v.trim() == "skip" => lambda = Some(None),
                Some(("lambda", v)) => lambda = Some(Some(parse_expect(v).map_err(at)?)),
                Some(("local", v)) if v.trim() == "skip" => local_skip = true,
                Some(("server", v)) if v.trim() == "oauth" => case.oauth = true,
                _ => return Err(at(format!("unknown attribute `{line}`"))),
            }
        }
        let expect = expect.ok_or_else(|| format!("case `{}`: no `expect:`", case.name))?;
        case.lambda = lambda.unwrap_or_else(|| Some(expect.clone()));
        case.local = (!local_skip).then_some(expect);
        // The request, up to the next case: head lines, an empty line, the body.
        let mut request = Vec::new();
        while let Some((_, line)) = lines.peek() {
            if line.starts_with("=== ") {
                break;
            }
            request.push(*line);
            lines.next();
        }
        while request.last().is_some_and(|l| l.trim().is_empty()) {
            request.pop();
        }
        let split = request
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(request.len());
        case.head = request[..split].join("\n");
        case.body = request.get(split + 1..).unwrap_or(&[]).join("\n");
        if case.head.is_empty() {
            return Err(format!("case `{}`: no request", case.name));
        }
        cases.push(case);
    }
    Ok(cases)
}

/// `400`, `4xx`, `400|413`, then optionally `rpc=-32700`, `rpc=any`, `tool-error`, `or-close`.
fn parse_expect(spec: &str) -> Result<Expect, String> {
    let mut words = spec.split_whitespace();
    let statuses = words.next().ok_or("empty expectation")?;
    let mut expect = Expect {
        statuses: Vec::new(),
        close_ok: false,
        rpc: None,
    };
    for status in statuses.split('|') {
        let range = match status.strip_suffix("xx") {
            Some(class) => {
                let class: u16 = class
                    .parse()
                    .map_err(|_| format!("bad status `{status}`"))?;
                (class * 100, class * 100 + 99)
            }
            None => {
                let code: u16 = status
                    .parse()
                    .map_err(|_| format!("bad status `{status}`"))?;
                (code, code)
            }
        };
        if range.1 >= 500 {
            return Err("a hostile request never deserves a 5xx".into());
        }
        expect.statuses.push(range);
    }
    for word in words {
        match word {
            "or-close" => expect.close_ok = true,
            "tool-error" => expect.rpc = Some(Rpc::ToolError),
            "rpc=any" => expect.rpc = Some(Rpc::AnyError),
            w => match w.strip_prefix("rpc=").map(str::parse) {
                Some(Ok(code)) => expect.rpc = Some(Rpc::Code(code)),
                _ => return Err(format!("unknown expectation `{w}`")),
            },
        }
    }
    Ok(expect)
}

/// Expands `{host}`, `{key}`, `{len}` (the body's length in bytes), `{crlf}`,
/// `{repeat N text}`, `{{repeat N text with braces}}`, `{rbrace N}` (N closing braces) and
/// `{bytes ff 00 …}`.
fn expand(template: &str, context: &Context, body_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        // `{{repeat N text}}`: text that holds braces, up to the first `}}`.
        if let Some(inner) = rest[start..].strip_prefix("{{repeat ")
            && let Some(end) = inner.find("}}")
            && let Some((n, text)) = inner[..end].split_once(' ')
            && let Ok(n) = n.parse::<usize>()
        {
            out.extend_from_slice(text.repeat(n).as_bytes());
            rest = &inner[end + 2..];
            continue;
        }
        let after = &rest[start + 1..];
        let end = after.find('}');
        let directive = end.map(|e| &after[..e]).unwrap_or("");
        let (word, argument) = directive.split_once(' ').unwrap_or((directive, ""));
        let replaced: Option<Vec<u8>> = match word {
            "host" => Some(context.host.into()),
            "key" => Some(context.key.into()),
            "len" => Some(body_len.to_string().into()),
            "crlf" => Some(b"\r\n".to_vec()),
            "repeat" => argument.split_once(' ').and_then(|(n, text)| {
                let n: usize = n.parse().ok()?;
                Some(text.repeat(n).into())
            }),
            "rbrace" => argument.parse().ok().map(|n| "}".repeat(n).into()),
            "bytes" => argument
                .split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).ok())
                .collect(),
            _ => None,
        };
        match (replaced, end) {
            (Some(bytes), Some(end)) => {
                out.extend_from_slice(&bytes);
                rest = &after[end + 1..];
            }
            // A literal brace (JSON bodies are full of them).
            _ => {
                out.push(b'{');
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

impl Case {
    /// The request's bytes on the wire: head lines joined with CRLF, a blank line, the body.
    pub fn request(&self, context: &Context) -> Vec<u8> {
        let body = expand(&self.body, context, 0);
        let mut out = expand(&self.head.replace('\n', "\r\n"), context, body.len());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(&body);
        out
    }

    /// The case as an API Gateway HTTP API v2 event (the shape Function URLs send too), or
    /// `None` when the request does not parse as HTTP/1.1 with a plain body (those never reach
    /// a function: the AWS front door answers them).
    pub fn lambda_event(&self, context: &Context) -> Option<Value> {
        let bytes = self.request(context);
        let mut headers = [httparse::EMPTY_HEADER; 256];
        let mut request = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head_len) = request.parse(&bytes).ok()? else {
            return None;
        };
        let target = request.path?;
        if !target.starts_with('/') {
            return None;
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        // API Gateway joins repeated headers with commas and lower-cases names.
        let mut joined: Vec<(String, String)> = Vec::new();
        for header in request.headers.iter() {
            let name = header.name.to_ascii_lowercase();
            let value = String::from_utf8_lossy(header.value).into_owned();
            if name == "transfer-encoding" {
                return None;
            }
            match joined.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(&value);
                }
                None => joined.push((name, value)),
            }
        }
        let body = &bytes[head_len..];
        let (body, base64) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (STANDARD.encode(body), true),
        };
        let headers: serde_json::Map<String, Value> = joined
            .into_iter()
            .map(|(n, v)| (n, Value::String(v)))
            .collect();
        let method = request.method?;
        Some(api_gateway_v2_event(
            method,
            path,
            query,
            headers,
            &body,
            base64,
            context.host,
        ))
    }
}

/// An API Gateway HTTP API v2 event (the shape Function URLs send too) for `domain`, with
/// `headers` as given (lower-case names, repeated ones joined).
pub fn api_gateway_v2_event(
    method: &str,
    path: &str,
    query: &str,
    headers: serde_json::Map<String, Value>,
    body: &str,
    base64: bool,
    domain: &str,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": domain,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "devkit"
            },
            "requestId": "devkit-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1_796_083_200_000_u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// Sends `request` on a fresh loopback connection and reads the reply until it is complete,
/// the server closes, or `limit` passes. When nothing has come back after a second, the write
/// side is closed, which ends a request that lies about its length (not at once: hyper drops a
/// connection whose client half-closes before the reply is written).
/// `Ok(None)`: the server closed without answering.
pub fn send_raw(port: u16, request: &[u8], limit: Duration) -> Result<Option<Reply>, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    // The server may answer and close before it has read everything (a 413, a bad head):
    // a write error then is part of the test, not a failure.
    let _ = stream.write_all(request);
    let mut write_open = true;
    let mut received = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        if started.elapsed() > limit {
            return Err(format!("no complete reply within {limit:?}"));
        }
        if write_open && received.is_empty() && started.elapsed() > Duration::from_secs(1) {
            let _ = stream.shutdown(Shutdown::Write);
            write_open = false;
        }
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&buffer[..n]);
                if complete(&received, request.starts_with(b"HEAD ")) {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // A reset after the reply was sent (unread request bytes) still leaves the reply.
            Err(_) => break,
        }
    }
    if received.is_empty() {
        return Ok(None);
    }
    parse_reply(&received).map(Some)
}

/// A whole response: head plus Content-Length bytes, or a chunked body up to its last chunk
/// (just the head for a HEAD request).
fn complete(received: &[u8], head_only: bool) -> bool {
    parse_reply(received).is_ok_and(|reply| {
        head_only
            || reply.header("transfer-encoding").is_some()
            || reply
                .header("content-length")
                .and_then(|l| l.parse::<usize>().ok())
                .is_some_and(|l| reply.body.len() >= l)
    }) && (!is_chunked(received) || received.ends_with(b"0\r\n\r\n"))
}

fn is_chunked(received: &[u8]) -> bool {
    let head_end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(received.len());
    String::from_utf8_lossy(&received[..head_end])
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
}

fn parse_reply(received: &[u8]) -> Result<Reply, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(received) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("a partial response head".into()),
        Err(e) => return Err(format!("not an HTTP response: {e}")),
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let raw = &received[head_len..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    Ok(Reply {
        status: response.code.unwrap_or(0),
        headers,
        body: if chunked { dechunk(raw) } else { raw.to_vec() },
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
        let Some(size) = size.filter(|&s| s > 0) else {
            break;
        };
        let start = line_end + 2;
        let end = (start + size).min(raw.len());
        body.extend_from_slice(&raw[start..end]);
        raw = raw.get(end + 2..).unwrap_or(&[]);
    }
    body
}

/// Words a reply must never carry: panics, source paths, backtraces, the server's internals.
const LEAKS: [&str; 8] = [
    "panicked",
    "RUST_BACKTRACE",
    "stack backtrace",
    ".rs:",
    "/src/",
    "/root/",
    "/home/",
    "thread '",
];

/// Checks `reply` against `expect` and what every reply must be; `secrets` must not be echoed.
pub fn check(expect: &Expect, reply: Option<&Reply>, secrets: &[&str]) -> Result<(), String> {
    let Some(reply) = reply else {
        return if expect.close_ok {
            Ok(())
        } else {
            Err("the connection closed without a response".into())
        };
    };
    let body = String::from_utf8_lossy(&reply.body);
    if reply.status >= 500 {
        return Err(format!("a {} response: {body}", reply.status));
    }
    if !expect
        .statuses
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&reply.status))
    {
        return Err(format!(
            "status {} (expected {:?}): {}",
            reply.status,
            expect.statuses,
            truncate(&body)
        ));
    }
    let everything = format!("{:?}{body}", reply.headers);
    if let Some(leak) = LEAKS.iter().find(|l| everything.contains(**l)) {
        return Err(format!(
            "the reply leaks `{leak}`: {}",
            truncate(&everything)
        ));
    }
    if let Some(secret) = secrets
        .iter()
        .find(|s| !s.is_empty() && everything.contains(**s))
    {
        return Err(format!(
            "the reply echoes a secret ({} bytes)",
            secret.len()
        ));
    }
    match &expect.rpc {
        None => Ok(()),
        Some(rpc) => check_rpc(rpc, &body),
    }
}

/// The JSON-RPC messages of a body: one JSON value (object or batch), or SSE `data:` lines.
fn messages(body: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return match value {
            Value::Array(items) => items,
            one => vec![one],
        };
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

fn check_rpc(rpc: &Rpc, body: &str) -> Result<(), String> {
    let messages = messages(body);
    if messages.is_empty() {
        return Err(format!("no JSON-RPC message in {}", truncate(body)));
    }
    let ok = messages.iter().all(|m| match rpc {
        Rpc::Code(code) => m["error"]["code"].as_i64() == Some(*code),
        Rpc::AnyError => m["error"]["code"].is_i64(),
        Rpc::ToolError => m["result"]["isError"] == Value::Bool(true),
    });
    if ok {
        Ok(())
    } else {
        Err(format!("expected {rpc:?}, got {}", truncate(body)))
    }
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(400);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS_TEXT: &str = include_str!("../../tests/hostile/requests.txt");

    #[test]
    fn the_corpus_parses() {
        let cases = parse(CORPUS_TEXT).unwrap();
        assert!(cases.len() > 50, "{}", cases.len());
        let mut names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "case names must be unique");
    }

    #[test]
    fn placeholders_expand() {
        let context = Context {
            host: "h:1",
            key: "k",
        };
        let case = &parse(
            "=== t\nexpect: 400\n---\nPOST / HTTP/1.1\nhost: {host}\nx: {key}{bytes 00 ff}\ncontent-length: {len}\n\n{repeat 3 [}{rbrace 2}{{repeat 2 {\"a\":1},}}\n",
        )
        .unwrap()[0];
        assert_eq!(
            case.request(&context),
            b"POST / HTTP/1.1\r\nhost: h:1\r\nx: k\x00\xff\r\ncontent-length: 21\r\n\r\n[[[}}{\"a\":1},{\"a\":1},"
                .to_vec()
        );
    }

    #[test]
    fn expectations_parse_and_refuse_5xx() {
        let e = parse_expect("400|4xx rpc=-32700 or-close").unwrap();
        assert_eq!(e.statuses, vec![(400, 400), (400, 499)]);
        assert!(e.close_ok);
        assert_eq!(e.rpc, Some(Rpc::Code(-32700)));
        assert!(parse_expect("500").is_err());
        assert!(parse_expect("5xx").is_err());
        assert!(parse_expect("400 whatever").is_err());
    }

    #[test]
    fn checks_catch_5xx_leaks_and_wrong_codes() {
        let expect = parse_expect("400 rpc=-32700").unwrap();
        let reply = |status, body: &str| Reply {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        let good = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;
        assert!(check(&expect, Some(&reply(400, good)), &[]).is_ok());
        assert!(check(&expect, Some(&reply(500, good)), &[]).is_err());
        assert!(check(&expect, Some(&reply(413, good)), &[]).is_err());
        assert!(
            check(
                &expect,
                Some(&reply(400, r#"{"error":{"code":-32600}}"#)),
                &[]
            )
            .is_err()
        );
        let leak = r#"{"error":{"code":-32700,"message":"at src/mcp/mod.rs:10"}}"#;
        assert!(check(&expect, Some(&reply(400, leak)), &[]).is_err());
        assert!(check(&expect, Some(&reply(400, good)), &["Parse error"]).is_err());
        assert!(check(&expect, None, &[]).is_err());
    }

    #[test]
    fn lambda_events_join_repeated_headers_and_skip_wire_cases() {
        let context = Context {
            host: "abc.execute-api.us-east-1.amazonaws.com",
            key: "k",
        };
        let cases = parse(
            "=== a\nexpect: 401\n---\nPOST /mcp?x=1 HTTP/1.1\nX-Api-Key: a\nx-api-key: b\n\n{}\n\
             === b\nexpect: 400\n---\nPOST /mcp HTTP/1.1\ntransfer-encoding: chunked\n\n0{crlf}\n\
             === c\nexpect: 400\n---\nGET http://evil/mcp HTTP/1.1\n",
        )
        .unwrap();
        let event = cases[0].lambda_event(&context).unwrap();
        assert_eq!(event["headers"]["x-api-key"], "a,b");
        assert_eq!(event["rawQueryString"], "x=1");
        assert_eq!(event["body"], "{}");
        assert!(cases[1].lambda_event(&context).is_none());
        assert!(cases[2].lambda_event(&context).is_none());
    }
}
