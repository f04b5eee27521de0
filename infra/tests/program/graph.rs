//! The real infra binary against a mock Pulumi engine: the resource graph it registers.

use std::{fs, io::Write, path::Path};

use crate::engine::{self, Registered, Run, UNKNOWN, is_secret, reveal, run_program};
use serde_json::{Value, json};

const KEY: &str = "test-key-0123456789abcdef";

/// A repo-like root with Lambda zips holding an ELF header for `machine`.
fn root_with_zips(machine: u16) -> tempfile::TempDir {
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
const ARM64: u16 = 0xB7;
const X86_64: u16 = 0x3E;

fn up(root: &Path, extra: &[(&'static str, &'static str)]) -> Run {
    let mut config = base_config();
    config.extend_from_slice(extra);
    let run = run_program(root, false, &config, SECRET_KEYS);
    assert!(run.status.success(), "the program failed:\n{}", run.stderr);
    run
}

fn env_of(function: &Registered) -> &serde_json::Map<String, Value> {
    function.inputs["environment"]["variables"]
        .as_object()
        .unwrap()
}

/// (type, logical name) of everything registered, sorted.
fn graph(run: &Run) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = run
        .resources
        .iter()
        .map(|r| (r.type_.clone(), r.name.clone()))
        .collect();
    pairs.sort();
    pairs
}

fn id_of(name: &str) -> String {
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
fn refused(root: &Path, config: &[(&str, &str)], secret: &[&str]) -> String {
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
