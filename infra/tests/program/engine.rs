//! A mock Pulumi engine: the `ResourceMonitor` and `Engine` gRPC services on 127.0.0.1, which
//! the real infra binary talks to exactly as it would to `pulumi up` / `pulumi preview`. It
//! records every registered resource and the stack outputs, and answers like the engine: in a
//! preview with unknown computed values, in an update with ids, ARNs and URLs.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use prost_types::{ListValue, Struct, Value as ProtoValue, value::Kind};
use pulumi_gestalt_proto::pulumi::pulumirpc::{
    CallResponse, Callback, GetRootResourceRequest, GetRootResourceResponse, InvokeResponse,
    LogRequest, ReadResourceRequest, ReadResourceResponse, RegisterErrorHookRequest,
    RegisterPackageRequest, RegisterPackageResponse, RegisterResourceHookRequest,
    RegisterResourceOutputsRequest, RegisterResourceRequest, RegisterResourceResponse,
    RequirePulumiVersionRequest, RequirePulumiVersionResponse, ResourceCallRequest,
    ResourceInvokeRequest, SetRootResourceRequest, SetRootResourceResponse, StartDebuggingRequest,
    SupportsFeatureRequest, SupportsFeatureResponse,
    engine_server::{Engine, EngineServer},
    resource_monitor_server::{ResourceMonitor, ResourceMonitorServer},
};
use serde_json::{Map, Value, json};
use tonic::{Request, Response, Status};

/// The engine's marker for a value not known until the update.
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/// Key and value that mark a secret (`{SIG: SECRET_SIG, "value": ...}`).
pub const SIG: &str = "4dabf18193072939515e22adb298388d";
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
pub const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";

#[derive(Debug, Clone)]
pub struct Registered {
    pub type_: String,
    pub name: String,
    pub urn: String,
    pub custom: bool,
    pub inputs: Value,
    /// What the engine answered: the inputs and the values the provider computed.
    pub outputs: Value,
}

#[derive(Default)]
struct Recorded {
    resources: Vec<Registered>,
    outputs: Option<Value>,
    logs: Vec<String>,
}

#[derive(Clone)]
struct Mock {
    preview: bool,
    recorded: Arc<Mutex<Recorded>>,
}

/// What one run of the program did.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stderr: String,
    pub resources: Vec<Registered>,
    pub outputs: Option<Value>,
}

impl Run {
    /// The resources of one type.
    pub fn of_type(&self, type_: &str) -> Vec<&Registered> {
        self.resources.iter().filter(|r| r.type_ == type_).collect()
    }

    /// The one resource with this logical name.
    pub fn named(&self, name: &str) -> &Registered {
        let found: Vec<_> = self.resources.iter().filter(|r| r.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one resource named {name}: {found:#?}"
        );
        found[0]
    }
}

/// Runs the infra binary against a fresh mock engine and waits (bounded) for it to finish.
pub fn run_program(root: &Path, preview: bool, config: &[(&str, &str)], secret: &[&str]) -> Run {
    run_program_with_env(root, preview, config, secret, &[])
}

/// [`run_program`] with extra environment variables for the program.
pub fn run_program_with_env(
    root: &Path,
    preview: bool,
    config: &[(&str, &str)],
    secret: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mock = Mock {
            preview,
            recorded: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(ResourceMonitorServer::new(mock.clone()))
                .add_service(EngineServer::new(mock.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );

        let config: BTreeMap<&str, &str> = config.iter().copied().collect();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_infra"))
            .env("PULUMI_MONITOR", &address)
            .env("PULUMI_ENGINE", &address)
            .env("PULUMI_PROJECT", "serverless-mcp")
            .env("PULUMI_STACK", "dev")
            .env("PULUMI_ORGANIZATION", "organization")
            .env("PULUMI_ROOT_DIRECTORY", root)
            .env("PULUMI_DRY_RUN", preview.to_string())
            .env("PULUMI_CONFIG", serde_json::to_string(&config).unwrap())
            .env(
                "PULUMI_CONFIG_SECRET_KEYS",
                serde_json::to_string(secret).unwrap(),
            )
            // A developer's own CARGO_TARGET_DIR would be refused; tests set it explicitly.
            .env_remove("CARGO_TARGET_DIR")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(60), child)
            .await
            .expect("the program finishes within 60 s")
            .unwrap();
        server.abort();
        let recorded = mock.recorded.lock().unwrap();
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        for line in &recorded.logs {
            stderr.push_str(line);
            stderr.push('\n');
        }
        Run {
            status: output.status,
            stderr,
            resources: recorded.resources.clone(),
            outputs: recorded.outputs.clone(),
        }
    })
}

/// True when `value` is the wire form of a secret.
pub fn is_secret(value: &Value) -> bool {
    value[SIG] == SECRET_SIG
}

/// The value inside a secret (or the value itself).
pub fn reveal(value: &Value) -> &Value {
    if is_secret(value) {
        &value["value"]
    } else {
        value
    }
}

impl Mock {
    /// Values the provider computes, for the fields the program reads back. In a preview the
    /// engine drops every output that is not known yet (Gestalt does not set
    /// `supportsPartialValues`; pulumi/pulumi `source_eval.go`), so they are left out.
    fn computed(&self, type_: &str, name: &str, inputs: &Value) -> Map<String, Value> {
        let mut out = Map::new();
        let physical = format!("{name}-a1b2c3d");
        // The provider's Check picks auto-names, so a name is known even in a preview.
        let name_value = match inputs.get("name") {
            Some(Value::String(given)) => json!(given),
            _ => json!(physical),
        };
        out.insert("name".into(), name_value);
        if self.preview {
            return out;
        }
        let api = "abc123defg";
        out.insert("id".into(), json!(physical));
        let arn = match type_ {
            "aws:secretsmanager/secret:Secret" => {
                format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}")
            }
            "aws:cloudwatch/logGroup:LogGroup" => {
                format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}")
            }
            "aws:iam/role:Role" => format!("arn:aws:iam::{ACCOUNT}:role/{physical}"),
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider" => {
                let host = inputs["url"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("https://");
                format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")
            }
            "aws:lambda/function:Function" => {
                let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}");
                out.insert(
                    "invokeArn".into(),
                    json!(format!(
                        "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
                    )),
                );
                // AWS reports -1 for a function without reserved concurrency: a whole
                // number, which Gestalt reads back as an integer.
                if inputs
                    .get("reservedConcurrentExecutions")
                    .is_none_or(Value::is_null)
                {
                    out.insert("reservedConcurrentExecutions".into(), json!(-1));
                }
                out.insert("sourceCodeSize".into(), json!(5_912_345));
                arn
            }
            "aws:apigatewayv2/api:Api" => {
                out.insert("id".into(), json!(api));
                out.insert(
                    "executionArn".into(),
                    json!(format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}")),
                );
                out.insert(
                    "apiEndpoint".into(),
                    json!(format!("https://{api}.execute-api.{REGION}.amazonaws.com")),
                );
                format!("arn:aws:apigateway:{REGION}::/apis/{api}")
            }
            "aws:apigatewayv2/stage:Stage" => {
                let stage = inputs["name"].as_str().unwrap_or("$default");
                out.insert(
                    "invokeUrl".into(),
                    json!(format!(
                        "https://{api}.execute-api.{REGION}.amazonaws.com/{stage}"
                    )),
                );
                format!("arn:aws:apigateway:{REGION}::/apis/{api}/stages/{stage}")
            }
            "aws:apigatewayv2/domainName:DomainName" => {
                let mut configuration = inputs["domainNameConfiguration"].clone();
                configuration["targetDomainName"] =
                    json!(format!("d-{physical}.execute-api.{REGION}.amazonaws.com"));
                configuration["hostedZoneId"] = json!(API_GATEWAY_ZONE);
                out.insert("domainNameConfiguration".into(), configuration);
                format!(
                    "arn:aws:apigateway:{REGION}::/domainnames/{}",
                    inputs["domainName"].as_str().unwrap_or("")
                )
            }
            "aws:cloudfront/distribution:Distribution" => {
                out.insert(
                    "domainName".into(),
                    json!(format!("{physical}.cloudfront.net")),
                );
                out.insert("hostedZoneId".into(), json!("Z2FDTNDATAQYW2"));
                format!("arn:aws:cloudfront::{ACCOUNT}:distribution/{physical}")
            }
            "aws:lambda/functionUrl:FunctionUrl" => {
                out.insert(
                    "functionUrl".into(),
                    json!(format!("https://xyz789.lambda-url.{REGION}.on.aws/")),
                );
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}")
            }
            "aws:cognito/userPool:UserPool" => {
                // Pool ids look like `<region>_<random>`.
                out.insert("id".into(), json!(format!("{REGION}_MoCkPoOl1")));
                format!("arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_MoCkPoOl1")
            }
            "aws:cognito/userPoolClient:UserPoolClient" => {
                out.insert("id".into(), json!(COGNITO_CLIENT_ID));
                out.insert("clientSecret".into(), json!(COGNITO_CLIENT_SECRET));
                format!("arn:aws:mock:{REGION}:{ACCOUNT}:{physical}")
            }
            "aws:cognito/resourceServer:ResourceServer" => {
                let identifier = inputs["identifier"].as_str().unwrap_or("");
                let scopes: Vec<String> = inputs["scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| format!("{identifier}/{}", s["scopeName"].as_str().unwrap_or("")))
                    .collect();
                out.insert("scopeIdentifiers".into(), json!(scopes));
                format!("arn:aws:mock:{REGION}:{ACCOUNT}:{physical}")
            }
            _ => format!("arn:aws:mock:{REGION}:{ACCOUNT}:{physical}"),
        };
        out.insert("arn".into(), json!(arn));
        out
    }
}

/// The app client the mock's Cognito creates, and its secret.
pub const COGNITO_CLIENT_ID: &str = "mockclientid0123456789abcd";
pub const COGNITO_CLIENT_SECRET: &str = "mock-cognito-client-secret-0123456789";

/// API Gateway's regional hosted zone in the mock's region.
pub const API_GATEWAY_ZONE: &str = "ZLY8HYME6SFDD";

/// Does this value hold the unknown marker anywhere?
fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => s == UNKNOWN,
        Value::Array(items) => items.iter().any(contains_unknown),
        Value::Object(map) => map.values().any(contains_unknown),
        _ => false,
    }
}

#[tonic::async_trait]
impl ResourceMonitor for Mock {
    async fn supports_feature(
        &self,
        request: Request<SupportsFeatureRequest>,
    ) -> Result<Response<SupportsFeatureResponse>, Status> {
        let id = request.into_inner().id;
        Ok(Response::new(SupportsFeatureResponse {
            has_support: matches!(id.as_str(), "secrets" | "resourceReferences"),
        }))
    }

    async fn invoke(
        &self,
        _: Request<ResourceInvokeRequest>,
    ) -> Result<Response<InvokeResponse>, Status> {
        Err(Status::unimplemented(
            "the program calls no provider functions",
        ))
    }

    async fn call(
        &self,
        _: Request<ResourceCallRequest>,
    ) -> Result<Response<CallResponse>, Status> {
        Err(Status::unimplemented("call"))
    }

    async fn read_resource(
        &self,
        _: Request<ReadResourceRequest>,
    ) -> Result<Response<ReadResourceResponse>, Status> {
        Err(Status::unimplemented("read_resource"))
    }

    async fn register_resource(
        &self,
        request: Request<RegisterResourceRequest>,
    ) -> Result<Response<RegisterResourceResponse>, Status> {
        let request = request.into_inner();
        let inputs = request.object.map_or(json!({}), struct_to_json);
        let urn = format!(
            "urn:pulumi:dev::serverless-mcp::{}::{}",
            request.r#type, request.name
        );
        let mut object = Map::new();
        if request.custom {
            object = inputs.as_object().cloned().unwrap_or_default();
            // Inputs not known yet stay unknown in the outputs: dropped, as the engine does.
            object.retain(|_, value| !contains_unknown(value));
            object.extend(self.computed(&request.r#type, &request.name, &inputs));
        }
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.recorded.lock().unwrap().resources.push(Registered {
            type_: request.r#type,
            name: request.name,
            urn: urn.clone(),
            custom: request.custom,
            inputs,
            outputs: Value::Object(object.clone()),
        });
        Ok(Response::new(RegisterResourceResponse {
            urn,
            id,
            object: Some(json_to_struct(&Value::Object(object))),
            ..Default::default()
        }))
    }

    async fn register_resource_outputs(
        &self,
        request: Request<RegisterResourceOutputsRequest>,
    ) -> Result<Response<()>, Status> {
        let outputs = request
            .into_inner()
            .outputs
            .map_or(json!({}), struct_to_json);
        self.recorded.lock().unwrap().outputs = Some(outputs);
        Ok(Response::new(()))
    }

    async fn register_stack_transform(&self, _: Request<Callback>) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("register_stack_transform"))
    }

    async fn register_stack_invoke_transform(
        &self,
        _: Request<Callback>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("register_stack_invoke_transform"))
    }

    async fn register_resource_hook(
        &self,
        _: Request<RegisterResourceHookRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("register_resource_hook"))
    }

    async fn register_error_hook(
        &self,
        _: Request<RegisterErrorHookRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("register_error_hook"))
    }

    async fn register_package(
        &self,
        _: Request<RegisterPackageRequest>,
    ) -> Result<Response<RegisterPackageResponse>, Status> {
        Err(Status::unimplemented("register_package"))
    }

    async fn signal_and_wait_for_shutdown(&self, _: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

#[tonic::async_trait]
impl Engine for Mock {
    async fn log(&self, request: Request<LogRequest>) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        self.recorded.lock().unwrap().logs.push(format!(
            "engine log (severity {}): {}",
            request.severity, request.message
        ));
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        Ok(Response::new(GetRootResourceResponse::default()))
    }

    async fn set_root_resource(
        &self,
        _: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        Ok(Response::new(SetRootResourceResponse::default()))
    }

    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn require_pulumi_version(
        &self,
        _: Request<RequirePulumiVersionRequest>,
    ) -> Result<Response<RequirePulumiVersionResponse>, Status> {
        Ok(Response::new(RequirePulumiVersionResponse::default()))
    }
}

fn struct_to_json(s: Struct) -> Value {
    Value::Object(
        s.fields
            .into_iter()
            .map(|(k, v)| (k, proto_to_json(v)))
            .collect(),
    )
}

fn proto_to_json(v: ProtoValue) -> Value {
    match v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => json!(n),
        Some(Kind::StringValue(s)) => json!(s),
        Some(Kind::BoolValue(b)) => json!(b),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(l)) => Value::Array(l.values.into_iter().map(proto_to_json).collect()),
    }
}

fn json_to_struct(v: &Value) -> Struct {
    Struct {
        fields: v
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), json_to_proto(v)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn json_to_proto(v: &Value) -> ProtoValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(json_to_proto).collect(),
        }),
        Value::Object(_) => Kind::StructValue(json_to_struct(v)),
    };
    ProtoValue { kind: Some(kind) }
}
