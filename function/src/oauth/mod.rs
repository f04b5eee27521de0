//! The OAuth facade's I/O: the stage's secrets, Cognito's token endpoint, client metadata
//! documents. The protocol logic is the `oauth` crate's; the routes are `http/oauth.rs`'s.
//! docs/oauth.md has the design.

pub mod https;
pub mod keys;
pub mod pages;
pub mod settings;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use oauth::{
    cimd,
    client::{self, Client},
    grant::{GrantError, Identity},
};
use serde_json::Value;

use https::Outbound;
use keys::{SecretCache, SecretProvider, StageSecrets};
use settings::{OAuthSecretSource, OAuthSettings};

/// How long a fetched client metadata document is reused.
const CIMD_CACHE_SECONDS: u64 = 300;
/// Bound on cached documents: a flood of distinct client ids cannot grow memory.
const CIMD_CACHE_ENTRIES: usize = 256;

pub struct Facade {
    pub settings: OAuthSettings,
    secrets: SecretProvider,
    outbound: Outbound,
    documents: Mutex<HashMap<String, (Client, Instant)>>,
}

/// What Cognito's token endpoint gave.
pub struct Upstream {
    pub identity: Identity,
    pub refresh_token: Option<String>,
}

/// `MCP_AUTH_MODE` and, in `oauth` / `both`, the facade built from the OAuth settings.
pub fn auth_from_env(
    var: impl Fn(&str) -> Option<String>,
) -> Result<(settings::AuthMode, Option<Arc<Facade>>), String> {
    let mode = settings::AuthMode::from_env(&var)?;
    if !mode.accepts_tokens() {
        return Ok((mode, None));
    }
    let facade = Facade::new(OAuthSettings::from_env(var)?)?;
    Ok((mode, Some(Arc::new(facade))))
}

impl Facade {
    pub fn new(settings: OAuthSettings) -> Result<Self, String> {
        let secrets = match &settings.secrets {
            OAuthSecretSource::Fixed(values) => SecretProvider::Fixed(Arc::new(
                StageSecrets::fixed(values).map_err(|e| e.to_string())?,
            )),
            OAuthSecretSource::SecretsManager { secret_id, cache } => {
                SecretProvider::Cached(Box::new(SecretCache::new(
                    Box::new(authorizer::SecretsManagerSource::new(secret_id.clone())),
                    cache.clone(),
                )))
            }
        };
        Ok(Self {
            settings,
            secrets,
            outbound: Outbound::default(),
            documents: Mutex::new(HashMap::new()),
        })
    }

    /// The stage's secrets; `None` fails the request closed (Secrets Manager unreachable).
    pub async fn secrets(&self) -> Option<Arc<StageSecrets>> {
        self.secrets.get().await
    }

    /// The client a `client_id` names: pre-registered, dynamically registered (sealed in the
    /// id) or a metadata document URL (fetched, checked, cached). The error is for the user.
    pub async fn client(
        &self,
        client_id: &str,
        secrets: &StageSecrets,
        now: i64,
    ) -> Result<Client, String> {
        if let Some(client) = self
            .settings
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
        {
            return Ok(client.clone());
        }
        if client_id.starts_with(client::DCR_PREFIX) {
            return client::open_dynamic(client_id, &secrets.keyring, now).ok_or_else(|| {
                "this client's registration is not valid here (expired, or made for another server): register again".to_owned()
            });
        }
        if cimd::is_metadata_url(client_id) {
            return self.metadata_document(client_id).await;
        }
        Err("unknown client_id".into())
    }

    async fn metadata_document(&self, client_id: &str) -> Result<Client, String> {
        let url = cimd::check_client_id_url(client_id, self.settings.cimd_allow_http_loopback)?;
        if let Some((client, at)) = self.documents.lock().expect("cache lock").get(client_id)
            && at.elapsed() < Duration::from_secs(CIMD_CACHE_SECONDS)
        {
            return Ok(client.clone());
        }
        let fetched = self
            .outbound
            .get_public(url.as_str(), client::MAX_METADATA_BYTES)
            .await
            .map_err(|e| format!("could not fetch the client metadata document: {e}"))?;
        if fetched.status != 200 {
            return Err(format!(
                "the client metadata document answered HTTP {} (redirects are not followed)",
                fetched.status
            ));
        }
        let client = client::parse_metadata_document(
            &fetched.body,
            client_id,
            &self.settings.redirect_policy,
        )?;
        let mut documents = self.documents.lock().expect("cache lock");
        if documents.len() >= CIMD_CACHE_ENTRIES {
            documents.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(CIMD_CACHE_SECONDS));
            if documents.len() >= CIMD_CACHE_ENTRIES {
                documents.clear();
            }
        }
        documents.insert(client_id.to_owned(), (client.clone(), Instant::now()));
        Ok(client)
    }

    /// Cognito's `/oauth2/authorize` URL for this sign-in.
    pub fn upstream_authorize_url(
        &self,
        secrets: &StageSecrets,
        callback: &str,
        state: &str,
    ) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth2/authorize", self.settings.cognito_url))
            .expect("the Cognito URL was checked at start-up");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &secrets.cognito_client_id)
            .append_pair("redirect_uri", callback)
            .append_pair("scope", &self.settings.upstream_scopes)
            .append_pair("state", state);
        url.to_string()
    }

    /// Calls Cognito's token endpoint with the facade's client credentials. Cognito's
    /// `invalid_grant` (a code already used, a revoked refresh token, a disabled user) becomes
    /// the client's `invalid_grant`; an unreachable Cognito is `temporarily_unavailable`.
    pub async fn upstream_token(
        &self,
        secrets: &StageSecrets,
        form: &[(&str, &str)],
    ) -> Result<Upstream, GrantError> {
        let url = format!("{}/oauth2/token", self.settings.cognito_url);
        let reply = self
            .outbound
            .post_form(
                &url,
                &secrets.cognito_client_id,
                &secrets.cognito_client_secret,
                form,
            )
            .await
            .map_err(|reason| {
                tracing::warn!(%reason, "Cognito's token endpoint failed");
                GrantError::new(
                    "temporarily_unavailable",
                    "the identity provider is unreachable; try again",
                )
            })?;
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        if reply.status != 200 {
            let upstream_error = body["error"].as_str().unwrap_or("unknown");
            tracing::warn!(
                status = reply.status,
                upstream_error,
                "Cognito refused a token request"
            );
            return Err(match upstream_error {
                "invalid_grant" => GrantError::new(
                    "invalid_grant",
                    "the sign-in is no longer valid (used, expired or revoked); sign in again",
                ),
                _ => GrantError::new(
                    "temporarily_unavailable",
                    "the identity provider refused the request; try again",
                ),
            });
        }
        let id_token = body["id_token"].as_str().ok_or_else(|| {
            GrantError::new(
                "temporarily_unavailable",
                "the identity provider returned no ID token",
            )
        })?;
        Ok(Upstream {
            identity: oauth::grant::identity_from_id_token(id_token)?,
            refresh_token: body["refresh_token"].as_str().map(String::from),
        })
    }
}
