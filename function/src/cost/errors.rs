//! Every Cost Explorer failure as a message an agent can act on. No credentials, keys or
//! request signatures appear in them.

use aws_sdk_costexplorer::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
};

/// What kind of failure a [`CostError`] is; `Display` gives its stable name (`AccessDenied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostErrorKind {
    /// The identity lacks the IAM permission for the call.
    AccessDenied,
    /// Cost Explorer has no data for the request (yet).
    DataUnavailable,
    /// Throttled even after the SDK's retries.
    LimitExceeded,
    /// The period is older than Cost Explorer keeps.
    BillExpiration,
    /// Cost Explorer refused the request as asked.
    InvalidRequest,
    /// The answer needs more pages than `CostSettings::max_pages`.
    PageLimit,
    /// No AWS credentials could be found.
    NoCredentials,
    /// Cost Explorer could not be reached, did not answer, or failed on its side (5xx).
    Unreachable,
    /// Cost Explorer answered something that is not a readable answer.
    BadAnswer,
    /// The query did not finish within `CostSettings::deadline`.
    Deadline,
}

impl CostErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDenied",
            Self::DataUnavailable => "DataUnavailable",
            Self::LimitExceeded => "LimitExceeded",
            Self::BillExpiration => "BillExpiration",
            Self::InvalidRequest => "InvalidRequest",
            Self::PageLimit => "PageLimit",
            Self::NoCredentials => "NoCredentials",
            Self::Unreachable => "Unreachable",
            Self::BadAnswer => "BadAnswer",
            Self::Deadline => "Deadline",
        }
    }
}

impl std::fmt::Display for CostErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed Cost Explorer call, as the tool reports it (`isError: true`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CostError {
    pub kind: CostErrorKind,
    /// What the agent reads: what went wrong and what to do about it.
    pub message: String,
}

impl CostError {
    pub fn new(kind: CostErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn deadline(seconds: u64) -> Self {
        Self::new(
            CostErrorKind::Deadline,
            format!(
                "The Cost Explorer query did not finish within {seconds} s (API Gateway allows 30 s). \
                 Narrow the date range, use MONTHLY granularity, or group by fewer keys."
            ),
        )
    }

    /// The answer has more than `max_pages` pages; `narrow` says how to ask a smaller question
    /// (it differs per operation). No page beyond the limit is fetched to find this out: the
    /// last allowed page still carried a next-page token.
    pub fn page_limit(max_pages: u32, narrow: &str) -> Self {
        Self::new(
            CostErrorKind::PageLimit,
            format!("The answer has more than {max_pages} pages; {narrow}."),
        )
    }
}

impl CostError {
    /// Cost Explorer sent the same next-page token twice, so the answer cannot be completed.
    pub fn repeated_token(pages: u32) -> Self {
        Self::new(
            CostErrorKind::InvalidRequest,
            format!(
                "Cost Explorer repeated its page token after {pages} page(s), so the answer is incomplete; retry the query."
            ),
        )
    }
}

const NO_CREDENTIALS: &str = "No AWS credentials were found, so Cost Explorer cannot be called. Provide them \
the usual way: `aws configure` or `aws sso login` with AWS_PROFILE, AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, or an IAM role when running on AWS. The other tools keep working.";

/// Maps an SDK error of the call that needs IAM action `action` (e.g. `ce:GetCostAndUsage`).
pub fn map_sdk_error<E>(action: &str, error: SdkError<E, HttpResponse>) -> CostError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        // A 5xx is AWS's side, whatever its body says (the SDK has already retried it).
        SdkError::ServiceError(service) if service.raw().status().is_server_error() => {
            CostError::new(
                CostErrorKind::Unreachable,
                format!(
                    "Cost Explorer failed on AWS's side (HTTP {}) even after retries ({action}). \
                     Wait a minute and try again.",
                    service.raw().status().as_u16()
                ),
            )
        }
        // No error code in a 2xx: the SDK could not parse the answer (malformed or unexpected).
        SdkError::ServiceError(service) if service.err().code().is_none() => CostError::new(
            CostErrorKind::BadAnswer,
            format!(
                "Cost Explorer's answer could not be read ({action}): it is not the JSON the API \
                 documents. Try again; nothing was cached."
            ),
        ),
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let detail = e.message().unwrap_or("").to_owned();
            map_code(action, code, &detail)
        }
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_) => {
            let text = format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&error)
            );
            if text.to_ascii_lowercase().contains("credential") {
                CostError::new(CostErrorKind::NoCredentials, NO_CREDENTIALS)
            } else {
                CostError::new(
                    CostErrorKind::Unreachable,
                    format!(
                        "Could not reach Cost Explorer ({action}): {}. Check the network and try again.",
                        root_cause(&error)
                    ),
                )
            }
        }
        SdkError::TimeoutError(_) => CostError::new(
            CostErrorKind::Unreachable,
            format!("Cost Explorer did not answer in time ({action})."),
        ),
        _ => CostError::new(
            CostErrorKind::Unreachable,
            format!(
                "Cost Explorer call {action} failed: {}",
                first_line(&error.to_string())
            ),
        ),
    }
}

/// Maps a service error code (the API's exception names) to the tool error.
pub fn map_code(action: &str, code: &str, detail: &str) -> CostError {
    let detail = first_line(detail);
    match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => CostError::new(
            CostErrorKind::AccessDenied,
            format!(
                "Access denied: the AWS identity running this server needs the IAM permission `{action}` (Cost Explorer). {detail}"
            ),
        ),
        "DataUnavailableException" => CostError::new(
            CostErrorKind::DataUnavailable,
            "Cost Explorer has no data for this request (DataUnavailable). New accounts see data about 24 hours \
             after Cost Explorer is enabled; try an older period or a coarser granularity.",
        ),
        "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException" => {
            CostError::new(
                CostErrorKind::LimitExceeded,
                "Cost Explorer is rate-limiting this account (LimitExceeded) even after retries. Wait a minute and try \
             again; identical questions are answered from the cache meanwhile.",
            )
        }
        "BillExpirationException" => CostError::new(
            CostErrorKind::BillExpiration,
            "That period is older than Cost Explorer keeps (BillExpiration). Use dates within the last 13 months \
             (38 months with multi-year data enabled in the Billing console).",
        ),
        "UnresolvableUsageUnitException" => CostError::new(
            CostErrorKind::InvalidRequest,
            "Usage quantities in different units cannot be added up (UnresolvableUsageUnit): filter to one \
             USAGE_TYPE or group by USAGE_TYPE.",
        ),
        "InvalidNextTokenException" | "RequestChangedException" => CostError::new(
            CostErrorKind::InvalidRequest,
            format!("Cost Explorer rejected the page token; retry the query. {detail}"),
        ),
        "ValidationException" | "InvalidParameterValueException" => CostError::new(
            CostErrorKind::InvalidRequest,
            format!("Cost Explorer rejected the request: {detail}"),
        ),
        other => CostError::new(
            CostErrorKind::InvalidRequest,
            format!("Cost Explorer returned {other}: {detail}"),
        ),
    }
}

/// The innermost error's message ("Connection reset by peer (os error 104)"), without the
/// layers of client internals (hyper, connector types) that wrap it.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    for _ in 0..16 {
        match cause.source() {
            Some(inner) => cause = inner,
            None => break,
        }
    }
    first_line(&cause.to_string())
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_maps_to_an_actionable_kind() {
        let e = map_code(
            "ce:GetCostForecast",
            "AccessDeniedException",
            "User: arn:... is not authorized",
        );
        assert_eq!(e.kind, CostErrorKind::AccessDenied);
        assert!(e.message.contains("ce:GetCostForecast"));
        for (code, kind) in [
            ("DataUnavailableException", CostErrorKind::DataUnavailable),
            ("LimitExceededException", CostErrorKind::LimitExceeded),
            ("ThrottlingException", CostErrorKind::LimitExceeded),
            ("BillExpirationException", CostErrorKind::BillExpiration),
        ] {
            assert_eq!(
                map_code("ce:GetCostAndUsage", code, "").kind,
                kind,
                "{code}"
            );
        }
        let e = map_code(
            "ce:GetCostAndUsage",
            "ValidationException",
            "Start date is after end date",
        );
        assert_eq!(e.kind, CostErrorKind::InvalidRequest);
        assert!(e.message.contains("Start date is after end date"));
    }
}
