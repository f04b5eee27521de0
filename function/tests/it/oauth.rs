//! The OAuth facade in-process: discovery, DCR, consent, Cognito's callback, token and refresh
//! grants, bearer checks on /mcp. Cognito's token endpoint is a small stub on loopback (the
//! e2e tests drive real clients and a browser against a fuller stand-in).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use authorizer::StaticKeys;
use axum::{
    Router, body::Body, extract::State, http::HeaderMap, response::IntoResponse, routing::post,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use function::{AppConfig, app};
use http::Request;
use serde_json::{Value, json};

use crate::common::{JSON_AND_SSE, KEY, send};

const HOST: &str = "127.0.0.1:8080";
const BASE: &str = "http://127.0.0.1:8080";
const SIGNING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:5555/callback";

/// Cognito's token endpoint, as far as the facade uses it: client secret basic auth, single-use
/// codes, refresh with rotation (each refresh token works once). Codes are any string starting
/// with `up-code`.
#[derive(Default)]
struct Stub {
    used: Mutex<HashSet<String>>,
    refreshes: Mutex<u32>,
}

fn id_token(sub: &str) -> String {
    let claims = URL_SAFE_NO_PAD
        .encode(json!({"sub": sub, "email": "alice@example.com", "token_use": "id"}).to_string());
    format!("eyJhbGciOiJSUzI1NiJ9.{claims}.sig")
}

async fn stub_token(
    State(stub): State<Arc<Stub>>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("cid:csecret")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let invalid = || {
        (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response()
    };
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            if !code.starts_with("up-code")
                || form.get("redirect_uri").map(String::as_str)
                    != Some(&format!("{BASE}/oauth/callback"))
                || !stub.used.lock().unwrap().insert(code)
            {
                return invalid();
            }
            axum::Json(json!({"id_token": id_token("user-1"), "access_token": "cognito-at", "refresh_token": "up-refresh-0", "expires_in": 3600, "token_type": "Bearer"})).into_response()
        }
        Some("refresh_token") => {
            let mut count = stub.refreshes.lock().unwrap();
            if form.get("refresh_token") != Some(&format!("up-refresh-{count}")) {
                return invalid();
            }
            *count += 1;
            axum::Json(json!({"id_token": id_token("user-1"), "access_token": "cognito-at-2", "refresh_token": format!("up-refresh-{count}"), "expires_in": 3600, "token_type": "Bearer"})).into_response()
        }
        _ => invalid(),
    }
}

async fn start_stub() -> String {
    let router = Router::new()
        .route("/oauth2/token", post(stub_token))
        .with_state(Arc::new(Stub::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn oauth_app(mode: &str) -> Router {
    let cognito = start_stub().await;
    let env = move |name: &str| match name {
        "MCP_AUTH_MODE" => Some(mode.to_owned()),
        "MCP_OAUTH_COGNITO_URL" => Some(cognito.clone()),
        "MCP_OAUTH_SIGNING_KEY" => Some(SIGNING_KEY.to_owned()),
        "MCP_OAUTH_COGNITO_CLIENT_ID" => Some("cid".into()),
        "MCP_OAUTH_COGNITO_CLIENT_SECRET" => Some("csecret".into()),
        // Lets the hostile-document test serve its documents on loopback.
        "MCP_OAUTH_CIMD_ALLOW_HTTP_LOOPBACK" => Some("1".into()),
        _ => None,
    };
    let (auth, facade) = function::oauth::auth_from_env(env).unwrap();
    let mut config = AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    config.auth = auth;
    config.oauth = facade;
    app(config)
}

fn get(path: &str) -> http::request::Builder {
    Request::get(path).header("host", HOST)
}

fn form_post(path: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    Request::post(path)
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

async fn json_of(app: &Router, request: Request<Body>) -> (http::StatusCode, HeaderMap, Value) {
    let (status, headers, body) = send(app, request).await;
    (
        status,
        headers,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

fn mcp_list(token: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE)
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
        ))
        .unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn register(app: &Router) -> String {
    let request = Request::post("/register")
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"client_name": "Test Client", "redirect_uris": ["http://127.0.0.1/callback"]})
                .to_string(),
        ))
        .unwrap();
    let (status, _, body) = json_of(app, request).await;
    assert_eq!(status, 201, "{body}");
    body["client_id"].as_str().unwrap().to_owned()
}

/// `/authorize` → the consent page: returns the sealed transaction and the browser cookie.
async fn consent_page(app: &Router, client_id: &str) -> (String, String) {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("state", "client-state"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("resource", &format!("{BASE}/mcp")),
        ])
        .finish();
    let (status, headers, html) = send(
        app,
        get(&format!("/authorize?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Test Client"), "{html}");
    assert!(html.contains(REDIRECT));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    // Not no-referrer: Chromium would post the consent form with `Origin: null`.
    assert_eq!(headers["referrer-policy"], "same-origin");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let tx = html
        .split("name=\"tx\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (tx, cookie)
}

fn consent_post(
    tx: &str,
    decision: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Request<Body> {
    let mut request = form_post("/authorize", &[("tx", tx), ("decision", decision)]);
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    request
}

/// Consent → Cognito (skipped: its state comes back with a code) → callback → the client's code.
async fn sign_in(app: &Router, client_id: &str, upstream_code: &str) -> String {
    let (tx, cookie) = consent_page(app, client_id).await;
    let (status, headers, _) =
        send(app, consent_post(&tx, "allow", Some(&cookie), Some(BASE))).await;
    assert!(status.is_redirection(), "{status}");
    let to_cognito = headers["location"].to_str().unwrap();
    assert!(to_cognito.contains("/oauth2/authorize?"), "{to_cognito}");
    assert_eq!(query_param(to_cognito, "client_id").as_deref(), Some("cid"));
    assert_eq!(
        query_param(to_cognito, "redirect_uri"),
        Some(format!("{BASE}/oauth/callback"))
    );
    let state = query_param(to_cognito, "state").unwrap();
    let callback = format!("/oauth/callback?code={upstream_code}&state={state}");
    let request = get(&callback)
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(app, request).await;
    assert!(status.is_redirection(), "{status}");
    let to_client = headers["location"].to_str().unwrap();
    assert!(to_client.starts_with(REDIRECT), "{to_client}");
    assert_eq!(
        query_param(to_client, "state").as_deref(),
        Some("client-state")
    );
    assert_eq!(query_param(to_client, "iss").as_deref(), Some(BASE));
    // The same callback from a browser without the cookie is refused (login CSRF).
    let (status, _, _) = send(app, get(&callback).body(Body::empty()).unwrap()).await;
    assert_eq!(status, 400);
    query_param(to_client, "code").unwrap()
}

async fn refresh(app: &Router, token: &str, client_id: &str) -> (http::StatusCode, Value) {
    let request = form_post(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client_id),
        ],
    );
    let (status, _, body) = json_of(app, request).await;
    (status, body)
}

async fn exchange(app: &Router, client_id: &str, code: &str) -> (http::StatusCode, Value) {
    let request = form_post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    let (status, headers, body) = json_of(app, request).await;
    assert_eq!(headers["cache-control"], "no-store");
    (status, body)
}

#[tokio::test]
async fn discovery_documents_and_the_challenge_agree() {
    let app = oauth_app("oauth").await;
    let (status, headers, _) = send(&app, mcp_list(None)).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer resource_metadata=\"{BASE}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""
        )
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, _, prm) = json_of(&app, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(prm["resource"], format!("{BASE}/mcp"));
        assert_eq!(prm["authorization_servers"], json!([BASE]));
    }
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (_, _, asm) = json_of(&app, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(asm["issuer"], BASE);
        assert_eq!(asm["token_endpoint"], format!("{BASE}/token"));
        assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    }
    // A host outside the allow-list gets no metadata (no issuer for an attacker's name).
    let (status, _, _) = send(
        &app,
        Request::get("/.well-known/oauth-authorization-server")
            .header("host", "evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_whole_flow_then_refresh_and_replay() {
    let app = oauth_app("oauth").await;
    let client_id = register(&app).await;
    let code = sign_in(&app, &client_id, "up-code-1").await;
    let (status, tokens) = exchange(&app, &client_id, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:tools");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _, body) = send(&app, mcp_list(Some(access))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"tools\""));

    // The code is single-use: Cognito refuses its own code the second time.
    let (status, replay) = exchange(&app, &client_id, &code).await;
    assert_eq!(
        (status.as_u16(), replay["error"].as_str()),
        (400, Some("invalid_grant")),
        "{replay}"
    );

    // Refresh: a new access token and a new refresh token, both working.
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, fresh) = refresh(&app, first_refresh, &client_id).await;
    assert_eq!(status, 200, "{fresh}");
    assert_ne!(fresh["refresh_token"], tokens["refresh_token"]);
    let (status, _, _) = send(&app, mcp_list(fresh["access_token"].as_str())).await;
    assert_eq!(status, 200);
    // Rotation: the refresh token just used is spent (Cognito rotated the one inside it).
    let (status, body) = refresh(&app, first_refresh, &client_id).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // The new one works, once.
    let next = fresh["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&app, next, &client_id).await.0, 200);
    // Another client cannot use this refresh token.
    let (status, body) = refresh(&app, first_refresh, "someone-else").await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn consent_is_bound_to_the_browser_and_the_site() {
    let app = oauth_app("oauth").await;
    let client_id = register(&app).await;
    let (tx, cookie) = consent_page(&app, &client_id).await;
    // Posted without the cookie (another browser, or a cross-site post with SameSite=Lax).
    let (status, _, _) = send(&app, consent_post(&tx, "allow", None, None)).await;
    assert_eq!(status, 400);
    // Posted from another site.
    let (status, _, _) = send(
        &app,
        consent_post(&tx, "allow", Some(&cookie), Some("https://evil.example")),
    )
    .await;
    assert_eq!(status, 403);
    // A tampered transaction.
    let (status, _, _) = send(
        &app,
        consent_post(&format!("{tx}x"), "allow", Some(&cookie), None),
    )
    .await;
    assert_eq!(status, 400);
    // Deny: the client hears access_denied with its state and our issuer.
    let (status, headers, _) =
        send(&app, consent_post(&tx, "deny", Some(&cookie), Some(BASE))).await;
    assert!(status.is_redirection());
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(location, "state").as_deref(),
        Some("client-state")
    );
}

#[tokio::test]
async fn bad_authorization_requests() {
    let app = oauth_app("oauth").await;
    let client_id = register(&app).await;
    // A redirect URI the client did not register: shown, never redirected to.
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let (status, headers, html) = send(
        &app,
        get(&format!("/authorize?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(headers.get("location").is_none());
    assert!(html.contains("not registered"), "{html}");
    // No PKCE: back to the client with invalid_request.
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&state=s"
    );
    let (status, headers, _) = send(
        &app,
        get(&format!("/authorize?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(status.is_redirection());
    let location = headers["location"].to_str().unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_request")
    );
    // Unknown and forged clients.
    for id in ["nobody", "dcr.AAAA", "https://127.0.0.1/client.json"] {
        let (status, _, _) = send(
            &app,
            get(&format!(
                "/authorize?response_type=code&client_id={}",
                urlencode(id)
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{id}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = oauth_app("oauth").await;
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Form, u16, &str)] = &[
        (&[("grant_type", "password")], 400, "unsupported_grant_type"),
        (&[("code", "x")], 400, "invalid_request"),
        (
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", "c"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            400,
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", "c"),
            ],
            400,
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ],
            401,
            "invalid_client",
        ),
    ];
    for (form, status, error) in cases {
        let (got, _, body) = json_of(&app, form_post("/token", form)).await;
        assert_eq!(
            (got.as_u16(), body["error"].as_str()),
            (*status, Some(*error)),
            "{form:?}"
        );
    }
    let json_body = Request::post("/token")
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, body) = json_of(&app, json_body).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

fn mint(scope: &str, aud: &str, exp_offset: i64) -> String {
    let keys = oauth::Keyring::from_signing_key(
        &base64::engine::general_purpose::STANDARD
            .decode(SIGNING_KEY)
            .unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    keys.sign_access_token(&oauth::AccessClaims {
        iss: BASE.into(),
        aud: aud.into(),
        sub: "user-1".into(),
        client_id: "c".into(),
        scope: scope.into(),
        iat: now,
        nbf: now,
        exp: now + exp_offset,
        jti: "j".into(),
        username: None,
    })
}

#[tokio::test]
async fn bearer_refusals_carry_the_right_challenge() {
    let app = oauth_app("oauth").await;
    let good = mint("mcp:tools", &format!("{BASE}/mcp"), 600);
    assert_eq!(send(&app, mcp_list(Some(&good))).await.0, 200);
    for bad in [
        mint("mcp:tools", "http://127.0.0.1:9999/mcp", 600),
        mint("mcp:tools", &format!("{BASE}/mcp"), -120),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_owned(),
        KEY.to_owned(), // an API key is not a token in oauth mode
    ] {
        let (status, headers, _) = send(&app, mcp_list(Some(&bad))).await;
        assert_eq!(status, 401, "{bad}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains("resource_metadata="),
            "{challenge}"
        );
    }
    let (status, headers, _) = send(
        &app,
        mcp_list(Some(&mint("offline_access", &format!("{BASE}/mcp"), 600))),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );
}

#[tokio::test]
async fn both_mode_takes_keys_and_tokens() {
    let app = oauth_app("both").await;
    let mut keyed = mcp_list(None);
    keyed
        .headers_mut()
        .insert("x-api-key", KEY.parse().unwrap());
    assert_eq!(send(&app, keyed).await.0, 200);
    assert_eq!(send(&app, mcp_list(Some(KEY))).await.0, 200);
    assert_eq!(
        send(
            &app,
            mcp_list(Some(&mint("mcp:tools", &format!("{BASE}/mcp"), 600)))
        )
        .await
        .0,
        200
    );
    let (status, headers, _) = send(&app, mcp_list(Some("wrong-key"))).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    let (status, headers, _) = send(&app, mcp_list(None)).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer resource_metadata=")
    );
}

#[tokio::test]
async fn api_key_mode_has_no_oauth_routes() {
    let app = crate::common::test_app();
    let (status, _, _) = send(
        &app,
        get("/.well-known/oauth-authorization-server")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, headers, _) = send(&app, mcp_list(None)).await;
    assert_eq!(status, 401);
    assert!(headers.get("www-authenticate").is_none());
}

/// Client metadata documents that must not be accepted, each served on loopback: a redirect
/// (not followed), an oversized body, a document naming another client id, an error status,
/// a slow server (past the fetch deadline). Each ends on the error page, not the consent page.
#[tokio::test]
async fn hostile_metadata_documents_are_refused() {
    use axum::routing::get as route_get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    let me = host.clone();
    let router = Router::new()
        .route("/redirect.json", route_get(|| async { axum::response::Redirect::temporary("https://example.com/c.json") }))
        .route("/huge.json", route_get(|| async { "x".repeat(1024 * 1024) }))
        .route("/other.json", route_get(move || {
            let me = me.clone();
            async move { axum::Json(json!({"client_id": format!("{me}/another.json"), "redirect_uris": [REDIRECT]})) }
        }))
        .route("/missing.json", route_get(|| async { http::StatusCode::NOT_FOUND }))
        .route("/slow.json", route_get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            "{}"
        }));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = oauth_app("oauth").await;
    for (doc, why) in [
        ("redirect.json", "HTTP 307"),
        ("huge.json", "larger than"),
        ("other.json", "does not name its own URL"),
        ("missing.json", "HTTP 404"),
        ("slow.json", "no reply within"),
    ] {
        let client_id = format!("{host}/{doc}");
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            urlencode(&client_id),
            urlencode(REDIRECT)
        );
        let (status, headers, html) = send(
            &app,
            get(&format!("/authorize?{query}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{doc}: {html}");
        assert!(headers.get("location").is_none(), "{doc}");
        assert!(html.contains(why), "{doc}: {html}");
    }
}
