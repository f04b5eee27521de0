//! IAM documents, least privilege: each Lambda reads only the API key secret and writes only
//! its own log group; the MCP function may also call the read-only Cost Explorer actions its
//! tools use (those actions take no resource ARN, so `*` is the only possible resource).

use serde_json::{Value, json};

/// The AWS actions the MCP function's tools call, one per line: generated from the tool
/// registry (each tool's `iam_actions`) by `function/tests/it/registry.rs`.
const TOOL_ACTIONS: &str = include_str!("../tool-actions.txt");

/// Every AWS action the tools call.
pub fn tool_actions() -> Vec<&'static str> {
    TOOL_ACTIONS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Lets the Lambda service (and nothing else) assume the role.
pub fn lambda_trust_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// The secrets a Lambda reads (ARNs): the API key secret, the OAuth secret, or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretArns {
    pub api_key: Option<String>,
    pub oauth: Option<String>,
}

impl SecretArns {
    /// One read statement per secret, each on exactly that secret's ARN.
    fn statements(&self) -> Vec<Value> {
        let api_key = self
            .api_key
            .as_deref()
            .map(|arn| read_secret("ReadApiKey", arn));
        let oauth = self
            .oauth
            .as_deref()
            .map(|arn| read_secret("ReadOAuthSecret", arn));
        api_key.into_iter().chain(oauth).collect()
    }
}

/// The authorizer: read the key secret, write its log group.
pub fn authorizer_policy(secrets: &SecretArns, log_group_arn: &str) -> String {
    let mut statements = secrets.statements();
    statements.push(write_logs(log_group_arn));
    document(statements)
}

/// The MCP function: read its secrets, write its log group, and call the actions its tools
/// call (none granted when no tool calls AWS). The tools' actions (Cost Explorer's) take no
/// resource ARN.
pub fn function_policy(secrets: &SecretArns, log_group_arn: &str) -> String {
    let mut statements = secrets.statements();
    statements.push(write_logs(log_group_arn));
    let actions = tool_actions();
    if !actions.is_empty() {
        statements.push(json!({
            "Sid": "ToolActions",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*"
        }));
    }
    document(statements)
}

/// Lets GitHub Actions runs of one repository and branch (or environment) assume the role,
/// through the account's OIDC provider for GitHub: audience and subject are matched exactly.
pub fn github_trust_policy(provider_arn: &str, subject: &str) -> String {
    let host = crate::settings::GITHUB_OIDC_HOST;
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    format!("{host}:aud"): crate::stack::GITHUB_AUDIENCE,
                    format!("{host}:sub"): subject
                }
            }
        }]
    })
    .to_string()
}

/// What one stage's deploy may touch: its own resources by name prefix where AWS names them
/// after the logical name (`mcp-<stack>-*`), its domain's zone and certificate.
#[derive(Debug, Clone)]
pub struct DeployScope {
    pub region: String,
    pub stack: String,
    pub hosted_zone_id: Option<String>,
    pub custom_domain: bool,
    pub cloudfront: bool,
    /// The stage manages Cognito (`authMode` `oauth` or `both`).
    pub cognito: bool,
}

impl DeployScope {
    pub fn from_settings(s: &crate::settings::Settings) -> Self {
        Self {
            region: s.region.clone(),
            stack: s.stack.clone(),
            hosted_zone_id: s.hosted_zone_id.clone(),
            custom_domain: s.custom_domain.is_some(),
            cloudfront: s.streaming_domain.is_some(),
            cognito: s.auth_mode.accepts_oauth(),
        }
    }
}

/// The deploy role's permissions: the calls the AWS provider makes to create, update, read
/// and delete this stack's resources, and nothing for other stages' Lambdas, roles, log groups
/// or secrets. API Gateway and CloudFront ids are random, so those are scoped to the region
/// (API Gateway) or the account (CloudFront) only.
pub fn deploy_policy(scope: &DeployScope, account: &str) -> String {
    let DeployScope { region, stack, .. } = scope;
    let prefix = format!("mcp-{stack}-");
    let mut statements = vec![
        json!({
            "Sid": "StageFunctions",
            "Effect": "Allow",
            "Action": [
                "lambda:AddPermission", "lambda:CreateFunction", "lambda:CreateFunctionUrlConfig",
                "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteFunctionUrlConfig", "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency",
                "lambda:GetFunctionConfiguration", "lambda:GetFunctionRecursionConfig",
                "lambda:GetFunctionUrlConfig", "lambda:GetPolicy",
                "lambda:GetRuntimeManagementConfig", "lambda:ListTags",
                "lambda:ListVersionsByFunction", "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource",
                "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
                "lambda:UpdateFunctionUrlConfig"
            ],
            "Resource": [format!("arn:aws:lambda:{region}:{account}:function:{prefix}*")]
        }),
        json!({
            "Sid": "StageRoles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole",
                "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:PutRolePolicy",
                "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole"
            ],
            "Resource": [format!("arn:aws:iam::{account}:role/{prefix}*")]
        }),
        json!({
            "Sid": "PassStageRolesToLambda",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [format!("arn:aws:iam::{account}:role/{prefix}*")],
            "Condition": { "StringEquals": { "iam:PassedToService": "lambda.amazonaws.com" } }
        }),
        json!({
            "Sid": "StageLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource", "logs:ListTagsLogGroup", "logs:PutRetentionPolicy",
                "logs:TagLogGroup", "logs:TagResource", "logs:UntagLogGroup",
                "logs:UntagResource"
            ],
            "Resource": [
                format!("arn:aws:logs:{region}:{account}:log-group:{prefix}*"),
                format!("arn:aws:logs:{region}:{account}:log-group:{prefix}*:*")
            ]
        }),
        json!({
            "Sid": "ListLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": [format!("arn:aws:logs:{region}:{account}:log-group:*")]
        }),
        // API Gateway's access logs are set up through CloudWatch Logs' delivery API, whose
        // actions take no resource ARN (API Gateway developer guide, "Permissions for
        // CloudWatch logging" for HTTP APIs).
        json!({
            "Sid": "ApiAccessLogDelivery",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                "logs:DescribeResourcePolicies", "logs:GetLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"
            ],
            "Resource": "*"
        }),
        json!({
            "Sid": "StageSecret",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
                "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds",
                "secretsmanager:PutSecretValue", "secretsmanager:TagResource",
                "secretsmanager:UntagResource", "secretsmanager:UpdateSecret",
                "secretsmanager:UpdateSecretVersionStage"
            ],
            "Resource": [format!("arn:aws:secretsmanager:{region}:{account}:secret:{prefix}*")]
        }),
    ];
    let mut api_resources = vec![
        format!("arn:aws:apigateway:{region}::/apis"),
        format!("arn:aws:apigateway:{region}::/apis/*"),
        format!("arn:aws:apigateway:{region}::/tags/*"),
    ];
    if scope.custom_domain {
        api_resources.push(format!("arn:aws:apigateway:{region}::/domainnames"));
        api_resources.push(format!("arn:aws:apigateway:{region}::/domainnames/*"));
    }
    statements.push(json!({
        "Sid": "HttpApi",
        "Effect": "Allow",
        "Action": ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
        "Resource": api_resources
    }));
    if scope.cognito {
        // Pool ids are random, so pools are scoped to the account and region; creating a pool
        // and looking up a domain take no resource ARN (Cognito's service authorization
        // reference).
        statements.push(json!({
            "Sid": "StageUserPool",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:CreateResourceServer", "cognito-idp:CreateUserPoolClient",
                "cognito-idp:CreateUserPoolDomain", "cognito-idp:DeleteResourceServer",
                "cognito-idp:DeleteUserPool", "cognito-idp:DeleteUserPoolClient",
                "cognito-idp:DeleteUserPoolDomain", "cognito-idp:DescribeResourceServer",
                "cognito-idp:DescribeUserPool", "cognito-idp:DescribeUserPoolClient",
                "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:ListTagsForResource",
                "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:TagResource",
                "cognito-idp:UntagResource", "cognito-idp:UpdateResourceServer",
                "cognito-idp:UpdateUserPool", "cognito-idp:UpdateUserPoolClient",
                "cognito-idp:UpdateUserPoolDomain"
            ],
            "Resource": [format!("arn:aws:cognito-idp:{region}:{account}:userpool/*")]
        }));
        statements.push(json!({
            "Sid": "CreateUserPools",
            "Effect": "Allow",
            "Action": ["cognito-idp:CreateUserPool", "cognito-idp:DescribeUserPoolDomain"],
            "Resource": "*"
        }));
    }
    if scope.cloudfront {
        statements.push(json!({
            "Sid": "StreamingDistribution",
            "Effect": "Allow",
            "Action": [
                "cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags",
                "cloudfront:DeleteDistribution", "cloudfront:GetDistribution",
                "cloudfront:GetDistributionConfig", "cloudfront:ListTagsForResource",
                "cloudfront:TagResource", "cloudfront:UntagResource",
                "cloudfront:UpdateDistribution"
            ],
            "Resource": [format!("arn:aws:cloudfront::{account}:distribution/*")]
        }));
    }
    if let Some(zone) = &scope.hosted_zone_id {
        statements.push(json!({
            "Sid": "DomainRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets"],
            "Resource": [format!("arn:aws:route53:::hostedzone/{zone}")]
        }));
        statements.push(json!({
            "Sid": "DomainRecordChanges",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": ["arn:aws:route53:::change/*"]
        }));
    }
    document(statements)
}

fn document(statements: Vec<Value>) -> String {
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

fn read_secret(sid: &str, secret_arn: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": [secret_arn]
    })
}

/// The log group exists already (the program creates it), so no `logs:CreateLogGroup`.
fn write_logs(log_group_arn: &str) -> Value {
    json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [format!("{}:*", log_group_arn.trim_end_matches(":*"))]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-AbCdEf";
    const LOGS: &str = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn";

    fn key_only() -> SecretArns {
        SecretArns {
            api_key: Some(SECRET.into()),
            oauth: None,
        }
    }

    #[test]
    fn function_policy_is_scoped() {
        let doc: Value = serde_json::from_str(&function_policy(&key_only(), LOGS)).unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Resource"], json!([SECRET]));
        assert_eq!(statements[1]["Resource"], json!([format!("{LOGS}:*")]));
        assert_eq!(statements[2]["Resource"], "*");
        // Exactly what the tools call (generated from the tool registry), all read-only.
        assert_eq!(statements[2]["Action"], json!(tool_actions()));
        let actions = tool_actions();
        assert!(actions.contains(&"ce:GetCostAndUsage"), "{actions:?}");
        assert!(
            actions.iter().all(|a| a.starts_with("ce:Get")),
            "{actions:?}"
        );
    }

    #[test]
    fn authorizer_policy_has_no_wildcards() {
        let text = authorizer_policy(&key_only(), &format!("{LOGS}:*"));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["Statement"][1]["Resource"],
            json!([format!("{LOGS}:*")])
        );
        assert!(!text.contains("\"*\""));
    }

    #[test]
    fn each_secret_is_read_on_its_own_arn() {
        const OAUTH: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:oauth-XyZ";
        let both = SecretArns {
            api_key: Some(SECRET.into()),
            oauth: Some(OAUTH.into()),
        };
        let doc: Value = serde_json::from_str(&function_policy(&both, LOGS)).unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Sid"], "ReadApiKey");
        assert_eq!(statements[0]["Resource"], json!([SECRET]));
        assert_eq!(statements[1]["Sid"], "ReadOAuthSecret");
        assert_eq!(
            statements[1]["Action"],
            json!(["secretsmanager:GetSecretValue"])
        );
        assert_eq!(statements[1]["Resource"], json!([OAUTH]));
        let oauth_only = SecretArns {
            api_key: None,
            oauth: Some(OAUTH.into()),
        };
        let text = function_policy(&oauth_only, LOGS);
        assert!(!text.contains(SECRET) && text.contains(OAUTH));
    }
}
