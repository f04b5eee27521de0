//! `authMode` `oauth` and `both` against the mock engine: the Cognito side, the OAuth secret,
//! the function settings, IAM, the API Gateway routes and authorizer, the outputs; and that
//! `apiKey` stays what it was.

use serde_json::{Map, Value, json};

use crate::{
    engine::{
        COGNITO_CLIENT_ID, COGNITO_CLIENT_SECRET, Registered, Run, UNKNOWN, is_secret, reveal,
        run_program,
    },
    graph::{
        ARM64, KEY, env_of, everything, graph, id_of, position, references, refused, root_with_zips,
    },
};

const SIGNING_KEY: &str = "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJbXU=";
const CLIENTS: &str = r#"[{"client_id": "ci-bot", "client_name": "CI bot", "redirect_uris": ["https://ci.example.com/callback"]}]"#;
const CLIENTS_COMPACT: &str = r#"[{"client_id":"ci-bot","client_name":"CI bot","redirect_uris":["https://ci.example.com/callback"]}]"#;
const STAGE_BASE: &str = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev";
const URL_BASE: &str = "https://xyz789.lambda-url.eu-west-1.on.aws";
const COGNITO_URL: &str = "https://serverless-mcp-dev.auth.eu-west-1.amazoncognito.com";
const POOL_ID: &str = "eu-west-1_MoCkPoOl1";

/// Runs the program as `pulumi up` with `config` (keys without the project prefix get it) and
/// these keys secret.
fn up_with(config: &[(&str, &str)], secret: &[&str]) -> Run {
    let root = root_with_zips(ARM64);
    let config: Vec<(String, String)> = std::iter::once(("aws:region", "eu-west-1"))
        .chain(config.iter().copied())
        .map(|(k, v)| (full_key(k), v.to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let secret: Vec<String> = secret.iter().map(|k| full_key(k)).collect();
    let secret: Vec<&str> = secret.iter().map(String::as_str).collect();
    let run = run_program(root.path(), false, &pairs, &secret);
    assert!(run.status.success(), "the program failed:\n{}", run.stderr);
    run
}

fn full_key(key: &str) -> String {
    if key.contains(':') {
        key.to_string()
    } else {
        format!("serverless-mcp:{key}")
    }
}

/// An `oauth` stage with pre-registered clients and redirect patterns.
fn oauth_config() -> Vec<(&'static str, &'static str)> {
    vec![
        ("authMode", "oauth"),
        ("oauthSigningKey", SIGNING_KEY),
        ("oauthClients", CLIENTS),
        (
            "oauthRedirectUris",
            "https://claude.ai/api/mcp/auth_callback,http://127.0.0.1:*/callback",
        ),
        ("oauthAccessTokenSeconds", "900"),
    ]
}

/// A `both` stage with every optional part (custom domains, browsers allowed, ...).
fn both_config() -> Vec<(&'static str, &'static str)> {
    let mut config = vec![
        ("authMode", "both"),
        ("apiKey", KEY),
        ("oauthSigningKey", SIGNING_KEY),
    ];
    config.extend(everything());
    config
}

fn secret_arn(logical: &str) -> String {
    format!(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}",
        id_of(logical)
    )
}

fn policy_of(run: &Run, lambda: &str) -> Value {
    let policy = run.named(&format!("{lambda}-policy"));
    serde_json::from_str(policy.inputs["policy"].as_str().unwrap()).unwrap()
}

/// The `Resource` of each `secretsmanager:GetSecretValue` statement, by `Sid`.
fn secret_reads(policy: &Value) -> Vec<(String, Value)> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"] == json!(["secretsmanager:GetSecretValue"]))
        .map(|s| {
            (
                s["Sid"].as_str().unwrap().to_string(),
                s["Resource"].clone(),
            )
        })
        .collect()
}

fn route<'a>(run: &'a Run, part: &str) -> &'a Registered {
    run.named(&format!("mcp-dev-route-{part}"))
}

/// No input of any resource but `except`'s `secretString`, no output and no log line holds
/// any of `needles` in clear.
fn assert_nowhere_in_clear(run: &Run, except: &str, needles: &[&str]) {
    for resource in &run.resources {
        let mut inputs = resource.inputs.clone();
        if resource.name == except {
            inputs["secretString"] = Value::Null;
        }
        for needle in needles {
            assert!(
                !inputs.to_string().contains(needle),
                "{needle} leaked into {}",
                resource.name
            );
        }
    }
    let outputs = run.outputs.as_ref().unwrap().to_string();
    for needle in needles {
        assert!(
            !outputs.contains(needle),
            "{needle} leaked into the outputs"
        );
        assert!(
            !run.stderr.contains(needle),
            "{needle} leaked into the logs"
        );
    }
}

#[test]
fn oauth_mode_creates_cognito_and_the_secret_and_no_key() {
    let run = up_with(&oauth_config(), &["oauthSigningKey"]);
    let names: Vec<String> = graph(&run).into_iter().map(|(_, n)| n).collect();
    for gone in [
        "mcp-dev-api-key",
        "mcp-dev-api-key-value",
        "mcp-dev-authorizer",
        "mcp-dev-api-authorizer",
        "mcp-dev-api-invoke-authorizer",
    ] {
        assert!(!names.iter().any(|n| n == gone), "{gone} in an oauth stage");
    }
    for (type_, name) in [
        ("aws:cognito/userPool:UserPool", "mcp-dev-users"),
        (
            "aws:cognito/userPoolDomain:UserPoolDomain",
            "mcp-dev-login-domain",
        ),
        (
            "aws:cognito/resourceServer:ResourceServer",
            "mcp-dev-resource-server",
        ),
        (
            "aws:cognito/userPoolClient:UserPoolClient",
            "mcp-dev-oauth-client",
        ),
        ("aws:secretsmanager/secret:Secret", "mcp-dev-oauth"),
        (
            "aws:secretsmanager/secretVersion:SecretVersion",
            "mcp-dev-oauth-value",
        ),
    ] {
        assert_eq!(run.named(name).type_, type_);
    }

    // The pool: administrators create users, who sign in with their email.
    let pool = &run.named("mcp-dev-users").inputs;
    assert_eq!(
        pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"],
        true
    );
    assert_eq!(pool["usernameAttributes"], json!(["email"]));
    assert_eq!(pool["autoVerifiedAttributes"], json!(["email"]));
    assert_eq!(pool["usernameConfiguration"]["caseSensitive"], false);
    let password = &pool["passwordPolicy"];
    assert_eq!(password["minimumLength"], 12.0);
    for rule in [
        "requireLowercase",
        "requireUppercase",
        "requireNumbers",
        "requireSymbols",
    ] {
        assert_eq!(password[rule], true, "{rule}");
    }
    assert_eq!(
        pool["accountRecoverySetting"]["recoveryMechanisms"],
        json!([{"name": "verified_email", "priority": 1.0}])
    );
    assert_eq!(
        pool["deletionProtection"], "ACTIVE",
        "recovery window 30 days"
    );
    assert_eq!(pool["mfaConfiguration"], "OPTIONAL");

    let domain = &run.named("mcp-dev-login-domain").inputs;
    assert_eq!(
        (
            &domain["domain"],
            &domain["userPoolId"],
            &domain["managedLoginVersion"]
        ),
        (&json!("serverless-mcp-dev"), &json!(POOL_ID), &json!(1.0))
    );
    let server = &run.named("mcp-dev-resource-server").inputs;
    assert_eq!(server["userPoolId"], POOL_ID);
    assert_eq!(server["identifier"], "serverless-mcp-dev");
    assert_eq!(server["scopes"][0]["scopeName"], "mcp:tools");

    // The facade's app client: confidential, code flow only, called back on each endpoint.
    let client = &run.named("mcp-dev-oauth-client").inputs;
    assert_eq!(client["userPoolId"], POOL_ID);
    assert_eq!(client["generateSecret"], true);
    assert_eq!(client["allowedOauthFlows"], json!(["code"]));
    assert_eq!(client["allowedOauthFlowsUserPoolClient"], true);
    assert_eq!(
        client["allowedOauthScopes"],
        json!(["openid", "email", "profile", "serverless-mcp-dev/mcp:tools"])
    );
    assert_eq!(
        client["supportedIdentityProviders"],
        json!(["COGNITO"]),
        "the pool's own users by default"
    );
    assert_eq!(
        client["callbackUrls"],
        json!([
            format!("{STAGE_BASE}/oauth/callback"),
            format!("{URL_BASE}/oauth/callback")
        ])
    );
    assert_eq!(client["enableTokenRevocation"], true);
    assert_eq!(client["preventUserExistenceErrors"], "ENABLED");
    assert_eq!(client["explicitAuthFlows"], json!(["ALLOW_USER_SRP_AUTH"]));
    assert_eq!(
        client["refreshTokenRotation"],
        json!({"feature": "ENABLED", "retryGracePeriodSeconds": 10.0})
    );

    // The secret: the signing key and the client's credentials, a secret end to end.
    let version = run.named("mcp-dev-oauth-value");
    assert_eq!(version.inputs["secretId"], id_of("mcp-dev-oauth"));
    assert!(
        is_secret(&version.inputs["secretString"]),
        "{}",
        version.inputs
    );
    let value: Value =
        serde_json::from_str(reveal(&version.inputs["secretString"]).as_str().unwrap()).unwrap();
    assert_eq!(
        value,
        json!({
            "signingKey": SIGNING_KEY,
            "cognitoClientId": COGNITO_CLIENT_ID,
            "cognitoClientSecret": COGNITO_CLIENT_SECRET,
        })
    );
    assert_eq!(
        run.named("mcp-dev-oauth").inputs["recoveryWindowInDays"],
        30.0
    );
    assert_nowhere_in_clear(
        &run,
        "mcp-dev-oauth-value",
        &[SIGNING_KEY, COGNITO_CLIENT_SECRET],
    );

    // Both MCP functions: the facade's settings, the secret by ARN, no key at all.
    let oauth_arn = secret_arn("mcp-dev-oauth");
    for function in ["mcp-dev-function", "mcp-dev-streaming"] {
        let env = env_of(run.named(function));
        assert_eq!(env["MCP_AUTH_MODE"], "oauth", "{function}");
        assert_eq!(env["MCP_OAUTH_SECRET_ID"], oauth_arn.as_str());
        assert_eq!(env["MCP_OAUTH_COGNITO_URL"], COGNITO_URL);
        assert_eq!(env["MCP_OAUTH_CLIENTS"], CLIENTS_COMPACT);
        assert_eq!(
            env["MCP_OAUTH_REDIRECT_URIS"],
            "https://claude.ai/api/mcp/auth_callback,http://127.0.0.1:*/callback"
        );
        assert_eq!(env["MCP_OAUTH_ACCESS_TOKEN_SECONDS"], "900");
        assert!(!env.contains_key("MCP_API_KEY_SECRET_ID") && !env.contains_key("MCP_API_KEY"));
        // Least privilege: exactly this secret.
        assert_eq!(
            secret_reads(&policy_of(&run, function)),
            [("ReadOAuthSecret".to_string(), json!([oauth_arn]))]
        );
    }

    // API Gateway: /mcp open to the function's own check, the facade's routes open.
    let target = json!(format!("integrations/{}", id_of("mcp-dev-integration")));
    for (part, key) in [
        ("post", "POST /mcp"),
        ("get", "GET /mcp"),
        ("delete", "DELETE /mcp"),
        ("well-known", "GET /.well-known/{proxy+}"),
        ("authorize-get", "GET /authorize"),
        ("authorize-post", "POST /authorize"),
        ("oauth-callback", "GET /oauth/callback"),
        ("token", "POST /token"),
        ("register", "POST /register"),
    ] {
        let r = &route(&run, part).inputs;
        assert_eq!(r["routeKey"], key);
        assert_eq!(r["authorizationType"], "NONE", "{key}");
        assert!(r.get("authorizerId").is_none_or(Value::is_null), "{key}");
        assert_eq!(r["target"], target);
    }
    assert!(
        !names.iter().any(|n| n.contains("route-options")),
        "no preflight routes without allowedOrigins"
    );

    // Outputs.
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(outputs["authMode"], "oauth");
    assert_eq!(outputs["cognitoUserPoolId"], POOL_ID);
    assert_eq!(
        outputs["cognitoLoginUrl"],
        format!(
            "{COGNITO_URL}/login?client_id={COGNITO_CLIENT_ID}&response_type=code&scope=openid\
             &redirect_uri=https%3A%2F%2Fabc123defg.execute-api.eu-west-1.amazonaws.com%2Fdev%2Foauth%2Fcallback"
        )
    );
    assert_eq!(outputs["oauthIssuer"], STAGE_BASE);
    assert_eq!(
        outputs["oauthMetadataUrl"],
        format!("{STAGE_BASE}/.well-known/oauth-authorization-server")
    );
    assert_eq!(outputs["streamingOauthIssuer"], URL_BASE);
    assert_eq!(
        outputs["streamingOauthMetadataUrl"],
        format!("{URL_BASE}/.well-known/oauth-authorization-server")
    );
    assert_eq!(outputs["oauthSecretArn"], oauth_arn.as_str());
    for absent in ["apiKeySecretArn", "authorizerFunctionName"] {
        assert!(outputs.get(absent).is_none(), "{absent}");
    }
    let client_config = reveal(&outputs["clientConfig"]);
    assert!(client_config.get("apiKey").is_none() && client_config.get("apiKeyHeader").is_none());
    assert_eq!(client_config["mcpUrl"], format!("{STAGE_BASE}/mcp"));

    // Order: the client once the endpoints it names exist, the value once the client does.
    for endpoint in [
        "mcp-dev-stage",
        "mcp-dev-streaming-url",
        "mcp-dev-resource-server",
    ] {
        assert!(position(&run, endpoint) < position(&run, "mcp-dev-oauth-client"));
    }
    assert!(position(&run, "mcp-dev-oauth-client") < position(&run, "mcp-dev-oauth-value"));
}

#[test]
fn both_mode_keeps_keys_behind_an_authorizer_that_never_answers_401() {
    let run = up_with(&both_config(), &["apiKey", "oauthSigningKey"]);

    // The authorizer: no identity source (API Gateway would answer 401 itself) and no cache.
    let authorizer = &run.named("mcp-dev-api-authorizer").inputs;
    assert!(
        authorizer.get("identitySources").is_none_or(Value::is_null),
        "{authorizer}"
    );
    assert_eq!(authorizer["authorizerResultTtlInSeconds"], 0.0);
    assert_eq!(authorizer["authorizerType"], "REQUEST");
    assert_eq!(authorizer["enableSimpleResponses"], true);
    let env = env_of(run.named("mcp-dev-authorizer"));
    assert_eq!(env["MCP_AUTH_MODE"], "both");
    assert_eq!(
        env["MCP_API_KEY_SECRET_ID"],
        secret_arn("mcp-dev-api-key").as_str()
    );
    assert!(!env.contains_key("MCP_OAUTH_SECRET_ID"));
    assert_eq!(
        secret_reads(&policy_of(&run, "mcp-dev-authorizer")),
        [(
            "ReadApiKey".to_string(),
            json!([secret_arn("mcp-dev-api-key")])
        )],
        "the authorizer never reads the OAuth secret"
    );

    // /mcp through the authorizer; the facade's routes and their preflights open.
    for part in ["post", "get", "delete"] {
        let r = &route(&run, part).inputs;
        assert_eq!(r["authorizationType"], "CUSTOM");
        assert_eq!(r["authorizerId"], id_of("mcp-dev-api-authorizer"));
    }
    for (part, key) in [
        ("well-known", "GET /.well-known/{proxy+}"),
        ("token", "POST /token"),
        ("options", "OPTIONS /mcp"),
        ("options-well-known", "OPTIONS /.well-known/{proxy+}"),
        ("options-token", "OPTIONS /token"),
        ("options-register", "OPTIONS /register"),
    ] {
        let r = &route(&run, part).inputs;
        assert_eq!(
            (&r["routeKey"], &r["authorizationType"]),
            (&json!(key), &json!("NONE"))
        );
    }

    // The MCP functions read both secrets, each on its own ARN.
    for function in ["mcp-dev-function", "mcp-dev-streaming"] {
        let env = env_of(run.named(function));
        assert_eq!(env["MCP_AUTH_MODE"], "both");
        assert_eq!(
            env["MCP_API_KEY_SECRET_ID"],
            secret_arn("mcp-dev-api-key").as_str()
        );
        assert_eq!(
            env["MCP_OAUTH_SECRET_ID"],
            secret_arn("mcp-dev-oauth").as_str()
        );
        assert_eq!(env["MCP_OAUTH_ACCESS_TOKEN_SECONDS"], "3600");
        assert!(
            !env.contains_key("MCP_OAUTH_CLIENTS") && !env.contains_key("MCP_OAUTH_REDIRECT_URIS")
        );
        assert_eq!(
            secret_reads(&policy_of(&run, function)),
            [
                (
                    "ReadApiKey".to_string(),
                    json!([secret_arn("mcp-dev-api-key")])
                ),
                (
                    "ReadOAuthSecret".to_string(),
                    json!([secret_arn("mcp-dev-oauth")])
                ),
            ]
        );
    }

    // Every endpoint is a callback: the stage, its domain, the Function URL, its domain.
    assert_eq!(
        run.named("mcp-dev-oauth-client").inputs["callbackUrls"],
        json!([
            format!("{STAGE_BASE}/oauth/callback"),
            "https://mcp.example.com/oauth/callback",
            format!("{URL_BASE}/oauth/callback"),
            "https://stream.example.com/oauth/callback",
        ])
    );
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(outputs["authMode"], "both");
    assert_eq!(outputs["oauthIssuer"], "https://mcp.example.com");
    assert_eq!(
        outputs["streamingOauthIssuer"],
        "https://stream.example.com"
    );
    assert_eq!(
        outputs["streamingOauthMetadataUrl"],
        "https://stream.example.com/.well-known/oauth-authorization-server"
    );
    assert_eq!(reveal(&outputs["clientConfig"])["apiKey"], KEY);
    assert_nowhere_in_clear(
        &run,
        "mcp-dev-oauth-value",
        &[SIGNING_KEY, COGNITO_CLIENT_SECRET],
    );

    // The GitHub deploy role may manage the stage's Cognito resources, in this account only.
    let deploy = policy_of(&run, "github-deploy-dev");
    let pools = deploy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "StageUserPool")
        .expect("a Cognito statement");
    assert_eq!(
        pools["Resource"],
        json!(["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/*"])
    );
    assert!(
        pools["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("cognito-idp:CreateUserPoolClient"))
    );
}

#[test]
fn an_existing_pool_gets_only_the_resource_server_and_the_client() {
    let mut config = oauth_config();
    config.extend([
        ("cognitoUserPoolId", "eu-west-1_Existing9"),
        ("cognitoDomainPrefix", "acme-login"),
        ("secretRecoveryWindowDays", "0"),
        ("functionUrl", "false"),
        ("cognitoIdentityProviders", "COGNITO,Okta"),
    ]);
    let run = up_with(&config, &["oauthSigningKey"]);
    assert!(run.of_type("aws:cognito/userPool:UserPool").is_empty());
    assert!(
        run.of_type("aws:cognito/userPoolDomain:UserPoolDomain")
            .is_empty()
    );
    for name in ["mcp-dev-resource-server", "mcp-dev-oauth-client"] {
        assert_eq!(run.named(name).inputs["userPoolId"], "eu-west-1_Existing9");
    }
    assert_eq!(
        run.named("mcp-dev-oauth-client").inputs["callbackUrls"],
        json!([format!("{STAGE_BASE}/oauth/callback")]),
        "no Function URL, no second callback"
    );
    assert_eq!(
        run.named("mcp-dev-oauth-client").inputs["supportedIdentityProviders"],
        json!(["COGNITO", "Okta"]),
        "a federated IdP is declared, so no deploy drops it"
    );
    assert_eq!(
        env_of(run.named("mcp-dev-function"))["MCP_OAUTH_COGNITO_URL"],
        "https://acme-login.auth.eu-west-1.amazoncognito.com"
    );
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(outputs["cognitoUserPoolId"], "eu-west-1_Existing9");
    assert!(outputs.get("streamingOauthIssuer").is_none());
    assert_eq!(
        run.named("mcp-dev-oauth").inputs["recoveryWindowInDays"],
        0.0
    );

    // A pool the program creates follows the recovery window: 0 lets destroy delete it.
    let run = up_with(
        &[oauth_config(), vec![("secretRecoveryWindowDays", "0")]].concat(),
        &["oauthSigningKey"],
    );
    assert_eq!(
        run.named("mcp-dev-users").inputs["deletionProtection"],
        "INACTIVE"
    );
}

#[test]
fn api_key_mode_is_untouched_by_oauth_settings() {
    let plain = up_with(&[("apiKey", KEY)], &["apiKey"]);
    let explicit = up_with(
        &[
            ("apiKey", KEY),
            ("authMode", "apiKey"),
            ("oauthSigningKey", SIGNING_KEY),
            ("oauthClients", CLIENTS),
            ("cognitoDomainPrefix", "acme-login"),
            ("cognitoIdentityProviders", "COGNITO,Okta"),
        ],
        &["apiKey", "oauthSigningKey"],
    );
    let registered = |run: &Run| -> Vec<(String, String, Value)> {
        run.resources
            .iter()
            .map(|r| {
                // Each run has its own zips' directory.
                let mut inputs = r.inputs.clone();
                if let Some(path) = inputs.pointer_mut("/code/path") {
                    *path = Value::Null;
                }
                (r.type_.clone(), r.name.clone(), inputs)
            })
            .collect::<Vec<_>>()
    };
    let mut a = registered(&plain);
    let mut b = registered(&explicit);
    a.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
    b.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
    assert_eq!(a, b, "the same resources with the same inputs");
    assert!(
        plain
            .resources
            .iter()
            .all(|r| !r.type_.starts_with("aws:cognito/")),
        "no Cognito in apiKey mode"
    );
    for function in [
        "mcp-dev-function",
        "mcp-dev-streaming",
        "mcp-dev-authorizer",
    ] {
        let env: &Map<String, Value> = env_of(plain.named(function));
        assert!(
            env.keys()
                .all(|k| !k.starts_with("MCP_OAUTH") && k != "MCP_AUTH_MODE"),
            "{function}: {env:?}"
        );
    }
    let outputs = plain.outputs.as_ref().unwrap();
    assert_eq!(outputs["authMode"], "apiKey");
    assert!(outputs.get("oauthIssuer").is_none() && outputs.get("cognitoUserPoolId").is_none());
}

#[test]
fn oauth_stages_preview_and_tear_down_in_order() {
    let root = root_with_zips(ARM64);
    let mut config: Vec<(String, String)> = both_config()
        .into_iter()
        .map(|(k, v)| (full_key(k), v.to_string()))
        .collect();
    config.push(("aws:region".into(), "eu-west-1".into()));
    let pairs: Vec<(&str, &str)> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let secrets = ["serverless-mcp:apiKey", "serverless-mcp:oauthSigningKey"];
    let preview = run_program(root.path(), true, &pairs, &secrets);
    assert!(preview.status.success(), "{}", preview.stderr);
    let client = preview.named("mcp-dev-oauth-client");
    assert_eq!(client.inputs["userPoolId"], UNKNOWN);
    let update = up_with(&both_config(), &["apiKey", "oauthSigningKey"]);
    assert_eq!(graph(&preview), graph(&update));

    // Every reference the program makes is one teardown knows, and every type has a tier.
    for (from, to) in references(&update) {
        assert!(
            infra::teardown::may_refer(&from.type_, &to.type_),
            "{} refers to {}: teardown::REFERENCES must say {} may refer to {}",
            from.name,
            to.name,
            from.type_,
            to.type_
        );
    }
    for resource in update.resources.iter().filter(|r| r.custom) {
        assert!(
            infra::teardown::tier(&resource.type_).is_some(),
            "{}",
            resource.type_
        );
    }
}

#[test]
fn oauth_without_a_sound_signing_key_is_refused_with_the_command() {
    let root = root_with_zips(ARM64);
    let base = [
        ("aws:region", "eu-west-1"),
        ("serverless-mcp:authMode", "oauth"),
    ];
    let missing = refused(root.path(), &base, &[]);
    assert!(
        missing
            .contains(r#"pulumi config set oauthSigningKey --secret "$(openssl rand -base64 32)""#),
        "{missing}"
    );
    let with_key = [
        &base[..],
        &[("serverless-mcp:oauthSigningKey", SIGNING_KEY)],
    ]
    .concat();
    let plain = refused(root.path(), &with_key, &[]);
    assert!(plain.contains("plain text"), "{plain}");
    assert!(!plain.contains(SIGNING_KEY), "the key leaked into {plain}");
    let short = [&base[..], &[("serverless-mcp:oauthSigningKey", "c2hvcnQ=")]].concat();
    let message = refused(root.path(), &short, &["serverless-mcp:oauthSigningKey"]);
    assert!(message.contains("at least 32"), "{message}");
    let bad_mode = refused(
        root.path(),
        &[
            ("aws:region", "eu-west-1"),
            ("serverless-mcp:authMode", "jwt"),
        ],
        &[],
    );
    assert!(
        bad_mode.contains("authMode must be apiKey, oauth or both"),
        "{bad_mode}"
    );
}

#[test]
fn unsound_identity_providers_are_refused_with_the_command() {
    let root = root_with_zips(ARM64);
    let secret = ["serverless-mcp:oauthSigningKey"];
    for bad in ["COGNITO,Okta,Okta", "COGNITO,Acme SSO", "", "_Okta"] {
        let message = refused(
            root.path(),
            &[
                ("aws:region", "eu-west-1"),
                ("serverless-mcp:authMode", "oauth"),
                ("serverless-mcp:oauthSigningKey", SIGNING_KEY),
                ("serverless-mcp:cognitoIdentityProviders", bad),
            ],
            &secret,
        );
        assert!(
            message.contains("cognitoIdentityProviders must be")
                && message.contains("pulumi config set cognitoIdentityProviders COGNITO,AcmeSSO"),
            "{bad:?}: {message}"
        );
    }
}
