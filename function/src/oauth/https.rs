//! Outbound HTTPS for the facade: Cognito's token endpoint, and client metadata documents
//! (only to public addresses, size- and time-limited, redirects not followed). hyper + rustls
//! on ring, like the AWS SDK's client; built on first use so a cold start does not load the
//! root certificates unless OAuth is exercised.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{
            HttpConnector,
            dns::{GaiResolver, Name},
        },
    },
    rt::TokioExecutor,
};
use tokio::sync::OnceCell;
use tower::Service;

/// A name resolver that drops every non-public address (and fails when none is left), so a
/// hostile metadata URL cannot reach loopback, the VPC or the instance metadata service.
#[derive(Clone)]
pub struct PublicOnly(GaiResolver);

impl Service<Name> for PublicOnly {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.0.call(name);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup
                .await?
                .filter(|a| oauth::cimd::is_public_address(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "the host has no public address",
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

type HttpsClient<R> = Client<HttpsConnector<HttpConnector<R>>, Full<Bytes>>;

fn client<R>(resolver: R) -> Result<HttpsClient<R>, String>
where
    R: Service<Name> + Clone + Send + Sync + 'static,
    R::Response: Iterator<Item = SocketAddr>,
    R::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    R::Future: Send,
{
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(3)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        // http only reaches the loopback stand-ins of the tests: settings and the client id
        // checks refuse it everywhere else.
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// A response, its body read up to a limit.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

#[derive(Default)]
pub struct Outbound {
    cognito: OnceCell<HttpsClient<GaiResolver>>,
    public: OnceCell<HttpsClient<PublicOnly>>,
}

/// Longest reply read from Cognito's token endpoint.
const MAX_TOKEN_REPLY: usize = 64 * 1024;

async fn send<R>(
    client: &HttpsClient<R>,
    request: http::Request<Full<Bytes>>,
    max_bytes: usize,
    deadline: Duration,
) -> Result<Fetched, String>
where
    R: Service<Name> + Clone + Send + Sync + 'static,
    R::Response: Iterator<Item = SocketAddr>,
    R::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    R::Future: Send,
{
    let exchange = async {
        let response = client.request(request).await.map_err(|e| {
            // The connect error's source says why (no public address, refused, TLS).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                text = format!("{text}: {inner}");
                source = inner.source();
            }
            text
        })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|_| format!("the reply is larger than {max_bytes} bytes"))?
            .to_bytes();
        Ok(Fetched {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(deadline, exchange)
        .await
        .map_err(|_| format!("no reply within {} s", deadline.as_secs()))?
}

impl Outbound {
    /// POSTs a form with HTTP Basic client authentication (RFC 6749 §2.3.1).
    pub async fn post_form(
        &self,
        url: &str,
        client_id: &str,
        client_secret: &str,
        form: &[(&str, &str)],
    ) -> Result<Fetched, String> {
        let client = self
            .cognito
            .get_or_try_init(|| async { client(GaiResolver::new()) })
            .await?;
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = STANDARD.encode(format!("{}:{}", encode(client_id), encode(client_secret)));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = http::Request::post(url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        send(client, request, MAX_TOKEN_REPLY, Duration::from_secs(10)).await
    }

    /// GETs a document from a public address; redirects are returned, not followed.
    pub async fn get_public(&self, url: &str, max_bytes: usize) -> Result<Fetched, String> {
        let client = self
            .public
            .get_or_try_init(|| async { client(PublicOnly(GaiResolver::new())) })
            .await?;
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        send(client, request, max_bytes, Duration::from_secs(5)).await
    }
}
