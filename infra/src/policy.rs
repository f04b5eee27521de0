//! IAM documents, least privilege: each Lambda reads only the API key secret and writes only
//! its own log group; the MCP function may also call the read-only Cost Explorer actions its
//! tools use (those actions take no resource ARN, so `*` is the only possible resource).

use serde_json::{Value, json};

/// Every Cost Explorer action the cost tools call (see `function/src/cost/sdk.rs`).
pub const COST_EXPLORER_ACTIONS: &[&str] = &[
    "ce:GetCostAndUsage",
    "ce:GetCostAndUsageComparisons",
    "ce:GetCostComparisonDrivers",
    "ce:GetCostForecast",
    "ce:GetDimensionValues",
    "ce:GetTags",
];

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

/// The authorizer: read the key secret, write its log group.
pub fn authorizer_policy(secret_arn: &str, log_group_arn: &str) -> String {
    document(vec![read_secret(secret_arn), write_logs(log_group_arn)])
}

/// The MCP function: the authorizer's rights plus the read-only Cost Explorer actions.
pub fn function_policy(secret_arn: &str, log_group_arn: &str) -> String {
    document(vec![
        read_secret(secret_arn),
        write_logs(log_group_arn),
        json!({
            "Sid": "ReadCostExplorer",
            "Effect": "Allow",
            "Action": COST_EXPLORER_ACTIONS,
            "Resource": "*"
        }),
    ])
}

fn document(statements: Vec<Value>) -> String {
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

fn read_secret(secret_arn: &str) -> Value {
    json!({
        "Sid": "ReadApiKey",
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

    #[test]
    fn function_policy_is_scoped() {
        let doc: Value = serde_json::from_str(&function_policy(SECRET, LOGS)).unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Resource"], json!([SECRET]));
        assert_eq!(statements[1]["Resource"], json!([format!("{LOGS}:*")]));
        assert_eq!(statements[2]["Resource"], "*");
        assert!(
            statements[2]["Action"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a.as_str().unwrap().starts_with("ce:Get"))
        );
    }

    #[test]
    fn authorizer_policy_has_no_wildcards() {
        let text = authorizer_policy(SECRET, &format!("{LOGS}:*"));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["Statement"][1]["Resource"],
            json!([format!("{LOGS}:*")])
        );
        assert!(!text.contains("\"*\""));
    }
}
