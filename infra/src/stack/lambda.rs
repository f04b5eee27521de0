//! One Lambda function with its own log group, role and inline policy (least privilege).

use std::collections::HashMap;

use pulumi_gestalt_rust::{Context, Output, pulumi_combine};

use super::after;
use crate::{
    artifacts::LambdaZip,
    aws::{
        cloudwatch::log_group,
        iam::{role, role_policy},
        lambda::function,
        types::lambda::{FunctionEnvironment, FunctionLoggingConfig},
    },
    policy::{self, SecretArns},
    settings::Settings,
};

/// What differs between the stage's Lambdas.
pub struct LambdaSpec<'a> {
    /// Logical name (`mcp-<stack>-<part>`); its log group, role and policy take it as prefix.
    pub name: String,
    pub description: &'a str,
    pub code: &'a LambdaZip,
    pub memory_size: u32,
    pub timeout_seconds: u32,
    pub environment: HashMap<String, String>,
    /// The API key secret it reads (`MCP_API_KEY_SECRET_ID`), if the stage has keys.
    pub api_key: Option<&'a KeySecret>,
    /// The OAuth secret's ARN (`MCP_OAUTH_SECRET_ID`), if the stage has OAuth. Only the ARN:
    /// the secret's value holds the Cognito app client, whose callback URLs need this
    /// function's own URL, so waiting for the value would be a cycle. The function reads the
    /// value when a request needs it.
    pub oauth_secret_arn: Option<&'a Output<String>>,
    /// The role's inline policy, from the secrets' ARNs and the log group's ARN.
    pub policy: fn(&SecretArns, &str) -> String,
    /// Concurrency reserved for (and capping) this function; `None`: no reservation.
    pub reserved_concurrency: Option<u32>,
}

/// The API key secret a function reads, and its version: a function is registered only once
/// the version exists, so no instance can start before its key is there.
pub struct KeySecret {
    pub arn: Output<String>,
    pub version_id: Output<String>,
}

/// The ARNs of the secrets a spec reads, once known.
fn secret_arns(ctx: &Context, spec: &LambdaSpec) -> Output<SecretArns> {
    let api_key = spec.api_key.map(|key| key.arn.clone());
    let oauth = spec.oauth_secret_arn.cloned();
    let empty = SecretArns::default();
    match (api_key, oauth) {
        (None, None) => ctx.new_output(&empty),
        (Some(key), None) => key.map(|arn| SecretArns {
            api_key: Some(arn),
            oauth: None,
        }),
        (None, Some(oauth)) => oauth.map(|arn| SecretArns {
            api_key: None,
            oauth: Some(arn),
        }),
        (Some(key), Some(oauth)) => pulumi_combine!(key, oauth).map(|(key, oauth)| SecretArns {
            api_key: Some(key),
            oauth: Some(oauth),
        }),
    }
}

pub fn create(ctx: &Context, s: &Settings, spec: LambdaSpec) -> function::FunctionResult {
    let logs = log_group::create(
        ctx,
        &format!("{}-logs", spec.name),
        log_group::LogGroupArgs::builder()
            .retention_in_days(s.log_retention_days as i32)
            .build_struct(),
    );
    let exec_role = role::create(
        ctx,
        &format!("{}-role", spec.name),
        role::RoleArgs::builder()
            .assume_role_policy(policy::lambda_trust_policy())
            .description(format!("{} (least privilege)", spec.description))
            // Pulumi Gestalt records no dependencies, so `pulumi destroy` may reach the role
            // before its inline policy; detaching first keeps the delete from failing.
            .force_detach_policies(true)
            .build_struct(),
    );
    let policy_for = spec.policy;
    let arns = secret_arns(ctx, &spec);
    let exec_policy = role_policy::create(
        ctx,
        &format!("{}-policy", spec.name),
        role_policy::RolePolicyArgs::builder()
            .role(exec_role.id.clone())
            .policy(
                pulumi_combine!(arns.clone(), logs.arn.clone())
                    .map(move |(arns, logs)| policy_for(&arns, &logs)),
            )
            .build_struct(),
    );
    let variables = spec.environment.clone();
    let environment = arns.map(move |arns| {
        let mut variables = variables.clone();
        if let Some(arn) = arns.api_key {
            variables.insert("MCP_API_KEY_SECRET_ID".to_string(), arn);
        }
        if let Some(arn) = arns.oauth {
            variables.insert("MCP_OAUTH_SECRET_ID".to_string(), arn);
        }
        FunctionEnvironment::builder()
            .variables(variables)
            .build_struct()
    });
    let key_gates: Vec<&Output<String>> = spec.api_key.iter().map(|k| &k.version_id).collect();
    function::create(
        ctx,
        &spec.name,
        function::FunctionArgs::builder()
            .description(spec.description)
            .runtime("provided.al2023")
            .handler("bootstrap")
            .architectures(vec![s.architecture.lambda_name().to_string()])
            .memory_size(spec.memory_size as i32)
            .timeout(spec.timeout_seconds as i32)
            .reserved_concurrent_executions(spec.reserved_concurrency.map(|n| n as i32))
            // Registered only after its policy and its key: never a running function that
            // cannot read its key (see the README's deploy section).
            .role(after(&exec_role.arn, &[&exec_policy.id]))
            .code(spec.code.archive())
            .environment(after(&environment, &key_gates))
            .logging_config(logs.name.map(|group| {
                FunctionLoggingConfig::builder()
                    .log_format("Text")
                    .log_group(group)
                    .build_struct()
            }))
            .build_struct(),
    )
}
