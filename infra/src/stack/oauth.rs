//! The OAuth side of an `oauth` / `both` stage (docs/oauth.md): the Cognito user pool users sign
//! in to (or an existing one), its managed login domain, a resource server with the MCP scope,
//! the facade's confidential app client, and the secret the function reads its keys from.
//!
//! The function is the authorization server MCP clients see; Cognito only sees this one app
//! client, whose callback is the facade's `/oauth/callback` on every endpoint of the stage.

use pulumi_gestalt_rust::{Context, Output, pulumi_combine};
use serde_json::json;

use super::{collect, name};
use crate::{
    aws::{
        cognito::{resource_server, user_pool, user_pool_client, user_pool_domain},
        secretsmanager::{secret, secret_version},
        types::cognito::{
            ResourceServerScope, UserPoolAccountRecoverySetting,
            UserPoolAccountRecoverySettingRecoveryMechanism, UserPoolAdminCreateUserConfig,
            UserPoolClientRefreshTokenRotation, UserPoolPasswordPolicy,
            UserPoolSoftwareTokenMfaConfiguration, UserPoolUsernameConfiguration,
        },
    },
    settings::{OAuth, PROJECT, Settings},
};

/// The scope `/mcp` needs (docs/oauth.md), also declared on Cognito's resource server.
pub const MCP_SCOPE: &str = "mcp:tools";
/// What the facade asks Cognito for by default (`MCP_OAUTH_UPSTREAM_SCOPES`).
const UPSTREAM_SCOPES: [&str; 3] = ["openid", "email", "profile"];
/// Where Cognito sends users back to, under each endpoint's base URL.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Hosted UI (classic). Managed login (2) shows "Login pages unavailable" until a branding
/// style is assigned to the app client, and the branding resource is not in the schema subset.
const MANAGED_LOGIN_VERSION: i32 = 1;

/// What the rest of the stage needs from the OAuth side.
pub struct Cognito {
    pub user_pool_id: Output<String>,
    /// A sign-in page of the pool, for a first user to set their password.
    pub login_url: Output<String>,
}

/// The secret the function reads (`MCP_OAUTH_SECRET_ID`). Its value comes later, from
/// [`create`], once the app client exists.
pub fn secret(ctx: &Context, s: &Settings) -> secret::SecretResult {
    secret::create(
        ctx,
        &name(s, "oauth"),
        secret::SecretArgs::builder()
            .description(format!(
                "OAuth signing key and Cognito app client of the serverless-mcp stage {} (managed by Pulumi)",
                s.stack
            ))
            .recovery_window_in_days(s.secret_recovery_window_days as i32)
            .build_struct(),
    )
}

/// The pool (unless an existing one is named), its domain, the resource server, the app client
/// with a callback under each of `endpoint_bases`, and the secret's value.
pub fn create(
    ctx: &Context,
    s: &Settings,
    oauth: &OAuth,
    oauth_secret: &secret::SecretResult,
    endpoint_bases: &[Output<String>],
) -> Cognito {
    let pool_id = match &oauth.user_pool_id {
        // An existing pool keeps its own domain (`cognitoDomainPrefix` names it).
        Some(id) => ctx.new_output(id),
        None => {
            let pool = user_pool(ctx, s);
            login_domain(ctx, s, oauth, &pool.id);
            pool.id
        }
    };
    let server = resource_server::create(
        ctx,
        &name(s, "resource-server"),
        resource_server::ResourceServerArgs::builder()
            .user_pool_id(pool_id.clone())
            .identifier(format!("{PROJECT}-{}", s.stack))
            .name(format!("{PROJECT}-{}", s.stack))
            .scopes(vec![
                ResourceServerScope::builder()
                    .scope_name(MCP_SCOPE)
                    .scope_description("Call the MCP server's tools")
                    .build_struct(),
            ])
            .build_struct(),
    );
    let callbacks = collect(ctx, endpoint_bases).map(|bases| callback_urls(&bases));
    let client = app_client(
        ctx,
        s,
        oauth,
        &pool_id,
        &server.scope_identifiers,
        &callbacks,
    );
    secret_value(ctx, s, oauth, oauth_secret, &client);

    let cognito_url = oauth.cognito_url(&s.region);
    let login_url = pulumi_combine!(client.id.clone(), callbacks)
        .map(move |(client_id, callbacks)| login_url(&cognito_url, &client_id, &callbacks[0]));
    Cognito {
        user_pool_id: pool_id,
        login_url,
    }
}

/// A pool for this stage: users are created by an administrator only, sign in with their
/// email, strong passwords, optional TOTP. Deletion protection follows
/// `secretRecoveryWindowDays`: a stage whose secrets may be restored keeps its users too.
fn user_pool(ctx: &Context, s: &Settings) -> user_pool::UserPoolResult {
    let deletion_protection = if s.secret_recovery_window_days > 0 {
        "ACTIVE"
    } else {
        "INACTIVE"
    };
    user_pool::create(
        ctx,
        &name(s, "users"),
        user_pool::UserPoolArgs::builder()
            .admin_create_user_config(
                UserPoolAdminCreateUserConfig::builder()
                    .allow_admin_create_user_only(true)
                    .build_struct(),
            )
            .username_attributes(vec!["email".to_string()])
            .auto_verified_attributes(vec!["email".to_string()])
            .username_configuration(
                UserPoolUsernameConfiguration::builder()
                    .case_sensitive(false)
                    .build_struct(),
            )
            .password_policy(
                UserPoolPasswordPolicy::builder()
                    .minimum_length(12)
                    .require_lowercase(true)
                    .require_uppercase(true)
                    .require_numbers(true)
                    .require_symbols(true)
                    .temporary_password_validity_days(7)
                    .build_struct(),
            )
            .account_recovery_setting(
                UserPoolAccountRecoverySetting::builder()
                    .recovery_mechanisms(vec![
                        UserPoolAccountRecoverySettingRecoveryMechanism::builder()
                            .name("verified_email")
                            .priority(1)
                            .build_struct(),
                    ])
                    .build_struct(),
            )
            .mfa_configuration("OPTIONAL")
            .software_token_mfa_configuration(
                UserPoolSoftwareTokenMfaConfiguration::builder()
                    .enabled(true)
                    .build_struct(),
            )
            .deletion_protection(deletion_protection)
            .build_struct(),
    )
}

/// The pool's prefix domain: `https://<prefix>.auth.<region>.amazoncognito.com`.
fn login_domain(ctx: &Context, s: &Settings, oauth: &OAuth, pool_id: &Output<String>) {
    user_pool_domain::create(
        ctx,
        &name(s, "login-domain"),
        user_pool_domain::UserPoolDomainArgs::builder()
            .domain(oauth.domain_prefix.clone())
            .user_pool_id(pool_id.clone())
            .managed_login_version(MANAGED_LOGIN_VERSION)
            .build_struct(),
    );
}

/// The facade's confidential client: authorization code flow only, the identity providers of
/// `cognitoIdentityProviders` (the pool's own users by default), the upstream scopes plus the
/// MCP scope (which also orders it after the resource server).
fn app_client(
    ctx: &Context,
    s: &Settings,
    oauth: &OAuth,
    pool_id: &Output<String>,
    mcp_scopes: &Output<Vec<String>>,
    callbacks: &Output<Vec<String>>,
) -> user_pool_client::UserPoolClientResult {
    let scopes = mcp_scopes.map(|mcp| {
        UPSTREAM_SCOPES
            .iter()
            .map(|s| s.to_string())
            .chain(mcp)
            .collect::<Vec<_>>()
    });
    user_pool_client::create(
        ctx,
        &name(s, "oauth-client"),
        user_pool_client::UserPoolClientArgs::builder()
            .user_pool_id(pool_id.clone())
            .generate_secret(true)
            .allowed_oauth_flows(vec!["code".to_string()])
            .allowed_oauth_flows_user_pool_client(true)
            .allowed_oauth_scopes(scopes)
            // Declared, so a federated IdP enabled here survives every deploy; each must
            // already exist in the pool (Cognito refuses an unknown provider).
            .supported_identity_providers(oauth.identity_providers.clone())
            .callback_urls(callbacks.clone())
            // No password flows for apps: users sign in on the hosted pages only. No
            // ALLOW_REFRESH_TOKEN_AUTH either: Cognito refuses it with rotation on.
            .explicit_auth_flows(vec!["ALLOW_USER_SRP_AUTH".to_string()])
            // Every refresh through the facade gets a new Cognito refresh token and the old one
            // stops working, so a replayed (stateless, sealed) refresh token of ours fails at
            // Cognito: rotation with reuse refused, without a database. A few seconds of grace
            // let a client retry a refresh whose reply it lost.
            .refresh_token_rotation(
                UserPoolClientRefreshTokenRotation::builder()
                    .feature("ENABLED")
                    .retry_grace_period_seconds(10)
                    .build_struct(),
            )
            .enable_token_revocation(true)
            .prevent_user_existence_errors("ENABLED")
            .build_struct(),
    )
}

/// The secret's value (docs/oauth.md): the signing key and the app client's credentials, a
/// Pulumi secret from end to end.
fn secret_value(
    ctx: &Context,
    s: &Settings,
    oauth: &OAuth,
    oauth_secret: &secret::SecretResult,
    client: &user_pool_client::UserPoolClientResult,
) {
    let signing_key = oauth.signing_key.clone();
    let value = pulumi_combine!(client.id.clone(), client.client_secret.clone())
        .map(move |(client_id, client_secret)| {
            json!({
                "signingKey": signing_key,
                "cognitoClientId": client_id,
                "cognitoClientSecret": client_secret,
            })
            .to_string()
        })
        .secret();
    secret_version::create(
        ctx,
        &name(s, "oauth-value"),
        secret_version::SecretVersionArgs::builder()
            .secret_id(oauth_secret.id.clone())
            .secret_string(value)
            .build_struct(),
    );
}

/// `<base>/oauth/callback` for each endpoint base URL.
pub fn callback_urls(bases: &[String]) -> Vec<String> {
    bases
        .iter()
        .map(|base| format!("{}{CALLBACK_PATH}", base.trim_end_matches('/')))
        .collect()
}

/// The hosted sign-in page for this client. Signing in there lands on the stage's callback
/// with no MCP client waiting; what matters is that a new user has set their password.
fn login_url(cognito_url: &str, client_id: &str, redirect_uri: &str) -> String {
    format!(
        "{cognito_url}/login?client_id={client_id}&response_type=code&scope=openid&redirect_uri={}",
        percent_encode(redirect_uri)
    )
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_sit_under_each_base() {
        assert_eq!(
            callback_urls(&[
                "https://a.execute-api.eu-west-1.amazonaws.com/dev".into(),
                "https://b.lambda-url.eu-west-1.on.aws/".into(),
            ]),
            [
                "https://a.execute-api.eu-west-1.amazonaws.com/dev/oauth/callback",
                "https://b.lambda-url.eu-west-1.on.aws/oauth/callback"
            ]
        );
    }

    #[test]
    fn the_login_url_encodes_its_redirect() {
        assert_eq!(
            login_url(
                "https://p.auth.eu-west-1.amazoncognito.com",
                "abc",
                "https://h/dev/oauth/callback"
            ),
            "https://p.auth.eu-west-1.amazoncognito.com/login?client_id=abc&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fh%2Fdev%2Foauth%2Fcallback"
        );
    }
}
