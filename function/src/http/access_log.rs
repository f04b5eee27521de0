//! One structured log line per request: method, path, status, MCP method, tool, key id and
//! duration (to the response head; a streamed reply continues after it). Never a key, a header
//! value or a body.
//!
//! A plain tower service around the whole router, not `middleware::from_fn` on its routes: that
//! would clone and box the routes' service stack on every request, log or no log. With the log
//! off (`RUST_LOG=warn`) a request passes straight through.

use std::{
    convert::Infallible,
    task::{Context, Poll},
    time::Instant,
};

use axum::{extract::Request, response::Response};
use futures::future::{BoxFuture, Either};
use tower::Service;

use crate::mcp::{RpcCall, access_log_enabled as enabled};

/// The id of the API key a request was served for (never the key).
#[derive(Clone, Debug)]
pub(crate) struct KeyId(pub String);

#[derive(Clone)]
pub(crate) struct AccessLog<S>(pub S);

impl<S> Service<Request> for AccessLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !enabled() {
            return Either::Left(self.0.call(request));
        }
        let started = Instant::now();
        let http_method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = self.0.call(request);
        Either::Right(Box::pin(async move {
            let response = response.await?;
            let rpc = response.extensions().get::<RpcCall>();
            let key_id = response.extensions().get::<KeyId>();
            tracing::info!(
                http_method = %http_method,
                path,
                status = response.status().as_u16(),
                rpc_method = rpc.and_then(|r| r.method.as_deref()),
                tool = rpc.and_then(|r| r.tool.as_deref()),
                key_id = key_id.map(|k| k.0.as_str()),
                duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
            Ok(response)
        }))
    }
}
