//! The suggestion-service's errors and the status each maps to.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::upstream::UpstreamError;
use w2meet_platform::{ApiError, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum SuggestionError {
    /// 400: bad parameters, each listed where the client put it.
    #[error("invalid request")]
    Invalid(Vec<ErrorDetail>),
    /// 404: members user-service does not know, listed where the client
    /// named the group.
    #[error("unknown users")]
    UnknownUsers(Vec<ErrorDetail>),
    /// 502/503/504: availability-service failed, was unreachable or too
    /// slow (a 4xx from it means this service sent a bad request: 502).
    #[error("availability-service call failed")]
    Upstream(#[from] UpstreamError),
    /// 502: the timelines could not be used.
    #[error("unusable timelines: {0}")]
    BadAnswer(String),
}

impl IntoResponse for SuggestionError {
    fn into_response(self) -> Response {
        let api = match self {
            SuggestionError::Invalid(detail) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
            },
            SuggestionError::UnknownUsers(detail) => ApiError {
                status: StatusCode::NOT_FOUND,
                detail,
            },
            SuggestionError::Upstream(UpstreamError::Rejected { status, detail, .. }) => {
                // This service validated the request itself: a refusal of
                // the typed request is a bug on one side or the other.
                tracing::error!(%status, ?detail, "availability-service refused the timelines request");
                ApiError::server(
                    StatusCode::BAD_GATEWAY,
                    "availability-service answered with an error",
                )
            }
            SuggestionError::Upstream(source) => {
                tracing::error!(
                    error = &source as &dyn std::error::Error,
                    "availability-service call failed"
                );
                source.to_api_error()
            }
            SuggestionError::BadAnswer(reason) => {
                tracing::error!(%reason, "unusable availability answer");
                ApiError::server(
                    StatusCode::BAD_GATEWAY,
                    "availability-service answered wrongly",
                )
            }
        };
        api.into_response()
    }
}
