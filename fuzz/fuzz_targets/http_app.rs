//! Raw bytes → one HTTP/1.1 request, parsed by hyper and served by the real app (the local
//! server's configuration, a fixed key), over an in-memory connection.
//! Never a 5xx, never a panic, every response complete and bounded.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use libfuzzer_sys::fuzz_target;
use serverless_mcp_fuzz::{MAX_RESPONSE_BYTES, local_config, runtime, status_of};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn app() -> Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| function::app(local_config())).clone()
}

fuzz_target!(|data: &[u8]| {
    let response = runtime().block_on(async {
        // Larger than any input libFuzzer makes, so neither side can block on a full buffer.
        let (client, server) = tokio::io::duplex(1 << 20);
        let serve = async {
            // One request per connection: the response read below is the answer to it.
            // The client shuts its write side after the request: `half_close` keeps the
            // connection up for the answer instead of dropping the request at that EOF.
            let _ = http1::Builder::new()
                .keep_alive(false)
                .half_close(true)
                .serve_connection(TokioIo::new(server), TowerToHyperService::new(app()))
                .await;
        };
        let (mut read, mut write) = tokio::io::split(client);
        let send = async {
            // The server may answer and close before reading everything: not an error here.
            let _ = write.write_all(data).await;
            let _ = write.shutdown().await;
        };
        let mut response = Vec::new();
        let receive = async {
            let mut bounded = (&mut read).take(MAX_RESPONSE_BYTES as u64 + 1);
            bounded
                .read_to_end(&mut response)
                .await
                .expect("read the response");
        };
        tokio::join!(serve, send, receive);
        response
    });
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        // Reproducing one input: `FUZZ_DEBUG=1 .../http_app <file>` shows the answer.
        eprintln!("{}", String::from_utf8_lossy(&response));
    }
    assert!(
        response.len() <= MAX_RESPONSE_BYTES,
        "response over {MAX_RESPONSE_BYTES} bytes"
    );
    if response.is_empty() {
        // No complete request head before the end of the input: nothing to answer.
        return;
    }
    let status = status_of(&response).unwrap_or_else(|| {
        panic!(
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&response)
        )
    });
    assert!(status < 500, "{}", String::from_utf8_lossy(&response));
});
