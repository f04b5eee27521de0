//! OAuth mode end to end, over loopback: the local server as the authorization server MCP
//! clients see, with the Cognito stand-in behind it (tests/src/cognito.rs says where it differs
//! from Cognito). Real clients (the official TypeScript and Python SDKs) sign in through
//! headless Chromium; raw HTTP checks the metadata, the challenges and every refusal.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use e2e::{
    Process, Tools, free_port,
    oauth::{ClientMetadataHost, OAuthStage, PASSWORD, RawHttp, USERNAME, bearer_challenge},
};
use serde_json::{Value, json};

/// Runs a client script, killed (with its browser) after `limit`. Returns success, the JSON
/// report on the last stdout line, and stderr.
fn run_script(command: &mut Command, limit: Duration) -> (bool, Value, String) {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut process = Process::spawn(command).expect("start the client");
    let mut stdout = process.child().stdout.take().unwrap();
    let mut stderr = process.child().stderr.take().unwrap();
    // Read both pipes on their own threads so a chatty child never blocks.
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = process.child().try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(process);
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let status = status.unwrap_or_else(|| panic!("killed after {limit:?}; stderr: {stderr}"));
    let report = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report; stdout: {stdout}; stderr: {stderr}"));
    (status.success(), report, stderr)
}

fn loopback_redirect_uri() -> String {
    format!("http://127.0.0.1:{}/callback", free_port())
}

/// How every client starts: no token, the challenge, then both metadata documents.
const DISCOVERY: [&str; 3] = [
    "POST /mcp 401",
    "GET /.well-known/oauth-protected-resource/mcp 200",
    "GET /.well-known/oauth-authorization-server 200",
];

/// The requests a client made, in order, without the later ones.
fn first_requests(report: &Value, n: usize) -> Vec<String> {
    report["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("no request log: {report}"))
        .iter()
        .take(n)
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

/// What every successful client run shows, whatever the client.
fn assert_signed_in_and_refreshed(stage: &OAuthStage, report: &Value, client_name: &str) {
    assert_eq!(report["iss"], stage.base(), "RFC 9207 iss: {report}");
    assert!(
        report["consent"].as_str().unwrap().contains(client_name),
        "the consent page does not name the client: {report}"
    );
    assert_eq!(report["tools"].as_array().unwrap().len(), 12, "{report}");
    assert_eq!(report["calls"], 2, "{report}");
    assert_eq!(report["access_token_changed"], true, "{report}");
    assert_eq!(report["refresh_token_rotated"], true, "{report}");
}

fn ts_client(tools: &Tools, config: Value) -> (bool, Value, String) {
    run_script(
        Command::new(&tools.node)
            .arg(tools.repo.join("tests/npm/oauth_client_check.mjs"))
            .arg(config.to_string())
            .env("SMCP_CHROMIUM", &tools.chromium),
        Duration::from_secs(60),
    )
}

#[test]
fn typescript_sdk_signs_in_by_dcr_and_cimd_refreshes_and_is_denied() {
    let tools = Tools::from_env();
    let stage = OAuthStage::start(&tools.function);
    let started = Instant::now();

    // Dynamic client registration.
    let (ok, report, stderr) = ts_client(
        &tools,
        json!({
            "url": stage.resource(), "registration": "dcr", "redirect_uri": loopback_redirect_uri(),
            "client_name": "e2e TS DCR client", "username": USERNAME, "password": PASSWORD,
        }),
    );
    assert!(ok, "TypeScript SDK (DCR): {report}\n{stderr}");
    assert_eq!(first_requests(&report, 3), DISCOVERY, "{report}");
    assert_eq!(report["requests"][3], "POST /register 201", "{report}");
    assert_signed_in_and_refreshed(&stage, &report, "e2e TS DCR client");

    // A client metadata document on loopback: the server fetches it for the client's name and
    // redirect URIs; nothing is registered.
    let host = ClientMetadataHost::start();
    let redirect_uri = loopback_redirect_uri();
    let client_id = host.publish("/ts-client.json", "e2e TS CIMD client", &redirect_uri);
    let (ok, report, stderr) = ts_client(
        &tools,
        json!({
            "url": stage.resource(), "registration": "cimd", "redirect_uri": redirect_uri,
            "client_metadata_url": client_id, "client_name": "e2e TS CIMD client",
            "username": USERNAME, "password": PASSWORD,
        }),
    );
    assert!(ok, "TypeScript SDK (CIMD): {report}\n{stderr}");
    assert_eq!(first_requests(&report, 3), DISCOVERY, "{report}");
    assert_eq!(report["client_id"], client_id);
    assert!(
        !report["requests"].to_string().contains("/register"),
        "{report}"
    );
    assert!(host.fetches("/ts-client.json") >= 1);
    assert_signed_in_and_refreshed(&stage, &report, "e2e TS CIMD client");
    assert_eq!(stage.cognito.grants("authorization_code"), 2);
    // Every refresh goes back to Cognito (a disabled user loses access there).
    assert_eq!(stage.cognito.grants("refresh_token"), 2);

    // Deny on the consent page: the client gets access_denied, Cognito is never asked.
    let (ok, report, stderr) = ts_client(
        &tools,
        json!({
            "url": stage.resource(), "registration": "dcr", "redirect_uri": loopback_redirect_uri(),
            "client_name": "e2e TS denied client", "username": USERNAME, "password": PASSWORD,
            "decision": "deny",
        }),
    );
    assert!(ok, "TypeScript SDK (deny): {report}\n{stderr}");
    assert_eq!(report["error"], "access_denied", "{report}");
    assert_eq!(stage.cognito.grants("authorization_code"), 2);

    tools.record_figure(&format!(
        "oauth: TypeScript SDK 1.32.2 DCR + CIMD sign-ins (Chromium), refreshes, deny: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

#[test]
fn python_sdk_signs_in_by_dcr_and_cimd_and_refreshes() {
    let tools = Tools::from_env();
    let stage = OAuthStage::start(&tools.function);
    let host = ClientMetadataHost::start();
    let started = Instant::now();
    let python = |config: Value| {
        run_script(
            Command::new(&tools.python)
                .arg(tools.repo.join("tests/python/oauth_client_check.py"))
                .arg(config.to_string())
                .env("SMCP_CHROMIUM", &tools.chromium),
            Duration::from_secs(60),
        )
    };
    let common = |registration: &str, redirect_uri: &str, client_name: &str| {
        json!({
            "url": stage.resource(), "registration": registration, "redirect_uri": redirect_uri,
            "client_name": client_name, "username": USERNAME, "password": PASSWORD,
            "node": tools.node, "browser_script": tools.repo.join("tests/npm/browser_sign_in.mjs"),
        })
    };

    let (ok, report, stderr) = python(common(
        "dcr",
        &loopback_redirect_uri(),
        "e2e Python DCR client",
    ));
    assert!(ok, "Python SDK (DCR): {report}\n{stderr}");
    assert_eq!(first_requests(&report, 3), DISCOVERY, "{report}");
    assert_eq!(report["requests"][3], "POST /register 201", "{report}");
    assert_signed_in_and_refreshed(&stage, &report, "e2e Python DCR client");

    let redirect_uri = loopback_redirect_uri();
    let client_id = host.publish("/py-client.json", "e2e Python CIMD client", &redirect_uri);
    let mut config = common("cimd", &redirect_uri, "e2e Python CIMD client");
    config["client_metadata_url"] = client_id.clone().into();
    let (ok, report, stderr) = python(config);
    assert!(ok, "Python SDK (CIMD): {report}\n{stderr}");
    assert_eq!(first_requests(&report, 3), DISCOVERY, "{report}");
    assert_eq!(report["client_id"], client_id);
    assert!(
        !report["requests"].to_string().contains("/register"),
        "{report}"
    );
    assert!(host.fetches("/py-client.json") >= 1);
    assert_signed_in_and_refreshed(&stage, &report, "e2e Python CIMD client");
    assert_eq!(stage.cognito.grants("authorization_code"), 2);
    assert_eq!(stage.cognito.grants("refresh_token"), 2);

    tools.record_figure(&format!(
        "oauth: Python SDK 2.3.0 DCR + CIMD sign-ins (Chromium) and refreshes: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

#[test]
fn raw_flow_code_replay_refresh_and_disabled_user() {
    let tools = Tools::from_env();
    let stage = OAuthStage::start(&tools.function);
    stage
        .cognito
        .set_refresh_retry_grace(Duration::from_millis(200));
    let mut http = RawHttp::new();
    let redirect_uri = loopback_redirect_uri();
    let client_id = stage.register(&mut http, "e2e raw client", &redirect_uri);
    let authorization = stage.authorize(&mut http, &client_id, &redirect_uri, "allow");
    assert_eq!(authorization.params["state"], authorization.state);
    assert_eq!(authorization.params["iss"], stage.base());
    let code = authorization.params["code"].clone();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", client_id.as_str()),
        ("code_verifier", authorization.verifier.as_str()),
        ("resource", stage.resource()),
    ];
    let first = stage.token(&mut http, &redeem);
    assert_eq!(first.status, 200, "{}", first.body);
    let tokens = first.json();
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(stage.list_tools(&mut http, Some(access)).status, 200);

    // The same code again: refused, whatever the client sends.
    let replay = stage.token(&mut http, &redeem);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.json()["error"], "invalid_grant");

    let refresh = |http: &mut RawHttp, token: &str| {
        stage.token(
            http,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", client_id.as_str()),
            ],
        )
    };
    let refreshed = refresh(&mut http, tokens["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(stage.list_tools(&mut http, Some(access)).status, 200);
    assert_eq!(stage.cognito.grants("refresh_token"), 1);
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);

    // Rotation: the refresh token just used carries a Cognito token that Cognito rotated out;
    // past Cognito's retry grace (10 s deployed, 200 ms here) it is refused.
    std::thread::sleep(Duration::from_millis(300));
    let spent = refresh(&mut http, tokens["refresh_token"].as_str().unwrap());
    assert_eq!(spent.status, 400, "{}", spent.body);
    assert_eq!(spent.json()["error"], "invalid_grant");
    let rotated = refresh(&mut http, refreshed["refresh_token"].as_str().unwrap());
    assert_eq!(rotated.status, 200, "{}", rotated.body);

    // A user disabled in Cognito loses access at the next refresh.
    stage.cognito.disable_user(USERNAME);
    let refused = refresh(&mut http, rotated.json()["refresh_token"].as_str().unwrap());
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_grant");
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn metadata_challenges_and_token_refusals() {
    let tools = Tools::from_env();
    let stage = OAuthStage::start(&tools.function);
    let mut http = RawHttp::new();
    let base = stage.base().to_owned();
    let prm_url = format!("{base}/.well-known/oauth-protected-resource/mcp");

    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let prm = http.get(&format!("{base}{path}"));
        assert_eq!(prm.status, 200, "{path}: {}", prm.body);
        let prm = prm.json();
        assert_eq!(prm["resource"], stage.resource(), "{path}");
        assert_eq!(prm["authorization_servers"], json!([base]), "{path}");
        assert!(prm["scopes_supported"].to_string().contains("mcp:tools"));
    }
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let reply = http.get(&format!("{base}{path}"));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let metadata = reply.json();
        // Exactly the base URL: clients compare it with the URL they fetched, as strings.
        assert_eq!(metadata["issuer"], base, "{path}");
        assert_eq!(
            metadata["authorization_endpoint"],
            format!("{base}/authorize")
        );
        assert_eq!(metadata["token_endpoint"], format!("{base}/token"));
        assert_eq!(
            metadata["registration_endpoint"],
            format!("{base}/register")
        );
        assert_eq!(
            metadata["code_challenge_methods_supported"],
            json!(["S256"])
        );
        assert_eq!(metadata["client_id_metadata_document_supported"], true);
        assert_eq!(
            metadata["authorization_response_iss_parameter_supported"],
            true
        );
    }

    // No token: the challenge that starts discovery.
    let reply = stage.list_tools(&mut http, None);
    assert_eq!(reply.status, 401, "{}", reply.body);
    let challenge = bearer_challenge(reply.header("www-authenticate").unwrap());
    assert_eq!(challenge["resource_metadata"], prm_url);
    assert_eq!(challenge["scope"], "mcp:tools");
    assert!(!challenge.contains_key("error"), "{challenge:?}");

    // Tokens minted with the stage's key (and others), each changed in one way from a good one.
    let keyring = oauth::Keyring::from_signing_key(&stage.signing_key).unwrap();
    let mut other_key = [7u8; 32];
    other_key[0] = 8;
    let other_keyring = oauth::Keyring::from_signing_key(&other_key).unwrap();
    let good = oauth::AccessClaims {
        iss: base.clone(),
        aud: stage.resource().to_owned(),
        sub: stage.cognito.sub(USERNAME),
        client_id: "e2e-minted".into(),
        scope: "mcp:tools".into(),
        iat: now(),
        nbf: now(),
        exp: now() + 300,
        jti: "e2e-jti-1".into(),
        username: None,
    };
    // The control: without it, every refusal below could be a minting mistake.
    let token = keyring.sign_access_token(&good);
    let reply = stage.list_tools(&mut http, Some(&token));
    assert_eq!(
        reply.status, 200,
        "a well-formed token was refused: {}",
        reply.body
    );

    let refused: [(&str, String); 5] = [
        (
            "expired",
            keyring.sign_access_token(&oauth::AccessClaims {
                iat: now() - 7200,
                nbf: now() - 7200,
                exp: now() - 3600,
                ..good.clone()
            }),
        ),
        (
            "another audience",
            keyring.sign_access_token(&oauth::AccessClaims {
                aud: format!("http://127.0.0.1:{}/mcp", free_port()),
                ..good.clone()
            }),
        ),
        (
            "another issuer",
            keyring.sign_access_token(&oauth::AccessClaims {
                iss: "http://127.0.0.1:1".into(),
                ..good.clone()
            }),
        ),
        ("another key", other_keyring.sign_access_token(&good)),
        ("not a JWT", "e2e-not-a-token".into()),
    ];
    for (what, token) in refused {
        let reply = stage.list_tools(&mut http, Some(&token));
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        let challenge = bearer_challenge(reply.header("www-authenticate").unwrap());
        assert_eq!(challenge["error"], "invalid_token", "{what}");
        assert_eq!(challenge["resource_metadata"], prm_url, "{what}");
    }

    // A valid token without the scope: 403 insufficient_scope (step-up), not 401.
    let token = keyring.sign_access_token(&oauth::AccessClaims {
        scope: "offline_access".into(),
        ..good.clone()
    });
    let reply = stage.list_tools(&mut http, Some(&token));
    assert_eq!(reply.status, 403, "{}", reply.body);
    let challenge = bearer_challenge(reply.header("www-authenticate").unwrap());
    assert_eq!(challenge["error"], "insufficient_scope");
    assert_eq!(challenge["scope"], "mcp:tools");
}
