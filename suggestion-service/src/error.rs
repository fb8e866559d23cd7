//! The suggestion-service's errors and the status each maps to.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::upstream::UpstreamError;
use w2meet_platform::{ApiError, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum SuggestionError {
    /// 400: bad parameters, each listed with its location.
    #[error("invalid request")]
    Invalid(Vec<ErrorDetail>),
    /// The availability-service's 400/404, passed on with its details
    /// (locations rewritten to where this request carried them); 502/503/504
    /// when it failed, was unreachable or too slow.
    #[error("availability-service call failed")]
    Upstream {
        at: &'static str,
        source: UpstreamError,
    },
    /// 502: the availability answer could not be used.
    #[error("unusable availability answer")]
    BadAnswer(Vec<ErrorDetail>),
}

impl IntoResponse for SuggestionError {
    fn into_response(self) -> Response {
        let api = match self {
            SuggestionError::Invalid(detail) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
            },
            SuggestionError::Upstream { at, source } => {
                if !matches!(source, UpstreamError::Rejected { .. }) {
                    tracing::error!(
                        error = &source as &dyn std::error::Error,
                        "availability-service call failed"
                    );
                }
                let mut api = source.to_api_error();
                // We always call upstream with a body; the client may have
                // used the query string.
                for d in &mut api.detail {
                    if d.loc.first().is_some_and(|l| l == "body") {
                        d.loc[0] = at.to_owned();
                    }
                }
                api
            }
            SuggestionError::BadAnswer(detail) => {
                tracing::error!(?detail, "unusable availability answer");
                ApiError::server(
                    StatusCode::BAD_GATEWAY,
                    "availability-service answered wrongly",
                )
            }
        };
        api.into_response()
    }
}
