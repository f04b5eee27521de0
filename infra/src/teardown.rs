//! The order `cargo xtask destroy` deletes a stage in.
//!
//! Pulumi Gestalt 0.0.12 records no dependencies, so a plain `pulumi destroy` deletes every
//! AWS resource of the stack at once, in an order that changes from run to run (pulumi/pulumi
//! `pkg/resource/deploy/step_generator.go`, `ScheduleDeletes`: one antichain built by iterating
//! a Go map; `--parallel 1` only runs that same order one at a time). AWS refuses some of those
//! deletes: an API Gateway integration that routes still use (`ConflictException`, and the
//! provider does not retry it), an authorizer still named by a route (the provider retries for
//! 30 minutes). So the stage is deleted in tiers, each one a `pulumi destroy --target ...` of
//! the resources nothing left in the stack refers to: [`REFERENCES`] says which resource types
//! may refer to which, and the mock-engine tests check it against every reference the program
//! actually makes.

use std::collections::BTreeMap;

use serde_json::Value;

pub const API: &str = "aws:apigatewayv2/api:Api";
pub const API_MAPPING: &str = "aws:apigatewayv2/apiMapping:ApiMapping";
pub const AUTHORIZER: &str = "aws:apigatewayv2/authorizer:Authorizer";
pub const DOMAIN_NAME: &str = "aws:apigatewayv2/domainName:DomainName";
pub const INTEGRATION: &str = "aws:apigatewayv2/integration:Integration";
pub const ROUTE: &str = "aws:apigatewayv2/route:Route";
pub const STAGE: &str = "aws:apigatewayv2/stage:Stage";
pub const DISTRIBUTION: &str = "aws:cloudfront/distribution:Distribution";
pub const DASHBOARD: &str = "aws:cloudwatch/dashboard:Dashboard";
pub const LOG_GROUP: &str = "aws:cloudwatch/logGroup:LogGroup";
pub const METRIC_ALARM: &str = "aws:cloudwatch/metricAlarm:MetricAlarm";
pub const RESOURCE_SERVER: &str = "aws:cognito/resourceServer:ResourceServer";
pub const USER_POOL: &str = "aws:cognito/userPool:UserPool";
pub const USER_POOL_CLIENT: &str = "aws:cognito/userPoolClient:UserPoolClient";
pub const USER_POOL_DOMAIN: &str = "aws:cognito/userPoolDomain:UserPoolDomain";
pub const OIDC_PROVIDER: &str = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
pub const ROLE: &str = "aws:iam/role:Role";
pub const ROLE_POLICY: &str = "aws:iam/rolePolicy:RolePolicy";
pub const FUNCTION: &str = "aws:lambda/function:Function";
pub const FUNCTION_URL: &str = "aws:lambda/functionUrl:FunctionUrl";
pub const PERMISSION: &str = "aws:lambda/permission:Permission";
pub const RECORD: &str = "aws:route53/record:Record";
pub const SECRET: &str = "aws:secretsmanager/secret:Secret";
pub const SECRET_VERSION: &str = "aws:secretsmanager/secretVersion:SecretVersion";
pub const TOPIC: &str = "aws:sns/topic:Topic";
pub const TOPIC_SUBSCRIPTION: &str = "aws:sns/topicSubscription:TopicSubscription";

/// Every resource type the program registers, with the types its resources may refer to
/// (by id, ARN, name or URL). A resource is deleted before everything it refers to.
pub const REFERENCES: &[(&str, &[&str])] = &[
    (API, &[]),
    (API_MAPPING, &[API, STAGE, DOMAIN_NAME]),
    (AUTHORIZER, &[API, FUNCTION]),
    (DOMAIN_NAME, &[]),
    (INTEGRATION, &[API, FUNCTION]),
    (ROUTE, &[API, INTEGRATION, AUTHORIZER]),
    (STAGE, &[API, LOG_GROUP]),
    (DISTRIBUTION, &[FUNCTION_URL]),
    (DASHBOARD, &[FUNCTION, API, STAGE]),
    (LOG_GROUP, &[]),
    (METRIC_ALARM, &[FUNCTION, API, STAGE, TOPIC]),
    (RESOURCE_SERVER, &[USER_POOL]),
    (USER_POOL, &[]),
    // Its callback URLs name the stage's endpoints.
    (
        USER_POOL_CLIENT,
        &[USER_POOL, RESOURCE_SERVER, API, STAGE, FUNCTION_URL],
    ),
    (USER_POOL_DOMAIN, &[USER_POOL]),
    (OIDC_PROVIDER, &[]),
    (ROLE, &[OIDC_PROVIDER]),
    (ROLE_POLICY, &[ROLE, SECRET, LOG_GROUP]),
    // The OAuth secret's value names the app client, whose callbacks name the Function URL:
    // a function refers to its secrets by ARN only, never to a version or the client.
    (FUNCTION, &[ROLE, LOG_GROUP, SECRET]),
    (FUNCTION_URL, &[FUNCTION, PERMISSION]),
    (PERMISSION, &[FUNCTION, API, AUTHORIZER]),
    (RECORD, &[DOMAIN_NAME, DISTRIBUTION]),
    (SECRET, &[]),
    (SECRET_VERSION, &[SECRET, USER_POOL_CLIENT]),
    (TOPIC, &[]),
    (TOPIC_SUBSCRIPTION, &[TOPIC]),
];

/// Does a resource of type `from` possibly refer to one of type `to`?
pub fn may_refer(from: &str, to: &str) -> bool {
    REFERENCES
        .iter()
        .any(|(t, refs)| *t == from && refs.contains(&to))
}

/// The tier a type is deleted in: 0 when no other type refers to it, else one more than the
/// highest tier of the types that do (they must be gone first).
pub fn tier(type_: &str) -> Option<usize> {
    fn depth(type_: &str, guard: usize) -> usize {
        assert!(guard < REFERENCES.len(), "REFERENCES has a cycle");
        REFERENCES
            .iter()
            .filter(|(_, refs)| refs.contains(&type_))
            .map(|(referrer, _)| depth(referrer, guard + 1) + 1)
            .max()
            .unwrap_or(0)
    }
    REFERENCES
        .iter()
        .any(|(t, _)| *t == type_)
        .then(|| depth(type_, 0))
}

/// What `cargo xtask destroy` does with a stack: the URNs to delete, tier by tier, and the
/// resources this program does not know (left to the final, plain `pulumi destroy`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub tiers: Vec<Vec<String>>,
    pub unknown: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("not the output of `pulumi stack export`: {0}")]
    NotAnExport(String),
}

/// The plan for a stack, from `pulumi stack export`. The stack and its providers are not
/// listed: the final `pulumi destroy` removes them.
pub fn plan(export: &Value) -> Result<Plan, PlanError> {
    let resources = export
        .pointer("/deployment/resources")
        .map(|r| r.as_array().cloned().unwrap_or_default())
        .or_else(|| export.get("deployment").map(|_| Vec::new()))
        .ok_or_else(|| PlanError::NotAnExport("no `deployment` member".into()))?;
    let mut tiers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for resource in &resources {
        let (Some(urn), Some(type_)) = (resource["urn"].as_str(), resource["type"].as_str()) else {
            return Err(PlanError::NotAnExport(format!(
                "a resource without urn or type: {resource}"
            )));
        };
        if type_ == "pulumi:pulumi:Stack" || type_.starts_with("pulumi:providers:") {
            continue;
        }
        match tier(type_) {
            Some(t) => tiers.entry(t).or_default().push(urn.to_string()),
            None => unknown.push(urn.to_string()),
        }
    }
    Ok(Plan {
        tiers: tiers.into_values().collect(),
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn referrers_go_first() {
        assert_eq!(tier(ROUTE), Some(0));
        assert_eq!(tier(RECORD), Some(0));
        assert!(tier(ROUTE) < tier(INTEGRATION) && tier(ROUTE) < tier(AUTHORIZER));
        assert!(tier(INTEGRATION) < tier(FUNCTION) && tier(FUNCTION) < tier(ROLE));
        assert!(tier(ROLE_POLICY) < tier(ROLE) && tier(SECRET_VERSION) < tier(SECRET));
        assert!(tier(API_MAPPING) < tier(DOMAIN_NAME) && tier(RECORD) < tier(DISTRIBUTION));
        assert!(tier(USER_POOL_CLIENT) < tier(USER_POOL));
        assert!(tier(SECRET_VERSION) < tier(USER_POOL_CLIENT));
        assert!(tier(USER_POOL_CLIENT) < tier(FUNCTION_URL));
        assert_eq!(tier("aws:s3/bucket:Bucket"), None);
        for (from, refs) in REFERENCES {
            for to in *refs {
                assert!(tier(from) < tier(to), "{from} before {to}");
            }
        }
    }

    #[test]
    fn plans_an_export_tier_by_tier() {
        let resource = |type_: &str, name: &str| json!({"urn": format!("urn:pulumi:dev::serverless-mcp::{type_}::{name}"), "type": type_});
        let export = json!({"version": 3, "deployment": {"resources": [
            resource("pulumi:pulumi:Stack", "serverless-mcp-dev"),
            resource("pulumi:providers:aws", "default_7_48_0"),
            resource(INTEGRATION, "mcp-dev-integration"),
            resource(ROUTE, "mcp-dev-route-post"),
            resource(API, "mcp-dev-api"),
            resource("aws:s3/bucket:Bucket", "mine"),
        ]}});
        let plan = plan(&export).unwrap();
        let names: Vec<Vec<&str>> = plan
            .tiers
            .iter()
            .map(|t| t.iter().map(|u| u.rsplit("::").next().unwrap()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["mcp-dev-route-post"],
                vec!["mcp-dev-integration"],
                vec!["mcp-dev-api"]
            ]
        );
        assert_eq!(plan.unknown.len(), 1);
        assert!(plan.unknown[0].ends_with("::mine"));
        let empty = super::plan(&json!({"version": 3, "deployment": {}})).unwrap();
        assert!(empty.tiers.is_empty());
        assert!(matches!(
            super::plan(&json!([1])),
            Err(PlanError::NotAnExport(_))
        ));
    }
}
