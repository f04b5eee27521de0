//! Every Cost Explorer failure as a message an agent can act on. No credentials, keys or
//! request signatures appear in them.

use aws_sdk_costexplorer::error::{ProvideErrorMetadata, SdkError};

/// A failed Cost Explorer call, as the tool reports it (`isError: true`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CostError {
    /// A short, stable kind: AccessDenied, DataUnavailable, LimitExceeded, BillExpiration,
    /// InvalidRequest, NoCredentials, Unreachable, Deadline.
    pub kind: &'static str,
    pub message: String,
}

impl CostError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn deadline(seconds: u64) -> Self {
        Self::new(
            "Deadline",
            format!(
                "The Cost Explorer query did not finish within {seconds} s (API Gateway allows 30 s). \
                 Narrow the date range, use MONTHLY granularity, or group by fewer keys."
            ),
        )
    }
}

const NO_CREDENTIALS: &str = "No AWS credentials were found, so Cost Explorer cannot be called. Provide them \
the usual way: `aws configure` or `aws sso login` with AWS_PROFILE, AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, or an IAM role when running on AWS. The other tools keep working.";

/// Maps an SDK error of the call that needs IAM action `action` (e.g. `ce:GetCostAndUsage`).
pub fn map_sdk_error<E, R>(action: &str, error: SdkError<E, R>) -> CostError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
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
                CostError::new("NoCredentials", NO_CREDENTIALS)
            } else {
                CostError::new(
                    "Unreachable",
                    format!(
                        "Could not reach Cost Explorer ({action}): {}",
                        first_line(&text)
                    ),
                )
            }
        }
        SdkError::TimeoutError(_) => CostError::new(
            "Unreachable",
            format!("Cost Explorer did not answer in time ({action})."),
        ),
        _ => CostError::new(
            "Unreachable",
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
            "AccessDenied",
            format!(
                "Access denied: the AWS identity running this server needs the IAM permission `{action}` (Cost Explorer). {detail}"
            ),
        ),
        "DataUnavailableException" => CostError::new(
            "DataUnavailable",
            "Cost Explorer has no data for this request (DataUnavailable). New accounts see data about 24 hours \
             after Cost Explorer is enabled; try an older period or a coarser granularity.",
        ),
        "LimitExceededException" | "ThrottlingException" | "TooManyRequestsException" => {
            CostError::new(
                "LimitExceeded",
                "Cost Explorer is rate-limiting this account (LimitExceeded) even after retries. Wait a minute and try \
             again; identical questions are answered from the cache meanwhile.",
            )
        }
        "BillExpirationException" => CostError::new(
            "BillExpiration",
            "That period is older than Cost Explorer keeps (BillExpiration). Use dates within the last 13 months \
             (38 months with multi-year data enabled in the Billing console).",
        ),
        "UnresolvableUsageUnitException" => CostError::new(
            "InvalidRequest",
            "Usage quantities in different units cannot be added up (UnresolvableUsageUnit): filter to one \
             USAGE_TYPE or group by USAGE_TYPE.",
        ),
        "InvalidNextTokenException" | "RequestChangedException" => CostError::new(
            "InvalidRequest",
            format!("Cost Explorer rejected the page token; retry the query. {detail}"),
        ),
        "ValidationException" | "InvalidParameterValueException" => CostError::new(
            "InvalidRequest",
            format!("Cost Explorer rejected the request: {detail}"),
        ),
        other => CostError::new(
            "InvalidRequest",
            format!("Cost Explorer returned {other}: {detail}"),
        ),
    }
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
        assert_eq!(e.kind, "AccessDenied");
        assert!(e.message.contains("ce:GetCostForecast"));
        assert_eq!(
            map_code("ce:GetCostAndUsage", "DataUnavailableException", "").kind,
            "DataUnavailable"
        );
        assert_eq!(
            map_code("ce:GetCostAndUsage", "LimitExceededException", "").kind,
            "LimitExceeded"
        );
        assert_eq!(
            map_code("ce:GetCostAndUsage", "ThrottlingException", "").kind,
            "LimitExceeded"
        );
        assert_eq!(
            map_code("ce:GetCostAndUsage", "BillExpirationException", "").kind,
            "BillExpiration"
        );
        let e = map_code(
            "ce:GetCostAndUsage",
            "ValidationException",
            "Start date is after end date",
        );
        assert_eq!(e.kind, "InvalidRequest");
        assert!(e.message.contains("Start date is after end date"));
    }
}
