//! The real infra binary against a mock Pulumi engine: the resource graph it registers.

use std::{fs, io::Write, path::Path};

use crate::engine::{self, Registered, Run, UNKNOWN, is_secret, reveal, run_program};
use serde_json::{Value, json};

pub(crate) const KEY: &str = "test-key-0123456789abcdef";

/// A repo-like root with Lambda zips holding an ELF header for `machine`.
pub(crate) fn root_with_zips(machine: u16) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for binary in ["function", "authorizer"] {
        let dir = root.path().join("target/lambda").join(binary);
        fs::create_dir_all(&dir).unwrap();
        write_zip(&dir.join("bootstrap.zip"), &[("bootstrap", &elf(machine))]);
    }
    root
}

fn elf(machine: u16) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec();
    bytes.extend_from_slice(&machine.to_le_bytes());
    bytes.extend_from_slice(&[0; 44]);
    bytes
}

fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in files {
        zip.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn base_config() -> Vec<(&'static str, &'static str)> {
    vec![("aws:region", "eu-west-1"), ("serverless-mcp:apiKey", KEY)]
}

const SECRET_KEYS: &[&str] = &["serverless-mcp:apiKey"];
pub(crate) const ARM64: u16 = 0xB7;
const X86_64: u16 = 0x3E;

fn up(root: &Path, extra: &[(&'static str, &'static str)]) -> Run {
    let mut config = base_config();
    config.extend_from_slice(extra);
    let run = run_program(root, false, &config, SECRET_KEYS);
    assert!(run.status.success(), "the program failed:\n{}", run.stderr);
    run
}

pub(crate) fn env_of(function: &Registered) -> &serde_json::Map<String, Value> {
    function.inputs["environment"]["variables"]
        .as_object()
        .unwrap()
}

/// (type, logical name) of everything registered, sorted.
pub(crate) fn graph(run: &Run) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = run
        .resources
        .iter()
        .map(|r| (r.type_.clone(), r.name.clone()))
        .collect();
    pairs.sort();
    pairs
}

pub(crate) fn id_of(name: &str) -> String {
    format!("{name}-a1b2c3d")
}

#[test]
fn up_registers_the_whole_stage() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &[]);

    let expected: Vec<(String, String)> = {
        let mut v: Vec<_> = [
            ("pulumi:pulumi:Stack", "serverless-mcp-dev"),
            ("aws:secretsmanager/secret:Secret", "mcp-dev-api-key"),
            (
                "aws:secretsmanager/secretVersion:SecretVersion",
                "mcp-dev-api-key-value",
            ),
            ("aws:cloudwatch/logGroup:LogGroup", "mcp-dev-function-logs"),
            ("aws:cloudwatch/logGroup:LogGroup", "mcp-dev-streaming-logs"),
            (
                "aws:cloudwatch/logGroup:LogGroup",
                "mcp-dev-authorizer-logs",
            ),
            (
                "aws:cloudwatch/logGroup:LogGroup",
                "mcp-dev-api-access-logs",
            ),
            ("aws:iam/role:Role", "mcp-dev-function-role"),
            ("aws:iam/role:Role", "mcp-dev-streaming-role"),
            ("aws:iam/role:Role", "mcp-dev-authorizer-role"),
            ("aws:iam/rolePolicy:RolePolicy", "mcp-dev-function-policy"),
            ("aws:iam/rolePolicy:RolePolicy", "mcp-dev-streaming-policy"),
            ("aws:iam/rolePolicy:RolePolicy", "mcp-dev-authorizer-policy"),
            ("aws:lambda/function:Function", "mcp-dev-function"),
            ("aws:lambda/function:Function", "mcp-dev-streaming"),
            ("aws:lambda/function:Function", "mcp-dev-authorizer"),
            ("aws:apigatewayv2/api:Api", "mcp-dev-api"),
            (
                "aws:apigatewayv2/authorizer:Authorizer",
                "mcp-dev-api-authorizer",
            ),
            (
                "aws:apigatewayv2/integration:Integration",
                "mcp-dev-integration",
            ),
            ("aws:apigatewayv2/route:Route", "mcp-dev-route-post"),
            ("aws:apigatewayv2/route:Route", "mcp-dev-route-get"),
            ("aws:apigatewayv2/route:Route", "mcp-dev-route-delete"),
            ("aws:apigatewayv2/route:Route", "mcp-dev-route-health"),
            ("aws:apigatewayv2/stage:Stage", "mcp-dev-stage"),
            (
                "aws:lambda/permission:Permission",
                "mcp-dev-api-invoke-function",
            ),
            (
                "aws:lambda/permission:Permission",
                "mcp-dev-api-invoke-authorizer",
            ),
            (
                "aws:lambda/functionUrl:FunctionUrl",
                "mcp-dev-streaming-url",
            ),
            ("aws:lambda/permission:Permission", "mcp-dev-url-invoke-url"),
            (
                "aws:lambda/permission:Permission",
                "mcp-dev-url-invoke-function",
            ),
        ]
        .iter()
        .map(|(t, n)| (t.to_string(), n.to_string()))
        .collect();
        v.sort();
        v
    };
    assert_eq!(graph(&run), expected);
    assert!(
        run.resources
            .iter()
            .all(|r| r.custom == (r.type_ != "pulumi:pulumi:Stack"))
    );

    // The key: a secret in the secret version, in clear nowhere else.
    let version = run.named("mcp-dev-api-key-value");
    assert!(
        is_secret(&version.inputs["secretString"]),
        "{}",
        version.inputs
    );
    assert_eq!(reveal(&version.inputs["secretString"]), KEY);
    assert_eq!(version.inputs["secretId"], id_of("mcp-dev-api-key"));
    for resource in &run.resources {
        let mut inputs = resource.inputs.clone();
        if let Some(s) = inputs.get_mut("secretString") {
            *s = Value::Null;
        }
        assert!(
            !inputs.to_string().contains(KEY),
            "the key leaked into {}",
            resource.name
        );
    }
    assert!(!run.stderr.contains(KEY));

    // The Lambdas.
    let secret_arn = format!(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}",
        id_of("mcp-dev-api-key")
    );
    for (name, zip, mode) in [
        ("mcp-dev-function", "function", Some("api-gateway")),
        ("mcp-dev-streaming", "function", Some("function-url")),
        ("mcp-dev-authorizer", "authorizer", None),
    ] {
        let f = run.named(name);
        assert_eq!(f.type_, "aws:lambda/function:Function");
        let i = &f.inputs;
        assert_eq!(i["runtime"], "provided.al2023", "{name}");
        assert_eq!(i["handler"], "bootstrap");
        assert_eq!(i["architectures"], json!(["arm64"]));
        assert_eq!(
            i["code"]["4dabf18193072939515e22adb298388d"],
            engine::ARCHIVE_SIG
        );
        let zip_path = root
            .path()
            .join("target/lambda")
            .join(zip)
            .join("bootstrap.zip");
        assert_eq!(i["code"]["path"], zip_path.display().to_string());
        assert_eq!(
            i["role"],
            format!(
                "arn:aws:iam::123456789012:role/{}",
                id_of(&format!("{name}-role"))
            )
        );
        assert_eq!(
            i["loggingConfig"]["logGroup"],
            id_of(&format!("{name}-logs"))
        );
        let env = env_of(f);
        assert_eq!(env["MCP_API_KEY_SECRET_ID"], secret_arn.as_str());
        assert_eq!(env.get("MCP_LAMBDA_MODE").and_then(Value::as_str), mode);
        assert!(env["RUST_LOG"].as_str().unwrap().starts_with("info"));
        assert!(
            !env.contains_key("MCP_API_KEY"),
            "never the key itself in the environment"
        );
    }
    assert_eq!(run.named("mcp-dev-function").inputs["memorySize"], 128.0);
    assert_eq!(run.named("mcp-dev-function").inputs["timeout"], 30.0);
    assert_eq!(run.named("mcp-dev-authorizer").inputs["memorySize"], 128.0);
    assert_eq!(
        env_of(run.named("mcp-dev-function"))["MCP_ALLOWED_HOSTS"],
        "*.execute-api.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        env_of(run.named("mcp-dev-streaming"))["MCP_ALLOWED_HOSTS"],
        "*.lambda-url.eu-west-1.on.aws"
    );
    for group in run.of_type("aws:cloudwatch/logGroup:LogGroup") {
        assert_eq!(group.inputs["retentionInDays"], 14.0, "{}", group.name);
    }

    // API Gateway: /mcp through the authorizer to the API Gateway function.
    let api = run.named("mcp-dev-api");
    assert_eq!(api.inputs["protocolType"], "HTTP");
    assert_eq!(api.inputs["corsConfiguration"], Value::Null);
    let auth = run.named("mcp-dev-api-authorizer");
    assert_eq!(auth.inputs["apiId"], "abc123defg");
    assert_eq!(auth.inputs["authorizerType"], "REQUEST");
    assert_eq!(auth.inputs["authorizerPayloadFormatVersion"], "2.0");
    assert_eq!(auth.inputs["enableSimpleResponses"], true);
    assert_eq!(
        auth.inputs["identitySources"],
        json!(["$request.header.x-api-key"])
    );
    assert_eq!(auth.inputs["authorizerResultTtlInSeconds"], 300.0);
    let invoke_arn = |name: &str| {
        format!(
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:{}/invocations",
            id_of(name)
        )
    };
    assert_eq!(
        auth.inputs["authorizerUri"],
        invoke_arn("mcp-dev-authorizer")
    );
    let integration = run.named("mcp-dev-integration");
    assert_eq!(integration.inputs["integrationType"], "AWS_PROXY");
    assert_eq!(integration.inputs["payloadFormatVersion"], "2.0");
    assert_eq!(integration.inputs["timeoutMilliseconds"], 30000.0);
    assert_eq!(
        integration.inputs["integrationUri"],
        invoke_arn("mcp-dev-function")
    );
    let target = format!("integrations/{}", id_of("mcp-dev-integration"));
    for (name, key) in [
        ("post", "POST /mcp"),
        ("get", "GET /mcp"),
        ("delete", "DELETE /mcp"),
    ] {
        let r = run.named(&format!("mcp-dev-route-{name}"));
        assert_eq!(r.inputs["routeKey"], key);
        assert_eq!(r.inputs["authorizationType"], "CUSTOM");
        assert_eq!(r.inputs["authorizerId"], id_of("mcp-dev-api-authorizer"));
        assert_eq!(r.inputs["target"], target);
    }
    let health = run.named("mcp-dev-route-health");
    assert_eq!(
        (
            &health.inputs["routeKey"],
            &health.inputs["authorizationType"]
        ),
        (&json!("GET /health"), &json!("NONE"))
    );
    let stage = run.named("mcp-dev-stage");
    assert_eq!(stage.inputs["name"], "dev");
    assert_eq!(stage.inputs["autoDeploy"], true);
    assert_eq!(
        stage.inputs["defaultRouteSettings"]["throttlingRateLimit"],
        50.0
    );
    assert_eq!(
        stage.inputs["defaultRouteSettings"]["throttlingBurstLimit"],
        100.0
    );
    let access = &stage.inputs["accessLogSettings"];
    assert_eq!(
        access["destinationArn"],
        format!(
            "arn:aws:logs:eu-west-1:123456789012:log-group:{}",
            id_of("mcp-dev-api-access-logs")
        )
    );
    let format: Value = serde_json::from_str(access["format"].as_str().unwrap()).unwrap();
    assert_eq!(format["keyId"], "$context.authorizer.keyId");
    assert!(
        !access["format"].as_str().unwrap().contains("header"),
        "no request headers (keys) in access logs"
    );

    // Permissions: scoped to this API; the Function URL only on the streaming function.
    let execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123defg";
    let p = run.named("mcp-dev-api-invoke-function");
    assert_eq!(
        (&p.inputs["function"], &p.inputs["principal"]),
        (
            &json!(id_of("mcp-dev-function")),
            &json!("apigateway.amazonaws.com")
        )
    );
    assert_eq!(p.inputs["sourceArn"], format!("{execution_arn}/*/*"));
    let p = run.named("mcp-dev-api-invoke-authorizer");
    assert_eq!(p.inputs["function"], id_of("mcp-dev-authorizer"));
    assert_eq!(
        p.inputs["sourceArn"],
        format!(
            "{execution_arn}/authorizers/{}",
            id_of("mcp-dev-api-authorizer")
        )
    );
    let url = run.named("mcp-dev-streaming-url");
    assert_eq!(url.inputs["functionName"], id_of("mcp-dev-streaming"));
    assert_eq!(url.inputs["invokeMode"], "RESPONSE_STREAM");
    assert_eq!(url.inputs["authorizationType"], "NONE");
    assert_eq!(
        run.of_type("aws:lambda/functionUrl:FunctionUrl").len(),
        1,
        "the API Gateway function has no URL"
    );
    let p = run.named("mcp-dev-url-invoke-url");
    assert_eq!(
        (&p.inputs["action"], &p.inputs["functionUrlAuthType"]),
        (&json!("lambda:InvokeFunctionUrl"), &json!("NONE"))
    );
    let p = run.named("mcp-dev-url-invoke-function");
    assert_eq!(
        (&p.inputs["action"], &p.inputs["invokedViaFunctionUrl"]),
        (&json!("lambda:InvokeFunction"), &json!(true))
    );
    assert_eq!(p.inputs["function"], id_of("mcp-dev-streaming"));

    // Outputs.
    let outputs = run.outputs.as_ref().expect("stack outputs registered");
    assert_eq!(
        outputs["mcpUrl"],
        "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev/mcp"
    );
    assert_eq!(
        outputs["streamingMcpUrl"],
        "https://xyz789.lambda-url.eu-west-1.on.aws/mcp"
    );
    assert_eq!(outputs["apiKeySecretArn"], secret_arn.as_str());
    assert_eq!(outputs["functionName"], id_of("mcp-dev-function"));
    assert_eq!(outputs["streamingFunctionName"], id_of("mcp-dev-streaming"));
    assert_eq!(
        outputs["authorizerFunctionName"],
        id_of("mcp-dev-authorizer")
    );
    for (name, value) in outputs.as_object().unwrap() {
        assert_eq!(is_secret(value), name == "clientConfig", "{name}");
    }
    let client = reveal(&outputs["clientConfig"]);
    assert_eq!(client["apiKey"], KEY);
    assert_eq!(client["apiKeyHeader"], "x-api-key");
    assert_eq!(client["mcpUrl"], outputs["mcpUrl"]);
    assert_eq!(client["streamingMcpUrl"], outputs["streamingMcpUrl"]);
    assert_eq!(client["serverName"], "serverless-mcp-dev");
}

#[test]
fn iam_is_least_privilege() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &[]);
    let secret_arn = format!(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}",
        id_of("mcp-dev-api-key")
    );
    for role in run.of_type("aws:iam/role:Role") {
        let trust: Value =
            serde_json::from_str(role.inputs["assumeRolePolicy"].as_str().unwrap()).unwrap();
        assert_eq!(trust["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(
            trust["Statement"][0]["Principal"],
            json!({"Service": "lambda.amazonaws.com"})
        );
        assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
        assert!(
            role.inputs["managedPolicyArns"].is_null(),
            "no managed policies (their resources are *)"
        );
        assert_eq!(
            role.inputs["forceDetachPolicies"], true,
            "destroy works without recorded dependencies"
        );
    }
    let policies = run.of_type("aws:iam/rolePolicy:RolePolicy");
    assert_eq!(policies.len(), 3);
    for policy in policies {
        let lambda = policy.name.trim_end_matches("-policy");
        assert_eq!(
            policy.inputs["role"],
            id_of(&format!("{lambda}-role")),
            "each Lambda its own role"
        );
        let doc: Value = serde_json::from_str(policy.inputs["policy"].as_str().unwrap()).unwrap();
        let mut actions = Vec::new();
        for statement in doc["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
            let statement_actions: Vec<&str> = statement["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert!(
                statement_actions.iter().all(|a| !a.contains('*')),
                "{statement_actions:?}"
            );
            let resources: Vec<&str> = match &statement["Resource"] {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().map(|r| r.as_str().unwrap()).collect(),
                other => panic!("resource {other}"),
            };
            if resources.contains(&"*") {
                assert_eq!(resources, ["*"]);
                assert!(
                    statement_actions.iter().all(|a| a.starts_with("ce:Get")),
                    "only Cost Explorer may use *: {statement_actions:?}"
                );
            } else if statement_actions == ["secretsmanager:GetSecretValue"] {
                assert_eq!(resources, [secret_arn.as_str()]);
            } else {
                assert_eq!(
                    statement_actions,
                    ["logs:CreateLogStream", "logs:PutLogEvents"]
                );
                let group = format!(
                    "arn:aws:logs:eu-west-1:123456789012:log-group:{}:*",
                    id_of(&format!("{lambda}-logs"))
                );
                assert_eq!(
                    resources,
                    [group.as_str()],
                    "{lambda} writes only its own log group"
                );
            }
            actions.extend(statement_actions);
        }
        actions.sort();
        let mut expected = vec![
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "secretsmanager:GetSecretValue",
        ];
        if lambda != "mcp-dev-authorizer" {
            expected.extend([
                "ce:GetCostAndUsage",
                "ce:GetCostAndUsageComparisons",
                "ce:GetCostComparisonDrivers",
                "ce:GetCostForecast",
                "ce:GetDimensionValues",
                "ce:GetTags",
            ]);
        }
        expected.sort();
        assert_eq!(actions, expected, "{}", policy.name);
    }
}

#[test]
fn preview_registers_the_same_graph_with_unknowns() {
    let root = root_with_zips(ARM64);
    let preview = run_program(root.path(), true, &base_config(), SECRET_KEYS);
    assert!(preview.status.success(), "{}", preview.stderr);
    let update = up(root.path(), &[]);
    assert_eq!(graph(&preview), graph(&update));
    // Values computed by AWS are unknown in a preview; inputs from config are known.
    let route = preview.named("mcp-dev-route-post");
    assert_eq!(route.inputs["routeKey"], "POST /mcp");
    assert_eq!(route.inputs["apiId"], UNKNOWN);
    assert_eq!(
        preview.named("mcp-dev-function").inputs["memorySize"],
        128.0
    );
    let outputs = preview.outputs.as_ref().expect("outputs in a preview too");
    assert!(outputs.get("mcpUrl").is_some() && outputs.get("clientConfig").is_some());

    // Every optional part, previewed as on a first `pulumi preview`: nothing computed is known.
    let mut config = base_config();
    config.extend(everything());
    let preview = run_program(root.path(), true, &config, SECRET_KEYS);
    assert!(preview.status.success(), "{}", preview.stderr);
    assert_eq!(graph(&preview), graph(&up(root.path(), &everything())));
}

#[test]
fn overrides_change_the_graph() {
    let root = root_with_zips(X86_64);
    let run = up(
        root.path(),
        &[
            ("serverless-mcp:architecture", "x86_64"),
            ("serverless-mcp:memorySize", "512"),
            ("serverless-mcp:timeout", "120"),
            ("serverless-mcp:authorizerMemorySize", "256"),
            ("serverless-mcp:logRetentionDays", "30"),
            ("serverless-mcp:logLevel", "debug"),
            ("serverless-mcp:throttlingRateLimit", "5"),
            ("serverless-mcp:throttlingBurstLimit", "10"),
            ("serverless-mcp:authorizerCacheTtl", "0"),
            ("serverless-mcp:allowedOrigins", "https://claude.ai"),
            ("serverless-mcp:allowedHosts", "mcp.example.com"),
            ("serverless-mcp:functionUrl", "false"),
        ],
    );
    let f = run.named("mcp-dev-function");
    assert_eq!(f.inputs["architectures"], json!(["x86_64"]));
    assert_eq!(
        (
            f.inputs["memorySize"].as_f64(),
            f.inputs["timeout"].as_f64()
        ),
        (Some(512.0), Some(120.0))
    );
    assert_eq!(run.named("mcp-dev-authorizer").inputs["memorySize"], 256.0);
    assert_eq!(
        run.named("mcp-dev-integration").inputs["timeoutMilliseconds"],
        30000.0,
        "API Gateway caps at 30 s"
    );
    let env = env_of(f);
    assert_eq!(env["MCP_ALLOWED_ORIGINS"], "https://claude.ai");
    assert_eq!(
        env["MCP_ALLOWED_HOSTS"],
        "*.execute-api.eu-west-1.amazonaws.com,mcp.example.com"
    );
    assert!(env["RUST_LOG"].as_str().unwrap().starts_with("debug"));
    for group in run.of_type("aws:cloudwatch/logGroup:LogGroup") {
        assert_eq!(group.inputs["retentionInDays"], 30.0);
    }
    let settings = &run.named("mcp-dev-stage").inputs["defaultRouteSettings"];
    assert_eq!(
        (
            settings["throttlingRateLimit"].as_f64(),
            settings["throttlingBurstLimit"].as_f64()
        ),
        (Some(5.0), Some(10.0))
    );
    assert_eq!(
        run.of_type("aws:apigatewayv2/authorizer:Authorizer")[0].inputs["authorizerResultTtlInSeconds"],
        0.0
    );
    let options = run.named("mcp-dev-route-options");
    assert_eq!(
        (
            &options.inputs["routeKey"],
            &options.inputs["authorizationType"]
        ),
        (&json!("OPTIONS /mcp"), &json!("NONE"))
    );
    // No streaming deployment at all.
    assert!(
        run.resources
            .iter()
            .all(|r| !r.name.contains("streaming") && !r.name.contains("-url-"))
    );
    assert!(run.of_type("aws:lambda/functionUrl:FunctionUrl").is_empty());
    let outputs = run.outputs.as_ref().unwrap();
    assert!(outputs.get("streamingMcpUrl").is_none());
    assert!(
        reveal(&outputs["clientConfig"])
            .get("streamingMcpUrl")
            .is_none()
    );
}

/// Runs the program expecting a refusal before anything is registered.
pub(crate) fn refused(root: &Path, config: &[(&str, &str)], secret: &[&str]) -> String {
    let run = run_program(root, false, config, secret);
    assert!(!run.status.success(), "expected a failure, got success");
    assert!(
        run.resources.is_empty(),
        "nothing may be registered: {:?}",
        graph(&run)
    );
    assert!(
        !run.stderr.contains(KEY),
        "the key leaked into: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "a clear message, not a panic: {}",
        run.stderr
    );
    run.stderr
}

#[test]
fn bad_api_key_config_is_refused_with_the_fix() {
    let root = root_with_zips(ARM64);
    let missing = refused(root.path(), &[("aws:region", "eu-west-1")], &[]);
    assert!(
        missing.contains("apiKey is not set")
            && missing.contains("pulumi config set apiKey --secret"),
        "{missing}"
    );
    let plain = refused(root.path(), &base_config(), &[]);
    assert!(
        plain.contains("plain text") && plain.contains("--secret"),
        "{plain}"
    );
}

#[test]
fn invalid_settings_are_refused_with_the_setting_named() {
    let root = root_with_zips(ARM64);
    for (key, value, expect) in [
        (
            "serverless-mcp:memorySize",
            "64",
            "memorySize must be a whole number from 128 to 10240",
        ),
        (
            "serverless-mcp:architecture",
            "mips",
            "architecture must be arm64 or x86_64",
        ),
        (
            "serverless-mcp:logRetentionDays",
            "10",
            "logRetentionDays must be one of",
        ),
        (
            "serverless-mcp:memroySize",
            "256",
            "unknown setting \"memroySize\"",
        ),
    ] {
        let mut config = base_config();
        config.push((key, value));
        let message = refused(root.path(), &config, SECRET_KEYS);
        assert!(message.contains(expect), "{key}={value}: {message}");
    }
}

#[test]
fn missing_stale_or_foreign_zips_are_refused() {
    let empty = tempfile::tempdir().unwrap();
    let message = refused(empty.path(), &base_config(), SECRET_KEYS);
    assert!(
        message.contains("bootstrap.zip is missing")
            && message.contains("cargo xtask build --arch arm64"),
        "{message}"
    );

    let x86 = root_with_zips(X86_64);
    let message = refused(x86.path(), &base_config(), SECRET_KEYS);
    assert!(
        message.contains("x86_64 binary but the stack deploys arm64"),
        "{message}"
    );

    let odd = root_with_zips(ARM64);
    write_zip(
        &odd.path().join("target/lambda/authorizer/bootstrap.zip"),
        &[("bootstrap", &elf(ARM64)), ("extra", b"x")],
    );
    let message = refused(odd.path(), &base_config(), SECRET_KEYS);
    assert!(message.contains("is not a Lambda zip"), "{message}");

    let stale = root_with_zips(ARM64);
    let source = stale.path().join("function/src/lib.rs");
    fs::create_dir_all(source.parent().unwrap()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&source, "// edited after the build\n").unwrap();
    let message = refused(stale.path(), &base_config(), SECRET_KEYS);
    assert!(
        message.contains("is older than") && message.contains("function/src/lib.rs"),
        "{message}"
    );
}

#[test]
fn the_committed_dev_stage_deploys() {
    let yaml = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Pulumi.dev.yaml"))
        .unwrap();
    let mut config: Vec<(String, String)> = yaml
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect();
    assert!(
        config.iter().any(|(k, _)| k == "aws:region"),
        "the dev stage names its region"
    );
    assert!(
        config.iter().all(|(k, _)| k != "serverless-mcp:apiKey"),
        "no key committed"
    );
    config.push(("serverless-mcp:apiKey".into(), KEY.into()));
    let pairs: Vec<(&str, &str)> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let root = root_with_zips(ARM64);
    let run = run_program(root.path(), true, &pairs, SECRET_KEYS);
    assert!(run.status.success(), "{}", run.stderr);
    let stage = run.named("mcp-dev-stage");
    assert_eq!(
        stage.inputs["defaultRouteSettings"]["throttlingRateLimit"],
        20.0
    );
    assert_eq!(
        run.named("mcp-dev-function-logs").inputs["retentionInDays"],
        7.0
    );
}

pub(crate) const CERT: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/1111-2222";
pub(crate) const EDGE_CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/3333-4444";
pub(crate) const ZONE: &str = "Z0123456789ABCDEFGHIJ";

/// Every optional part of a stage switched on.
pub(crate) fn everything() -> Vec<(&'static str, &'static str)> {
    vec![
        ("serverless-mcp:customDomain", "mcp.example.com"),
        ("serverless-mcp:certificateArn", CERT),
        ("serverless-mcp:streamingCustomDomain", "stream.example.com"),
        ("serverless-mcp:streamingCertificateArn", EDGE_CERT),
        ("serverless-mcp:hostedZoneId", ZONE),
        ("serverless-mcp:streamingReservedConcurrency", "25"),
        ("serverless-mcp:githubRepository", "octo-org/serverless-mcp"),
        ("serverless-mcp:allowedOrigins", "https://claude.ai"),
    ]
}

/// Position of a resource in the order the engine saw registrations.
pub(crate) fn position(run: &Run, name: &str) -> usize {
    run.resources
        .iter()
        .position(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} was not registered"))
}

#[test]
fn first_deploy_order_leaves_no_window() {
    let root = root_with_zips(ARM64);
    // Several runs: Gestalt awaits a resource's inputs in HashMap order, which varies.
    for _ in 0..3 {
        let run = up(root.path(), &everything());
        let before = |first: &str, then: &str| {
            assert!(
                position(&run, first) < position(&run, then),
                "{first} must be registered (and created) before {then}"
            );
        };
        for function in [
            "mcp-dev-function",
            "mcp-dev-streaming",
            "mcp-dev-authorizer",
        ] {
            // A function never runs without its permissions or its key.
            before(&format!("{function}-policy"), function);
            before("mcp-dev-api-key-value", function);
        }
        // The API is reachable only through its stage: every route leads somewhere and both
        // Lambdas may be invoked before the stage exists.
        for part in [
            "route-post",
            "route-get",
            "route-delete",
            "route-health",
            "route-options",
            "integration",
            "api-authorizer",
            "api-invoke-function",
            "api-invoke-authorizer",
        ] {
            before(&format!("mcp-dev-{part}"), "mcp-dev-stage");
        }
        before("mcp-dev-stage", "mcp-dev-domain-mapping");
        // The public URL exists only once it may be invoked.
        before("mcp-dev-url-invoke-url", "mcp-dev-streaming-url");
        before("mcp-dev-url-invoke-function", "mcp-dev-streaming-url");
        before("mcp-dev-streaming-url", "mcp-dev-streaming-cdn");
        before("mcp-dev-streaming-cdn", "mcp-dev-streaming-domain-a");
        before("mcp-dev-domain", "mcp-dev-domain-a");
    }
}

/// The identifying values a resource hands to others (ids, ARNs, names, URLs).
fn handles(resource: &Registered) -> Vec<String> {
    let o = &resource.outputs;
    let mut values: Vec<String> = [
        "id",
        "arn",
        "name",
        "invokeArn",
        "executionArn",
        "domainName",
    ]
    .iter()
    .filter_map(|k| o[*k].as_str())
    .map(str::to_string)
    .collect();
    if let Some(url) = o["functionUrl"].as_str() {
        values.push(
            url.trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string(),
        );
    }
    if let Some(target) = o["domainNameConfiguration"]["targetDomainName"].as_str() {
        values.push(target.to_string());
    }
    // Only what the provider computed: a value the resource was given (a domain name from the
    // config, say) shows up in others' inputs without any data flow between them.
    let mut given = Vec::new();
    strings(&resource.inputs, &mut given);
    values.retain(|v| v.len() >= 8 && !given.contains(v));
    values
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// (referrer, referred) for every input of one resource that carries another's handle.
pub(crate) fn references(run: &Run) -> Vec<(&Registered, &Registered)> {
    let mut pairs = Vec::new();
    for from in run.resources.iter().filter(|r| r.custom) {
        let mut texts = Vec::new();
        strings(&from.inputs, &mut texts);
        for to in run
            .resources
            .iter()
            .filter(|r| r.custom && r.name != from.name)
        {
            let handles = handles(to);
            if texts
                .iter()
                .any(|t| handles.iter().any(|h| t.contains(h.as_str())))
            {
                pairs.push((from, to));
            }
        }
    }
    pairs
}

#[test]
fn destroy_order_covers_every_reference_the_program_makes() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &everything());
    let pairs = references(&run);
    assert!(pairs.len() > 30, "found only {} references", pairs.len());
    for (from, to) in &pairs {
        assert!(
            infra::teardown::may_refer(&from.type_, &to.type_),
            "{} refers to {} but teardown::REFERENCES does not say {} may refer to {}",
            from.name,
            to.name,
            from.type_,
            to.type_
        );
    }
    for resource in run.resources.iter().filter(|r| r.custom) {
        assert!(
            infra::teardown::tier(&resource.type_).is_some(),
            "{} has no destroy tier",
            resource.type_
        );
    }

    // The plan the binary prints for this stack's export deletes referrers first.
    let export = json!({"version": 3, "deployment": {"resources": run
        .resources
        .iter()
        .map(|r| json!({"urn": r.urn, "type": r.type_, "custom": r.custom}))
        .collect::<Vec<_>>()}});
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("destroy-plan")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let plan: infra::teardown::Plan = serde_json::from_slice(&output.stdout).unwrap();
    assert!(plan.unknown.is_empty(), "{:?}", plan.unknown);
    let tier_of = |urn: &str| plan.tiers.iter().position(|t| t.iter().any(|u| u == urn));
    let planned: usize = plan.tiers.iter().map(Vec::len).sum();
    assert_eq!(planned, run.resources.iter().filter(|r| r.custom).count());
    for (from, to) in &pairs {
        assert!(
            tier_of(&from.urn) < tier_of(&to.urn),
            "{} is deleted before {}, which refers to it",
            to.name,
            from.name
        );
    }
}

#[test]
fn custom_domains_route_53_and_cloudfront() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &everything());

    let domain = run.named("mcp-dev-domain");
    assert_eq!(domain.inputs["domainName"], "mcp.example.com");
    let configuration = &domain.inputs["domainNameConfiguration"];
    assert_eq!(
        (
            &configuration["certificateArn"],
            &configuration["endpointType"],
            &configuration["securityPolicy"]
        ),
        (&json!(CERT), &json!("REGIONAL"), &json!("TLS_1_2"))
    );
    let mapping = run.named("mcp-dev-domain-mapping");
    assert_eq!(mapping.inputs["apiId"], "abc123defg");
    assert_eq!(mapping.inputs["domainName"], "mcp.example.com");
    assert_eq!(mapping.inputs["stage"], "dev");
    assert!(
        mapping
            .inputs
            .get("apiMappingKey")
            .is_none_or(Value::is_null),
        "mapped at the root"
    );
    for record_type in ["a", "aaaa"] {
        let record = run.named(&format!("mcp-dev-domain-{record_type}"));
        assert_eq!(record.inputs["zoneId"], ZONE);
        assert_eq!(record.inputs["name"], "mcp.example.com");
        assert_eq!(record.inputs["type"], record_type.to_uppercase());
        let alias = &record.inputs["aliases"][0];
        assert_eq!(
            alias["name"],
            format!(
                "d-{}.execute-api.eu-west-1.amazonaws.com",
                id_of("mcp-dev-domain")
            )
        );
        assert_eq!(alias["zoneId"], engine::API_GATEWAY_ZONE);
    }
    let env = env_of(run.named("mcp-dev-function"));
    assert_eq!(
        env["MCP_ALLOWED_HOSTS"],
        "*.execute-api.eu-west-1.amazonaws.com,mcp.example.com"
    );

    // CloudFront in front of the Function URL: streaming, nothing cached, Host left to the URL.
    let cdn = run.named("mcp-dev-streaming-cdn");
    let i = &cdn.inputs;
    assert_eq!(i["aliases"], json!(["stream.example.com"]));
    assert_eq!(i["enabled"], true);
    let origin = &i["origins"][0];
    assert_eq!(origin["domainName"], "xyz789.lambda-url.eu-west-1.on.aws");
    assert_eq!(
        origin["customOriginConfig"]["originProtocolPolicy"],
        "https-only"
    );
    assert_eq!(origin["customOriginConfig"]["originReadTimeout"], 60.0);
    assert!(
        origin
            .get("originAccessControlId")
            .is_none_or(Value::is_null),
        "no OAC: MCP clients cannot sign bodies"
    );
    let behavior = &i["defaultCacheBehavior"];
    assert_eq!(behavior["targetOriginId"], origin["originId"]);
    assert_eq!(behavior["viewerProtocolPolicy"], "https-only");
    assert_eq!(
        behavior["cachePolicyId"],
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    );
    assert_eq!(
        behavior["originRequestPolicyId"],
        "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    );
    for method in ["POST", "GET", "DELETE", "OPTIONS"] {
        assert!(
            behavior["allowedMethods"]
                .as_array()
                .unwrap()
                .contains(&json!(method))
        );
    }
    assert_eq!(i["viewerCertificate"]["acmCertificateArn"], EDGE_CERT);
    assert_eq!(i["viewerCertificate"]["sslSupportMethod"], "sni-only");
    let record = run.named("mcp-dev-streaming-domain-a");
    assert_eq!(record.inputs["name"], "stream.example.com");
    assert_eq!(
        record.inputs["aliases"][0],
        json!({"name": format!("{}.cloudfront.net", id_of("mcp-dev-streaming-cdn")), "zoneId": "Z2FDTNDATAQYW2", "evaluateTargetHealth": false})
    );
    assert_eq!(
        env_of(run.named("mcp-dev-streaming"))["MCP_ALLOWED_HOSTS"],
        "*.lambda-url.eu-west-1.on.aws,stream.example.com"
    );

    // Outputs and client configs use the domains.
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(outputs["mcpUrl"], "https://mcp.example.com/mcp");
    assert_eq!(outputs["streamingMcpUrl"], "https://stream.example.com/mcp");
    assert!(
        outputs.get("customDomainTarget").is_none(),
        "Route 53 manages the zone"
    );
    let client = reveal(&outputs["clientConfig"]);
    assert_eq!(client["mcpUrl"], "https://mcp.example.com/mcp");
    assert_eq!(client["streamingMcpUrl"], "https://stream.example.com/mcp");

    // Without a zone the program says where DNS must point.
    let mut own_dns = everything();
    own_dns.retain(|(k, _)| *k != "serverless-mcp:hostedZoneId");
    let run = up(root.path(), &own_dns);
    assert!(run.of_type("aws:route53/record:Record").is_empty());
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(
        outputs["customDomainTarget"],
        format!(
            "d-{}.execute-api.eu-west-1.amazonaws.com",
            id_of("mcp-dev-domain")
        )
    );
    assert_eq!(
        outputs["streamingCustomDomainTarget"],
        format!("{}.cloudfront.net", id_of("mcp-dev-streaming-cdn"))
    );
}

#[test]
fn reserved_concurrency_recovery_window_and_numbers_read_back() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &[]);
    assert!(
        run.named("mcp-dev-streaming")
            .inputs
            .get("reservedConcurrentExecutions")
            .is_none_or(Value::is_null),
        "no reservation by default"
    );
    assert_eq!(
        run.named("mcp-dev-api-key").inputs["recoveryWindowInDays"],
        30.0
    );
    // Whole numbers come back from the engine and are read (Gestalt turns them into
    // integers; an f64-typed output would panic here).
    let limits = |run: &Run| -> Vec<(String, f64)> {
        run.outputs.as_ref().unwrap()["limits"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
            .collect()
    };
    assert_eq!(
        limits(&run),
        [
            ("memorySize".to_string(), 128.0),
            ("streamingReservedConcurrency".to_string(), -1.0),
            ("timeoutSeconds".to_string(), 30.0)
        ]
    );

    let run = up(
        root.path(),
        &[
            ("serverless-mcp:streamingReservedConcurrency", "25"),
            ("serverless-mcp:secretRecoveryWindowDays", "0"),
            ("serverless-mcp:memorySize", "256"),
        ],
    );
    assert_eq!(
        run.named("mcp-dev-streaming").inputs["reservedConcurrentExecutions"],
        25.0
    );
    assert!(
        run.named("mcp-dev-function")
            .inputs
            .get("reservedConcurrentExecutions")
            .is_none_or(Value::is_null),
        "API Gateway's own throttling guards the other function"
    );
    assert_eq!(
        run.named("mcp-dev-api-key").inputs["recoveryWindowInDays"],
        0.0
    );
    assert_eq!(
        limits(&run),
        [
            ("memorySize".to_string(), 256.0),
            ("streamingReservedConcurrency".to_string(), 25.0),
            ("timeoutSeconds".to_string(), 30.0)
        ]
    );
}

#[test]
fn github_deploy_role_is_pinned_and_scoped() {
    let root = root_with_zips(ARM64);
    let run = up(root.path(), &everything());
    let provider = run.named("github-oidc-dev");
    assert_eq!(
        provider.inputs["url"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        provider.inputs["clientIdLists"],
        json!(["sts.amazonaws.com"])
    );
    let provider_arn =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    let role = run.named("github-deploy-dev");
    assert!(
        !role.name.starts_with("mcp-dev-"),
        "outside the prefix its own policy manages"
    );
    let trust: Value =
        serde_json::from_str(role.inputs["assumeRolePolicy"].as_str().unwrap()).unwrap();
    let statements = trust["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"],
        json!({"Federated": provider_arn})
    );
    assert_eq!(statements[0]["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statements[0]["Condition"],
        json!({"StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:octo-org/serverless-mcp:ref:refs/heads/main"
        }})
    );
    let outputs = run.outputs.as_ref().unwrap();
    assert_eq!(
        outputs["githubDeployRoleArn"],
        format!(
            "arn:aws:iam::123456789012:role/{}",
            id_of("github-deploy-dev")
        )
    );

    let policy = run.named("github-deploy-dev-policy");
    assert_eq!(policy.inputs["role"], id_of("github-deploy-dev"));
    let doc: Value = serde_json::from_str(policy.inputs["policy"].as_str().unwrap()).unwrap();
    let mut prefixed = 0;
    for statement in doc["Statement"].as_array().unwrap() {
        let actions = statement["Action"].as_array().unwrap();
        assert!(
            actions.iter().all(|a| !a.as_str().unwrap().contains('*')),
            "{statement}"
        );
        let resources: Vec<&str> = match &statement["Resource"] {
            Value::String(s) => vec![s],
            Value::Array(a) => a.iter().map(|r| r.as_str().unwrap()).collect(),
            other => panic!("{other}"),
        };
        for resource in &resources {
            if resource.contains(":function:")
                || resource.contains(":role/")
                || resource.contains(":secret:")
                || resource.contains(":log-group:mcp")
            {
                assert!(
                    resource.contains("mcp-dev-"),
                    "{resource} is outside the stage"
                );
                assert!(
                    resource.contains(":123456789012:") || resource.contains("::123456789012:"),
                    "{resource}"
                );
                prefixed += 1;
            }
        }
        if resources == ["*"] {
            assert!(
                actions
                    .iter()
                    .all(|a| a.as_str().unwrap().starts_with("logs:")
                        && a.as_str().unwrap().contains("Deliver")
                        || ["logs:DescribeResourcePolicies", "logs:PutResourcePolicy"]
                            .contains(&a.as_str().unwrap())),
                "only log-delivery actions take no resource: {statement}"
            );
        }
        if actions.contains(&json!("iam:PassRole")) {
            assert_eq!(
                statement["Condition"],
                json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
            );
        }
        if actions.contains(&json!("route53:ChangeResourceRecordSets")) {
            assert_eq!(
                resources,
                [format!("arn:aws:route53:::hostedzone/{ZONE}").as_str()]
            );
        }
    }
    assert!(prefixed >= 4);

    // An account that already has GitHub's provider names it instead.
    let mut existing = everything();
    existing.push(("serverless-mcp:githubOidcProviderArn", provider_arn));
    existing.push(("serverless-mcp:githubEnvironment", "production"));
    let run = up(root.path(), &existing);
    assert!(
        run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
            .is_empty()
    );
    let trust: Value = serde_json::from_str(
        run.named("github-deploy-dev").inputs["assumeRolePolicy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        trust["Statement"][0]["Principal"]["Federated"],
        provider_arn
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        "repo:octo-org/serverless-mcp:environment:production"
    );
    // Without a repository: no provider, no role.
    let run = up(root.path(), &[]);
    assert!(run.resources.iter().all(|r| !r.name.starts_with("github-")));
}

#[test]
fn a_stale_program_or_a_foreign_target_dir_is_refused() {
    let root = root_with_zips(ARM64);
    let run = engine::run_program_with_env(
        root.path(),
        false,
        &base_config(),
        SECRET_KEYS,
        &[("CARGO_TARGET_DIR", "/tmp/somewhere-else")],
    );
    assert!(!run.status.success());
    assert!(run.resources.is_empty());
    assert!(run.stderr.contains("CARGO_TARGET_DIR"), "{}", run.stderr);

    let source = root.path().join("infra/src/stack/mod.rs");
    fs::create_dir_all(source.parent().unwrap()).unwrap();
    fs::write(&source, "// edited after the program was built\n").unwrap();
    let message = refused(root.path(), &base_config(), SECRET_KEYS);
    assert!(
        message.contains("older than") && message.contains("cargo build --release -p infra"),
        "{message}"
    );
}
