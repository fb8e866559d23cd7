//! The availability-service's errors and the status each maps to.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use w2meet_platform::auth::AuthError;
use w2meet_platform::upstream::UpstreamError;
use w2meet_platform::{ApiError, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    /// 400: bad parameters, each listed with its location.
    #[error("invalid request")]
    Invalid(Vec<ErrorDetail>),
    /// 404: users the user-service does not know (listed).
    #[error("unknown users")]
    UnknownUsers(Vec<ErrorDetail>),
    /// 4xx passed on from the user-service; 502/503/504 when it failed,
    /// was unreachable or too slow.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// 401 without the service credential, 403 for a person: `/timelines`
    /// carries every member's free time and is for the platform's services.
    #[error("services only")]
    ServicesOnly { anonymous: bool },
}

impl IntoResponse for AvailabilityError {
    fn into_response(self) -> Response {
        let api = match self {
            AvailabilityError::Invalid(detail) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail,
            },
            AvailabilityError::UnknownUsers(detail) => ApiError {
                status: StatusCode::NOT_FOUND,
                detail,
            },
            AvailabilityError::ServicesOnly { anonymous: true } => {
                return AuthError::Required.into_response();
            }
            AvailabilityError::ServicesOnly { anonymous: false } => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorDetail::new(
                    ["header", "W2Meet-Service-Token"],
                    "this route is for the platform's services; clients ask GET/POST /availabilities",
                    "forbidden",
                ),
            ),
            AvailabilityError::Upstream(e) => {
                if !matches!(e, UpstreamError::Rejected { .. }) {
                    tracing::error!(
                        error = &e as &dyn std::error::Error,
                        "user-service call failed"
                    );
                }
                e.to_api_error()
            }
        };
        api.into_response()
    }
}
