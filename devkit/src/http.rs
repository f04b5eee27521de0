//! Loopback networking: free ports, bounded waits, blocking HTTP/1.1 get and post.

use std::{
    net::{TcpListener, TcpStream},
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};

/// A free loopback port (the OS picks it; it is released before use, so races are possible
/// but rare on a test machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("no free loopback port")
        .port()
}

/// Waits until something accepts connections on loopback `port`, for at most `limit`.
/// Returns how long it took.
pub fn wait_for_port(port: u16, limit: Duration) -> Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("nothing listened on port {port} within {limit:?}")
}

/// Polls `url` until it answers 200, for at most `limit`. Returns the time it took.
pub fn wait_until_up(url: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if get(url).is_ok_and(|r| r.status == 200) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// An HTTP response, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The Content-Type header ("" when absent).
    pub content_type: String,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
}

/// Every status is a response, not an error; 60 s at the most per request.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    })
}

fn loopback(url: &str) -> Result<()> {
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next());
    if !matches!(host, Some("127.0.0.1" | "localhost")) {
        bail!("{url} is not a loopback http:// URL");
    }
    Ok(())
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<Response> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.body_mut().read_to_vec()?;
    Ok(Response {
        status,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// GET a loopback URL.
pub fn get(url: &str) -> Result<Response> {
    loopback(url)?;
    read(agent().get(url).call()?)
}

/// POST `body` with `headers` to a loopback URL.
pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
    loopback(url)?;
    let mut request = agent().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send(body)?)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// Serves one canned response per connection, `count` times.
    fn serve(count: usize, reply: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(count) {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                stream.write_all(reply.as_bytes()).unwrap();
            }
        });
        port
    }

    #[test]
    fn get_and_post_return_status_type_and_body() {
        let reply = "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope";
        let port = serve(2, reply);
        let got = get(&format!("http://127.0.0.1:{port}/x")).unwrap();
        assert_eq!(
            (got.status, got.content_type.as_str(), got.body.as_str()),
            (404, "text/plain", "nope")
        );
        let posted = post(&format!("http://127.0.0.1:{port}/x"), &[("a", "b")], "{}").unwrap();
        assert_eq!(posted.status, 404);
        assert!(
            wait_until_up(
                &format!("http://127.0.0.1:{}/", free_port()),
                Duration::from_millis(20)
            )
            .is_none()
        );
    }

    #[test]
    fn only_loopback() {
        assert!(get("http://example.com/").is_err());
        assert!(get("https://127.0.0.1/").is_err());
        assert!(post("http://10.0.0.1:80/", &[], "").is_err());
    }

    #[test]
    fn waits_are_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(wait_for_port(port, Duration::from_secs(1)).is_ok());
        drop(listener);
        assert!(wait_for_port(port, Duration::from_millis(20)).is_err());
    }
}
