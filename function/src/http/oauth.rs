//! The OAuth facade's routes (`oauth`/`both` modes; docs/oauth.md): discovery, authorize +
//! consent, Cognito's callback, token, registration; and the bearer-token check of `/mcp`.
//! Handlers parse, call the `oauth` crate's checks and the facade's I/O, and shape responses.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, RawQuery, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use oauth::{
    AccessClaims, Purpose,
    authorize::{self, AuthorizeError, AuthorizeQuery, Pending},
    client,
    grant::{self, CodeGrant, GrantError, TokenForm},
    metadata,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AppState, BasePath, guard, header_str};
use crate::{
    config::RunMode,
    oauth::{Facade, pages},
};

/// The browser-binding cookie: the consent form and Cognito's callback must come from the
/// browser that opened `/authorize` (CSRF, and login CSRF at the callback).
const BROWSER_COOKIE: &str = "mcp_oauth_browser";
/// How long a sign-in may take, from `/authorize` to the callback.
const SIGN_IN_SECONDS: i64 = 900;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server),
        )
        .route(
            "/.well-known/openid-configuration",
            get(authorization_server),
        )
        .route("/authorize", get(authorize).post(consent))
        .route("/oauth/callback", get(callback))
        .route("/token", post(token))
        .route("/register", post(register))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// This endpoint's base URL (`B`): scheme, the Host the guard accepts, and the stage prefix
/// API Gateway had in the path. `None` for a Host that is not allowed.
pub(super) fn base_url(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Option<String> {
    let host = header_str(headers, header::HOST)?;
    if !guard::host_allowed(host, &state.config.allowed_hosts) {
        return None;
    }
    let scheme = if state.config.mode == RunMode::Local {
        "http"
    } else {
        "https"
    };
    let prefix = extensions.get::<BasePath>().map_or("", |p| p.0.as_str());
    Some(format!(
        "{scheme}://{}{prefix}",
        host.trim().to_ascii_lowercase()
    ))
}

fn facade(state: &AppState) -> &Facade {
    state
        .config
        .oauth
        .as_deref()
        .expect("OAuth routes exist only with a facade")
}

fn forbidden_host() -> Response {
    super::error_response(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Host header is not allowed.",
    )
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// HTML the browser must not frame (clickjacking the consent button), cache or leak.
/// `same-origin`, not `no-referrer`: with `no-referrer` Chromium posts the consent form with
/// `Origin: null`, which the cross-site check must refuse.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    no_store(response)
}

fn error_page(status: StatusCode, message: &str) -> Response {
    html(status, pages::error(message))
}

fn unavailable_page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server cannot read its sign-in keys right now. Try again in a minute.",
    )
}

async fn protected_resource(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match base_url(&state, request.headers(), request.extensions()) {
        Some(base) => Json(metadata::protected_resource(&base)).into_response(),
        None => forbidden_host(),
    }
}

async fn authorization_server(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match base_url(&state, request.headers(), request.extensions()) {
        Some(base) => Json(metadata::authorization_server(&base)).into_response(),
        None => forbidden_host(),
    }
}

// ---- browser binding ----

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn browser_hash(cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        cookie.as_bytes(),
    ))
}

/// The browser's binding value: the cookie it has (if well formed), else a fresh one.
fn browser_cookie(headers: &HeaderMap) -> (String, bool) {
    match cookie_value(headers, BROWSER_COOKIE)
        .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
    {
        Some(existing) => (existing.to_owned(), false),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("OS random source");
            (URL_SAFE_NO_PAD.encode(bytes), true)
        }
    }
}

fn set_cookie(response: &mut Response, value: &str, base: &str) {
    let secure = if base.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{BROWSER_COOKIE}={value}; Path=/; Max-Age={SIGN_IN_SECONDS}; HttpOnly; SameSite=Lax{secure}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The sign-in in flight: the checked request and the browser it belongs to.
#[derive(Serialize, Deserialize)]
struct Transaction {
    pending: Pending,
    browser: String,
}

// ---- authorize and consent ----

async fn authorize(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let Some(base) = base_url(&state, request.headers(), request.extensions()) else {
        return forbidden_host();
    };
    let facade = facade(&state);
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let parsed =
        match AuthorizeQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(q) => q,
            Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.0),
        };
    let Some(secrets) = facade.secrets().await else {
        return unavailable_page();
    };
    let now = now();
    let client = match facade.client(&parsed.client_id, &secrets, now).await {
        Ok(client) => client,
        Err(message) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("The application's client_id is not accepted: {message}"),
            );
        }
    };
    let pending = match authorize::check(&parsed, &client, &base) {
        Ok(pending) => pending,
        Err(AuthorizeError::Page(e)) => return error_page(StatusCode::BAD_REQUEST, &e.0),
        Err(AuthorizeError::Redirect(e)) => {
            let redirect_uri = parsed.redirect_uri.as_deref().expect("checked");
            let mut params = vec![
                ("error", e.error),
                ("error_description", e.description.as_str()),
            ];
            if let Some(s) = parsed.state.as_deref() {
                params.push(("state", s));
            }
            return Redirect::to(&authorize::client_redirect(redirect_uri, &params, &base))
                .into_response();
        }
    };
    let (cookie, fresh) = browser_cookie(request.headers());
    let transaction = secrets.keyring.seal(
        Purpose::Consent,
        &Transaction {
            pending: pending.clone(),
            browser: browser_hash(&cookie),
        },
        now + SIGN_IN_SECONDS,
    );
    let mut response = html(
        StatusCode::OK,
        pages::consent(&pages::Consent {
            client_name: &pending.client_name,
            client_id: &pending.client_id,
            redirect_uri: &pending.redirect_uri,
            scope: &pending.scope,
            resource: &pending.resource,
            transaction: &transaction,
        }),
    );
    if fresh {
        set_cookie(&mut response, &cookie, &base);
    }
    response
}

/// The sealed transaction, if this browser started it and it is still valid.
fn open_transaction(
    keyring: &oauth::Keyring,
    purpose: Purpose,
    sealed: &str,
    headers: &HeaderMap,
) -> Result<Pending, &'static str> {
    let tx: Transaction = keyring
        .open(purpose, sealed, now())
        .map_err(|_| "This sign-in expired or is not valid. Start again from your application.")?;
    let browser = cookie_value(headers, BROWSER_COOKIE).map(browser_hash);
    if browser.as_deref() != Some(tx.browser.as_str()) {
        return Err(
            "This sign-in was started in another browser (or cookies are blocked). Start again from your application.",
        );
    }
    Ok(tx.pending)
}

#[derive(Deserialize)]
struct ConsentForm {
    tx: String,
    decision: String,
}

async fn consent(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let Some(base) = base_url(&state, request.headers(), request.extensions()) else {
        return forbidden_host();
    };
    // A cross-site form post is refused even before the cookie check.
    if let Some(origin) = header_str(request.headers(), header::ORIGIN)
        && !base.starts_with(&format!("{origin}/"))
        && base != origin
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "The consent form was posted from another site.",
        );
    }
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(body) => body,
        Err(_) => return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
    };
    let Ok(form) = serde_urlencoded_form::<ConsentForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The consent form is incomplete.");
    };
    let facade = facade(&state);
    let Some(secrets) = facade.secrets().await else {
        return unavailable_page();
    };
    let pending = match open_transaction(&secrets.keyring, Purpose::Consent, &form.tx, &headers) {
        Ok(p) => p,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, message),
    };
    let mut params = vec![];
    if let Some(s) = pending.state.as_deref() {
        params.push(("state", s));
    }
    match form.decision.as_str() {
        "allow" => {
            let browser = browser_hash(cookie_value(&headers, BROWSER_COOKIE).unwrap_or_default());
            let upstream_state = secrets.keyring.seal(
                Purpose::Upstream,
                &Transaction {
                    pending: pending.clone(),
                    browser,
                },
                now() + SIGN_IN_SECONDS,
            );
            let url = facade.upstream_authorize_url(
                &secrets,
                &format!("{base}/oauth/callback"),
                &upstream_state,
            );
            no_store(Redirect::to(&url).into_response())
        }
        "deny" => {
            params.insert(0, ("error", "access_denied"));
            params.insert(1, ("error_description", "the user denied access"));
            no_store(
                Redirect::to(&authorize::client_redirect(
                    &pending.redirect_uri,
                    &params,
                    &base,
                ))
                .into_response(),
            )
        }
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
}

fn serde_urlencoded_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ()> {
    let pairs: serde_json::Map<String, Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    serde_json::from_value(Value::Object(pairs)).map_err(|_| ())
}

// ---- Cognito's callback ----

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<Arc<AppState>>,
    Query(query): Query<CallbackQuery>,
    request: Request,
) -> Response {
    let Some(base) = base_url(&state, request.headers(), request.extensions()) else {
        return forbidden_host();
    };
    let facade = facade(&state);
    let Some(secrets) = facade.secrets().await else {
        return unavailable_page();
    };
    let Some(sealed) = query.state.as_deref() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The identity provider sent no state.",
        );
    };
    let pending = match open_transaction(
        &secrets.keyring,
        Purpose::Upstream,
        sealed,
        request.headers(),
    ) {
        Ok(p) => p,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, message),
    };
    let client_state = pending.state.clone();
    let mut params: Vec<(&str, String)> = Vec::new();
    match (query.code, query.error) {
        (Some(code), None) => {
            let grant = CodeGrant::new(pending.clone(), code);
            params.push((
                "code",
                secrets
                    .keyring
                    .seal(Purpose::Code, &grant, now() + grant::CODE_SECONDS),
            ));
        }
        (_, error) => {
            // Cognito's own error names are not the client's business beyond "denied".
            tracing::info!(
                upstream_error = error.as_deref().unwrap_or("none"),
                "sign-in ended without a code"
            );
            params.push(("error", "access_denied".into()));
            params.push(("error_description", "the sign-in did not complete".into()));
        }
    }
    if let Some(s) = client_state {
        params.push(("state", s));
    }
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut response = no_store(
        Redirect::to(&authorize::client_redirect(
            &pending.redirect_uri,
            &params,
            &base,
        ))
        .into_response(),
    );
    // The sign-in is over: the binding cookie goes.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

// ---- token ----

fn grant_error(e: GrantError) -> Response {
    let status = match e.error {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "temporarily_unavailable" | "server_error" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    no_store((status, Json(e.body())).into_response())
}

async fn token(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let Some(base) = base_url(&state, request.headers(), request.extensions()) else {
        return forbidden_host();
    };
    let form_type = header_str(request.headers(), header::CONTENT_TYPE).is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form_type {
        return grant_error(GrantError::new(
            "invalid_request",
            "send the token request as application/x-www-form-urlencoded",
        ));
    }
    let body = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(body) => body,
        Err(_) => {
            return grant_error(GrantError::new(
                "invalid_request",
                "the request is too large",
            ));
        }
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let form = match TokenForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(form) => form,
        Err(e) => return grant_error(e),
    };
    let facade = facade(&state);
    let Some(secrets) = facade.secrets().await else {
        return grant_error(GrantError::new(
            "temporarily_unavailable",
            "the server cannot read its keys; try again",
        ));
    };
    let now = now();
    let callback = format!("{base}/oauth/callback");
    let result = match form.grant_type.as_str() {
        "authorization_code" => match grant::check_code(&form, &secrets.keyring, now) {
            Ok(code) => facade
                .upstream_token(
                    &secrets,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code.upstream_code),
                        ("redirect_uri", &callback),
                        ("client_id", &secrets.cognito_client_id),
                    ],
                )
                .await
                .and_then(|up| {
                    let refresh = up.refresh_token.ok_or_else(|| {
                        GrantError::new(
                            "temporarily_unavailable",
                            "the identity provider returned no refresh token",
                        )
                    })?;
                    Ok(grant::token_response(
                        &secrets.keyring,
                        &base,
                        &up.identity,
                        &code.client_id,
                        &code.scope,
                        &code.resource,
                        &refresh,
                        facade.settings.lifetimes,
                        now,
                    ))
                }),
            Err(e) => Err(e),
        },
        "refresh_token" => match grant::check_refresh(&form, &secrets.keyring, now) {
            Ok(refresh) => facade
                .upstream_token(
                    &secrets,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &refresh.upstream_refresh),
                        ("client_id", &secrets.cognito_client_id),
                    ],
                )
                .await
                .map(|up| {
                    // Cognito rotates its refresh token only when rotation is on for the client.
                    let upstream_refresh = up.refresh_token.unwrap_or(refresh.upstream_refresh);
                    grant::token_response(
                        &secrets.keyring,
                        &base,
                        &up.identity,
                        &refresh.client_id,
                        &refresh.scope,
                        &refresh.resource,
                        &upstream_refresh,
                        facade.settings.lifetimes,
                        now,
                    )
                }),
            Err(e) => Err(e),
        },
        other => Err(GrantError::new(
            "unsupported_grant_type",
            format!(
                "grant_type {:?} is not supported (authorization_code, refresh_token)",
                other.chars().take(40).collect::<String>()
            ),
        )),
    };
    match result {
        Ok(body) => no_store(Json(body).into_response()),
        Err(e) => grant_error(e),
    }
}

// ---- registration ----

async fn register(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if base_url(&state, request.headers(), request.extensions()).is_none() {
        return forbidden_host();
    }
    let body: Bytes =
        match axum::body::to_bytes(request.into_body(), client::MAX_METADATA_BYTES).await {
            Ok(body) => body,
            Err(_) => {
                let e = client::RegistrationError {
                    error: "invalid_client_metadata",
                    description: "the registration request is too large".into(),
                };
                return no_store((StatusCode::BAD_REQUEST, Json(e.body())).into_response());
            }
        };
    let facade = facade(&state);
    let Some(secrets) = facade.secrets().await else {
        return no_store(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable"})),
            )
                .into_response(),
        );
    };
    let now = now();
    match client::register(
        &body,
        &facade.settings.redirect_policy,
        &secrets.keyring,
        now,
    ) {
        Ok(client) => no_store(
            (
                StatusCode::CREATED,
                Json(client::registration_response(&client, now)),
            )
                .into_response(),
        ),
        Err(e) => no_store((StatusCode::BAD_REQUEST, Json(e.body())).into_response()),
    }
}

// ---- the bearer check on /mcp ----

/// Why `/mcp` refused a bearer token.
pub(super) enum TokenRefusal {
    /// No usable token: 401 with the challenge (`invalid_token` when one was sent).
    Missing,
    Invalid(&'static str),
    /// Valid, but without `mcp:tools`: 403.
    InsufficientScope,
    /// The keys cannot be read: 503 (the token may be fine).
    Unavailable,
}

/// Verifies a bearer access token for this endpoint.
pub(super) async fn verify_bearer(
    state: &AppState,
    token: &str,
    base: &str,
) -> Result<AccessClaims, TokenRefusal> {
    let Some(facade) = state.config.oauth.as_deref() else {
        return Err(TokenRefusal::Missing);
    };
    let secrets = facade.secrets().await.ok_or(TokenRefusal::Unavailable)?;
    let claims = secrets
        .keyring
        .verify_access_token(token, base, &metadata::resource(base))
        .map_err(|e| TokenRefusal::Invalid(e.reason()))?;
    if !claims.has_scope(metadata::MCP_SCOPE) {
        return Err(TokenRefusal::InsufficientScope);
    }
    Ok(claims)
}

/// The 401/403/503 for a refused bearer request, with the RFC 6750 / RFC 9728 challenge.
pub(super) fn refusal_response(refusal: TokenRefusal, base: &str) -> Response {
    let metadata_url = metadata::resource_metadata_url(base);
    let scope = metadata::MCP_SCOPE;
    let (status, challenge, message) = match refusal {
        TokenRefusal::Missing => (
            StatusCode::UNAUTHORIZED,
            format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"{scope}\""),
            "Sign in: this server uses OAuth (see the resource_metadata in WWW-Authenticate).",
        ),
        TokenRefusal::Invalid(reason) => {
            tracing::info!(reason, "bearer token refused");
            (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"the access token is not valid here\", resource_metadata=\"{metadata_url}\", scope=\"{scope}\""
                ),
                "The access token is invalid or expired: sign in again.",
            )
        }
        TokenRefusal::InsufficientScope => (
            StatusCode::FORBIDDEN,
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{metadata_url}\""
            ),
            "The access token lacks the mcp:tools scope.",
        ),
        TokenRefusal::Unavailable => {
            return super::error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The server cannot read its keys right now; try again.",
            );
        }
    };
    let mut response = super::error_response(
        status,
        if status == StatusCode::FORBIDDEN {
            "insufficient_scope"
        } else {
            "unauthorized"
        },
        message,
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
