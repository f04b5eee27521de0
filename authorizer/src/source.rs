//! Where accepted keys come from: a Secrets Manager secret (AWSCURRENT and AWSPREVIOUS).

use std::{
    future::Future,
    pin::Pin,
    time::{Duration, SystemTime},
};

use aws_sdk_secretsmanager::{
    Client, error::SdkError, operation::get_secret_value::GetSecretValueError,
};
use tokio::sync::OnceCell;

/// Which version of the secret: the live one, or the one rotation just replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Current,
    Previous,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Current => "AWSCURRENT",
            Stage::Previous => "AWSPREVIOUS",
        }
    }
}

/// One version of the secret.
#[derive(Clone)]
pub struct SecretVersion {
    pub value: String,
    pub version_id: String,
    /// When this version was created (rotation time for AWSCURRENT).
    pub created: Option<SystemTime>,
}

impl std::fmt::Debug for SecretVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretVersion")
            .field("version_id", &self.version_id)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Why the secret could not be read. Messages carry no key material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct SourceError(pub String);

pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<SecretVersion>, SourceError>> + Send + 'a>>;

/// Reads one stage of the secret; `Ok(None)` when that stage does not exist.
pub trait SecretSource: Send + Sync {
    fn fetch(&self, stage: Stage) -> FetchFuture<'_>;
}

/// The longest one `GetSecretValue` may take, the SDK's retries included. Secrets Manager
/// answers in milliseconds; without a bound a hanging call would hold every request behind the
/// one refresh (the SDK sets no read timeout), and the authorizer's Lambda (10 s) would time
/// out instead of denying. A refresh reads at most two stages: 6 s at worst.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Secrets Manager `GetSecretValue`. The SDK client is built on first use, so a cold start
/// does not pay for loading the AWS configuration before it serves anything.
pub struct SecretsManagerSource {
    secret_id: String,
    client: OnceCell<Client>,
}

impl SecretsManagerSource {
    pub fn new(secret_id: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            client: OnceCell::new(),
        }
    }

    /// With a client built by the caller (tests, custom endpoints).
    pub fn with_client(secret_id: impl Into<String>, client: Client) -> Self {
        Self {
            secret_id: secret_id.into(),
            client: OnceCell::new_with(Some(client)),
        }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async { Client::new(&crate::aws_config_loader().load().await) })
            .await
    }
}

impl SecretSource for SecretsManagerSource {
    fn fetch(&self, stage: Stage) -> FetchFuture<'_> {
        Box::pin(async move {
            let call = self
                .client()
                .await
                .get_secret_value()
                .secret_id(&self.secret_id)
                .version_stage(stage.label())
                .send();
            let Ok(result) = tokio::time::timeout(FETCH_TIMEOUT, call).await else {
                return Err(SourceError(format!(
                    "GetSecretValue({}, {}) failed: no answer within {} s",
                    self.secret_id,
                    stage.label(),
                    FETCH_TIMEOUT.as_secs()
                )));
            };
            match result {
                Ok(output) => {
                    let value = match (output.secret_string, output.secret_binary) {
                        (Some(text), _) => text,
                        (None, Some(blob)) => {
                            String::from_utf8(blob.into_inner()).map_err(|_| {
                                SourceError("the secret's binary value is not UTF-8".into())
                            })?
                        }
                        (None, None) => return Err(SourceError("the secret has no value".into())),
                    };
                    Ok(Some(SecretVersion {
                        value,
                        version_id: output.version_id.unwrap_or_default(),
                        created: output
                            .created_date
                            .and_then(|d| SystemTime::try_from(d).ok()),
                    }))
                }
                Err(SdkError::ServiceError(e))
                    if stage == Stage::Previous
                        && matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) =>
                {
                    Ok(None)
                }
                Err(error) => Err(SourceError(describe(&self.secret_id, stage, &error))),
            }
        })
    }
}

fn describe(secret_id: &str, stage: Stage, error: &SdkError<GetSecretValueError>) -> String {
    let detail = match error {
        SdkError::ServiceError(e) => {
            let e = e.err();
            format!(
                "{}: {}",
                e.meta().code().unwrap_or("ServiceError"),
                e.meta().message().unwrap_or("")
            )
        }
        SdkError::DispatchFailure(_) => "could not reach Secrets Manager".to_owned(),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        other => other.to_string(),
    };
    format!(
        "GetSecretValue({secret_id}, {}) failed: {detail}",
        stage.label()
    )
}
