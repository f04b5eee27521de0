//! A stand-in for Amazon Cognito's managed login and OAuth 2.0 endpoints, on loopback, for the
//! OAuth end-to-end tests (moto has no `/oauth2/authorize` or `/oauth2/token`).
//!
//! It follows Cognito's documented behaviour for what the facade uses: `GET /oauth2/authorize`
//! checks `response_type=code`, the app client, the exact registered `redirect_uri` and the
//! scopes, then redirects to `/login` with the same parameters; the login form posts username
//! and password; the user comes back to `redirect_uri` with `code` and `state`. `POST
//! /oauth2/token` takes `client_secret_basic` or `client_secret_post`, the `authorization_code`
//! grant (exact `redirect_uri`, PKCE when the authorize request had a challenge, single-use
//! code valid 5 minutes) and the `refresh_token` grant, and answers like Cognito:
//! `access_token`, `id_token`, `refresh_token`, `expires_in`, `token_type: "Bearer"`. Refresh
//! tokens rotate as on the app client the infra creates (rotation on, 10 s retry grace): a
//! refresh returns a new refresh token, and the one it used stops working once the grace is
//! over. Errors are `400 {"error":"…"}` with Cognito's codes
//! (`invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
//! `unsupported_grant_type`).
//!
//! Where it differs from real Cognito:
//! - Token signatures: tokens are HS256 JWTs signed with the app client's secret (OIDC allows
//!   that for confidential clients), not RS256 with the user pool's keys, and there is no JWKS:
//!   the facade receives these tokens directly from the token endpoint and never needs one.
//!   The claims are Cognito's (`sub`, `email`, `cognito:username`, `token_use`, `aud` on the ID
//!   token, `client_id`/`scope`/`username` on the access token, `iss` = a user-pool URL).
//! - Managed login: one plain HTML form (`username`, `password`), no CSRF cookie, no MFA, no
//!   sign-up, no federation, no session cookie (every authorize request shows the form).
//! - Error pages: an unknown client or an unregistered `redirect_uri` gives a `400` HTML page
//!   (Cognito redirects to its own `/error` page); a bad `response_type` or scope redirects to
//!   the client with `error=unsupported_response_type` / `invalid_scope` as RFC 6749 says.
//!   `error_description` is added to token errors (Cognito sends only `error`).
//! - Users are an in-memory list the test fills; disabling one (`disable_user`) makes sign-in
//!   fail with Cognito's "User is disabled." and refresh fail with `invalid_grant`, as
//!   `AdminDisableUser` does. One app client per stand-in. HTTP on loopback, not HTTPS.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The issuer Cognito puts in its tokens: the user pool's URL (never fetched by the facade).
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_StandIn";
/// Scopes the app client may ask for (Cognito's standard OIDC scopes).
const ALLOWED_SCOPES: [&str; 4] = ["openid", "email", "profile", "phone"];
/// Cognito's authorization codes are valid for 5 minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// The app client's `RetryGracePeriodSeconds` (infra/src/stack/oauth.rs).
const REFRESH_RETRY_GRACE: Duration = Duration::from_secs(10);
const TOKEN_SECONDS: i64 = 3600;

struct User {
    password: String,
    email: String,
    sub: String,
    enabled: bool,
}

struct Code {
    username: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    /// PKCE S256 challenge, when the authorize request carried one.
    challenge: Option<String>,
    expires: Instant,
}

struct Refresh {
    username: String,
    /// When it was first used (rotated out): it works until the retry grace is over.
    used: Option<Instant>,
}

#[derive(Default)]
struct Pool {
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
    users: HashMap<String, User>,
    codes: HashMap<String, Code>,
    refresh_tokens: HashMap<String, Refresh>,
    refresh_retry_grace: Duration,
    /// Successful token requests, by grant type, in order.
    grants: Vec<String>,
}

type Shared = Arc<Mutex<Pool>>;

/// The stand-in, serving on `url` until dropped.
pub struct CognitoStandIn {
    /// `http://127.0.0.1:<port>`, the value for `MCP_OAUTH_COGNITO_URL`.
    pub url: String,
    pool: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Serves `app` on a free loopback port from a thread of its own until the returned sender is
/// dropped. Returns the base URL.
pub fn serve_on_loopback(app: axum::Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    (url, stop)
}

impl CognitoStandIn {
    /// Starts the stand-in with one confidential app client and no redirect URI yet.
    pub fn start(client_id: &str, client_secret: &str) -> Self {
        let pool = Arc::new(Mutex::new(Pool {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_retry_grace: REFRESH_RETRY_GRACE,
            ..Pool::default()
        }));
        let app = router(pool.clone());
        let (url, stop) = serve_on_loopback(app);
        Self {
            url,
            pool,
            _stop: stop,
        }
    }

    /// Registers a callback URL on the app client (Cognito matches it exactly).
    pub fn allow_redirect_uri(&self, uri: &str) {
        self.pool.lock().unwrap().redirect_uris.push(uri.into());
    }

    pub fn add_user(&self, username: &str, password: &str, email: &str) {
        let sub = hex(&Sha256::digest(username.as_bytes())[..16]);
        self.pool.lock().unwrap().users.insert(
            username.into(),
            User {
                password: password.into(),
                email: email.into(),
                sub,
                enabled: true,
            },
        );
    }

    /// As `AdminDisableUser`: no more sign-in, no more refresh.
    pub fn disable_user(&self, username: &str) {
        if let Some(user) = self.pool.lock().unwrap().users.get_mut(username) {
            user.enabled = false;
        }
    }

    /// Shortens the retry grace of rotated-out refresh tokens (10 s, as deployed), so a test
    /// can see a spent one refused without waiting that long.
    pub fn set_refresh_retry_grace(&self, grace: Duration) {
        self.pool.lock().unwrap().refresh_retry_grace = grace;
    }

    /// The `sub` Cognito gives `username`.
    pub fn sub(&self, username: &str) -> String {
        self.pool.lock().unwrap().users[username].sub.clone()
    }

    /// How many token requests with `grant_type` succeeded.
    pub fn grants(&self, grant_type: &str) -> usize {
        let pool = self.pool.lock().unwrap();
        pool.grants.iter().filter(|g| *g == grant_type).count()
    }
}

fn router(pool: Shared) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/login", get(login_form).post(login))
        .route("/oauth2/token", axum::routing::post(token))
        .with_state(pool)
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("random bytes");
    hex(&buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A `302 Found` to `uri`, as Cognito redirects.
fn found(uri: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, uri.to_owned())]).into_response()
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Error</title><p>{}</p>",
            html_escape(message)
        )),
    )
        .into_response()
}

/// `uri` with `params` added to its query.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let query = serde_urlencoded::to_string(params).unwrap();
    format!("{uri}{sep}{query}")
}

/// Checks an authorize request: the response to give instead (error page or redirect), if any.
fn refusal(pool: &Pool, q: &HashMap<String, String>) -> Option<Response> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != pool.client_id {
        return Some(error_page("invalid_request: unknown client_id"));
    }
    let redirect_uri = get("redirect_uri");
    if !pool.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Some(error_page("redirect_mismatch"));
    }
    let state = get("state");
    let refuse = |error: &str| -> Response {
        let mut params = vec![("error", error)];
        if !state.is_empty() {
            params.push(("state", state));
        }
        found(&with_query(redirect_uri, &params))
    };
    if get("response_type") != "code" {
        return Some(refuse("unsupported_response_type"));
    }
    let scope = get("scope");
    if scope
        .split(' ')
        .any(|s| !s.is_empty() && !ALLOWED_SCOPES.contains(&s))
    {
        return Some(refuse("invalid_scope"));
    }
    if q.contains_key("code_challenge") && get("code_challenge_method") != "S256" {
        return Some(refuse("invalid_request"));
    }
    None
}

/// Cognito's authorize endpoint: checks the request, then sends the browser to managed login
/// with the same parameters.
async fn authorize(
    State(pool): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(refusal) = refusal(&pool.lock().unwrap(), &q) {
        return refusal;
    }
    found(&format!("/login?{}", raw.unwrap_or_default()))
}

fn form_page(raw_query: &str, message: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in (Cognito stand-in)</h1>
<p class="error">{message}</p>
<form method="post" action="/login?{action}">
  <label>Username <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit" name="signInSubmitButton">Sign in</button>
</form>
</body></html>"#,
        message = html_escape(message),
        action = html_escape(raw_query),
    ))
}

async fn login_form(
    State(pool): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(refusal) = refusal(&pool.lock().unwrap(), &q) {
        return refusal;
    }
    form_page(&raw.unwrap_or_default(), "").into_response()
}

/// The login form's post: checks the user, issues a single-use code, back to the client.
async fn login(
    State(pool): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut pool = pool.lock().unwrap();
    if let Some(refusal) = refusal(&pool, &q) {
        return refusal;
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let raw = raw.unwrap_or_default();
    match pool.users.get(&username) {
        Some(user) if user.password == password && !user.enabled => {
            return form_page(&raw, "User is disabled.").into_response();
        }
        Some(user) if user.password == password => {}
        _ => return form_page(&raw, "Incorrect username or password.").into_response(),
    }
    let code = random_token(18);
    let redirect_uri = q["redirect_uri"].clone();
    pool.codes.insert(
        code.clone(),
        Code {
            username,
            redirect_uri: redirect_uri.clone(),
            scope: q.get("scope").cloned().unwrap_or_else(|| "openid".into()),
            nonce: q.get("nonce").cloned(),
            challenge: q.get("code_challenge").cloned(),
            expires: Instant::now() + CODE_LIFETIME,
        },
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = q.get("state") {
        params.push(("state", state));
    }
    found(&with_query(&redirect_uri, &params))
}

fn token_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's credentials from `client_secret_basic` or `client_secret_post`.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((id.into(), secret.into()));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

async fn token(State(pool): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(_) => return token_error("invalid_request", "body is not form-encoded"),
    };
    let mut pool = pool.lock().unwrap();
    match client_credentials(&headers, &form) {
        Some((id, secret)) if id == pool.client_id && secret == pool.client_secret => {}
        _ => return token_error("invalid_client", "client authentication failed"),
    }
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let grant_type = field("grant_type");
    let (username, scope, nonce) = match grant_type {
        "authorization_code" => {
            // Single use: the code is gone whatever the outcome.
            let Some(code) = pool.codes.remove(field("code")) else {
                return token_error("invalid_grant", "unknown or used code");
            };
            if code.expires < Instant::now() {
                return token_error("invalid_grant", "expired code");
            }
            if code.redirect_uri != field("redirect_uri") {
                return token_error("invalid_grant", "redirect_uri differs");
            }
            if let Some(challenge) = &code.challenge {
                let verifier = field("code_verifier");
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                    return token_error("invalid_grant", "code_verifier does not match");
                }
            }
            (code.username, code.scope, code.nonce)
        }
        "refresh_token" => {
            let grace = pool.refresh_retry_grace;
            let Some(refresh) = pool.refresh_tokens.get_mut(field("refresh_token")) else {
                return token_error("invalid_grant", "unknown refresh token");
            };
            if refresh.used.is_some_and(|used| used.elapsed() > grace) {
                return token_error("invalid_grant", "refresh token was rotated out");
            }
            refresh.used.get_or_insert_with(Instant::now);
            (
                refresh.username.clone(),
                "openid email profile".to_owned(),
                None,
            )
        }
        "" => return token_error("invalid_request", "grant_type is missing"),
        _ => return token_error("unsupported_grant_type", grant_type),
    };
    let Some(user) = pool.users.get(&username).filter(|u| u.enabled) else {
        return token_error("invalid_grant", "user is disabled");
    };
    let now = chrono_now();
    let common = json!({
        "sub": user.sub, "iss": ISSUER, "auth_time": now, "iat": now,
        "exp": now + TOKEN_SECONDS, "jti": random_token(16), "origin_jti": random_token(16),
    });
    let mut id_claims = common.clone();
    merge(
        &mut id_claims,
        json!({
            "aud": pool.client_id, "token_use": "id", "cognito:username": username,
            "email": user.email, "email_verified": true,
        }),
    );
    if let Some(nonce) = nonce {
        merge(&mut id_claims, json!({ "nonce": nonce }));
    }
    let mut access_claims = common;
    merge(
        &mut access_claims,
        json!({
            "client_id": pool.client_id, "token_use": "access", "scope": scope,
            "username": username, "version": 2,
        }),
    );
    let secret = pool.client_secret.clone();
    let reply = json!({
        "access_token": sign(&access_claims, &secret),
        "id_token": sign(&id_claims, &secret),
        "refresh_token": random_token(32),
        "expires_in": TOKEN_SECONDS,
        "token_type": "Bearer",
    });
    pool.refresh_tokens.insert(
        reply["refresh_token"].as_str().unwrap().to_owned(),
        Refresh {
            username,
            used: None,
        },
    );
    pool.grants.push(grant_type.to_owned());
    ([(header::CACHE_CONTROL, "no-store")], Json::<Value>(reply)).into_response()
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 JWT of `claims` (see the module comment: Cognito signs RS256).
fn sign(claims: &Value, secret: &str) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "stand-in"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    //! The stand-in itself, driven over loopback like the facade drives it.

    use super::*;

    const CALLBACK: &str = "http://127.0.0.1:9/oauth/callback";

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into()
    }

    fn location(response: &ureq::http::Response<ureq::Body>) -> String {
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Signs in through the form and returns the code from the redirect.
    fn sign_in(cognito: &CognitoStandIn, password: &str) -> Result<String, String> {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email"),
            ("state", "s1"),
        ])
        .unwrap();
        let agent = agent();
        let authorize = agent
            .get(format!("{}/oauth2/authorize?{query}", cognito.url))
            .call()
            .unwrap();
        assert_eq!(authorize.status(), 302);
        let login = format!("{}{}", cognito.url, location(&authorize));
        let mut response = agent
            .post(&login)
            .content_type("application/x-www-form-urlencoded")
            .send(format!("username=ada&password={password}"))
            .unwrap();
        if response.status() != 302 {
            return Err(response.body_mut().read_to_string().unwrap());
        }
        let back = location(&response);
        assert!(back.starts_with(CALLBACK), "{back}");
        assert!(back.ends_with("&state=s1"), "{back}");
        let code = back
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        Ok(code.to_owned())
    }

    fn redeem(cognito: &CognitoStandIn, form: &str) -> (u16, Value) {
        let mut response = agent()
            .post(format!("{}/oauth2/token", cognito.url))
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode("app:secret")),
            )
            .content_type("application/x-www-form-urlencoded")
            .send(form)
            .unwrap();
        let body = response.body_mut().read_to_string().unwrap();
        (
            response.status().as_u16(),
            serde_json::from_str(&body).unwrap(),
        )
    }

    fn claims(jwt: &str) -> Value {
        let payload = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn code_flow_refresh_replay_and_disabled_user() {
        let cognito = CognitoStandIn::start("app", "secret");
        cognito.allow_redirect_uri(CALLBACK);
        cognito.add_user("ada", "pw-1", "ada@example.com");

        assert!(
            sign_in(&cognito, "wrong")
                .unwrap_err()
                .contains("Incorrect")
        );
        let code = sign_in(&cognito, "pw-1").unwrap();
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            CALLBACK.replace(':', "%3A").replace('/', "%2F")
        );
        let (status, tokens) = redeem(&cognito, &form);
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        let id = claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(id["token_use"], "id");
        assert_eq!(id["aud"], "app");
        assert_eq!(id["cognito:username"], "ada");
        assert_eq!(id["email"], "ada@example.com");
        assert_eq!(id["sub"], cognito.sub("ada"));

        // The code is single use.
        let (status, replay) = redeem(&cognito, &form);
        assert_eq!((status, &replay["error"]), (400, &json!("invalid_grant")));

        // Rotation: each refresh gives a new refresh token; the used one is spent once the
        // retry grace is over (none here).
        cognito.set_refresh_retry_grace(Duration::ZERO);
        let refresh = |token: &Value| {
            format!(
                "grant_type=refresh_token&refresh_token={}",
                token.as_str().unwrap()
            )
        };
        let (status, refreshed) = redeem(&cognito, &refresh(&tokens["refresh_token"]));
        assert_eq!(status, 200, "{refreshed}");
        assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
        std::thread::sleep(Duration::from_millis(5));
        let (status, spent) = redeem(&cognito, &refresh(&tokens["refresh_token"]));
        assert_eq!((status, &spent["error"]), (400, &json!("invalid_grant")));
        assert_eq!(cognito.grants("refresh_token"), 1);

        cognito.disable_user("ada");
        let (status, refused) = redeem(&cognito, &refresh(&refreshed["refresh_token"]));
        assert_eq!((status, &refused["error"]), (400, &json!("invalid_grant")));
        assert!(
            sign_in(&cognito, "pw-1")
                .unwrap_err()
                .contains("User is disabled.")
        );
    }

    #[test]
    fn unregistered_redirect_uri_and_bad_client_are_refused() {
        let cognito = CognitoStandIn::start("app", "secret");
        cognito.allow_redirect_uri(CALLBACK);
        let agent = agent();
        let other = format!(
            "{}/oauth2/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fother",
            cognito.url
        );
        assert_eq!(agent.get(&other).call().unwrap().status(), 400);
        let (status, body) = {
            let mut r = agent
                .post(format!("{}/oauth2/token", cognito.url))
                .content_type("application/x-www-form-urlencoded")
                .send("grant_type=refresh_token&client_id=app&client_secret=nope&refresh_token=x")
                .unwrap();
            (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
        };
        assert_eq!(status, 400);
        assert!(body.contains("invalid_client"), "{body}");
    }
}
