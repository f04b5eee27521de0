//! A deploy role for GitHub Actions: trusted only through GitHub's OIDC provider, only for one
//! repository on one branch or in one environment, allowed only what this stack needs.
//!
//! Its name does not start with `mcp-<stack>-`: the deploy policy manages the stage's roles by
//! that prefix, and the deploy role must not be able to rewrite its own policy.

use pulumi_gestalt_rust::{Context, Output, pulumi_combine};

use crate::{
    aws::iam::{open_id_connect_provider, role, role_policy},
    policy::{self, DeployScope},
    settings::{GITHUB_OIDC_HOST, GitHubDeploy, Settings},
};

/// The audience GitHub's token carries for AWS (`aws-actions/configure-aws-credentials`).
pub const AUDIENCE: &str = "sts.amazonaws.com";

/// Creates the provider (unless the account has one) and the role; returns the role's ARN.
pub fn create(
    ctx: &Context,
    s: &Settings,
    github: &GitHubDeploy,
    key_secret_arn: &Output<String>,
) -> Output<String> {
    let provider_arn = match &github.provider_arn {
        Some(arn) => ctx.new_output(arn),
        None => {
            open_id_connect_provider::create(
                ctx,
                &format!("github-oidc-{}", s.stack),
                open_id_connect_provider::OpenIdConnectProviderArgs::builder()
                    .url(format!("https://{GITHUB_OIDC_HOST}"))
                    .client_id_lists(vec![AUDIENCE.to_string()])
                    .build_struct(),
            )
            .arn
        }
    };
    let subject = github.subject.clone();
    let deploy_role = role::create(
        ctx,
        &format!("github-deploy-{}", s.stack),
        role::RoleArgs::builder()
            .description(format!(
                "GitHub Actions deploys of serverless-mcp stage {} from {}",
                s.stack, github.repository
            ))
            .assume_role_policy(
                provider_arn.map(move |arn| policy::github_trust_policy(&arn, &subject)),
            )
            .max_session_duration(3600)
            .force_detach_policies(true)
            .build_struct(),
    );
    let scope = DeployScope::from_settings(s);
    role_policy::create(
        ctx,
        &format!("github-deploy-{}-policy", s.stack),
        role_policy::RolePolicyArgs::builder()
            .role(deploy_role.id.clone())
            .policy(
                pulumi_combine!(key_secret_arn.clone(), provider_arn.clone()).map(
                    move |(secret_arn, _)| {
                        // The account, from an ARN the stage already has.
                        let account = secret_arn.split(':').nth(4).unwrap_or("*").to_string();
                        policy::deploy_policy(&scope, &account)
                    },
                ),
            )
            .build_struct(),
    );
    deploy_role.arn
}
